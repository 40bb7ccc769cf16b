"""One cell's run, end to end (without the gate, which needs no docker): sweep what earlier runs
left, make the per-run testee image, list the suite, run the tester, sweep again, always, and
leave the results directory with its run record."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from ..shared.engine import engine_answers
from ..shared.process import say
from .daemon_lock import current_endpoint
from .events import EventParser, RunEvents, short_package
from .isolation import run_container_name, run_image_reference
from .results import LogsWriter
from .results_dir import RUNNING, CellResults, ResultsDir, RunRecord
from .run_cells import ComplementCell, SuiteSettings, tester_environment
from .select import package_matches
from .shards import ShardRecord, write_shard_record
from .signals import signals_interrupt
from .sweep import clean_up_run, complement_networks, sweep_leftovers
from .testee_image import make_run_image
from .tester_container import TesterOutcome, list_tests, run_tester


@dataclass(frozen=True)
class CellJob:
    """One cell's run: what the tester runs, under which run id and names, and where results go."""

    cell: ComplementCell
    settings: SuiteSettings
    testee_env: Mapping[str, str]
    run_id: str
    name_prefix: str
    # Complement's network namespaces of the selected packages (the sweep's scope).
    namespaces: Sequence[str]
    stop_timeout: int
    directory: ResultsDir
    # Listed already (a shard is planned from the listing); None: the run lists the tests itself.
    listing: Mapping[str, frozenset[str]] | None = None
    # The shard this run is, recorded in its results directory for the merge.
    shard: ShardRecord | None = None


@dataclass(frozen=True)
class CellRun:
    """A finished run: its results (what the gate reads) and how the tester ended."""

    results: CellResults
    outcome: TesterOutcome


def print_stderr(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


def _progress(package: str, test: str, action: str, elapsed: float | None) -> None:
    if not test or "/" in test:
        return  # one line per top-level test; subtests are in the results and logs
    took = f" ({elapsed:.1f}s)" if elapsed is not None else ""
    word = action.upper() if action == "fail" else action
    print_stderr(f"  {word:<4}  {short_package(package)} {test}{took}\n")


def run_cell(job: CellJob) -> CellRun:
    """Sweep leftovers, run the tester, sweep again, always. The caller holds the daemon
    (`daemon_held`)."""
    endpoint = current_endpoint()
    with signals_interrupt():
        # Only under the lock: a queued run must not empty the directory of the run it waits for.
        start_results_directory(job.directory, job.run_id, job.shard)
        sweep_leftovers(job.namespaces)
        existing_networks = list(complement_networks(job.namespaces))
        try:
            outcome, parser, listing = run_suite(job, endpoint)
        finally:
            clean_up_run(job.run_id, job.namespaces, existing_networks)
    state = parser.finish()
    job.directory.write_results(state.results)
    job.directory.write_durations(state.durations)
    if listing is not None:
        job.directory.write_listing(listing)
    problems = run_problems(job.settings, state, outcome)
    record = RunRecord.finished(job.run_id, problems, packages=state.packages, seconds=outcome.seconds)
    job.directory.write_record(record)
    signal_name = outcome.interrupted.signal_name if outcome.interrupted is not None else None
    results = CellResults(job.cell.label, job.directory, record, state, listing, interrupted_by=signal_name)
    return CellRun(results, outcome)


def record_shard_without_tests(job: CellJob) -> None:
    """A shard that got no test (more shards than tests): its directory says so, complete, so a
    merge counts it as present; no tester runs."""
    start_results_directory(job.directory, job.run_id, job.shard)
    job.directory.write_results({})
    if job.listing is not None:
        job.directory.write_listing(job.listing)
    job.directory.write_record(RunRecord.finished(job.run_id, (), packages={}, seconds=0.0))


def start_results_directory(directory: ResultsDir, run_id: str, shard: ShardRecord | None = None) -> None:
    """An empty results directory whose record says a run is in progress (and, for a shard, which
    shard of which plan it is: a merge then knows its tests even if the run dies)."""
    directory.reset()
    if shard is not None:
        write_shard_record(directory.shard_record, shard)
    directory.write_record(RunRecord(run_id, RUNNING))


def run_suite(
    job: CellJob, endpoint: str
) -> tuple[TesterOutcome, EventParser, Mapping[str, frozenset[str]] | None]:
    """The per-run testee image, the suite's test listing, then the tester, its output parsed and
    logged into the results directory."""
    cell, run_id, name_prefix = job.cell, job.run_id, job.name_prefix
    run_image = run_image_reference(name_prefix, run_id)
    marker = run_container_name(name_prefix, run_id, "mark")
    make_run_image(cell.testee_image, run_image, run_id, marker)
    env = tester_environment(replace(job.settings, base_image=run_image), job.testee_env)
    say(f"complement run {run_id} ({cell.label}): {cell.testee_image} tested by {cell.tester_image}")
    listing = job.listing
    if listing is None:
        listing = list_tests(
            cell.tester_image, job.settings, run_container_name(name_prefix, run_id, "list"), run_id
        )
    with (
        job.directory.logs.open("w", encoding="utf-8") as logs_handle,
        job.directory.tester_stderr.open("w", encoding="utf-8") as stderr_handle,
    ):
        parser = EventParser(LogsWriter(logs_handle), on_result=_progress)
        outcome = run_tester(
            name=run_container_name(name_prefix, run_id, "tester"),
            image=cell.tester_image,
            run_id=run_id,
            env=env,
            parser=parser,
            stderr_log=stderr_handle,
            tester_log=job.directory.tester_log,
            stop_timeout=job.stop_timeout,
            endpoint=endpoint,
        )
    return outcome, parser, listing


def run_problems(settings: SuiteSettings, state: RunEvents, outcome: TesterOutcome) -> list[str]:
    """Why the run's results are incomplete, the gravest first; none when it is complete."""
    problems: list[str] = []
    if outcome.interrupted is not None:
        problems.append(f"interrupted by {outcome.interrupted.signal_name}")
    if outcome.exit_code not in (0, 1):
        problems.append(f"tester exited with status {outcome.exit_code}")
    for package in settings.packages:
        if not any(package_matches(done, package) for done in state.packages):
            problems.append(f"package {package} did not finish")
    if state.events == 0:
        problems.append("the tester printed no test events")
    if outcome.crash is not None:
        problems.insert(0, f"stopped: {outcome.crash.describe()}")
    if not engine_answers():
        problems.insert(0, "the Docker engine stopped answering")
    return problems
