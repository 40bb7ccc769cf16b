"""Shards: K/N parsing, the split (by durations, else by name), the narrowed -run pattern (checked
against Go itself), the shard record on disk and the checks a merge makes on a set of shards."""

from __future__ import annotations

import json
from collections.abc import Callable
from itertools import combinations

import pytest

from tasks.complement.results import load_durations, render_durations
from tasks.complement.results_dir import SHARD_FILE
from tasks.complement.select import Selection
from tasks.complement.shards import (
    BY_DURATIONS,
    BY_NAME,
    FoundShard,
    ShardPlan,
    ShardRecord,
    ShardSpec,
    check_shard_set,
    durations_by_name,
    parse_shard,
    plan_shards,
    read_shard_record,
    restrict_pattern,
    split,
    write_shard_record,
)
from tasks.shared.errors import BakehouseError
from tests.unit.complement.gomatch_cases import GO_PATTERN_CASES

CSAPI = "github.com/matrix-org/complement/tests/csapi"
FED = "github.com/matrix-org/complement/tests"
NAMES = [f"Test{letter}" for letter in "ABCDEFG"]


# --- --shard K/N -------------------------------------------------------------------------------


def test_a_shard_spec_is_k_of_n_counted_from_one():
    spec = parse_shard("2/4")
    assert spec == ShardSpec(2, 4)
    assert str(spec) == "2/4"
    assert spec.directory_name == "shard-2-of-4"
    assert parse_shard(" 1/1 ") == ShardSpec(1, 1)


@pytest.mark.parametrize(
    "text", ["0/4", "5/4", "1/0", "0/0", "2", "2/", "/4", "a/b", "-1/4", "1/4/2", "2 of 4"]
)
def test_a_shard_outside_1_to_n_or_not_k_of_n_is_bad_input(text):
    with pytest.raises(BakehouseError) as raised:
        parse_shard(text)
    assert raised.value.code == 2
    assert f"--shard {text!r}" in str(raised.value)


# --- the split -----------------------------------------------------------------------------------


def test_without_durations_names_go_round_robin_in_sorted_order():
    shards, by = split(list(reversed(NAMES)), 3, {})
    assert by == BY_NAME
    assert shards == (("TestA", "TestD", "TestG"), ("TestB", "TestE"), ("TestC", "TestF"))


def test_more_shards_than_tests_leaves_the_last_ones_empty():
    shards, _ = split(["TestA", "TestB"], 4, {})
    assert shards == (("TestA",), ("TestB",), (), ())


def test_with_durations_the_longest_go_first_into_the_lightest_shard():
    durations = {"TestA": 10.0, "TestB": 9.0, "TestC": 5.0, "TestD": 4.0, "TestE": 1.0}
    shards, by = split(sorted(durations), 2, durations)
    assert by == BY_DURATIONS
    # A(10) -> 1; B(9) -> 2; C(5) -> 2 (9 < 10); D(4) -> 1 (10 < 14); E(1) -> 2 (14 = 14: the lower one)
    assert shards == (("TestA", "TestD", "TestE"), ("TestB", "TestC"))


def test_ties_in_duration_are_broken_by_name_and_shard_number():
    durations = dict.fromkeys(NAMES, 2.0)
    shards, _ = split(NAMES, 3, durations)
    assert shards == (("TestA", "TestD", "TestG"), ("TestB", "TestE"), ("TestC", "TestF"))


def test_a_test_without_a_recorded_duration_weighs_the_mean_of_the_others():
    # TestNew weighs (8 + 2) / 2 = 5: longest first A(8), New(5), B(2) -> A | New, B.
    shards, by = split(["TestA", "TestB", "TestNew"], 2, {"TestA": 8.0, "TestB": 2.0, "TestGone": 100.0})
    assert by == BY_DURATIONS
    assert shards == (("TestA",), ("TestB", "TestNew"))


def test_the_split_is_a_partition_and_the_same_every_time():
    names = [f"Test{i:03d}" for i in range(200)]
    durations = {name: float((i * 37) % 11) for i, name in enumerate(names) if i % 3}
    first, _ = split(names, 8, durations)
    assert split(list(reversed(names)), 8, dict(reversed(durations.items()))) == (first, BY_DURATIONS)
    assert sorted(name for shard in first for name in shard) == names
    mean = sum(durations.values()) / len(durations)
    loads = [sum(durations.get(name, mean) for name in shard) for shard in first]
    # Greedy longest-first: no shard exceeds another by more than the longest single test.
    assert max(loads) - min(loads) <= max(durations.values())


