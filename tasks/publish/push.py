"""`inv publish`: ask the registry for every cell's content tag, build and push only the absent ones.

Order, so that bad input and registry trouble change nothing: settings, credentials and options are
checked; the cells are planned (bake --print, content tags: reads only); every content tag is probed.
Any answer but present/absent (refused, unreachable, an error) stops the run there, with the
registry's words, before anything is built or pushed. Then one bake pushes the absent cells under
their content and human tags; the present ones get their human tags afterwards, once the build has
succeeded (so `latest` never moves for some cells of a failed run).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from ..bake.definition import resolve_bake
from ..bake.execution import bake_build
from ..bake.request import BakeSelection, BuildRequest, build_request
from ..shared.errors import BakehouseError
from ..shared.process import say
from ..shared.settings import BuilderSettings, Settings
from ..shared.table import align
from .credentials import Credentials, buildx_auth
from .push_plan import PublishTarget, check_publish_settings, git_names, publish_cells
from .registry import (
    ImageRef,
    Presence,
    RegistryAnswer,
    add_tags,
    ca_files_for,
    plain_http_for,
    probe,
)

# Probes run side by side: each is a few round trips to the registry.
MAX_PROBES = 8
# The answers that say nothing about whether a tag is published: the run stops on any of them.
FAILURES = (Presence.UNAUTHORIZED, Presence.UNREACHABLE, Presence.ERROR)
# What buildx's image exporter gets for a pushed cell (rewrite-timestamp: layer file times are
# clamped to SOURCE_DATE_EPOCH, the commit's time, which the build sets).
PUSH_OUTPUT = "type=image,push=true,rewrite-timestamp=true"


@dataclass(frozen=True)
class Probed:
    cell: PublishTarget
    answer: RegistryAnswer
    seconds: float


@dataclass(frozen=True)
class Registry:
    """How to talk to the publish registry: the credentials, and the builder's trust and scheme."""

    credentials: Credentials | None
    builder: BuilderSettings
    # Relative CA paths of builder.registry_ca are the project's.
    root: Path

    def probe(self, image: ImageRef) -> RegistryAnswer:
        return probe(
            image, self.credentials, ca_files_for(image.registry, self.builder, self.root),
            plain_http=plain_http_for(image.registry, self.builder),
        )  # fmt: skip

    def add_tags(self, image: ImageRef, tags: Sequence[str]) -> None:
        add_tags(
            image, tags, self.credentials, ca_files_for(image.registry, self.builder, self.root),
            plain_http=plain_http_for(image.registry, self.builder),
        )  # fmt: skip


def probe_cell(registry: Registry, cell: PublishTarget) -> Probed:
    started = time.monotonic()
    answer = registry.probe(cell.image)
    return Probed(cell, answer, time.monotonic() - started)


def probe_cells(registry: Registry, cells: Sequence[PublishTarget]) -> list[Probed]:
    if not cells:
        return []
    with ThreadPoolExecutor(min(MAX_PROBES, len(cells))) as pool:
        return list(pool.map(lambda cell: probe_cell(registry, cell), cells))


def plan_rows(probed: Sequence[Probed]) -> list[str]:
    """The plan as a table: cell, repository, content tag, what the registry said, the human tags."""
    rows = [("CELL", "REPOSITORY", "CONTENT TAG", "REGISTRY", "HUMAN TAGS")]
    for item in probed:
        cell, answer = item.cell, item.answer
        said = (
            answer.presence.value if answer.presence in (Presence.PRESENT, Presence.ABSENT) else str(answer)
        )
        image = cell.image
        rows.append(
            (
                cell.target,
                f"{image.registry}/{image.repository}",
                image.tag,
                said,
                " ".join(cell.human_tags) or "-",
            )
        )
    return align(rows)


def failure_message(registry: str, probed: Sequence[Probed]) -> str | None:
    """One line for every answer that isn't present/absent, grouped by answer; None when all are."""
    grouped: dict[str, list[str]] = {}
    for item in probed:
        if item.answer.presence in FAILURES:
            grouped.setdefault(str(item.answer), []).append(item.cell.target)
    if not grouped:
        return None
    parts = [f"{answer} for {', '.join(targets)}" for answer, targets in grouped.items()]
    return f"registry {registry} did not say what is published: {'; '.join(parts)}; nothing built or pushed"


