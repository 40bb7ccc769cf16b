"""One `inv complement` run, as a sequence of named steps.

validate the options → plan the cells → build their images → for each cell: hold the daemon, run
it, check that the engine and the homeservers survived, gate it → fail on what the gates found.
Everything is validated before anything is built.

With --shard K/N a cell runs only its shard's part of the selection (tasks/complement/shards.py),
in its own results directory, and gates it against the baseline restricted to that part: the
shard's own -run selects it, so the rest of the baseline is "not run". The real gate of a
sharded run is `inv complement.merge` (tasks/complement/merge.py), over all the shards.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from typing import Any

from ..bake.definition import ResolvedBake, narrowed, resolve_bake
from ..bake.execution import bake_build
from ..bake.platforms import parse_platform, platform_of
from ..bake.request import BakeSelection, BuildRequest, build_request
from ..builder.emulation import NATIVE
from ..shared.checkout import read_commit
from ..shared.engine import engine_lost
from ..shared.errors import BakehouseError, bad_input
from ..shared.process import say
from ..shared.settings import Settings
from ..shared.text_clean import for_terminal
from .cell_gate import gate_cell
from .cell_job import CellJob, CellRun, record_shard_without_tests, run_cell
from .daemon_lock import daemon_held, refuse_if_busy
from .isolation import make_run_id, namespaces_for, run_container_name, valid_run_id
from .options import RunOptions, parse_testee_env, suite_settings
from .results_dir import ResultsDir
from .run_cells import ComplementCell, SuiteSettings, cells_from_plan
from .select import Selection
from .shards import (
    ShardRecord,
    ShardSpec,
    durations_by_name,
    parse_shard,
    plan_shards,
    restrict_pattern,
)
from .signals import Interrupted
from .sweep import sweep_leftovers
from .tester_container import list_tests


@dataclass(frozen=True)
class Session:
    """A run's options and what they were validated into, before anything is built."""

    options: RunOptions
    settings: SuiteSettings
    selection: Selection
    testee_env: dict[str, str]
    cells: list[ComplementCell]
    namespaces: list[str]
    images: CellImages
    shard: ShardSpec | None = None


@dataclass(frozen=True)
class CellImages:
    """The cells' testers and testees as one build, resolved once: the plan the cells came from."""

    request: BuildRequest
    resolved: ResolvedBake


def run_complement(config: Settings, options: RunOptions) -> None:
    """Run the suite in every cell of the matrix and gate each against the baseline."""
    session = plan_session(config, options)
    build_images(config, session)
    failures: list[str] = []
    for index, cell in enumerate(session.cells):
        run_id = cell_run_id(options.run_id, index, session.cells, session.shard)
        failures += run_and_gate(config, session, cell, run_id)
    conclude(failures, report_only=options.report_only)


def plan_session(config: Settings, options: RunOptions) -> Session:
    """Validate the options and plan the cells (the order of the checks is the order of the errors)."""
    settings, selection = suite_settings(config, options)
    env = parse_testee_env(options.testee_env)
    shard = parse_shard(options.shard) if options.shard is not None else None
    check_gate_options(options)
    cells, images = plan_cells(config, options)
    namespaces = complement_namespaces(config, settings)
    return Session(options, settings, selection, env, cells, namespaces, images, shard)


def check_gate_options(options: RunOptions) -> None:
    """The run id names things, and the baseline options only go together one way."""
    run_id = options.run_id
    if run_id is not None and not valid_run_id(run_id.lower()):
        raise bad_input(f"--run-id {run_id!r}: use lower-case letters, digits, '.', '_' or '-' (max 48)")
    if options.accept_regressions and not options.update_baseline:
        raise bad_input("--accept-regressions only makes sense with --update-baseline")
    if options.update_baseline and options.shard is not None:
        raise bad_input("a shard can't update the baseline: complement.merge --update-baseline can")


