"""`inv publish`: ask the registry for every cell's content tag, build and push only the absent ones.

Order, so that bad input and registry trouble change nothing: settings, credentials and options are
checked; the cells are planned (bake --print, content tags: reads only); every content tag is probed.
Any answer but present/absent (refused, unreachable, an error) stops the run there, with the
registry's words, before anything is built or pushed. Then one bake pushes the absent cells under
their content and human tags; the present ones get their human tags afterwards, once the build has
succeeded (so `latest` never moves for some cells of a failed run).

Cells that are one image for several platforms (tasks.publish.index) get an index each, written
after every cell is in the registry: it is probed with the cells, so a registry that can't answer
for it changes nothing either. Split across CI runners: `--by-digest` pushes cells under their
content tags only and records each cell's manifest digest; `merge_published` (in one job, once every
cell is pushed) checks those records against the registry and does the rest, human tags and indexes.
"""

from __future__ import annotations

import ssl
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from ..bake.definition import resolve_bake
from ..bake.execution import bake_build
from ..bake.request import BakeSelection, BuildRequest, build_request
from ..builder.lifecycle import prepare_builder
from ..engine.supply import supply_build
from ..shared.errors import BakehouseError
from ..shared.process import run, say
from ..shared.settings import BuilderSettings, Settings
from ..shared.table import align
from .credentials import Credentials, buildx_auth
from .digest_records import DIGESTS_DIR, DigestRecord, read_records, record_mismatches, write_records
from .index import PublishIndex, imagetools_create_argv, publish_indexes
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
class ProbedIndex:
    index: PublishIndex
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

    def write_index(self, index: PublishIndex, digests: Mapping[str, str], builder: str) -> None:
        """The index under its content tag, over its members by digest (buildx copies their manifests
        into the index's repository, mounting their blobs across repositories of the registry)."""
        # The docker CLI directly: python-on-whales' imagetools.create runs with this process's
        # environment only, and the credentials and CA reach buildx through the run's.
        argv = imagetools_create_argv(index, digests, builder)
        ca_files = ca_files_for(index.image.registry, self.builder, self.root)
        with (
            buildx_auth(index.image.registry, self.credentials) as auth_env,
            ca_bundle_env(ca_files) as ca_env,
        ):
            run(argv, env={**auth_env, **ca_env}, what=f"writing the index {index.image}")


@contextmanager
def ca_bundle_env(ca_files: Sequence[Path]) -> Iterator[dict[str, str]]:
    """SSL_CERT_FILE naming a temporary bundle of the system's CAs and ``ca_files`` (none: no change).

    `imagetools create --builder` takes the scheme (`http`) from that builder's buildkitd.toml but
    not its CA: buildx stores the CA paths as the builder's container sees them (/etc/buildkit/certs/…),
    which don't exist here (seen with buildx 0.29). Go reads SSL_CERT_FILE for its system roots."""
    if not ca_files:
        yield {}
        return
    system = ssl.get_default_verify_paths().cafile
    parts = (
        [Path(system).read_text(encoding="utf-8", errors="replace")]
        if system and Path(system).is_file()
        else []
    )
    parts += [path.read_text(encoding="utf-8", errors="replace") for path in ca_files]
    with tempfile.TemporaryDirectory(prefix="bakehouse-ca-") as directory:
        bundle = Path(directory) / "ca-bundle.pem"
        bundle.write_text("\n".join(parts))
        yield {"SSL_CERT_FILE": str(bundle)}


def probe_cell(registry: Registry, cell: PublishTarget) -> Probed:
    started = time.monotonic()
    answer = registry.probe(cell.image)
    return Probed(cell, answer, time.monotonic() - started)


def probe_cells(registry: Registry, cells: Sequence[PublishTarget]) -> list[Probed]:
    if not cells:
        return []
    with ThreadPoolExecutor(min(MAX_PROBES, len(cells))) as pool:
        return list(pool.map(lambda cell: probe_cell(registry, cell), cells))


def probe_index(registry: Registry, index: PublishIndex) -> ProbedIndex:
    started = time.monotonic()
    answer = registry.probe(index.image)
    return ProbedIndex(index, answer, time.monotonic() - started)