def push_sets(cells: Sequence[PublishTarget]) -> list[str]:
    """bake --set values that push each cell under all of its tags instead of its own outputs."""
    sets: list[str] = []
    for cell in cells:
        sets.append(f"{cell.target}.output={PUSH_OUTPUT}")
        repository = f"{cell.image.registry}/{cell.image.repository}"
        sets.extend(f"{cell.target}.tags={repository}:{tag}" for tag in cell.all_tags)
    return sets


def summary_rows(results: Sequence[tuple[PublishTarget, str, float]]) -> list[str]:
    rows = [("CELL", "CONTENT TAG", "RESULT", "TIME", "TAGS")]
    for cell, result, seconds in results:
        rows.append((cell.target, cell.image.tag, result, f"{seconds:.1f}s", " ".join(cell.all_tags)))
    return align(rows, right=(3,))


def push(
    config: Settings, registry: Registry, cells: Sequence[PublishTarget], request: BuildRequest
) -> dict[str, tuple[str, float]]:
    """One bake that pushes the cells under all their tags, then each content tag asked for again:
    a push the registry doesn't show is a failure. Each cell's result and build time."""
    selection = BakeSelection.of(
        [cell.target for cell in cells], request.selection.matrix_overrides, push_sets(cells)
    )
    request = replace(request, selection=selection)
    resolved = resolve_bake(config, selection)
    with buildx_auth(cells[0].image.registry, registry.credentials) as auth_env:
        outcomes = bake_build(config, request, resolved, extra_env=auth_env)
    missing = [
        f"{item.cell.image}: {item.answer}"
        for item in probe_cells(registry, cells)
        if item.answer.presence is not Presence.PRESENT
    ]
    if missing:
        raise BakehouseError(f"pushed, but the registry doesn't show {'; '.join(missing)}")
    seconds = {outcome.name: outcome.seconds for outcome in outcomes}
    return {cell.target: ("pushed", seconds.get(cell.target, 0.0)) for cell in cells}


def publish_images(
    config: Settings,
    targets: Sequence[str],
    *,
    matrix_overrides: Sequence[str] = (),
    builder: str | None = None,
    dry_run: bool = False,
    progress: str | None = None,
) -> None:
    started = time.monotonic()
    check_publish_settings(config.publish)
    credentials = Credentials.from_environment()
    # The build's options, decided before anything is asked of the registry; its targets and
    # --set values come once the cells to push are known.
    selection = BakeSelection.of((), matrix_overrides)
    request = build_request(config, selection, builder=builder, progress=progress)
    registry = Registry(credentials, config.builder, config.root)
    cells = publish_cells(config, targets, matrix_overrides, git_names(config.root))
    probed = probe_cells(registry, cells)
    table = plan_rows(probed)
    out = sys.stdout if dry_run else sys.stderr
    for line in table:
        print(line, file=out, flush=True)
    failure = failure_message(config.publish.registry, probed)
    if failure:
        raise BakehouseError(failure)
    if dry_run:
        return
    present = [item for item in probed if item.answer.presence is Presence.PRESENT]
    absent = [item.cell for item in probed if item.answer.presence is Presence.ABSENT]
    results: dict[str, tuple[str, float]] = {}
    if absent:
        say(f"pushing {len(absent)} cell(s) to {config.publish.registry}; {len(present)} already there")
        results.update(push(config, registry, absent, request))
    for item in present:
        tag_started = time.monotonic()
        if item.cell.human_tags:
            registry.add_tags(item.cell.image, item.cell.human_tags)
        say(f"{item.cell.target}: {item.cell.image} is published already: skipped")
        results[item.cell.target] = ("skipped", item.seconds + time.monotonic() - tag_started)
    print(file=sys.stderr)
    for line in summary_rows([(item.cell, *results[item.cell.target]) for item in probed]):
        print(line, file=sys.stderr)
    print(
        f"PUBLISHED: {len(absent)} pushed, {len(present)} skipped (already published) "
        f"in {time.monotonic() - started:.1f}s",
        file=sys.stderr,
    )