def test_durations_per_name_add_up_over_packages_and_ignore_subtests(tmp_path):
    recorded = {(CSAPI, "TestA"): 2.5, (FED, "TestA"): 1.25, (CSAPI, "TestA/sub"): 2.0, (FED, "TestB"): 3.0}
    path = tmp_path / "durations.json"
    path.write_text(render_durations(recorded))
    assert durations_by_name(load_durations(path)) == {"TestA": 3.75, "TestB": 3.0}


def test_unreadable_durations_are_none_and_bad_entries_are_left_out(tmp_path):
    path = tmp_path / "durations.json"
    assert load_durations(path) == {}
    path.write_text("{not json")
    assert load_durations(path) == {}
    path.write_text(json.dumps({CSAPI: {"TestA": 1, "TestB": -1, "TestC": "2", "TestD": 1e999}, FED: 3}))
    assert load_durations(path) == {(CSAPI, "TestA"): 1.0}


def test_the_plan_splits_the_listed_tests_the_selection_runs():
    listing = {
        CSAPI: frozenset({"TestLogin", "TestLogout", "TestFlaky", "BenchmarkX"}),
        FED: frozenset({"TestLogin", "TestFed"}),
    }
    selection = Selection(("./tests/csapi", "./tests"), run="Log|Fed|Flaky", skip="TestFlaky")
    plan = plan_shards("cell", selection, listing, 2, {})
    assert plan.names == ("TestFed", "TestLogin", "TestLogout")
    assert plan.shards == (("TestFed", "TestLogout"), ("TestLogin",))
    only_csapi = plan_shards("cell", Selection(("./tests/csapi",)), listing, 1, {})
    assert only_csapi.names == ("TestFlaky", "TestLogin", "TestLogout")  # benchmarks never run by -run


# --- the narrowed -run pattern -------------------------------------------------------------------


def test_a_curated_list_narrows_to_the_shards_names():
    assert restrict_pattern("^(TestA|TestB|TestC)$", ["TestA", "TestC"]) == "^(TestA|TestC)$"
    assert restrict_pattern("", ["TestA", "TestB"]) == "^(TestA|TestB)$"


def test_lower_levels_of_each_alternative_are_kept_and_unmatched_alternatives_dropped():
    pattern = restrict_pattern("TestAlpha/two|Beta", ["TestAlpha", "TestAlphabet"])
    assert pattern == "^(TestAlpha|TestAlphabet)$/two"
    assert restrict_pattern("TestAlpha/two|Beta", ["TestBeta"]) == "^(TestBeta)$"
    with pytest.raises(ValueError):
        restrict_pattern("Beta", ["TestAlpha"])
    with pytest.raises(ValueError):
        restrict_pattern("", [])


GO_PACKAGE = "example.invalid/gomatch"
GO_TOP_LEVEL = frozenset({"TestAlpha", "TestAlphabet", "TestBeta"})


@pytest.mark.parametrize("count", [1, 2, 3])
@pytest.mark.parametrize(("run", "skip"), GO_PATTERN_CASES)
def test_shards_run_in_go_exactly_what_the_whole_selection_runs(
    go_ran: Callable[[str, str], set[str]], run: str, skip: str, count: int
):
    """The union of what Go runs for each shard's pattern is what it runs unsharded; no test twice."""
    selection = Selection(("gomatch",), run=run, skip=skip)
    plan = plan_shards("cell", selection, {GO_PACKAGE: GO_TOP_LEVEL}, count, {})
    ran = [go_ran(restrict_pattern(run, names), skip) if names else set() for names in plan.shards]
    for first, second in combinations(ran, 2):
        assert not first & second
    assert set().union(*ran) == go_ran(run, skip)


# --- the record and the merge's checks -----------------------------------------------------------


def plan_of(shards, *, run=""):
    return ShardPlan("cell", ("./tests/csapi",), run, "", BY_NAME, tuple(tuple(s) for s in shards))


PLAN = plan_of([["TestA", "TestD"], ["TestB"], ["TestC"]])


