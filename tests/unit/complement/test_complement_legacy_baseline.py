"""Legacy `{"Action","Test"}` baselines: placement on a run's keys by test name, and import helpers."""

from __future__ import annotations

import pytest

from tasks.complement.classify import NOT_RUN, REGRESSION, UNCHANGED, classify, updated_baseline
from tasks.complement.legacy_baseline import (
    default_package,
    import_baseline_file,
    import_path,
    import_summary,
    place_legacy,
)
from tasks.complement.results import parse_results, render_results
from tasks.complement.select import Selection
from tasks.shared.errors import BAD_INPUT, BakehouseError

MODULE = "github.com/matrix-org/complement"
CSAPI = f"{MODULE}/tests/csapi"
FED = f"{MODULE}/tests"
BOTH = Selection(("./tests", "./tests/csapi"))


def test_legacy_rows_take_the_package_that_ran_the_test() -> None:
    baseline = {("", "TestLogin"): "pass", ("", "TestLogin/sub"): "pass", (FED, "TestKeys"): "pass"}
    current = {(CSAPI, "TestLogin"): "pass", (CSAPI, "TestLogin/sub"): "fail", (FED, "TestKeys"): "pass"}
    placement = place_legacy(baseline, current, BOTH)
    assert placement.baseline == {
        (CSAPI, "TestLogin"): "pass",
        (CSAPI, "TestLogin/sub"): "pass",
        (FED, "TestKeys"): "pass",
    }
    assert (placement.legacy, placement.matched, placement.several, placement.unplaced) == (2, 2, {}, [])
    result = classify(placement.baseline, current, BOTH)
    assert [v.key for v in result.regressions] == [(CSAPI, "TestLogin/sub")]


def test_a_name_run_in_several_packages_is_compared_in_each_and_reported() -> None:
    baseline = {("", "TestShared"): "pass"}
    current = {(CSAPI, "TestShared"): "pass", (FED, "TestShared"): "fail"}
    placement = place_legacy(baseline, current, BOTH)
    assert placement.baseline == {(CSAPI, "TestShared"): "pass", (FED, "TestShared"): "pass"}
    assert placement.several == {"TestShared": (FED, CSAPI)}
    assert placement.matched == 0
    result = classify(placement.baseline, current, BOTH)
    assert {v.key: v.klass for v in result.verdicts} == {
        (CSAPI, "TestShared"): UNCHANGED,
        (FED, "TestShared"): REGRESSION,
    }


def test_a_keyed_row_wins_over_a_legacy_row_for_the_same_key() -> None:
    baseline = {("", "TestA"): "pass", (CSAPI, "TestA"): "fail"}
    placement = place_legacy(baseline, {(CSAPI, "TestA"): "fail"}, BOTH)
    assert placement.baseline == {(CSAPI, "TestA"): "fail"}


def test_missing_legacy_tests_are_placed_only_on_evidence() -> None:
    baseline = {
        ("", "TestParent/gone"): "pass",  # its parent ran in csapi
        ("", "TestListed"): "pass",  # the listing has it in tests
        ("", "TestNowhere"): "pass",  # selected, neither ran nor listed: unknown
        ("", "TestOther"): "pass",  # not selected by name: not run, not a problem
    }
    current = {(CSAPI, "TestParent"): "fail"}
    listing = {CSAPI: frozenset({"TestParent"}), FED: frozenset({"TestListed"})}
    selection = Selection(("./tests", "./tests/csapi"), skip="^TestOther$")
    placement = place_legacy(baseline, current, selection, listing=listing)
    assert placement.baseline == {
        (CSAPI, "TestParent/gone"): "pass",
        (FED, "TestListed"): "pass",
        ("", "TestNowhere"): "pass",
        ("", "TestOther"): "pass",
    }
    assert placement.unplaced == ["TestNowhere"]
    result = classify(placement.baseline, current, selection, listing=listing)
    classes = {v.key: v.klass for v in result.verdicts}
    assert classes[(CSAPI, "TestParent/gone")] == REGRESSION  # its parent failed
    assert classes[(FED, "TestListed")] == REGRESSION  # listed, selected, missing
    assert classes[("", "TestNowhere")] == NOT_RUN
    # Placed rows are written back with their package; unplaced ones keep theirs (none).
    kept = updated_baseline(result)
    assert (CSAPI, "TestParent/gone") in kept and ("", "TestNowhere") in kept


