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
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..shared.process import say
from ..shared.settings import Settings
from .cells import Cell, selected_cells
from .definition import BakeInvocation, ResolvedBake, resolve_bake
from .execution import Baked, bake_and_load, run_build, summarize
from .progress import TargetOutcome
from .request import BakeSelection, BuildRequest

NOT_STARTED = "not started"


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
        work.membership.store_plan()
    say(f"[{builder}] cell {cell.id}: {'done' if result.ok else 'FAILED'} in {call.seconds:.1f}s")
    return result


def split_into_cells(config: Settings, selection: ResolvedBake) -> list[CellWork]:
    """The selection's concrete targets, grouped by cell.

    Each cell's targets come from a plan of that cell alone, without --set: a --set naming one
    cell's target (`tests-smoke--debian--trixie-slim--sentry--amd64.args.x=y`) is an error in the others'
    plans. A target several cells request (one that depends on fewer dimensions) goes to the first
    of them only; the cells are built with the selection's own plan and --set values.
    """
    taken: set[str] = set()
    works = []
    targets, matrix_overrides = selection.selection.targets, selection.selection.matrix_overrides
    for cell in selected_cells(config, matrix_overrides):
        membership = resolve_bake(
            config, BakeSelection.of(targets, [*matrix_overrides, *cell.matrix_options()])
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


def pool_build(config: Settings, request: BuildRequest, resolved: ResolvedBake) -> list[CellResult]:
    """Build every selected cell on the next free builder of the request's pool; summary table with
    the builder of each target; BakehouseError naming the failed cells."""
    results: list[CellResult] = []

    def bake(invocations: list[BakeInvocation]) -> Baked:
        by_builder = {invocation.builder: invocation for invocation in invocations}
        works = split_into_cells(config, resolved)
        say(f"building {len(works)} cell(s) on {len(by_builder)} builder(s): {', '.join(by_builder)}")
        results.extend(
            hand_out(
                [work.cell for work in works],
                list(by_builder),
                request.keep_going,
                lambda index, builder: build_cell(works[index], by_builder[builder], request.progress),
            )
        )
        outcomes: list[TargetOutcome] = []
        column: list[str] = []
        for result in results:
            status = "failed" if result.builder else NOT_STARTED
            rows = result.outcomes or [
                TargetOutcome(f"(cell {result.cell.id})", status, 0.0, 0, 0, result.error)
            ]
            outcomes.extend(rows)
            column.extend([result.builder or "-"] * len(rows))
        # A cell never handed out isn't ok either.
        ok = all(result.ok for result in results)
        return Baked(outcomes, ok, "" if ok else failure_message(results), builders=column)

    run_build(config, request, resolved, bake)
    return results


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
