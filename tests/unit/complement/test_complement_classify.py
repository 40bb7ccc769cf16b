"""The baseline gate on hand-made results: every class, and the updated baseline."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tasks.complement.classify import (
    CHANGED,
    FIX,
    MISSING,
    NEW,
    NOT_RUN,
    REGRESSION,
    REMOVED,
    UNCHANGED,
    classify,
    updated_baseline,
)
from tasks.complement.report import RunSummary, render_junit, render_markdown, render_table
from tasks.complement.select import Selection

CSAPI = "github.com/matrix-org/complement/tests/csapi"
FED = "github.com/matrix-org/complement/tests"
BOTH = Selection(("./tests", "./tests/csapi"))


def classes(result) -> dict[tuple[str, str], str]:
    return {v.key: v.klass for v in result.verdicts}


def test_each_outcome_transition_of_a_test_that_ran_has_its_class() -> None:
    baseline = {
        (CSAPI, "TestPassFail"): "pass",
        (CSAPI, "TestPassSkip"): "pass",
        (CSAPI, "TestFailPass"): "fail",
        (CSAPI, "TestSkipPass"): "skip",
        (CSAPI, "TestFailSkip"): "fail",
        (CSAPI, "TestSame"): "pass",
        (CSAPI, "TestKnownFail"): "fail",
    }
    current = {
        (CSAPI, "TestPassFail"): "fail",
        (CSAPI, "TestPassSkip"): "skip",
        (CSAPI, "TestFailPass"): "pass",
        (CSAPI, "TestSkipPass"): "pass",
        (CSAPI, "TestFailSkip"): "skip",
        (CSAPI, "TestSame"): "pass",
        (CSAPI, "TestKnownFail"): "fail",
        (CSAPI, "TestBrandNew"): "pass",
        (FED, "TestPassFail"): "pass",  # same name, other package: new, not the csapi test
    }
    result = classify(baseline, current, BOTH)
    assert classes(result) == {
        (CSAPI, "TestPassFail"): REGRESSION,
        (CSAPI, "TestPassSkip"): REGRESSION,
        (CSAPI, "TestFailPass"): FIX,
        (CSAPI, "TestSkipPass"): FIX,
        (CSAPI, "TestFailSkip"): CHANGED,
        (CSAPI, "TestSame"): UNCHANGED,
        (CSAPI, "TestKnownFail"): UNCHANGED,
        (CSAPI, "TestBrandNew"): NEW,
        (FED, "TestPassFail"): NEW,
    }
    assert not result.passed
    assert [v.key for v in result.regressions] == [(CSAPI, "TestPassFail"), (CSAPI, "TestPassSkip")]


def test_tests_outside_the_selection_are_not_run() -> None:
    baseline = {
        (FED, "TestFederation"): "pass",  # package not selected
        (CSAPI, "TestOther"): "pass",  # -run doesn't select it
        (CSAPI, "TestLogin/flaky"): "pass",  # -skip removes it
        (CSAPI, "TestLogin"): "pass",
    }
    current = {(CSAPI, "TestLogin"): "pass"}
    selection = Selection(("./tests/csapi",), run="^TestLogin$", skip="TestLogin/flaky")
    result = classify(baseline, current, selection, packages_done={CSAPI: "pass"})
    assert classes(result) == {
        (FED, "TestFederation"): NOT_RUN,
        (CSAPI, "TestOther"): NOT_RUN,
        (CSAPI, "TestLogin/flaky"): NOT_RUN,
        (CSAPI, "TestLogin"): UNCHANGED,
    }
    assert result.passed


def test_selected_but_missing_passing_test_is_a_regression() -> None:
    baseline = {
        (CSAPI, "TestCrashed"): "pass",  # package failed: a crash can hide a test
        (CSAPI, "TestParent/sub"): "pass",  # parent failed: it may not have reached the subtest
        (CSAPI, "TestWasFailing"): "fail",
        (FED, "TestNothingRan"): "pass",  # package selected, produced nothing
    }
    current = {(CSAPI, "TestParent"): "fail"}
    result = classify(baseline, current, BOTH, packages_done={CSAPI: "fail"})
    assert classes(result) == {
        (CSAPI, "TestCrashed"): REGRESSION,
        (CSAPI, "TestParent/sub"): REGRESSION,
        (CSAPI, "TestParent"): NEW,
        (CSAPI, "TestWasFailing"): CHANGED,
        (FED, "TestNothingRan"): REGRESSION,
    }
    assert {v.after for v in result.regressions} == {MISSING}


def test_removed_needs_evidence() -> None:
    baseline = {
        (CSAPI, "TestGone"): "pass",  # the listing doesn't have it
        (CSAPI, "TestParent/renamed"): "pass",  # parent passed without running it
        (CSAPI, "TestParent/deep/er"): "fail",  # nearest recorded ancestor (TestParent/deep) passed
        (FED, "TestTopLevel"): "pass",  # package passed as a whole, no listing
    }
    current = {
        (CSAPI, "TestParent"): "pass",
        (CSAPI, "TestParent/deep"): "pass",
        (CSAPI, "TestStays"): "pass",
        (FED, "TestOther"): "pass",
    }
    listing = {CSAPI: frozenset({"TestParent", "TestStays"})}
    result = classify(baseline, current, BOTH, packages_done={CSAPI: "pass", FED: "pass"}, listing=listing)
    got = classes(result)
    assert got[(CSAPI, "TestGone")] == REMOVED
    assert got[(CSAPI, "TestParent/renamed")] == REMOVED
    assert got[(CSAPI, "TestParent/deep/er")] == REMOVED
    assert got[(FED, "TestTopLevel")] == REMOVED
    assert result.passed


def test_listing_overrides_the_package_outcome() -> None:
    # With a listing, a top-level test that is listed but missing is a regression even if the
    # package passed (e.g. the listing proves it exists; something stopped it from running).
    baseline = {(CSAPI, "TestListed"): "pass"}
    result = classify(
        baseline, {}, BOTH, packages_done={CSAPI: "pass"}, listing={CSAPI: frozenset({"TestListed"})}
    )
    assert classes(result) == {(CSAPI, "TestListed"): REGRESSION}


def test_missing_tests_of_a_lost_run_are_regressions_whatever_the_baseline_said() -> None:
    """A merge of shards: TestLost's and TestNew's shard never ran; TestRan's did."""
    baseline = {
        (CSAPI, "TestLost"): "fail",  # known failure: missing would be "changed" in a whole run
        (CSAPI, "TestLost/sub"): "skip",
        (CSAPI, "TestRan"): "pass",
        (FED, "TestElsewhere"): "pass",  # outside the selection: stays not run
    }
    current = {(CSAPI, "TestRan"): "pass"}
    listing = {CSAPI: frozenset({"TestLost", "TestRan", "TestNew"}), FED: frozenset({"TestNew"})}
    only_csapi = Selection(("./tests/csapi",))
    lost = {"TestLost", "TestNew", "TestUnlisted"}
    result = classify(baseline, current, only_csapi, listing=listing, lost=lost)
    assert classes(result) == {
        (CSAPI, "TestLost"): REGRESSION,
        (CSAPI, "TestLost/sub"): REGRESSION,
        (CSAPI, "TestRan"): UNCHANGED,
        (FED, "TestElsewhere"): NOT_RUN,
        # Lost with no row anywhere: once per selected package listing it, else under "" (unknown).
        (CSAPI, "TestNew"): REGRESSION,
        ("", "TestUnlisted"): REGRESSION,
    }
    assert [v.key for v in result.verdicts] == sorted(v.key for v in result.verdicts)
    assert not result.passed
    # Without `lost` the same results pass: the known failure is only "changed".
    assert classify(baseline, current, only_csapi, listing=listing).passed