def test_a_run_of_one_package_places_missing_legacy_tests_there() -> None:
    baseline = {("", "TestMissing"): "pass"}
    current = {(CSAPI, "TestOther"): "pass"}
    one = Selection(("./tests/csapi",))
    assert place_legacy(baseline, current, one).baseline == {(CSAPI, "TestMissing"): "pass"}
    # With a wildcard or two packages asked for, one package seen proves nothing.
    for selection in (Selection(("./tests/...",)), BOTH):
        placement = place_legacy(baseline, current, selection)
        assert placement.baseline == {("", "TestMissing"): "pass"}
        assert placement.unplaced == ["TestMissing"]


def test_import_path_and_default_package() -> None:
    assert import_path("tests/csapi", MODULE) == CSAPI
    assert import_path("./tests/csapi/", MODULE) == CSAPI
    assert import_path(".", MODULE) == MODULE
    assert import_path("example.org/fork/tests", MODULE) == "example.org/fork/tests"
    assert default_package(("./tests/csapi",), MODULE) == CSAPI
    assert default_package(("./tests/csapi", "./tests"), MODULE) == ""
    assert default_package(("./tests/...",), MODULE) == ""


def test_import_summary_counts_and_flags() -> None:
    lines = [
        '{"Action":"pass","Test":"TestA"}',
        '{"Action":"pass","Test":"TestA"}',
        '{"Action":"fail","Test":"TestB"}',
        '{"Action":"pass","Test":"TestB"}',
        "not json",
    ]
    loaded = parse_results(lines, package=CSAPI)
    assert import_summary(loaded, CSAPI) == (
        "5 row(s) read, 2 kept, 2 duplicate(s), 1 malformed; "
        f"4 row(s) without a package: filed under {CSAPI}; "
        "1 with conflicting outcomes, the worse kept: TestB"
    )
    unassigned = parse_results(lines[:1])
    assert import_summary(unassigned, "") == (
        "1 row(s) read, 1 kept, 0 duplicate(s), 0 malformed; "
        "1 row(s) without a package: left without one (matched by test name)"
    )


def test_importing_a_legacy_file_writes_our_rows_with_the_package(tmp_path) -> None:
    source = tmp_path / "legacy.jsonl"
    source.write_text('{"Action":"pass","Test":"TestB"}\n{"Action":"fail","Test":"TestA"}\nnot json\n')
    target = tmp_path / "out" / "results.jsonl"
    loaded = import_baseline_file(str(source), target, CSAPI)
    assert (loaded.rows, loaded.malformed) == (3, 1)
    assert target.read_text() == render_results({(CSAPI, "TestA"): "fail", (CSAPI, "TestB"): "pass"})


def test_importing_a_file_onto_itself_is_safe(tmp_path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text('{"Action":"pass","Test":"TestA"}\n')
    import_baseline_file(str(path), path, CSAPI)
    assert path.read_text() == render_results({(CSAPI, "TestA"): "pass"})


def test_importing_nothing_usable_is_bad_input_and_writes_nothing(tmp_path) -> None:
    source, target = tmp_path / "bad.jsonl", tmp_path / "results.jsonl"
    source.write_text("not json\n[]\n")
    with pytest.raises(BakehouseError) as caught:
        import_baseline_file(str(source), target, CSAPI)
    assert caught.value.code == BAD_INPUT
    assert str(caught.value) == f"{source}: no valid result rows (2 read, 2 malformed); nothing written"
    assert not target.exists()


def test_an_unreadable_source_is_bad_input_saying_why(tmp_path) -> None:
    with pytest.raises(BakehouseError) as caught:
        import_baseline_file(str(tmp_path / "missing.jsonl"), tmp_path / "out.jsonl", CSAPI)
    assert str(caught.value) == f"{tmp_path / 'missing.jsonl'}: no such file"
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(BakehouseError) as caught:
        import_baseline_file(str(binary), tmp_path / "out.jsonl", CSAPI)
    assert caught.value.code == BAD_INPUT
    assert str(caught.value).startswith(f"{binary}: cannot read it ('utf-8' codec can't decode")
