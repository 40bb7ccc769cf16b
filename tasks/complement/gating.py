"""`inv complement`: the Complement suite against the homeserver image, gated by a baseline."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from invoke import Context

from tasks.build.bake import bake_print
from tasks.complement.baseline import place_legacy
from tasks.complement.events import Key, short_package
from tasks.complement.gate import NEW, REGRESSION, GateResult, blindness, classify, updated_baseline
from tasks.complement.plan import Cell, SuiteSettings, cells_from_plan
from tasks.complement.report import (
    RunSummary,
    failure_report,
    render_html,
    render_junit,
    render_markdown,
    render_table,
)
from tasks.complement.results import (
    load_results,
    write_results,
)
from tasks.complement.runner import CellRun
from tasks.complement.select import Selection, anchored_names, join_alternatives, validate_pattern
from tasks.shared.errors import BakehouseError, bad_input
from tasks.shared.inputs import check_packages, go_regexp_problem
from tasks.shared.process import REPO_ROOT, say
from tasks.shared.text_clean import for_terminal, one_line
from tasks.shared.units import check_go_duration

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _positive_int(value: object, option: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise bad_input(f"--{option} {value!r}: expected a positive whole number") from None
    if number < 1:
        raise bad_input(f"--{option} {value!r}: expected a positive whole number")
    return number


def _settings(c: Context, options: dict[str, Any]) -> tuple[SuiteSettings, Selection]:
    """Options over config, validated before anything is built."""
    conf = c.config.bakehouse.complement
    run = options["run"] if options["run"] is not None else anchored_names(conf.run)
    skip = options["skip"] if options["skip"] is not None else join_alternatives(conf.skip)
    for option, pattern in (("run", run), ("skip", skip)):
        error = (validate_pattern(pattern) or go_regexp_problem(pattern)) if pattern else None
        if error:
            raise bad_input(f"--{option} {pattern!r}: invalid regular expression ({error})")
    packages = tuple(
        p for p in re.split(r"[\s,]+", options["packages"] or " ".join(conf.packages)) if p
    ) or tuple(conf.packages)
    # The tester runs only what it compiled (bake variable complement_packages; the environment wins).
    variable = "complement_packages"  # a bake variable: lower-case, like the matrix ones
    configured = c.config.bakehouse.bake.get("variables") or {}
    compiled = os.environ.get(variable) or str(configured.get(variable) or "")
    label = "--packages" if options["packages"] else "complement.packages"
    packages = check_packages(packages, compiled.split(), label)
    timeout = check_go_duration(str(options["timeout"] or conf.timeout), "--timeout")
    shuffle = str(options["shuffle"] or conf.shuffle)
    if shuffle not in ("off", "on") and not shuffle.isdigit():
        raise bad_input(f"--shuffle {shuffle!r}: expected off, on or a seed number")
    settings = SuiteSettings(
        base_image="",  # the per-run copy of the testee, set per cell
        packages=packages,
        run=run,
        skip=skip,
        timeout=timeout,
        parallel=_positive_int(options["parallel"] or conf.parallel, "parallel"),
        count=_positive_int(options["count"] or conf.count, "count"),
        shuffle=shuffle,
        spawn_timeout=_positive_int(conf.spawn_timeout, "spawn-timeout"),
        dirty=bool(options["dirty"] or conf.dirty),
        share_env_prefix=str(conf.share_env_prefix),
        always_print_server_logs=bool(conf.always_print_server_logs),
    )
    return settings, Selection(packages, run=run, skip=skip)


def _testee_env(pairs: Sequence[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not _ENV_NAME.match(key):
            raise bad_input(f"--testee-env {pair!r}: expected NAME=VALUE")
        env[key] = value
    return env


def _cells(c: Context, matrix: Sequence[str]) -> list[Cell]:
    conf = c.config.bakehouse.complement
    plan = bake_print(c, list(conf.targets), matrix)
    try:
        cells = cells_from_plan(plan, str(conf.tester_target), str(conf.testee_target))
    except ValueError as exc:
        raise bad_input(str(exc)) from None
    if not cells:
        raise bad_input(f"the bake plan for {', '.join(conf.targets)} has no {conf.testee_target} target")
    return cells


def _write_reports(directory: Path, result: GateResult, summary: RunSummary) -> None:
    (directory / "junit.xml").write_bytes(render_junit(result, summary))
    (directory / "report.html").write_text(render_html(result, summary), encoding="utf-8")
    markdown = render_markdown(result, summary)
    (directory / "summary.md").write_text(markdown, encoding="utf-8")
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")


def _comparable_baseline(c: Context, cell_run: CellRun, selection: Selection) -> dict[Key, str]:
    """The baseline with legacy rows placed on this run's keys; refuses a blind gate.

    Raises (exit 1, whatever --report-only says) when the baseline and the run share no test:
    the gate would pass having compared nothing. An interrupted run is left to its own error.
    """
    conf = c.config.bakehouse.complement
    state = cell_run.state
    loaded = load_results(REPO_ROOT / str(conf.baseline))
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
    known = tuple(str(p) for p in conf.packages)
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
    if check.blind and cell_run.outcome.interrupted is None:
        say(f"results and logs in {os.path.relpath(cell_run.directory)}")
        incomplete = "" if cell_run.complete else f" (incomplete run: {'; '.join(cell_run.problems)})"
        raise BakehouseError(check.message() + incomplete)
    return placement.baseline


def _listed(names: Iterable[str], limit: int = 5) -> str:
    names = list(names)
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _gate_cell(
    c: Context,
    cell_run: CellRun,
    selection: Selection,
    *,
    update_baseline: bool,
    accept_regressions: bool,
) -> list[str]:
    """Gate one cell's results against the baseline, report, maybe update it; return failures."""
    conf = c.config.bakehouse.complement
    baseline_path = REPO_ROOT / str(conf.baseline)
    state = cell_run.state
    baseline = _comparable_baseline(c, cell_run, selection)
    result = classify(
        baseline, state.results, selection, packages_done=state.packages, listing=cell_run.listing
    )
    summary = RunSummary(
        label=cell_run.label,
        outcomes=state.counts(),
        malformed=state.malformed,
        elapsed=cell_run.outcome.seconds,
        failure_output=state.failure_output,
    )
    # Complement prints the homeserver logs into a failed test's output: show them for new failures.
    shown = [v.key for v in result.verdicts if v.after == "fail" and v.klass in (REGRESSION, NEW)]
    if shown:
        report = failure_report(
            summary, shown, max_lines=int(conf.failure_log_lines), tty=sys.stderr.isatty()
        )
        sys.stderr.write(report)
    _write_reports(cell_run.directory, result, summary)
    sys.stdout.write(render_table(result, summary))
    sys.stdout.flush()
    say(f"results, logs, JUnit XML, summary and report.html in {os.path.relpath(cell_run.directory)}")
    if not cell_run.complete:
        tail = (cell_run.directory / "tester-stderr.log").read_text(errors="replace").splitlines()[-15:]
        for line in tail:
            say(f"tester: {for_terminal(line, tty=sys.stderr.isatty())}")
    for sample in state.malformed_samples[:3]:
        say(f"malformed line: {one_line(sample)}")

    interrupted = cell_run.outcome.interrupted
    if interrupted is not None:
        raise BakehouseError(
            f"interrupted by {interrupted.signal_name}; run {cell_run.run_id} cleaned up",
            interrupted.exit_code,
        )
    if update_baseline:
        if not cell_run.complete:
            say(f"baseline not updated: incomplete run ({'; '.join(cell_run.problems)})")
        elif result.regressions and not accept_regressions:
            say(
                f"baseline not updated: {len(result.regressions)} regression(s) "
                "(add --accept-regressions to record them)"
            )
        else:
            write_results(baseline_path, updated_baseline(result, accept_regressions=accept_regressions))
            counts = result.counts()
            accepted = counts[REGRESSION] if accept_regressions else 0
            say(
                f"baseline {conf.baseline} updated: {counts['fix']} fix(es), {counts['new']} new, "
                f"{counts['removed']} removed, {accepted} regression(s) accepted"
            )
    failures: list[str] = []
    if not cell_run.complete:
        failures.append(f"{cell_run.label}: incomplete run ({'; '.join(cell_run.problems)})")
    if result.regressions:
        names = ", ".join(one_line(v.key[1]) for v in result.regressions[:5])
        more = f" and {len(result.regressions) - 5} more" if len(result.regressions) > 5 else ""
        failures.append(f"{cell_run.label}: {len(result.regressions)} regression(s): {names}{more}")
    return failures
