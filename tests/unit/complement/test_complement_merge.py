"""`inv complement.merge` on shard directories written as the runner writes them: the union is
gated like one run, a missing or unfinished shard fails the merge with its tests as regressions,
and overlapping or duplicated shards are refused before anything is written."""

from __future__ import annotations

import json

import pytest

from tasks.complement.cell_job import start_results_directory
from tasks.complement.classify import classify
from tasks.complement.events import RunEvents
from tasks.complement.merge import MergeOptions, find_shards, merge_complement, split_directories
from tasks.complement.report import RunSummary, render_table
from tasks.complement.results import load_results, render_results
from tasks.complement.results_dir import ResultsDir, RunRecord
from tasks.complement.select import Selection
from tasks.complement.shards import BY_NAME, ShardPlan, ShardRecord
from tasks.shared.errors import BakehouseError

CSAPI = "github.com/matrix-org/complement/tests/csapi"
CELL = "debian--trixie-slim--default"
PLAN = ShardPlan(CELL, ("./tests/csapi",), "", "", BY_NAME, (("TestA", "TestC"), ("TestB",), ("TestD",)))
LISTING = {CSAPI: frozenset({"TestA", "TestB", "TestC", "TestD"})}
BASELINE = {
    (CSAPI, "TestA"): "pass",
    (CSAPI, "TestA/sub"): "pass",
    (CSAPI, "TestB"): "fail",
    (CSAPI, "TestC"): "pass",
    (CSAPI, "TestD"): "pass",
}
# What each shard ran (TestB fails, as in the baseline).
SHARD_RESULTS = {
    1: {(CSAPI, "TestA"): "pass", (CSAPI, "TestA/sub"): "pass", (CSAPI, "TestC"): "pass"},
    2: {(CSAPI, "TestB"): "fail"},
    3: {(CSAPI, "TestD"): "pass"},
}
UNION = {key: action for results in SHARD_RESULTS.values() for key, action in results.items()}


def write_shard(root, index, *, plan=PLAN, state="complete", results=None):
    """A shard's results directory as `inv complement --shard` leaves it."""
    shard = ResultsDir(root / CELL / f"shard-{index}-of-{plan.count}")
    start_results_directory(shard, f"run{index}", ShardRecord(index, plan))
    results = SHARD_RESULTS[index] if results is None else results
    shard.write_results(results)
    shard.write_durations({key: float(index) for key in results if "/" not in key[1]})
    shard.write_listing(LISTING)
    rows = [
        {"Package": package, "Test": test, "Output": f"{test} says {action}\n"}
        for (package, test), action in results.items()
    ]
    shard.logs.write_text("".join(json.dumps(row) + "\n" for row in rows))
    if state != "running":
        problems = () if state == "complete" else ("tester exited with status 2",)
        packages = {CSAPI: "pass" if index != 2 else "fail"}
        shard.write_record(RunRecord(f"run{index}", state, problems, packages, seconds=10.0))
    return shard.path


@pytest.fixture
def merge(make_settings, tmp_path):
    """Run the merge over `dirs` into tmp_path/out against tmp_path/baseline.jsonl."""
    baseline = tmp_path / "baseline.jsonl"
    baseline.write_text(render_results(BASELINE))
    context = make_settings(complement={"baseline": str(baseline), "results_dir": str(tmp_path / "out")})

    def run(*dirs, **flags):
        merge_complement(context, MergeOptions(tuple(str(d) for d in dirs), **flags))
        return tmp_path / "out" / CELL

    return run


def test_all_shards_merge_into_one_run_gated_like_the_unsharded_one(tmp_path, merge, capsys):
    for index in (1, 2, 3):
        write_shard(tmp_path / "in", index)
    out = merge(tmp_path / "in")
    assert load_results(out / "results.jsonl").results == UNION
    assert (out / "results.jsonl").read_text() == render_results(UNION)
    assert json.loads((out / "run.json").read_text())["state"] == "complete"
    assert ResultsDir(out).load_durations() == {(CSAPI, "TestA"): 1.0, (CSAPI, "TestB"): 2.0,
                                                (CSAPI, "TestC"): 1.0, (CSAPI, "TestD"): 3.0}  # fmt: skip
    assert ResultsDir(out).load_listing() == LISTING
    assert {"junit.xml", "report.html", "summary.md"} <= {p.name for p in out.iterdir()}
    # The same verdict table as the gate of one run with these results (the first line names the run).
    unsharded = classify(BASELINE, UNION, Selection(("./tests/csapi",)), packages_done={CSAPI: "fail"})
    expected = render_table(unsharded, RunSummary(CELL, RunEvents(results=dict(UNION)).counts()))
    printed = capsys.readouterr().out
    assert printed.splitlines()[1:] == expected.splitlines()[1:]
    assert printed.splitlines()[0].startswith(
        f"{CELL} (3 of 3 shards merged): 5 tests: pass 4, fail 1, skip 0 in 30s"
    )
    # A failing test keeps its output in the reports, read back from the shard's logs.
    assert "TestB says fail" in (out / "junit.xml").read_text()


