"""The gate of one cell: its results (results_dir.CellResults) against the baseline, the reports,
and the baseline update."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path

from ..shared.errors import BakehouseError
from ..shared.process import say
from ..shared.settings import Settings
from ..shared.text_clean import for_terminal, one_line
from .classify import NEW, REGRESSION, GateResult, blindness, classify, updated_baseline
from .events import Key, short_package
from .known_failures import load_known_failures
from .legacy_baseline import place_legacy
from .report import (
    RunSummary,
    failure_report,
    render_html,
    render_junit,
    render_markdown,
    render_table,
)
from .results import load_results, write_results
from .results_dir import CellResults, ResultsDir
from .select import Selection
from .signals import signal_exit_code


def _write_reports(path: Path, result: GateResult, summary: RunSummary) -> None:
    directory = ResultsDir(path)
    directory.junit.write_bytes(render_junit(result, summary))
    directory.html_report.write_text(render_html(result, summary), encoding="utf-8")
    markdown = render_markdown(result, summary)
    directory.summary.write_text(markdown, encoding="utf-8")
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")


def _comparable_baseline(config: Settings, cell_run: CellResults, selection: Selection) -> dict[Key, str]:
    """The baseline with legacy rows placed on this run's keys; refuses a blind gate.

    Raises (exit 1, whatever --report-only says) when the baseline and the run share no test:
    the gate would pass having compared nothing. An interrupted run is left to its own error.
    """
    conf = config.complement
    state = cell_run.state
    loaded = load_results(config.path(conf.baseline))
    if loaded.malformed:
        say(f"baseline {conf.baseline}: {loaded.malformed} malformed row(s) ignored")
    if loaded.conflicts:
        say(f"baseline {conf.baseline}: {len(loaded.conflicts)} test(s) listed with different outcomes "
            f"(the worse kept): {_listed(test for _, test in loaded.conflicts)}")  # fmt: skip
    placement = place_legacy(
        loaded.results, state.results, selection, packages_done=state.packages, listing=cell_run.listing
    )
    if placement.legacy:
        say(f"baseline {conf.baseline}: {placement.legacy} test(s) without a package (legacy rows), "
            f"matched by test name: {placement.matched} in one package, {len(placement.several)} in "
            f"several, {len(placement.unplaced)} not found")  # fmt: skip
    if placement.several:
        names = (
            f"{test} ({', '.join(map(short_package, where))})" for test, where in placement.several.items()
        )
        say(f"legacy test name(s) in several packages, each compared with the one legacy outcome: "
            f"{_listed(names)}")  # fmt: skip
    if placement.unplaced:
        say(f"{len(placement.unplaced)} selected legacy test(s) neither ran nor are listed, package "
            f"unknown, not compared: {_listed(placement.unplaced)}")  # fmt: skip
    known = conf.packages
    check = blindness(
        placement.baseline, state.results, selection, known_packages=known, packages_done=state.packages
    )
    for package, count in sorted(check.foreign.items()):
        say(f"baseline package {package} ({count} test(s)) matches no configured package "
            "(complement.packages): never compared; wrong package name?")  # fmt: skip
    for package, count in sorted(check.absent.items()):
        say(f"baseline package {package} ({count} test(s)) is selected but this run never mentioned it")
    for package, (before, now) in sorted(check.disjoint.items()):
        say(f"package {short_package(package)}: the baseline ({before} tests) and this run ({now} tests) "
            "share no test")  # fmt: skip
    if check.blind and cell_run.interrupted_by is None:
        say(f"results and logs in {os.path.relpath(cell_run.directory.path)}")
        incomplete = "" if cell_run.complete else f" (incomplete run: {'; '.join(cell_run.problems)})"
        raise BakehouseError(check.message() + incomplete)
    return placement.baseline


def _listed(names: Iterable[str], limit: int = 5) -> str:
    names = list(names)
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def gate_cell(
    config: Settings,
    cell_run: CellResults,
    selection: Selection,
    *,
    update_baseline: bool,
    accept_regressions: bool,
) -> list[str]:
    """Gate one cell's results against the baseline, report, maybe update it; return failures."""
    state = cell_run.state
    baseline = _comparable_baseline(config, cell_run, selection)
    result = classify(
        baseline,
        state.results,
        selection,
        packages_done=state.packages,
        listing=cell_run.listing,
        lost=cell_run.lost,
    )
    report_cell(config, cell_run, result)
    raise_if_interrupted(cell_run)
    if update_baseline:
        update_cell_baseline(config, cell_run, result, accept_regressions=accept_regressions)
    return cell_failures(cell_run, result)


