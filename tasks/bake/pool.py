"""`inv build --builders a,b`: the selected matrix cells spread over several builders at once.

One bake per cell. Each builder has a thread that takes the next cell from a shared queue as soon
as its builder is free, so a slow cell never holds a builder back from the cells still waiting.
A cell's build and its load into the engine run on the builder that took it (the images wait in
that builder's store). Layers a cell shares with a cell built elsewhere are built on each builder
that needs them: a shared cache (`cache.backend: registry`) is what saves that work.

Everything a cell needs (its plan, entitlements, the builders and each one's bake command) is
resolved and checked before the first bake starts, so bad input stops the whole build before any
builder is touched. Without --keep-going the first failed cell stops the handing out of cells
(those running finish); with it every cell runs.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..builder.naming import validate_builder_name
from ..cache.maintenance import collect_exported_garbage
from ..shared.buildx import list_builders
from ..shared.engine import engine_lost, require_engine
from ..shared.errors import BakehouseError, bad_input
from ..shared.process import say
from ..shared.settings import Settings
from . import plan_cache
from .cells import Cell, selected_cells
from .definition import BakeInvocation, ResolvedBake, bake_invocation, resolve_bake
from .execution import bake_and_load, progress_mode, summarize
from .progress import TargetOutcome
from .summary import print_summary

NOT_STARTED = "not started"


def parse_builders(text: str) -> list[str]:
    """`a,b` -> ["a", "b"]: at least one name, each valid, none twice."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise bad_input(f"--builders {text!r}: expected builder names separated by commas, e.g. a,b")
    for name in names:
        if name != "default":
            validate_builder_name(name)
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise bad_input(f"--builders: {', '.join(twice)} given twice")
    return names


def require_builders(names: Sequence[str]) -> None:
    """Every builder must exist: a pool never creates one (a typo would build on an empty builder)."""
    existing = {builder.name for builder in list_builders()}
    missing = [name for name in names if name not in existing]
    if missing:
        raise bad_input(
            f"--builders: no builder named {', '.join(missing)} (builders: {', '.join(sorted(existing))}); "
            "`inv builder.create --name NAME` makes one"
        )


@dataclass
class CellResult:
    """How one cell went, and on which builder (None: never handed out)."""

    cell: Cell
    builder: str | None = None
    outcomes: list[TargetOutcome] = field(default_factory=list)
    ok: bool = False
    error: str | None = None
    # Why the cell failed when its builder's container stopped under it.
    builder_lost: str | None = None


@dataclass(frozen=True)
class CellWork:
    """A cell's share of the build: its concrete targets, and the plan that told them apart."""

    cell: Cell
    names: list[str]
    membership: ResolvedBake


def store_plan(resolved: ResolvedBake) -> None:
    """Remember a plan a build succeeded with (the plan cache), unless it came from there."""
    if not resolved.plan_remembered:
        plan_cache.store(plan_cache.cache_dir(resolved.env), resolved.plan_key, resolved.plan)


def build_cell(work: CellWork, invocation: BakeInvocation, mode: str) -> CellResult:
    """One bake of the cell's targets on the invocation's builder, then its changed images loaded
    into the engine (quietly: that cached bake's rows would carry no builder prefix)."""
    cell, names, builder = work.cell, work.names, invocation.builder
    say(f"[{builder}] cell {cell.id}: building {', '.join(names)}")
    baked = bake_and_load(invocation, [names], mode, label=f"[{builder}] ", quiet_load=True)
    call = baked.calls[0]
    result = CellResult(
        cell, builder, summarize(baked.calls), ok=baked.ok, error=call.error, builder_lost=baked.builder_lost
    )
    if call.ok and not baked.loaded:
        result.error = "loading its images into the engine failed"
    if result.ok:
        store_plan(work.membership)
    say(f"[{builder}] cell {cell.id}: {'done' if result.ok else 'FAILED'} in {call.seconds:.1f}s")
    return result


def split_into_cells(
    config: Settings, targets: list[str], matrix_overrides: Sequence[str], selection: ResolvedBake
) -> list[CellWork]:
    """The selection's concrete targets, grouped by cell.

    Each cell's targets come from a plan of that cell alone, without --set: a --set naming one
    cell's target (`tests-smoke--debian--trixie-slim--sentry.args.x=y`) is an error in the others'
    plans. A target several cells request (one that depends on fewer dimensions) goes to the first
    of them only; the cells are built with the selection's own plan and --set values.
    """
    taken: set[str] = set()
    works = []
    for cell in selected_cells(config, matrix_overrides):
        membership = resolve_bake(
            config, targets, matrix_overrides=[*matrix_overrides, *cell.matrix_options()]
        )
        names = [name for name in membership.names if name in selection.names and name not in taken]
        taken.update(names)
        if names:
            works.append(CellWork(cell, names, membership))
    return works


