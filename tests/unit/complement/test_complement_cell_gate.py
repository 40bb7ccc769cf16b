"""The gate of one cell: the baseline-update policy (only after a complete run without regressions,
unless regressions are accepted), the failures it returns and the reports it writes.

The gate runs on results already collected (CellResults, as a run or a merge hands them over), so no engine is
needed: the baseline is a file under tmp_path and the reports are written next to it.
"""

from __future__ import annotations

import pytest

from tasks.complement.cell_gate import _listed, cell_failures, gate_cell
from tasks.complement.classify import classify
from tasks.complement.events import RunEvents
from tasks.complement.results import load_results, render_results
from tasks.complement.results_dir import CellResults, ResultsDir, RunRecord
from tasks.complement.select import Selection
from tasks.shared.errors import BakehouseError

CSAPI = "github.com/matrix-org/complement/tests/csapi"
KNOWN = ("./tests/csapi", "./tests")


def test_listed_names_stop_at_the_limit_and_say_how_many_more():
    assert _listed(["a", "b"]) == "a, b"
    assert _listed([f"T{i}" for i in range(7)]) == "T0, T1, T2, T3, T4 and 2 more"
    assert _listed(iter(["x", "y", "z"]), limit=2) == "x, y and 1 more"


BASELINE = {(CSAPI, "TestA"): "pass", (CSAPI, "TestB"): "fail"}
# TestA regresses, TestB is fixed, TestC is new.
WITH_REGRESSION = {(CSAPI, "TestA"): "fail", (CSAPI, "TestB"): "pass", (CSAPI, "TestC"): "pass"}
CLEAN = {(CSAPI, "TestA"): "pass", (CSAPI, "TestB"): "pass", (CSAPI, "TestC"): "pass"}


def cell_run(directory, results, *, complete=True, interrupted=None):
    directory.mkdir(exist_ok=True)
    (directory / "tester-stderr.log").write_text("tester: last words\n")
    return CellResults(
        label="cell",
        directory=ResultsDir(directory),
        record=RunRecord.finished(
            "run1", [] if complete else ["package ./tests did not finish"], packages={}, seconds=1.0
        ),
        state=RunEvents(results=dict(results), packages={CSAPI: "fail"}),
        listing=None,
        interrupted_by=interrupted,
    )


@pytest.fixture
def baseline(tmp_path):
    path = tmp_path / "baseline.jsonl"
    path.write_text(render_results(BASELINE))
    return path


def gate(make_settings, baseline, run, **flags):
    c = make_settings(complement={"baseline": str(baseline)})  # absolute: REPO_ROOT / path is path
    options = {"update_baseline": False, "accept_regressions": False, **flags}
    return gate_cell(c, run, Selection(KNOWN), **options)


def test_a_clean_complete_run_updates_the_baseline_when_asked(make_settings, baseline, tmp_path, capsys):
    failures = gate(make_settings, baseline, cell_run(tmp_path / "cell", CLEAN), update_baseline=True)
    assert failures == []
    assert load_results(baseline).results == CLEAN
    assert f"baseline {baseline} updated: 1 fix(es), 1 new, 0 removed, 0 regression(s) accepted" in (
        capsys.readouterr().err
    )


def test_without_update_baseline_the_baseline_stays(make_settings, baseline, tmp_path):
    assert gate(make_settings, baseline, cell_run(tmp_path / "cell", CLEAN)) == []
    assert load_results(baseline).results == BASELINE


def test_regressions_fail_the_cell_and_keep_the_baseline(make_settings, baseline, tmp_path, capsys):
    run = cell_run(tmp_path / "cell", WITH_REGRESSION)
    assert gate(make_settings, baseline, run, update_baseline=True) == ["cell: 1 regression(s): TestA"]
    assert load_results(baseline).results == BASELINE
    err = capsys.readouterr().err
    assert "baseline not updated: 1 regression(s) (add --accept-regressions to record them)" in err


def test_accepted_regressions_are_recorded_and_still_reported(make_settings, baseline, tmp_path, capsys):
    run = cell_run(tmp_path / "cell", WITH_REGRESSION)
    failures = gate(make_settings, baseline, run, update_baseline=True, accept_regressions=True)
    assert failures == ["cell: 1 regression(s): TestA"]
    assert load_results(baseline).results == WITH_REGRESSION
    assert "updated: 1 fix(es), 1 new, 0 removed, 1 regression(s) accepted" in capsys.readouterr().err


def test_an_incomplete_run_never_updates_the_baseline(make_settings, baseline, tmp_path, capsys):
    run = cell_run(tmp_path / "cell", CLEAN, complete=False)
    failures = gate(make_settings, baseline, run, update_baseline=True, accept_regressions=True)
    assert failures == ["cell: incomplete run (package ./tests did not finish)"]
    assert load_results(baseline).results == BASELINE
    err = capsys.readouterr().err
    assert "baseline not updated: incomplete run (package ./tests did not finish)" in err
    assert "bakehouse: tester: tester: last words" in err  # the tester's stderr tail says why


def test_an_interrupted_run_exits_128_plus_the_signal_and_keeps_the_baseline(
    make_settings, baseline, tmp_path
):
    run = cell_run(tmp_path / "cell", CLEAN, interrupted="SIGTERM")
    with pytest.raises(BakehouseError) as caught:
        gate(make_settings, baseline, run, update_baseline=True)
    assert caught.value.code == 143
    assert str(caught.value) == "interrupted by SIGTERM; run run1 cleaned up"
    assert load_results(baseline).results == BASELINE


def test_the_gate_writes_every_report_and_the_step_summary(make_settings, baseline, tmp_path, monkeypatch):
    step_summary = tmp_path / "step-summary.md"
    step_summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    directory = tmp_path / "cell"
    gate(make_settings, baseline, cell_run(directory, WITH_REGRESSION))
    assert {"junit.xml", "report.html", "summary.md"} <= {path.name for path in directory.iterdir()}
    summary = (directory / "summary.md").read_text()
    assert step_summary.read_text() == "earlier step\n" + summary + "\n"


def test_more_than_five_regressions_are_named_five_and_counted(make_settings, tmp_path):
    before = {(CSAPI, f"Test{i}"): "pass" for i in range(7)}
    path = tmp_path / "baseline.jsonl"
    path.write_text(render_results(before))
    run = cell_run(tmp_path / "cell", dict.fromkeys(before, "fail"))
    assert gate(make_settings, path, run) == [
        "cell: 7 regression(s): Test0, Test1, Test2, Test3, Test4 and 2 more"
    ]


def test_an_incomplete_run_with_regressions_fails_for_both(tmp_path):
    run = cell_run(tmp_path / "cell", WITH_REGRESSION, complete=False)
    result = classify(BASELINE, run.state.results, Selection(KNOWN), packages_done=run.state.packages)
    assert cell_failures(run, result) == [
        "cell: incomplete run (package ./tests did not finish)",
        "cell: 1 regression(s): TestA",
    ]
    assert (
        cell_failures(cell_run(tmp_path / "clean", CLEAN), classify(BASELINE, CLEAN, Selection(KNOWN))) == []
    )
