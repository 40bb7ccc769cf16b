"""`inv complement`: the Complement suite against the homeserver image, gated by a baseline."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from invoke import Context, task

from tasks.core.complement_baseline import default_package, import_path, import_summary, place_legacy
from tasks.core.complement_events import Key, short_package
from tasks.core.complement_gate import NEW, REGRESSION, GateResult, blindness, classify, updated_baseline
from tasks.core.complement_isolation import make_run_id, namespaces_for, valid_run_id
from tasks.core.complement_plan import Cell, SuiteSettings, cells_from_plan
from tasks.core.complement_report import (
    RunSummary,
    failure_report,
    render_html,
    render_junit,
    render_markdown,
    render_table,
)
from tasks.core.complement_results import (
    load_results,
    parse_results,
    render_results,
    write_atomically,
    write_results,
)
from tasks.core.complement_select import Selection, anchored_names, join_alternatives, validate_pattern
from tasks.core.inputs import check_packages, go_regexp_problem
from tasks.core.text_clean import for_terminal, one_line
from tasks.core.units import check_go_duration
from tasks.engine import engine_lost
from tasks.errors import BakehouseError, bad_input
from tasks.proc import REPO_ROOT, say

if TYPE_CHECKING:
    from tasks.complement_run import CellRun

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
    from tasks.bake import bake_print

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


@task(
    default=True,  # `inv complement` runs the suite; `inv complement.import-baseline` converts baselines
    auto_shortflags=False,  # too many options: generated letters would be arbitrary (and one clashes)
    iterable=["matrix", "testee_env"],
    help={
        "run": "go test -run regex (default: the curated subset in config)",
        "skip": "go test -skip regex (default: the curated flaky list in config; this replaces it)",
        "packages": "suite packages, space or comma separated (default: config)",
        "timeout": "go test -timeout, a Go duration (default: config)",
        "parallel": "go test -parallel (default: config)",
        "count": "go test -count (default: config)",
        "shuffle": "go test -shuffle: off, on or a seed (default: config)",
        "dirty": "reuse homeservers between tests (COMPLEMENT_ENABLE_DIRTY_RUNS): much faster",
        "update_baseline": "write fixes, new and removed tests into the baseline (complete runs only)",
        "accept_regressions": "with --update-baseline: record regressions in the baseline too",
        "report_only": "report regressions but exit 0 for them",
        "matrix": "narrow the matrix: NAME=VALUE, like inv build (repeatable)",
        "builder": "builder for the images (default: the configured one)",
        "no_wait": "fail at once when another Complement run holds the daemon",
        "run_id": "run id for names and labels (default: from the CI job and cell, else random)",
        "testee_env": "NAME=VALUE set in every homeserver container (repeatable)",
        "progress": "build progress: auto | plain | tty | quiet | rawjson",
    },
)
def complement(
    c: Context,
    run: str | None = None,
    skip: str | None = None,
    packages: str | None = None,
    timeout: str | None = None,
    parallel: str | None = None,
    count: str | None = None,
    shuffle: str | None = None,
    dirty: bool = False,
    update_baseline: bool = False,
    accept_regressions: bool = False,
    report_only: bool = False,
    matrix: list[str] | None = None,
    builder: str | None = None,
    no_wait: bool = False,
    run_id: str | None = None,
    testee_env: list[str] | None = None,
    progress: str | None = None,
) -> None:
    """Run the Complement suite against the homeserver image and gate it against the baseline."""
    from tasks.bake import bake_build
    from tasks.complement_run import Interrupted, daemon_held, refuse_if_busy, run_cell

    conf = c.config.bakehouse.complement
    options = {
        "run": run, "skip": skip, "packages": packages, "timeout": timeout, "parallel": parallel,
        "count": count, "shuffle": shuffle, "dirty": dirty,
    }  # fmt: skip
    settings, selection = _settings(c, options)
    shared_env = _testee_env(testee_env or [])
    if run_id is not None and not valid_run_id(run_id.lower()):
        raise bad_input(f"--run-id {run_id!r}: use lower-case letters, digits, '.', '_' or '-' (max 48)")
    if accept_regressions and not update_baseline:
        raise bad_input("--accept-regressions only makes sense with --update-baseline")
    overrides = matrix or []
    cells = _cells(c, overrides)
    if update_baseline and len(cells) > 1:
        raise bad_input("--update-baseline needs exactly one matrix cell (narrow it with --matrix)")
    namespaces, unknown = namespaces_for(settings.packages, dict(conf.namespaces))
    if unknown:
        say(f"no Complement namespace known for {', '.join(unknown)} (complement.namespaces): "
            "its networks are left to Complement's own cleanup")  # fmt: skip
    targets = list(dict.fromkeys(t for cell in cells for t in (cell.tester_target, cell.testee_target)))
    if no_wait:
        refuse_if_busy(str(conf.lock_dir))
    bake_build(c, targets, matrix_overrides=overrides, builder=builder, progress=progress)

    failures: list[str] = []
    for index, cell in enumerate(cells):
        explicit = f"{run_id}-{index}" if run_id and len(cells) > 1 else run_id
        cell_run_id = make_run_id(os.environ, cell.label, explicit=explicit)
        # The lock spans the run, the gate and the reports: a queued run must not touch this cell's
        # results directory (or the baseline) before they are all written.
        with daemon_held(str(conf.lock_dir), cell_run_id, wait=not no_wait):
            try:
                cell_run = run_cell(
                    cell,
                    settings,
                    shared_env,
                    run_id=cell_run_id,
                    name_prefix=str(conf.name_prefix),
                    namespaces=namespaces,
                    stop_timeout=int(conf.stop_timeout),
                    directory=REPO_ROOT / str(conf.results_dir) / cell.label,
                )
            except Interrupted as exc:
                raise BakehouseError(
                    f"interrupted by {exc.signal_name}; run {cell_run_id} cleaned up", exc.exit_code
                ) from None
            except KeyboardInterrupt:
                raise BakehouseError(f"interrupted; run {cell_run_id} cleaned up", 130) from None
            if lost := engine_lost(f"Complement run {cell_run_id}"):
                raise BakehouseError(
                    f"{lost.reason}; the results in {os.path.relpath(cell_run.directory)} are incomplete "
                    "and the baseline is unchanged"
                )
            crash = cell_run.outcome.crash
            if crash is not None:
                # No gate: every remaining test would only have waited for a server that is gone.
                sys.stderr.write(f"--- last lines of {crash.name or crash.container_id[:12]} ---\n")
                log = for_terminal(cell_run.outcome.crash_log or "(no output)", tty=sys.stderr.isatty())
                sys.stderr.write(log + "\n---\n")
                raise BakehouseError(
                    f"{cell.label}: {crash.describe()}; run {cell_run_id} stopped after "
                    f"{cell_run.outcome.seconds:.0f}s (its log is above; tester output in "
                    f"{os.path.relpath(cell_run.directory)})"
                )

            failures += _gate_cell(
                c, cell_run, selection, update_baseline=update_baseline, accept_regressions=accept_regressions
            )
    if failures and not report_only:
        raise BakehouseError("complement: " + " | ".join(failures))
    if failures:
        say("report only, not failing: " + " | ".join(failures))


@task(
    help={
        "source": "the baseline to import: {Action,Test} rows (legacy) or {Action,Package,Test} rows",
        "output": "where to write it (default: the configured baseline, complement.baseline)",
        "package": "package for rows without one, e.g. tests/csapi (default: the configured package "
        "when there is exactly one; otherwise they stay without one and are matched by test name)",
    }
)
def import_baseline(c: Context, source: str, output: str | None = None, package: str | None = None) -> None:
    """Convert a Complement baseline (also the older {Action,Test} format) into ours, atomically."""
    conf = c.config.bakehouse.complement
    module = str(conf.module)
    if package is not None and not package.strip():
        raise bad_input("--package: expected a package such as tests/csapi")
    assigned = import_path(package, module) if package else default_package(tuple(conf.packages), module)
    source_path = Path(source)
    try:
        text = source_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise bad_input(f"{source}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise bad_input(f"{source}: cannot read it ({reason})") from None
    loaded = parse_results(text.splitlines(), package=assigned)
    if not loaded.results:
        raise bad_input(
            f"{source}: no valid result rows ({loaded.rows} read, {loaded.malformed} malformed); "
            "nothing written"
        )
    target = Path(output) if output else REPO_ROOT / str(conf.baseline)
    try:
        # Read fully above, written atomically here: importing a file onto itself is safe too.
        write_atomically(target, render_results(loaded.results))
    except OSError as exc:
        raise BakehouseError(f"{target}: cannot write it ({exc.strerror or exc})") from None
    print(f"imported {source} into {output or conf.baseline}: {import_summary(loaded, assigned)}")