def test_a_record_reads_back_as_written(tmp_path):
    record = ShardRecord(2, PLAN)
    write_shard_record(tmp_path / SHARD_FILE, record)
    assert read_shard_record(tmp_path / SHARD_FILE) == record
    assert record.tests == ("TestB",)
    assert record.spec == ShardSpec(2, 3)
    assert PLAN.selection == Selection(("./tests/csapi",))


GOOD_RECORD = {"shard": 1, "of": 1, "cell": "c", "packages": [], "run": "", "skip": "", "balanced_by": "name"}
BROKEN_RECORDS = {
    "not-json": "not json",
    "not-an-object": "[]",
    "count-mismatch": json.dumps({**GOOD_RECORD, "of": 2, "shards": [["TestA"]]}),
    "index-beyond": json.dumps({**GOOD_RECORD, "shard": 3, "of": 2, "shards": [["TestA"], []]}),
    "packages-type": json.dumps({**GOOD_RECORD, "packages": "x", "shards": [["TestA"]]}),
    "shards-type": json.dumps({**GOOD_RECORD, "shards": [["TestA", 1]]}),
    "cell-path": json.dumps({**GOOD_RECORD, "cell": "../up", "shards": [["TestA"]]}),
    "cell-dots": json.dumps({**GOOD_RECORD, "cell": "..", "shards": [["TestA"]]}),
}


@pytest.mark.parametrize("document", BROKEN_RECORDS.values(), ids=BROKEN_RECORDS.keys())
def test_a_broken_record_is_bad_input_naming_the_file(tmp_path, document):
    path = tmp_path / SHARD_FILE
    path.write_text(document)
    with pytest.raises(BakehouseError) as raised:
        read_shard_record(path)
    assert raised.value.code == 2
    assert str(path) in str(raised.value)


def found(tmp_path, name, index, plan=PLAN):
    return FoundShard(tmp_path / name, ShardRecord(index, plan))


def test_a_set_of_one_plan_knows_its_missing_shards(tmp_path):
    shard_set = check_shard_set("cell", [found(tmp_path, "three", 3), found(tmp_path, "one", 1)])
    assert [f.record.index for f in shard_set.present] == [1, 3]
    assert shard_set.missing == (2,)
    assert shard_set.plan == PLAN


def refused(tmp_path, *shards):
    with pytest.raises(BakehouseError) as raised:
        check_shard_set("cell", list(shards))
    assert raised.value.code == 2
    return str(raised.value)


def test_two_copies_of_one_shard_are_refused(tmp_path):
    message = refused(tmp_path, found(tmp_path, "a", 2), found(tmp_path, "b", 2))
    assert message == f"cell: two copies of shard 2/3: {tmp_path / 'a'} and {tmp_path / 'b'}"


def test_a_test_in_two_shards_is_refused(tmp_path):
    halves = plan_of([["TestA", "TestB"], ["TestC", "TestD"]])
    message = refused(tmp_path, found(tmp_path, "thirds", 1), found(tmp_path, "halves", 1, halves))
    assert message.startswith("cell: overlapping shards: TestA is in shard 1/2")
    assert "and in shard 1/3" in message


@pytest.mark.parametrize(
    ("other", "reason"),
    [
        (
            plan_of([["TestA", "TestD"], ["TestB"], ["TestC"]], run="TestA|TestB|TestC|TestD"),
            "different selections",
        ),
        (plan_of([["TestA", "TestD"], ["TestB", "TestC"]]), "different shard counts (3 and 2)"),
        (plan_of([["TestA", "TestD"], ["TestB"], ["TestE"]]), "different test lists"),
        (plan_of([["TestA"], ["TestB"], ["TestC", "TestD"]]), "different splits"),
    ],
    ids=["selection", "count", "tests", "split"],
)
def test_shards_of_different_plans_are_refused_saying_what_differs(tmp_path, other, reason):
    # Disjoint shards (1 of PLAN has TestA, TestD; 2 of `other` has neither): only the plan differs.
    index = next(i for i in range(1, other.count + 1) if not {"TestA", "TestD"} & set(other.tests_of(i)))
    message = refused(tmp_path, found(tmp_path, "mine", 1), found(tmp_path, "other", index, other))
    assert "come from different plans" in message
    assert reason in message