def probe_indexes(registry: Registry, indexes: Sequence[PublishIndex]) -> list[ProbedIndex]:
    if not indexes:
        return []
    with ThreadPoolExecutor(min(MAX_PROBES, len(indexes))) as pool:
        return list(pool.map(lambda index: probe_index(registry, index), indexes))


def _said(answer: RegistryAnswer) -> str:
    return answer.presence.value if answer.presence in (Presence.PRESENT, Presence.ABSENT) else str(answer)


def plan_rows(probed: Sequence[Probed]) -> list[str]:
    """The plan as a table: cell, repository, content tag, what the registry said, the human tags."""
    rows = [("CELL", "REPOSITORY", "CONTENT TAG", "REGISTRY", "HUMAN TAGS")]
    for item in probed:
        cell, answer = item.cell, item.answer
        said = _said(answer)
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


def index_plan_rows(probed: Sequence[ProbedIndex]) -> list[str]:
    """The indexes to write as a table: image, repository, content tag, what the registry said, the
    members' platforms, the human tags."""
    rows = [("MULTI-PLATFORM IMAGE", "REPOSITORY", "CONTENT TAG", "REGISTRY", "PLATFORMS", "HUMAN TAGS")]
    for item in probed:
        index = item.index
        repository = f"{index.image.registry}/{index.image.repository}"
        platforms = ",".join(index.platforms)
        rows.append(
            (
                index.name,
                repository,
                index.image.tag,
                _said(item.answer),
                platforms,
                " ".join(index.human_tags) or "-",
            )
        )
    return align(rows)


def failure_message(
    registry: str, probed: Sequence[Probed], indexes: Sequence[ProbedIndex] = ()
) -> str | None:
    """One line for every answer that isn't present/absent, grouped by answer; None when all are."""
    grouped: dict[str, list[str]] = {}
    answers = [(item.cell.target, item.answer) for item in probed]
    answers += [(f"index {item.index.name}", item.answer) for item in indexes]
    for name, answer in answers:
        if answer.presence in FAILURES:
            grouped.setdefault(str(answer), []).append(name)
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


def index_summary_rows(results: Sequence[tuple[PublishIndex, str, float]]) -> list[str]:
    rows = [("MULTI-PLATFORM IMAGE", "CONTENT TAG", "RESULT", "TIME", "PLATFORMS", "TAGS")]
    for index, result, seconds in results:
        platforms = ",".join(index.platforms)
        rows.append(
            (index.name, index.image.tag, result, f"{seconds:.1f}s", platforms, " ".join(index.all_tags))
        )
    return align(rows, right=(3,))


def push(
    config: Settings, registry: Registry, cells: Sequence[PublishTarget], request: BuildRequest
) -> tuple[dict[str, tuple[str, float]], dict[str, str]]:
    """One bake that pushes the cells under all their tags, then each content tag asked for again:
    a push the registry doesn't show is a failure. Each cell's result and build time, and the
    manifest digest its content tag now holds."""
    selection = BakeSelection.of(
        [cell.target for cell in cells], request.selection.matrix_overrides, push_sets(cells)
    )
    request = replace(request, selection=selection)
    resolved = resolve_bake(config, selection)
    # Registry-free, what the Dockerfiles pull (base images for each platform) is supplied first,
    # as for `inv build`; elsewhere this does nothing.
    supply_build(config, resolved, request.builder_names)
    with buildx_auth(cells[0].image.registry, registry.credentials) as auth_env:
        outcomes = bake_build(config, request, resolved, extra_env=auth_env)
    again = probe_cells(registry, cells)
    missing = [
        f"{item.cell.image}: {item.answer}" for item in again if item.answer.presence is not Presence.PRESENT
    ]
    if missing:
        raise BakehouseError(f"pushed, but the registry doesn't show {'; '.join(missing)}")
    seconds = {outcome.name: outcome.seconds for outcome in outcomes}
    results = {cell.target: ("pushed", seconds.get(cell.target, 0.0)) for cell in cells}
    return results, {item.cell.target: item.answer.digest for item in again}