def report_cell(config: Settings, cell_run: CellResults, result: GateResult) -> None:
    """The new failures' logs, the reports on disk, the table, and what an incomplete run left."""
    state = cell_run.state
    summary = RunSummary(
        label=cell_run.label,
        outcomes=state.counts(),
        malformed=state.malformed,
        elapsed=cell_run.seconds,
        failure_output=state.failure_output,
        known_failures=load_known_failures(config.path(config.complement.known_failures)),
    )
    # Complement prints the homeserver logs into a failed test's output: show them for new failures.
    shown = [v.key for v in result.verdicts if v.after == "fail" and v.klass in (REGRESSION, NEW)]
    if shown:
        max_lines = config.complement.failure_log_lines
        sys.stderr.write(failure_report(summary, shown, max_lines=max_lines, tty=sys.stderr.isatty()))
    _write_reports(cell_run.directory.path, result, summary)
    sys.stdout.write(render_table(result, summary))
    sys.stdout.flush()
    say(f"results, logs, JUnit XML, summary and report.html in {os.path.relpath(cell_run.directory.path)}")
    tail = None if cell_run.complete else cell_run.directory.tester_stderr_tail(15)
    if tail is not None:  # a merge has no tester of its own
        for line in tail:
            say(f"tester: {for_terminal(line, tty=sys.stderr.isatty())}")
    for sample in state.malformed_samples[:3]:
        say(f"malformed line: {one_line(sample)}")


def raise_if_interrupted(cell_run: CellResults) -> None:
    """An interrupted run is reported (above) but never gated: its exit status is the signal's."""
    signal_name = cell_run.interrupted_by
    if signal_name is not None:
        raise BakehouseError(
            f"interrupted by {signal_name}; run {cell_run.run_id} cleaned up",
            signal_exit_code(signal_name),
        )


def update_cell_baseline(
    config: Settings, cell_run: CellResults, result: GateResult, *, accept_regressions: bool
) -> None:
    """Write fixes, new and removed tests into the baseline: only from a complete run, and with
    regressions only when they are accepted."""
    conf = config.complement
    if not cell_run.complete:
        say(f"baseline not updated: incomplete run ({'; '.join(cell_run.problems)})")
    elif result.regressions and not accept_regressions:
        say(
            f"baseline not updated: {len(result.regressions)} regression(s) "
            "(add --accept-regressions to record them)"
        )
    else:
        baseline_path = config.path(conf.baseline)
        write_results(baseline_path, updated_baseline(result, accept_regressions=accept_regressions))
        counts = result.counts()
        accepted = counts[REGRESSION] if accept_regressions else 0
        say(
            f"baseline {conf.baseline} updated: {counts['fix']} fix(es), {counts['new']} new, "
            f"{counts['removed']} removed, {accepted} regression(s) accepted"
        )


def cell_failures(cell_run: CellResults, result: GateResult) -> list[str]:
    """What fails the cell: an incomplete run, and regressions (the first five named)."""
    failures: list[str] = []
    if not cell_run.complete:
        failures.append(f"{cell_run.label}: incomplete run ({'; '.join(cell_run.problems)})")
    if result.regressions:
        names = ", ".join(one_line(v.key[1]) for v in result.regressions[:5])
        more = f" and {len(result.regressions) - 5} more" if len(result.regressions) > 5 else ""
        failures.append(f"{cell_run.label}: {len(result.regressions)} regression(s): {names}{more}")
    return failures
