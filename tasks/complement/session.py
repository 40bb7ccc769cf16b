"""One `inv complement` run, as a sequence of named steps.

validate the options → plan the cells → build their images → for each cell: hold the daemon, run
it, check that the engine and the homeservers survived, gate it → fail on what the gates found.
Everything is validated before anything is built.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from invoke import Context

from tasks.build.plan import bake_print
from tasks.build.runner import bake_build
from tasks.complement.gating import gate_cell
from tasks.complement.isolation import make_run_id, namespaces_for, valid_run_id
from tasks.complement.options import RunOptions, parse_testee_env, suite_settings
from tasks.complement.plan import Cell, SuiteSettings, cells_from_plan
from tasks.complement.runner import CellJob, CellRun, Interrupted, daemon_held, refuse_if_busy, run_cell
from tasks.complement.select import Selection
from tasks.shared.engine import engine_lost
from tasks.shared.errors import BakehouseError, bad_input
from tasks.shared.process import REPO_ROOT, say
from tasks.shared.settings import settings as config_of  # `settings` here is the suite's
from tasks.shared.text_clean import for_terminal


@dataclass(frozen=True)
class Session:
    """A run's options and what they were validated into, before anything is built."""

    options: RunOptions
    settings: SuiteSettings
    selection: Selection
    testee_env: dict[str, str]
    cells: list[Cell]
    namespaces: list[str]


def run_complement(c: Context, options: RunOptions) -> None:
    """Run the suite in every cell of the matrix and gate each against the baseline."""
    session = plan_session(c, options)
    build_images(c, session)
    failures: list[str] = []
    for index, cell in enumerate(session.cells):
        failures += run_and_gate(c, session, cell, cell_run_id(options.run_id, index, session.cells))
    conclude(failures, report_only=options.report_only)


def plan_session(c: Context, options: RunOptions) -> Session:
    """Validate the options and plan the cells (the order of the checks is the order of the errors)."""
    settings, selection = suite_settings(c, options)
    env = parse_testee_env(options.testee_env)
    check_gate_options(options)
    cells = plan_cells(c, options)
    namespaces = complement_namespaces(c, settings)
    return Session(options, settings, selection, env, cells, namespaces)


def check_gate_options(options: RunOptions) -> None:
    """The run id names things, and the baseline options only go together one way."""
    run_id = options.run_id
    if run_id is not None and not valid_run_id(run_id.lower()):
        raise bad_input(f"--run-id {run_id!r}: use lower-case letters, digits, '.', '_' or '-' (max 48)")
    if options.accept_regressions and not options.update_baseline:
        raise bad_input("--accept-regressions only makes sense with --update-baseline")


def plan_cells(c: Context, options: RunOptions) -> list[Cell]:
    """The matrix cells to run, each a tester and a testee image from the bake plan."""
    conf = config_of(c).complement
    plan = bake_print(c, list(conf.targets), options.matrix)
    try:
        cells = cells_from_plan(plan, conf.tester_target, conf.testee_target)
    except ValueError as exc:
        raise bad_input(str(exc)) from None
    if not cells:
        raise bad_input(f"the bake plan for {', '.join(conf.targets)} has no {conf.testee_target} target")
    if options.update_baseline and len(cells) > 1:
        raise bad_input("--update-baseline needs exactly one matrix cell (narrow it with --matrix)")
    return cells


def complement_namespaces(c: Context, settings: SuiteSettings) -> list[str]:
    """Complement's network namespaces of the selected packages, for the sweep."""
    namespaces, unknown = namespaces_for(settings.packages, dict(config_of(c).complement.namespaces))
    if unknown:
        say(f"no Complement namespace known for {', '.join(unknown)} (complement.namespaces): "
            "its networks are left to Complement's own cleanup")  # fmt: skip
    return namespaces


def build_images(c: Context, session: Session) -> None:
    """Build every cell's tester and testee (with --no-wait, only while no other run holds the daemon)."""
    options = session.options
    cells = session.cells
    targets = list(dict.fromkeys(t for cell in cells for t in (cell.tester_target, cell.testee_target)))
    if options.no_wait:
        refuse_if_busy(config_of(c).complement.lock_dir)
    bake_build(
        c, targets, matrix_overrides=options.matrix, builder=options.builder, progress=options.progress
    )


def cell_run_id(explicit: str | None, index: int, cells: list[Cell]) -> str:
    """The cell's run id: --run-id (numbered when there are several cells), else from CI or random."""
    numbered = f"{explicit}-{index}" if explicit and len(cells) > 1 else explicit
    return make_run_id(os.environ, cells[index].label, explicit=numbered)


def run_and_gate(c: Context, session: Session, cell: Cell, run_id: str) -> list[str]:
    """One cell: run it holding the daemon, check it ran to a gate, gate it; return its failures."""
    options = session.options
    # The lock spans the run, the gate and the reports: a queued run must not touch this cell's
    # results directory (or the baseline) before they are all written.
    with daemon_held(config_of(c).complement.lock_dir, run_id, wait=not options.no_wait):
        cell_run = run_one_cell(c, session, cell, run_id)
        refuse_if_engine_lost(cell_run)
        refuse_if_crashed(cell, cell_run)
        return gate_cell(
            c,
            cell_run,
            session.selection,
            update_baseline=options.update_baseline,
            accept_regressions=options.accept_regressions,
        )


def run_one_cell(c: Context, session: Session, cell: Cell, run_id: str) -> CellRun:
    """Run the suite in one cell; an interruption ends the whole run, once the cell is cleaned up."""
    conf = config_of(c).complement
    try:
        return run_cell(
            CellJob(
                cell,
                session.settings,
                session.testee_env,
                run_id=run_id,
                name_prefix=conf.name_prefix,
                namespaces=session.namespaces,
                stop_timeout=conf.stop_timeout,
                directory=REPO_ROOT / conf.results_dir / cell.label,
            )
        )
    except Interrupted as exc:
        raise BakehouseError(
            f"interrupted by {exc.signal_name}; run {run_id} cleaned up", exc.exit_code
        ) from None
    except KeyboardInterrupt:
        raise BakehouseError(f"interrupted; run {run_id} cleaned up", 130) from None


def refuse_if_engine_lost(cell_run: CellRun) -> None:
    """A run the engine died under is never gated: its results are incomplete."""
    if lost := engine_lost(f"Complement run {cell_run.run_id}"):
        raise BakehouseError(
            f"{lost.reason}; the results in {os.path.relpath(cell_run.directory)} are incomplete "
            "and the baseline is unchanged"
        )


def refuse_if_crashed(cell: Cell, cell_run: CellRun) -> None:
    """A homeserver died before it was healthy: show its last lines and fail, without a gate."""
    crash = cell_run.outcome.crash
    if crash is None:
        return
    # No gate: every remaining test would only have waited for a server that is gone.
    sys.stderr.write(f"--- last lines of {crash.name or crash.container_id[:12]} ---\n")
    log = for_terminal(cell_run.outcome.crash_log or "(no output)", tty=sys.stderr.isatty())
    sys.stderr.write(log + "\n---\n")
    raise BakehouseError(
        f"{cell.label}: {crash.describe()}; run {cell_run.run_id} stopped after "
        f"{cell_run.outcome.seconds:.0f}s (its log is above; tester output in "
        f"{os.path.relpath(cell_run.directory)})"
    )


def conclude(failures: list[str], *, report_only: bool) -> None:
    """Fail on what the gates found, unless only a report was asked for."""
    if failures and not report_only:
        raise BakehouseError("complement: " + " | ".join(failures))
    if failures:
        say("report only, not failing: " + " | ".join(failures))