@dataclass(frozen=True)
class Planned:
    """What one run publishes, with the registry's answers: the cells and the indexes."""

    cells: list[Probed]
    indexes: list[ProbedIndex]


def plan_and_probe(
    config: Settings,
    registry: Registry,
    targets: Sequence[str],
    matrix_overrides: Sequence[str],
    *,
    by_digest: bool,
    dry_run: bool,
) -> Planned:
    """The cells (and, unless ``by_digest``, their indexes and human tags) planned, every content tag
    asked for, the plan printed; any answer but present/absent stops the run here, nothing changed."""
    planned = publish_cells(config, targets, matrix_overrides, git_names(config.root))
    cells = [replace(cell, human_tags=()) for cell in planned.cells] if by_digest else planned.cells
    indexes = (
        []
        if by_digest
        else publish_indexes(planned.plan, cells, config.publish.namespace, planned.human_tags)
    )
    probed = probe_cells(registry, cells)
    probed_indexes = probe_indexes(registry, indexes)
    out = sys.stdout if dry_run else sys.stderr
    for line in plan_rows(probed):
        print(line, file=out, flush=True)
    if probed_indexes:
        print(file=out)
        for line in index_plan_rows(probed_indexes):
            print(line, file=out, flush=True)
    failure = failure_message(config.publish.registry, probed, probed_indexes)
    if failure:
        raise BakehouseError(failure)
    return Planned(probed, probed_indexes)


def tag_present_cells(
    registry: Registry, present: Sequence[Probed], done: str
) -> dict[str, tuple[str, float]]:
    """The published cells' human tags put on their manifests; ``done`` is what the table says."""
    results: dict[str, tuple[str, float]] = {}
    for item in present:
        tag_started = time.monotonic()
        if item.cell.human_tags:
            registry.add_tags(item.cell.image, item.cell.human_tags)
        if done == "skipped":
            say(f"{item.cell.target}: {item.cell.image} is published already: skipped")
        results[item.cell.target] = (done, item.seconds + time.monotonic() - tag_started)
    return results


def write_indexes(
    config: Settings,
    registry: Registry,
    request: BuildRequest,
    probed: Sequence[ProbedIndex],
    digests: Mapping[str, str],
) -> dict[str, tuple[str, float]]:
    """Each absent index written over its members' digests (then asked for again), each published
    one skipped (its human tags put on it)."""
    results: dict[str, tuple[str, float]] = {}
    builder = ""
    for item in probed:
        index, started = item.index, time.monotonic()
        if item.answer.presence is Presence.PRESENT:
            if index.human_tags:
                registry.add_tags(index.image, index.human_tags)
            say(f"{index.name}: index {index.image} is published already: skipped")
            results[index.name] = ("skipped", item.seconds + time.monotonic() - started)
            continue
        if not builder:
            assert request.builder is not None  # publish builds serially: one builder
            builder = prepare_builder(config, request.builder)
        registry.write_index(index, digests, builder)
        answer = registry.probe(index.image)
        if answer.presence is not Presence.PRESENT:
            raise BakehouseError(f"wrote the index {index.image}, but the registry doesn't show it: {answer}")
        if index.human_tags:
            registry.add_tags(index.image, index.human_tags)
        say(f"{index.name}: index {index.image} over {', '.join(index.platforms)} ({answer.digest})")
        results[index.name] = ("written", item.seconds + time.monotonic() - started)
    return results


def print_summary(
    cells: Sequence[Probed],
    results: Mapping[str, tuple[str, float]],
    indexes: Sequence[ProbedIndex],
    index_results: Mapping[str, tuple[str, float]],
) -> None:
    print(file=sys.stderr)
    for line in summary_rows([(item.cell, *results[item.cell.target]) for item in cells]):
        print(line, file=sys.stderr)
    if indexes:
        print(file=sys.stderr)
        for line in index_summary_rows([(item.index, *index_results[item.index.name]) for item in indexes]):
            print(line, file=sys.stderr)


