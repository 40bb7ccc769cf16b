"""Building targets into OCI image layouts, the way both `inv verify` and `inv export` do.

Every concrete target gets its own output, overriding the tree's (tests-smoke's is cacheonly):
an OCI layout directory with file mtimes clamped to SOURCE_DATE_EPOCH. The target's compression
attributes are kept, so what is checked or exported is what the tree ships (install: zstd).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..bake.definition import ResolvedBake, plan_platforms
from ..bake.engine_load import output_attributes
from ..bake.execution import run_bake
from ..bake.platforms import MultiPlatformImage, Platform, multi_platform_images, parse_platform
from ..builder.emulation import check_host_can_provide
from ..builder.lifecycle import (
    BuilderSpec,
    config_path,
    create_builder,
    current_state,
    desired_spec,
    ensure_registry_for,
    remove_builder,
)
from ..engine.supply import supply_build
from ..shared.errors import BakehouseError, bad_input
from ..shared.process import CommandFailed, say
from ..shared.settings import ReleaseSettings, Settings
from .index_layout import read_member, write_index_layout

OCI_EXPORT = ("type=oci", "tar=false", "rewrite-timestamp=true")
KEPT_ATTRIBUTES = ("compression", "compression-level", "force-compression")
# buildx reads an output as CSV: these would split or end the dest value.
_CSV_SPECIAL = frozenset(',"\n\r')


def release_targets(requested: Sequence[str], release: ReleaseSettings) -> list[str]:
    """The targets to build: --target's, else ``release.targets``. Neither is bad input: bake,
    given no target, would build its default group, which nobody asked for."""
    targets = list(requested) or list(release.targets)
    if not targets:
        raise bad_input(
            "release.targets is empty and no --target was given: name the targets or groups to build"
        )
    return targets


def check_destination(path: Path, what: str) -> None:
    """A directory buildx can be given as dest=: refused with bad input otherwise."""
    if _CSV_SPECIAL & set(str(path)):
        raise bad_input(
            f"{what} {str(path)!r}: a path with a comma, quote or newline can't be passed to buildx"
        )


def oci_output(target: Mapping[str, Any], dest: Path) -> str:
    """The output entry that writes ``target`` as an OCI layout into ``dest``."""
    attributes = output_attributes(target)
    kept = [f"{key}={attributes[key]}" for key in KEPT_ATTRIBUTES if key in attributes]
    return ",".join([*OCI_EXPORT, *kept, f"dest={dest}"])


def oci_output_sets(plan: Mapping[str, Any], names: Sequence[str], root: Path) -> list[str]:
    """bake --set arguments: each target's layout into ``root/<target>``."""
    targets = plan.get("target") or {}
    return [f"--set={name}.output={oci_output(targets.get(name) or {}, root / name)}" for name in names]


def build_layouts(command: Sequence[str], resolved: ResolvedBake, root: Path, mode: str, what: str) -> float:
    """Bake the resolved targets into layouts under ``root``; the seconds it took."""
    started = time.monotonic()
    outputs = oci_output_sets(resolved.plan, resolved.names, root)
    names = list(resolved.names)
    call = run_bake([*command, *outputs, *names], resolved.env, mode, names, resolved.root)
    if not call.ok:
        raise BakehouseError(f"{what} failed: {call.error or 'see the output above'}")
    return time.monotonic() - started


def fresh_builder_specs(config: Settings, count: int, purpose: str) -> list[BuilderSpec]:
    """Specs of ``count`` new builders made like `inv builder.create` makes one (same
    buildkitd.toml, BuildKit image and entitlements), named bakehouse-<purpose>-<random>-<n>."""
    token = secrets.token_hex(4)
    return [
        desired_spec(config, f"bakehouse-{purpose}-{token}-{n}", None, (), None) for n in range(1, count + 1)
    ]


@contextmanager
def fresh_builder(config: Settings, spec: BuilderSpec) -> Iterator[str]:
    """The builder of ``spec``, created empty and removed afterwards with its state and the
    buildkitd.toml rendered for it (a builder of one run leaves nothing behind)."""
    ensure_registry_for(config)
    try:
        create_builder(spec)
        yield spec.name
    finally:
        try:
            if current_state(spec.name) is not None:
                remove_builder(spec.name, keep_state=False)
        except CommandFailed as exc:
            say(f"could not remove builder {spec.name}: {exc.why}; `docker buildx rm {spec.name}` removes it")
        config_path(spec.name).unlink(missing_ok=True)


def multi_platform_layouts(plan: Mapping[str, Any], names: Sequence[str]) -> list[MultiPlatformImage]:
    """The selected targets that are one image for several platforms (one index layout each, beside
    the per-platform ones); none when one platform is selected. An index named like a selected
    target would overwrite that target's layout: refused."""
    found = multi_platform_images(plan, names)
    clashing = [image.name for image in found if image.name in names]
    if clashing:
        raise bad_input(
            f"{', '.join(clashing)}: the name of a multi-platform image (its targets' name without "
            "the platform value) is also a selected target's: their layouts would share a directory"
        )
    return found


def write_index_layouts(root: Path, multi: Sequence[MultiPlatformImage]) -> None:
    """Each multi-platform image's layout ``root/<name>``, from its members' layouts under ``root``."""
    for image in multi:
        members = [
            read_member(root / target, parse_platform(platform, f"target {target}"), target)
            for target, platform in image.members
        ]
        write_index_layout(root / image.name, members)


def provide_platforms(
    config: Settings, resolved: ResolvedBake, builders: Sequence[str], named: str | None
) -> list[Platform]:
    """Before any builder is made: a platform nothing here can run is refused (``named``: the
    builder given, which may be remote), and registry-free, what the tree pulls is in the local
    registry for every platform (QEMU provided on the way). The platforms the build needs."""
    needed = plan_platforms(resolved.plan)
    check_host_can_provide(needed, named)
    supply_build(config, resolved, builders)
    return needed