def test_updated_baseline_keeps_unaccepted_regressions_and_drops_removed_tests() -> None:
    baseline = {
        (CSAPI, "TestFixed"): "fail",
        (CSAPI, "TestRegressed"): "pass",
        (CSAPI, "TestVanished"): "pass",
        (CSAPI, "TestRemoved/sub"): "pass",
        (FED, "TestNotRun"): "pass",
    }
    current = {
        (CSAPI, "TestFixed"): "pass",
        (CSAPI, "TestRegressed"): "fail",
        (CSAPI, "TestRemoved"): "pass",
        (CSAPI, "TestNew"): "skip",
    }
    selection = Selection(("./tests/csapi",))
    result = classify(baseline, current, selection, packages_done={CSAPI: "fail"})
    kept = updated_baseline(result)
    assert kept == {
        (CSAPI, "TestFixed"): "pass",
        (CSAPI, "TestRegressed"): "pass",  # not accepted: the baseline keeps the old outcome
        (CSAPI, "TestVanished"): "pass",
        (CSAPI, "TestRemoved"): "pass",
        (CSAPI, "TestNew"): "skip",
        (FED, "TestNotRun"): "pass",
    }
    accepted = updated_baseline(result, accept_regressions=True)
    assert accepted[(CSAPI, "TestRegressed")] == "fail"
    assert (CSAPI, "TestVanished") not in accepted
    assert (CSAPI, "TestRemoved/sub") not in accepted


def test_reports_name_regressions() -> None:
    baseline = {(CSAPI, "TestA"): "pass", (CSAPI, "TestB"): "fail", (CSAPI, "TestGone"): "pass"}
    current = {(CSAPI, "TestA"): "fail", (CSAPI, "TestB"): "pass", (CSAPI, "TestC"): "skip"}
    result = classify(baseline, current, BOTH, packages_done={CSAPI: "fail"})
    summary = RunSummary(
        "debian trixie-slim default",
        {"pass": 1, "fail": 1, "skip": 1},
        malformed=2,
        failure_output={(CSAPI, "TestA"): ["server log line\n"]},
    )
    table = render_table(result, summary)
    assert "tests/csapi TestA  (pass → fail)" in table
    assert "tests/csapi TestGone  (pass → missing)" in table
    assert "2 malformed line(s)" in table
    assert table.rstrip().endswith("gate: FAIL (2 regression(s))")

    markdown = render_markdown(result, summary)
    assert "❌ 2 regression(s)" in markdown
    assert "| fix | 1 |" in markdown

    root = ET.fromstring(render_junit(result, summary))
    assert root.get("tests") == "4" and root.get("failures") == "2" and root.get("skipped") == "1"
    failures = {case.get("name"): case.find("failure") for case in root.iter("testcase")}
    failed, gone = failures["TestA"], failures["TestGone"]
    assert failed is not None and gone is not None
    assert failed.get("message") == "regression (pass → fail)"
    assert failed.text == "server log line\n"
    assert gone.get("message") == "regression (pass → missing)"
    assert failures["TestB"] is None
