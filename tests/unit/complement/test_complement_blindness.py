"""The gate is never silently blind: a baseline and a run that share no test are an error."""

from __future__ import annotations

import pytest

from tasks.cli.context import project_context, settings
from tasks.complement.cell_gate import _comparable_baseline
from tasks.complement.classify import blindness, classify
from tasks.complement.events import RunEvents
from tasks.complement.results_dir import CellResults, ResultsDir, RunRecord
from tasks.complement.select import Selection
from tasks.shared.errors import BakehouseError
from tasks.shared.process import REPO_ROOT

CSAPI = "github.com/matrix-org/complement/tests/csapi"
FED = "github.com/matrix-org/complement/tests"
KNOWN = ("./tests/csapi", "./tests")
BOTH = Selection(KNOWN)


def test_sharing_tests_is_not_blind() -> None:
    baseline = {(CSAPI, "TestA"): "pass", (CSAPI, "TestB"): "pass"}
    check = blindness(baseline, {(CSAPI, "TestA"): "pass"}, BOTH, known_packages=KNOWN)
    assert not check.blind
    assert (check.comparable, check.shared) == (2, 1)


def test_wrong_module_path_is_blind_although_every_row_would_be_not_run() -> None:
    # Another module path: no selected pattern matches it, so the gate alone would call every
    # row "not run" and pass having compared nothing.
    fork = "example.org/complement/csapi"
    baseline = {(fork, f"Test{i}"): "pass" for i in range(3)}
    current = {(CSAPI, f"Test{i}"): "pass" for i in range(3)}
    assert classify(baseline, current, BOTH).passed
    check = blindness(baseline, current, BOTH, known_packages=KNOWN)
    assert check.blind
    assert check.foreign == {fork: 3}
    assert check.message() == (
        "the baseline (3 tests) and this run (3 tests) share no test: wrong baseline file or package "
        f"names? (baseline packages: {fork}; this run's: {CSAPI})"
    )


def test_wrong_baseline_file_is_blind() -> None:
    baseline = {(CSAPI, "TestSomethingElse"): "pass", (CSAPI, "TestUnrelated"): "fail"}
    check = blindness(baseline, {(CSAPI, "TestLogin"): "pass"}, BOTH, known_packages=KNOWN)
    assert check.blind
    assert check.disjoint == {CSAPI: (2, 1)}


def test_the_message_says_how_many_the_run_selected() -> None:
    baseline = {(CSAPI, "TestA"): "pass", (CSAPI, "TestOther"): "pass"}
    selection = Selection(KNOWN, run="^TestA$")
    check = blindness(baseline, {(FED, "TestA"): "pass"}, selection, known_packages=KNOWN)
    assert check.blind
    assert check.message().startswith("the baseline (2 tests; 1 selected by this run) and this run (1 test)")


def test_a_run_of_only_new_tests_is_not_blind() -> None:
    baseline = {(CSAPI, "TestLogin"): "pass"}
    selection = Selection(KNOWN, run="^TestBrandNew$")
    check = blindness(baseline, {(CSAPI, "TestBrandNew"): "pass"}, selection, known_packages=KNOWN)
    assert not check.blind
    assert check.comparable == 0


def test_a_known_package_left_out_on_purpose_is_not_blindness() -> None:
    # `--packages ./tests`: the csapi rows are deliberately not run, whatever their names.
    baseline = {(CSAPI, "TestLogin"): "pass"}
    selection = Selection(("./tests",), run="TestLogin|TestNewFederation")
    check = blindness(baseline, {(FED, "TestNewFederation"): "pass"}, selection, known_packages=KNOWN)
    assert not check.blind
    assert check.foreign == {} and check.absent == {}


def test_empty_sides_are_not_blindness() -> None:
    assert not blindness({}, {(CSAPI, "TestA"): "pass"}, BOTH, known_packages=KNOWN).blind
    assert not blindness({(CSAPI, "TestA"): "pass"}, {}, BOTH, known_packages=KNOWN).blind


def test_partial_blindness_is_reported_per_package() -> None:
    fork = "example.org/other/module"
    baseline = {
        (CSAPI, "TestA"): "pass",  # shared
        (fork, "TestF"): "pass",  # foreign: never compared
        (FED, "TestKeys"): "pass",  # selected package the run never mentioned
    }
    current = {(CSAPI, "TestA"): "pass"}
    check = blindness(baseline, current, BOTH, known_packages=KNOWN, packages_done={CSAPI: "pass"})
    assert not check.blind
    assert check.foreign == {fork: 1}
    assert check.absent == {FED: 1}
    assert check.disjoint == {}


def test_unplaced_legacy_rows_count_by_name() -> None:
    baseline = {("", "TestLogin"): "pass", ("", "TestLogout"): "pass"}
    check = blindness(baseline, {(CSAPI, "TestBrandNew"): "pass"}, BOTH, known_packages=KNOWN)
    assert check.blind
    assert check.foreign == {}  # legacy rows are reported by the placement, not as foreign
    assert '"" (no package)' in check.message()


def cell_run(tmp_path, results, *, interrupted=None, complete=True):
    return CellResults(
        label="debian trixie-slim default",
        directory=ResultsDir(tmp_path),
        record=RunRecord.finished("run1", [] if complete else ["tester exited 2"], packages={}, seconds=1.0),
        state=RunEvents(results=dict(results)),
        listing=None,
        interrupted_by=interrupted,
    )


def settings_with_baseline(path):
    c = project_context(REPO_ROOT)
    c.config.bakehouse.complement.baseline = str(path)  # absolute: REPO_ROOT / path is path
    return settings(c)


def test_the_task_refuses_a_blind_gate(tmp_path, capsys) -> None:
    baseline = tmp_path / "baseline.jsonl"
    baseline.write_text('{"Action":"pass","Package":"example.org/csapi","Test":"TestLogin"}\n')
    run = cell_run(tmp_path, {(CSAPI, "TestLogin"): "pass"}, complete=False)
    with pytest.raises(BakehouseError) as caught:
        _comparable_baseline(settings_with_baseline(baseline), run, BOTH)
    assert caught.value.code == 1
    assert str(caught.value).startswith("the baseline (1 test) and this run (1 test) share no test")
    assert str(caught.value).endswith("(incomplete run: tester exited 2)")
    assert "baseline package example.org/csapi (1 test(s)) matches no configured package" in (
        capsys.readouterr().err
    )
    # An interrupted run is left to its own error (exit 128 + signal), not called blind.
    interrupted = cell_run(tmp_path, {(CSAPI, "TestLogin"): "pass"}, interrupted="SIGINT")
    assert _comparable_baseline(settings_with_baseline(baseline), interrupted, BOTH)


def test_the_task_places_a_legacy_baseline_and_says_how(tmp_path, capsys) -> None:
    baseline = tmp_path / "baseline.jsonl"
    baseline.write_text('{"Action":"pass","Test":"TestLogin"}\n{"Action":"pass","Test":"TestShared"}\n')
    current = {(CSAPI, "TestLogin"): "pass", (CSAPI, "TestShared"): "pass", (FED, "TestShared"): "pass"}
    placed = _comparable_baseline(settings_with_baseline(baseline), cell_run(tmp_path, current), BOTH)
    assert placed == dict.fromkeys(current, "pass")
    err = capsys.readouterr().err
    assert "2 test(s) without a package (legacy rows), matched by test name: 1 in one package, 1 in" in err
    assert "each compared with the one legacy outcome: TestShared (tests, tests/csapi)" in err