def plan_cells(config: Settings, options: RunOptions) -> tuple[list[ComplementCell], CellImages]:
    """The matrix cells to run, each a tester and a testee image from the bake plan, and the build
    of those images (the same plan: bake's definition is resolved once per run)."""
    conf = config.complement
    # The checkout's commit, read once: the default builder name and the bake variables use it.
    commit = read_commit(config.root, describe=config.bake.git_variables)
    selection = BakeSelection.of(conf.targets, options.matrix)
    request = build_request(
        config, selection, builder=options.builder, progress=options.progress, commit=commit
    )
    resolved = resolve_bake(config, selection, commit)
    try:
        cells = cells_from_plan(resolved.plan, conf.tester_target, conf.testee_target)
    except ValueError as exc:
        raise bad_input(str(exc)) from None
    if not cells:
        raise bad_input(f"the bake plan for {', '.join(conf.targets)} has no {conf.testee_target} target")
    if options.update_baseline and len(cells) > 1:
        raise bad_input("--update-baseline needs exactly one matrix cell (narrow it with --matrix)")
    refuse_foreign_cells(resolved.plan, cells, os.uname().machine)
    images = [t for cell in cells for t in (cell.tester_target, cell.testee_target)]
    return cells, CellImages(request, narrowed(config, resolved, images))


def refuse_foreign_cells(plan: dict[str, Any], cells: list[ComplementCell], machine: str) -> None:
    """Complement runs its tester and every homeserver as containers of the engine: under QEMU each
    request of a suite built around timeouts would be several times slower, so a cell of another
    architecture is refused (one line) rather than run into a wall of timeouts."""
    native = NATIVE.get(machine, ())
    for cell in cells:
        text = platform_of(plan.get("target", {}), cell.testee_target)
        if not text:
            continue
        wanted = parse_platform(text, f"target {cell.testee_target}")
        if wanted.architecture not in native:
            raise bad_input(
                f"{cell.label}: Complement runs on this machine's own architecture ({machine}), not "
                f"{wanted}; run that cell where {wanted.architecture} is native, or narrow the matrix"
            )


def complement_namespaces(config: Settings, settings: SuiteSettings) -> list[str]:
    """Complement's network namespaces of the selected packages, for the sweep."""
    namespaces, unknown = namespaces_for(settings.packages, dict(config.complement.namespaces))
    if unknown:
        say(f"no Complement namespace known for {', '.join(unknown)} (complement.namespaces): "
            "its networks are left to Complement's own cleanup")  # fmt: skip
    return namespaces


def build_images(config: Settings, session: Session) -> None:
    """Build every cell's tester and testee (with --no-wait, only while no other run holds the daemon)."""
    if session.options.no_wait:
        refuse_if_busy(str(config.path(config.complement.lock_dir)))
    bake_build(config, session.images.request, session.images.resolved)


def cell_run_id(
    explicit: str | None, index: int, cells: list[ComplementCell], shard: ShardSpec | None = None
) -> str:
    """The cell's run id: --run-id (numbered when there are several cells), else from CI (one per
    cell and shard) or random."""
    numbered = f"{explicit}-{index}" if explicit and len(cells) > 1 else explicit
    label = cells[index].label + (f"#{shard.directory_name}" if shard else "")
    return make_run_id(os.environ, label, explicit=numbered)


def run_and_gate(config: Settings, session: Session, cell: ComplementCell, run_id: str) -> list[str]:
    """One cell: run it holding the daemon, check it ran to a gate, gate it; return its failures."""
    options = session.options
    # The lock spans the run, the gate and the reports: a queued run must not touch this cell's
    # results directory (or the baseline) before they are all written.
    with daemon_held(str(config.path(config.complement.lock_dir)), run_id, wait=not options.no_wait):
        job, selection = cell_job(config, session, cell, run_id)
        if job.shard is not None and not job.shard.tests:
            record_shard_without_tests(job)
            say(f"{job.cell.label}: no test to run (more shards than tests); recorded in "
                f"{os.path.relpath(job.directory.path)}")  # fmt: skip
            return []
        cell_run = run_one_cell(job)
        refuse_if_engine_lost(cell_run)
        refuse_if_crashed(cell, cell_run)
        return gate_cell(
            config,
            cell_run.results,
            selection,
            update_baseline=options.update_baseline,
            accept_regressions=options.accept_regressions,
        )