def index_counts(index_results: Mapping[str, tuple[str, float]]) -> str:
    """`; indexes: N written, M skipped` ("" without indexes)."""
    if not index_results:
        return ""
    written = sum(1 for result, _ in index_results.values() if result == "written")
    return f"; indexes: {written} written, {len(index_results) - written} skipped (already published)"


def publish_images(
    config: Settings,
    targets: Sequence[str],
    *,
    matrix_overrides: Sequence[str] = (),
    builder: str | None = None,
    dry_run: bool = False,
    progress: str | None = None,
    by_digest: bool = False,
) -> None:
    """Publish the cells; with ``by_digest`` under their content tags only, each cell's digest
    recorded in DIGESTS_DIR for `merge_published` (no human tags, no index)."""
    started = time.monotonic()
    check_publish_settings(config.publish)
    credentials = Credentials.from_environment()
    # The build's options, decided before anything is asked of the registry; its targets and
    # --set values come once the cells to push are known.
    selection = BakeSelection.of((), matrix_overrides)
    request = build_request(config, selection, builder=builder, progress=progress)
    registry = Registry(credentials, config.builder, config.root)
    planned = plan_and_probe(
        config, registry, targets, matrix_overrides, by_digest=by_digest, dry_run=dry_run
    )
    if dry_run:
        return
    present = [item for item in planned.cells if item.answer.presence is Presence.PRESENT]
    absent = [item.cell for item in planned.cells if item.answer.presence is Presence.ABSENT]
    results: dict[str, tuple[str, float]] = {}
    digests = {item.cell.target: item.answer.digest for item in present}
    if absent:
        say(f"pushing {len(absent)} cell(s) to {config.publish.registry}; {len(present)} already there")
        pushed, pushed_digests = push(config, registry, absent, request)
        results.update(pushed)
        digests.update(pushed_digests)
    results.update(tag_present_cells(registry, present, "skipped"))
    index_results = write_indexes(config, registry, request, planned.indexes, digests)
    recorded = ""
    if by_digest:
        directory = config.path(DIGESTS_DIR)
        write_records(
            directory,
            [
                DigestRecord(item.cell.target, str(item.cell.image), digests[item.cell.target])
                for item in planned.cells
            ],
        )
        recorded = f"; digests recorded in {directory}"
    print_summary(planned.cells, results, planned.indexes, index_results)
    print(
        f"PUBLISHED: {len(absent)} pushed, {len(present)} skipped (already published)"
        f"{index_counts(index_results)}{recorded} in {time.monotonic() - started:.1f}s",
        file=sys.stderr,
    )


def merge_published(
    config: Settings,
    records_dir: Path,
    targets: Sequence[str],
    *,
    matrix_overrides: Sequence[str] = (),
    builder: str | None = None,
    dry_run: bool = False,
) -> None:
    """The second half of a publish split across jobs: every cell must be in the registry as its
    `--by-digest` record says; then the cells' human tags, and the indexes over the recorded
    digests. A missing or different cell stops it before anything is tagged or written."""
    started = time.monotonic()
    check_publish_settings(config.publish)
    credentials = Credentials.from_environment()
    records = read_records(records_dir)
    request = build_request(config, BakeSelection.of((), matrix_overrides), builder=builder)
    registry = Registry(credentials, config.builder, config.root)
    planned = plan_and_probe(config, registry, targets, matrix_overrides, by_digest=False, dry_run=dry_run)
    found = {item.cell.target: item.answer.digest for item in planned.cells}
    expected = {item.cell.target: str(item.cell.image) for item in planned.cells}
    problems = record_mismatches(records, expected, found)
    if problems:
        raise BakehouseError(f"can't merge: {'; '.join(problems)}; nothing tagged or written")
    if dry_run:
        return
    results = tag_present_cells(registry, planned.cells, "tagged")
    digests = {target: record.digest for target, record in records.items()}
    index_results = write_indexes(config, registry, request, planned.indexes, digests)
    print_summary(planned.cells, results, planned.indexes, index_results)
    print(
        f"MERGED: {len(results)} cell(s) tagged{index_counts(index_results)} "
        f"in {time.monotonic() - started:.1f}s",
        file=sys.stderr,
    )