def test_a_missing_shard_fails_the_merge_and_its_tests_are_regressions(tmp_path, merge, capsys):
    write_shard(tmp_path / "in", 1)
    write_shard(tmp_path / "in", 3)
    with pytest.raises(BakehouseError) as raised:
        merge(tmp_path / "in")
    assert raised.value.code == 1
    message = str(raised.value)
    assert (
        f"{CELL} (2 of 3 shards merged): incomplete run (shard 2/3 missing (1 top-level test(s)))" in message
    )
    # TestB failed in the baseline: a whole run missing it would call it "changed", never a pass.
    assert "1 regression(s): TestB" in message
    assert "tests/csapi TestB  (fail → missing)" in capsys.readouterr().out
    out = tmp_path / "out" / CELL
    assert load_results(out / "results.jsonl").results == {**SHARD_RESULTS[1], **SHARD_RESULTS[3]}
    status = json.loads((out / "run.json").read_text())
    assert status["state"] == "incomplete"
    assert status["packages"] == {CSAPI: "fail"}  # part of a package's tests prove nothing


@pytest.mark.parametrize(
    ("state", "reason"),
    [("running", "did not finish (its run status still says running)"),
     ("incomplete", "incomplete: tester exited with status 2")],
)  # fmt: skip
def test_an_unfinished_shard_fails_the_merge_and_its_missing_tests_are_regressions(
    tmp_path, merge, state, reason
):
    write_shard(
        tmp_path / "in", 1, state=state, results={(CSAPI, "TestA"): "pass"}
    )  # TestA/sub and TestC lost
    write_shard(tmp_path / "in", 2)
    write_shard(tmp_path / "in", 3)
    with pytest.raises(BakehouseError) as raised:
        merge(tmp_path / "in")
    assert f"shard 1/3 {reason}" in str(raised.value)
    assert "2 regression(s): TestA/sub, TestC" in str(raised.value)


def test_report_only_reports_a_missing_shard_without_failing(tmp_path, merge, capsys):
    write_shard(tmp_path / "in", 1)
    merge(tmp_path / "in", report_only=True)
    assert "report only, not failing: " in capsys.readouterr().err


def test_a_complete_merge_can_update_the_baseline(tmp_path, merge):
    for index in (1, 2, 3):
        write_shard(
            tmp_path / "in",
            index,
            results={**SHARD_RESULTS[index], (CSAPI, "TestB"): "pass"} if index == 2 else None,
        )
    merge(tmp_path / "in", update_baseline=True)
    assert load_results(tmp_path / "baseline.jsonl").results == {**BASELINE, (CSAPI, "TestB"): "pass"}


def test_shards_found_below_several_directories_and_the_same_one_twice_counts_once(tmp_path, merge):
    one = write_shard(tmp_path / "runner-1" / "build" / "complement", 1)
    write_shard(tmp_path / "runner-2", 2)
    write_shard(tmp_path / "runner-3", 3)
    found = find_shards([str(tmp_path), str(one), str(tmp_path / "runner-2")])
    assert sorted(f.record.index for f in found[CELL]) == [1, 2, 3]
    out = merge(tmp_path / "runner-1", tmp_path / "runner-2", tmp_path / "runner-3", one)
    assert load_results(out / "results.jsonl").results == UNION


def test_an_earlier_runs_tester_files_go_and_the_shards_below_the_output_stay(tmp_path, merge):
    out = tmp_path / "out" / CELL
    out.mkdir(parents=True)
    (out / "tester.log").write_text("an older unsharded run\n")
    for index in (1, 2, 3):
        write_shard(tmp_path / "out", index)  # shards inside the output's cell directory, as run locally
    merge(tmp_path / "out")
    assert not (out / "tester.log").exists()
    assert (out / "shard-2-of-3" / "results.jsonl").exists()
    assert load_results(out / "results.jsonl").results == UNION


def refused(merge, *dirs, **flags):
    with pytest.raises(BakehouseError) as raised:
        merge(*dirs, **flags)
    assert raised.value.code == 2
    return str(raised.value)


def test_two_copies_of_a_shard_are_refused_before_anything_is_written(tmp_path, merge):
    for index in (1, 2, 3):
        write_shard(tmp_path / "a", index)
    write_shard(tmp_path / "b", 2)
    message = refused(merge, tmp_path / "a", tmp_path / "b")
    assert message.startswith(f"{CELL}: two copies of shard 2/3: ")
    assert not (tmp_path / "out").exists()


def test_overlapping_shards_of_another_split_are_refused(tmp_path, merge):
    for index in (1, 2, 3):
        write_shard(tmp_path / "a", index)
    halves = ShardPlan(CELL, ("./tests/csapi",), "", "", BY_NAME, (("TestA", "TestB"), ("TestC", "TestD")))
    write_shard(tmp_path / "b", 1, plan=halves, results={})
    assert "overlapping shards: TestA is in shard 1/2" in refused(merge, tmp_path / "a", tmp_path / "b")
    assert not (tmp_path / "out").exists()


def test_directories_without_shards_are_bad_input(tmp_path, merge):
    (tmp_path / "empty").mkdir()
    assert refused(merge, tmp_path / "nosuch") == f"{tmp_path / 'nosuch'}: no such directory"
    assert "no shard results below it" in refused(merge, tmp_path / "empty")
    with pytest.raises(BakehouseError) as raised:
        split_directories(" , ")
    assert raised.value.code == 2
    assert split_directories("a, b,c") == ("a", "b", "c")


def test_baseline_options_are_checked_first(tmp_path, merge):
    write_shard(tmp_path / "in", 1)
    assert "only makes sense with --update-baseline" in refused(
        merge, tmp_path / "in", accept_regressions=True
    )
    other = ShardPlan("other-cell", ("./tests/csapi",), "", "", BY_NAME, (("TestA",),))
    start_results_directory(ResultsDir(tmp_path / "in" / "x"), "r", ShardRecord(1, other))
    assert "exactly one matrix cell" in refused(merge, tmp_path / "in", update_baseline=True)
    assert not (tmp_path / "out").exists()
