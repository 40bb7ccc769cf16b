"""What a Complement run needs from the bake plan and the options: cells and the tester's environment.

A cell pairs a testee target (one per matrix cell: system and feature set) with the tester target
built for the same system. Both are found by their `elem` names in `bake --print` output:
`<prefix>--d1--d2…`, the tester's dimensions being some of the testee's, in the same order (the
tester has no feature set: `complement-tester--debian--trixie-slim--amd64` serves
`complement-testee--debian--trixie-slim--default--amd64`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ComplementCell:
    label: str  # the testee's dimensions, e.g. "debian--trixie-slim--default--amd64"
    testee_target: str
    testee_image: str
    tester_target: str
    tester_image: str


def _dims(name: str, prefix: str) -> list[str] | None:
    if name == prefix:
        return []
    if name.startswith(prefix + "--"):
        return name[len(prefix) + 2 :].split("--")
    return None


def _in_order_within(part: list[str], whole: list[str]) -> bool:
    """Whether every value of ``part`` appears in ``whole``, in the same order."""
    remaining = iter(whole)
    return all(value in remaining for value in part)


def _image(target: Mapping[str, Any], name: str) -> str:
    tags = target.get("tags") or []
    if not tags:
        raise ValueError(f"target {name} has no tags: the run needs it as an image in the engine")
    return str(tags[0]).removeprefix("docker.io/")


def cells_from_plan(plan: Mapping[str, Any], tester_prefix: str, testee_prefix: str) -> list[ComplementCell]:
    """Pair each testee target with its tester; raises ValueError when a testee has none."""
    targets: Mapping[str, Mapping[str, Any]] = plan.get("target", {})
    testers = {name: dims for name in targets if (dims := _dims(name, tester_prefix)) is not None}
    cells: list[ComplementCell] = []
    for name in sorted(targets):
        dims = _dims(name, testee_prefix)
        if dims is None:
            continue
        matching = [t for t, t_dims in testers.items() if _in_order_within(t_dims, dims)]
        if not matching:
            raise ValueError(f"no {tester_prefix} target for {name} in the bake plan")
        tester = max(matching, key=lambda t: len(testers[t]))  # the most specific one
        cells.append(
            ComplementCell(
                label="--".join(dims) or name,
                testee_target=name,
                testee_image=_image(targets[name], name),
                tester_target=tester,
                tester_image=_image(targets[tester], tester),
            )
        )
    return cells


@dataclass(frozen=True)
class SuiteSettings:
    """Everything that shapes one `go test` run inside the tester."""

    base_image: str
    packages: tuple[str, ...]
    run: str
    skip: str
    timeout: str
    parallel: int
    count: int
    shuffle: str
    spawn_timeout: int
    dirty: bool
    share_env_prefix: str
    always_print_server_logs: bool = False


def tester_package_name(package: str) -> str:
    """The tester resolves a package by import path or last path element: `./tests/csapi` -> `csapi`."""
    cleaned = package.removeprefix("./").rstrip("/")
    return cleaned if "." in cleaned.split("/", 1)[0] else cleaned.rsplit("/", 1)[-1]


def tester_environment(settings: SuiteSettings, testee_env: Mapping[str, str]) -> dict[str, str]:
    """The tester container's environment: Complement's own variables plus the tester image's
    interface (images/scripts/complement-tester-entrypoint.sh). `testee_env` is shared with every
    homeserver through Complement's share-env prefix."""
    env = {
        "COMPLEMENT_BASE_IMAGE": settings.base_image,
        "COMPLEMENT_SPAWN_HS_TIMEOUT_SECS": str(settings.spawn_timeout),
        "COMPLEMENT_ENABLE_DIRTY_RUNS": "1" if settings.dirty else "0",
        "COMPLEMENT_ALWAYS_PRINT_SERVER_LOGS": "1" if settings.always_print_server_logs else "0",
        "COMPLEMENT_SHARE_ENV_PREFIX": settings.share_env_prefix,
        "TESTER_PACKAGES": " ".join(tester_package_name(p) for p in settings.packages),
        "TESTER_RUN": settings.run,
        "TESTER_SKIP": settings.skip,
        "TESTER_TIMEOUT": settings.timeout,
        "TESTER_PARALLEL": str(settings.parallel),
        "TESTER_COUNT": str(settings.count),
        "TESTER_SHUFFLE": settings.shuffle,
    }
    for key, value in testee_env.items():
        env[settings.share_env_prefix + key] = value
    return env