def hand_out(
    cells: Sequence[Cell], builders: Sequence[str], keep_going: bool, build: Callable[[int, str], CellResult]
) -> list[CellResult]:
    """Give each cell (by index) to the next free builder, a thread per builder; the results in
    the cells' order (a cell never handed out keeps builder None)."""
    waiting: queue.Queue[int] = queue.Queue()
    for index in range(len(cells)):
        waiting.put(index)
    results = [CellResult(cell) for cell in cells]
    stop = threading.Event()

    def serve(builder: str) -> None:
        while not stop.is_set():
            try:
                index = waiting.get_nowait()
            except queue.Empty:
                return
            results[index] = build(index, builder)
            if not results[index].ok and not keep_going:
                stop.set()

    with ThreadPoolExecutor(max_workers=len(builders), thread_name_prefix="bakehouse-pool") as threads:
        # result() re-raises what a thread didn't expect (a bug), after every thread ended.
        for future in [threads.submit(serve, builder) for builder in builders]:
            future.result()
    return results


def pool_build(
    config: Settings,
    targets: list[str],
    builders: Sequence[str],
    *,
    matrix_overrides: Sequence[str] = (),
    sets: Sequence[str] = (),
    keep_going: bool = False,
    progress: str | None = None,
    before_bake: Callable[[BakeInvocation], None] | None = None,
) -> list[CellResult]:
    """Build every selected cell on the next free builder of ``builders``; summary table with the
    builder of each target; BakehouseError naming the failed cells. ``before_bake`` sees each
    builder's resolved build before any cell starts."""
    mode = progress_mode(progress, config)
    # buildx's own display can't share a terminal with another bake's: rows with a builder prefix.
    mode = "plain" if mode == "tty" else mode
    cache = config.cache
    cache.validate()
    if cache.backend == "local" and cache.export_cache and len(builders) > 1:
        # Cells share their parent targets: parallel bakes would write one layout (index.json and
        # blobs) from several processes at once. A registry takes concurrent pushes.
        raise bad_input(
            f"--builders {','.join(builders)} with cache.backend local: parallel cells would export to "
            "one cache directory at once; use cache.backend registry, or one builder"
        )
    require_engine()
    require_builders(builders)
    selection = resolve_bake(config, targets, matrix_overrides=matrix_overrides, sets=sets)
    works = split_into_cells(config, targets, matrix_overrides, selection)
    # Each builder's bake command, made here, one builder after the other: what that costs (a
    # `bake --print` for the cache's matrix siblings, the cache directories) is done once, and what
    # fails stops the build before any builder has started a cell.
    invocations = {builder: bake_invocation(config, selection, sets, builder) for builder in builders}
    if before_bake is not None:
        for invocation in invocations.values():
            before_bake(invocation)
    say(f"building {len(works)} cell(s) on {len(builders)} builder(s): {', '.join(builders)}")
    started = time.monotonic()
    results = hand_out(
        [work.cell for work in works],
        builders,
        keep_going,
        lambda index, builder: build_cell(works[index], invocations[builder], mode),
    )
    outcomes: list[TargetOutcome] = []
    column: list[str] = []
    for result in results:
        rows = result.outcomes or [
            TargetOutcome(f"(cell {result.cell.id})", "failed" if result.builder else NOT_STARTED, 0.0, 0, 0,
                          result.error)
        ]  # fmt: skip
        outcomes.extend(rows)
        column.extend([result.builder or "-"] * len(rows))
    # A cell never handed out isn't ok either.
    exit_status = 0 if all(result.ok for result in results) else 1
    print_summary(outcomes, time.monotonic() - started, exit_status, builders=column)
    if exit_status == 0:
        store_plan(selection)
        collect_exported_garbage(config)
        return results
    if lost := engine_lost("the build"):
        raise lost
    raise BakehouseError(failure_message(results))


def failure_message(results: Sequence[CellResult]) -> str:
    """The failed cells and their builders, why a builder stopped (once each), the cells never started."""
    failed = [result for result in results if result.builder is not None and not result.ok]
    named = "; ".join(f"{result.cell.id} on {result.builder}" for result in failed)
    message = f"{len(failed)} of {len(results)} cell(s) failed: {named}"
    # The cause and the fix, which buildx's EOF in the table doesn't say.
    for stopped in dict.fromkeys(result.builder_lost for result in failed if result.builder_lost):
        message += f"; {stopped}"
    skipped = [result.cell.id for result in results if result.builder is None]
    if skipped:
        message += f"; not started: {', '.join(skipped)}"
    return message
