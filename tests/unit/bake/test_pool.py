"""The builder pool's pure parts: builder lists, handing cells out, the summary's builder column."""

from __future__ import annotations

import threading

import pytest

from tasks.bake.cells import Cell
from tasks.bake.pool import CellResult, failure_message, hand_out
from tasks.bake.progress import TargetOutcome
from tasks.bake.request import parse_builders
from tasks.bake.summary import print_summary
from tasks.shared.errors import BAD_INPUT, BakehouseError


def test_builders_are_a_comma_separated_list():
    assert parse_builders("a,b") == ["a", "b"]
    assert parse_builders(" a , default ,") == ["a", "default"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", "expected builder names"), (",", "expected builder names"), ("a,a", "a given twice"),
     ("a,bad name", "invalid builder name 'bad name'")],
)  # fmt: skip
def test_bad_builder_lists_are_bad_input(text, problem):
    with pytest.raises(BakehouseError) as caught:
        parse_builders(text)
    assert caught.value.code == BAD_INPUT
    assert problem in str(caught.value)


CELLS = [Cell(f"c{index}", (("feat_set", f"f{index}"),)) for index in range(4)]


def builds(failing=()):
    """A build function that records which builder took which cell, failing the given cells."""
    taken = []
    lock = threading.Lock()

    def build(index, builder):
        with lock:
            taken.append((CELLS[index].id, builder))
        return CellResult(CELLS[index], builder, ok=CELLS[index].id not in failing)

    return build, taken


def test_one_builder_takes_every_cell_in_order():
    build, taken = builds()
    results = hand_out(CELLS, ["a"], keep_going=False, build=build)
    assert taken == [("c0", "a"), ("c1", "a"), ("c2", "a"), ("c3", "a")]
    assert [(r.cell.id, r.builder, r.ok) for r in results] == [(c, "a", True) for c, _ in taken]


def test_the_first_failure_stops_handing_out_cells():
    build, taken = builds(failing={"c1"})
    results = hand_out(CELLS, ["a"], keep_going=False, build=build)
    assert taken == [("c0", "a"), ("c1", "a")]
    assert [(r.cell.id, r.builder, r.ok) for r in results] == [
        ("c0", "a", True), ("c1", "a", False), ("c2", None, False), ("c3", None, False),
    ]  # fmt: skip


def test_keep_going_builds_every_cell():
    build, taken = builds(failing={"c1"})
    results = hand_out(CELLS, ["a"], keep_going=True, build=build)
    assert [cell for cell, _ in taken] == ["c0", "c1", "c2", "c3"]
    assert [r.ok for r in results] == [True, False, True, True]


def test_builders_work_at_once_each_taking_the_next_cell():
    """Both builders hold a cell at the same time: neither returns before the other has started."""
    both_busy = threading.Barrier(2, timeout=30)
    taken = []

    def build(index, builder):
        taken.append((CELLS[index].id, builder))
        if index < 2:
            both_busy.wait()  # breaks (and the test fails) unless the other builder got a cell too
        return CellResult(CELLS[index], builder, ok=True)

    results = hand_out(CELLS, ["a", "b"], keep_going=False, build=build)
    assert {builder for _, builder in taken[:2]} == {"a", "b"}
    assert sorted(cell for cell, _ in taken) == ["c0", "c1", "c2", "c3"]
    assert all(r.ok and r.builder in ("a", "b") for r in results)


def test_a_bug_in_a_thread_reaches_the_caller():
    def build(index, builder):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        hand_out(CELLS, ["a", "b"], keep_going=True, build=build)


def test_the_summary_shows_each_target_builder(capsys):
    outcomes = [
        TargetOutcome("t--default", "built", 1.0, 2, 3),
        TargetOutcome("(cell c1)", "not started", 0, 0, 0),
    ]
    print_summary(outcomes, 1.5, 1, builders=["bk-a", "-"])
    lines = capsys.readouterr().err.splitlines()
    assert lines[1].split() == ["TARGET", "BUILDER", "STATUS", "TIME", "STEPS", "RUN/CACHED"]
    assert lines[2].split() == ["t--default", "bk-a", "built", "1.0s", "2/3"]
    assert lines[3].split() == ["(cell", "c1)", "-", "not", "started", "0.0s", "0/0"]


def test_the_pools_failure_names_the_cells_and_each_stopped_builder_once():
    lost = "builder a's container buildx_buildkit_a0 stopped during the build (exit 137); ..."
    results = [
        CellResult(Cell("c0", ()), "a", ok=True),
        CellResult(Cell("c1", ()), "a", builder_lost=lost),
        CellResult(Cell("c2", ()), "b"),
        CellResult(Cell("c3", ()), "a", builder_lost=lost),
        CellResult(Cell("c4", ())),
    ]
    assert failure_message(results) == (
        f"3 of 5 cell(s) failed: c1 on a; c2 on b; c3 on a; {lost}; not started: c4"
    )