def cell_job(
    config: Settings, session: Session, cell: ComplementCell, run_id: str
) -> tuple[CellJob, Selection]:
    """The cell's run and the selection its gate uses; a shard's are its part of them."""
    conf = config.complement
    job = CellJob(
        cell,
        session.settings,
        session.testee_env,
        run_id=run_id,
        name_prefix=conf.name_prefix,
        namespaces=session.namespaces,
        stop_timeout=conf.stop_timeout,
        directory=ResultsDir(config.path(conf.results_dir) / cell.label),
    )
    if session.shard is None:
        return job, session.selection
    return shard_job(job, session.selection, session.shard)


def shard_job(job: CellJob, selection: Selection, spec: ShardSpec) -> tuple[CellJob, Selection]:
    """Split the selected top-level tests (the tester lists them; the cell's last durations balance
    them) and narrow the job to this shard: its -run, its results directory, its record."""
    sweep_leftovers(job.namespaces)  # a listing container of a killed run with this id would clash
    lister = run_container_name(job.name_prefix, job.run_id, "list")
    listing = list_tests(job.cell.tester_image, job.settings, lister, job.run_id)
    if listing is None:
        raise BakehouseError(f"{job.cell.label}: can't shard: the tester could not list its tests")
    durations = durations_by_name(job.directory.load_durations())
    plan = plan_shards(job.cell.label, selection, listing, spec.count, durations)
    record = ShardRecord(spec.index, plan)
    names = record.tests
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    say(f"shard {spec} of {job.cell.label}: {len(names)} of {len(plan.names)} selected top-level tests "
        f"(split by {plan.balanced_by}){': ' + shown if names else ''}")  # fmt: skip
    run = restrict_pattern(selection.run, names) if names else selection.run
    narrowed = replace(
        job,
        cell=replace(job.cell, label=f"{job.cell.label} shard {spec}"),
        settings=replace(job.settings, run=run),
        directory=ResultsDir(job.directory.path / spec.directory_name),
        listing=listing,
        shard=record,
    )
    return narrowed, Selection(selection.packages, run=run, skip=selection.skip)


def run_one_cell(job: CellJob) -> CellRun:
    """Run the suite in one cell; an interruption ends the whole run, once the cell is cleaned up."""
    run_id = job.run_id
    try:
        return run_cell(job)
    except Interrupted as exc:
        raise BakehouseError(
            f"interrupted by {exc.signal_name}; run {run_id} cleaned up", exc.exit_code
        ) from None
    except KeyboardInterrupt:
        raise BakehouseError(f"interrupted; run {run_id} cleaned up", 130) from None


def refuse_if_engine_lost(cell_run: CellRun) -> None:
    """A run the engine died under is never gated: its results are incomplete."""
    results = cell_run.results
    if lost := engine_lost(f"Complement run {results.run_id}"):
        raise BakehouseError(
            f"{lost.reason}; the results in {os.path.relpath(results.directory.path)} are incomplete "
            "and the baseline is unchanged"
        )


def refuse_if_crashed(cell: ComplementCell, cell_run: CellRun) -> None:
    """A homeserver died before it was healthy: show its last lines and fail, without a gate."""
    crash = cell_run.outcome.crash
    if crash is None:
        return
    # No gate: every remaining test would only have waited for a server that is gone.
    sys.stderr.write(f"--- last lines of {crash.name or crash.container_id[:12]} ---\n")
    log = for_terminal(cell_run.outcome.crash_log or "(no output)", tty=sys.stderr.isatty())
    sys.stderr.write(log + "\n---\n")
    raise BakehouseError(
        f"{cell.label}: {crash.describe()}; run {cell_run.results.run_id} stopped after "
        f"{cell_run.outcome.seconds:.0f}s (its log is above; tester output in "
        f"{os.path.relpath(cell_run.results.directory.path)})"
    )


def conclude(failures: list[str], *, report_only: bool) -> None:
    """Fail on what the gates found, unless only a report was asked for."""
    if failures and not report_only:
        raise BakehouseError("complement: " + " | ".join(failures))
    if failures:
        say("report only, not failing: " + " | ".join(failures))
