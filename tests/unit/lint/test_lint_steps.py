"""Lint steps side by side: prerequisites first, never more than ``workers`` at once, exceptions kept
for whoever reads the result, and the lint report in its fixed order whatever finishes first."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tasks.lint import suite
from tasks.lint.bake_tree import BakeTree, Resolution, bake_definition_result
from tasks.lint.findings import Finding, ToolResult
from tasks.lint.steps import Step, Steps, next_steps

# Long enough never to be reached when the code is right; a deadlock fails the test instead of hanging.
WAIT = 10.0


def test_a_step_starts_once_its_prerequisites_are_settled():
    order: list[str] = []

    def noted(name: str, value: Callable[[], int]) -> int:
        order.append(name)
        return value()

    steps = Steps(workers=3)
    first = steps.add("first", lambda: noted("first", lambda: 1))
    second = steps.add("second", lambda: noted("second", lambda: first.result() + 1), after=[first])
    third = steps.add("third", lambda: noted("third", lambda: second.result() + 1), after=[second])
    steps.run()
    assert (first.result(), second.result(), third.result()) == (1, 2, 3)
    assert order == ["first", "second", "third"]


def test_independent_steps_run_at_the_same_time():
    # Each waits for the other: run one after the other, they would never pass the barrier.
    barrier = threading.Barrier(2, timeout=WAIT)
    steps = Steps(workers=2)
    a = steps.add("a", barrier.wait)
    b = steps.add("b", barrier.wait)
    steps.run()
    assert {a.result(), b.result()} == {0, 1}


def test_no_more_than_workers_steps_run_at_once():
    lock = threading.Lock()
    running = 0
    most = 0
    both_in = threading.Barrier(2, timeout=WAIT)

    def work() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        # Two at a time do meet here; a third at the same time would be counted above.
        both_in.wait()
        with lock:
            running -= 1

    steps = Steps(workers=2)
    for n in range(6):
        steps.add(f"step-{n}", work)
    steps.run()
    assert most == 2


def test_a_failed_step_keeps_its_exception_for_whoever_reads_it_and_the_others_still_run():
    ran: list[str] = []

    def fail() -> None:
        raise ValueError("shellcheck failed to run")

    def independent() -> str:
        ran.append("other")
        return "ok"

    steps = Steps(workers=2)
    failed = steps.add("failed", fail)
    reader = steps.add("reader", lambda: failed.result(), after=[failed])
    other = steps.add("other", independent, after=[failed])
    steps.run()
    for step in (failed, reader):
        with pytest.raises(ValueError, match="shellcheck failed to run"):
            step.result()
    # A dependent that doesn't read the failed result is not held back by it.
    assert other.result() == "ok"
    assert ran == ["other"]


def test_a_step_that_has_not_run_has_no_result():
    step = Steps(workers=1).add("alone", lambda: 1)
    with pytest.raises(RuntimeError, match="step alone has not run"):
        step.result()


def test_a_step_may_return_none():
    steps = Steps(workers=1)
    step = steps.add("nothing", lambda: None)
    steps.run()
    assert step.result() is None


def test_prerequisites_must_be_steps_of_the_same_run_and_added_before():
    stranger = Steps(workers=1).add("stranger", lambda: 1)
    with pytest.raises(ValueError, match="step mine: stranger is not a step of this run"):
        Steps(workers=1).add("mine", lambda: 2, after=[stranger])
    with pytest.raises(ValueError, match="workers must be at least 1, not 0"):
        Steps(workers=0)


def test_the_steps_to_start_are_the_first_ready_ones_in_the_order_they_were_added():
    steps = Steps(workers=3)
    done = steps.add("done", lambda: 1)
    done.run()
    busy = steps.add("busy", lambda: 2)
    waiting = steps.add("waiting", lambda: 3, after=[busy])
    ready = [steps.add(name, lambda: 4, after=[done]) for name in ("a", "b", "c")]
    pending: list[Step[int]] = [busy, waiting, *ready]
    assert next_steps(pending, 2) == [busy, ready[0]]
    assert next_steps(pending, 5) == [busy, *ready]
    assert next_steps(pending, 0) == []


@pytest.mark.parametrize(("cpus", "workers"), [(None, 2), (1, 2), (2, 3), (4, 5)])
def test_lint_runs_one_step_more_than_there_are_cores(cpus, workers):
    assert suite.lint_workers(cpus) == workers


# --- the report's order ---------------------------------------------------------------------------


class Gates:
    """Per tool: a gate the fake waits at, and an event it sets once it has finished."""

    def __init__(self, names: list[str], *, open_: bool = False) -> None:
        self.gates = {name: threading.Event() for name in names}
        self.done = {name: threading.Event() for name in names}
        self.finished: list[str] = []
        if open_:
            for gate in self.gates.values():
                gate.set()

    def pass_(self, name: str) -> None:
        assert self.gates[name].wait(WAIT), f"{name} was never let through"
        self.finished.append(name)
        self.done[name].set()

    def let_through(self, name: str) -> None:
        self.gates[name].set()
        assert self.done[name].wait(WAIT), f"{name} never finished"


TOOLS = ["shellcheck", "hadolint", "ruff", "mypy", "pins", "bake-check", "print-default", "print-full-matrix"]


def fake_tools(monkeypatch, gates: Gates) -> None:
    """Every tool of the suite as a fake that waits at its gate."""

    def tool(name: str):
        def run(*args, **kwargs) -> ToolResult:
            gates.pass_(name)
            return ToolResult(name, files_checked=1)

        return run

    for name in ("shellcheck", "hadolint", "ruff", "mypy", "pins"):
        monkeypatch.setattr(suite, f"run_{name}", tool(name))
    monkeypatch.setattr(suite, "run_bake_checks", tool("bake-check"))

    def resolve(what: str):
        def run(c, tree) -> Resolution:
            gates.pass_(what)
            finding = Finding("docker-bake.hcl", 1, 0, "bake", what, "error", what)
            return Resolution({"target": {}}, finding)

        return run

    monkeypatch.setattr(suite, "resolve_default", resolve("print-default"))
    monkeypatch.setattr(suite, "resolve_full", resolve("print-full-matrix"))


def test_the_report_keeps_its_order_whatever_finishes_first(make_settings, tmp_path, monkeypatch):
    gates = Gates(TOOLS)
    fake_tools(monkeypatch, gates)
    # Room for every step at once, so the order they finish in is the order they are let through.
    monkeypatch.setattr(suite, "lint_workers", lambda cpus: len(TOOLS))
    last_first = ["mypy", "ruff", "hadolint", "shellcheck", "print-full-matrix", "pins"]

    def release() -> None:
        for name in [*last_first, "print-default", "bake-check"]:
            gates.let_through(name)

    releaser = threading.Thread(target=release)
    releaser.start()
    tree = BakeTree(tmp_path, ("docker-bake.hcl",), (), configured=False, found=True)
    try:
        results = suite.lint_tree(make_settings(), tree, False, None)
    finally:
        releaser.join(WAIT)
    assert gates.finished == [*last_first, "print-default", "bake-check"]
    assert [result.tool for result in results] == [
        "shellcheck", "hadolint", "pins", "bake", "bake-check", "ruff", "mypy",
    ]  # fmt: skip
    bake = results[3]
    assert [finding.rule for finding in bake.findings] == ["print-default", "print-full-matrix"]
    assert bake.note == "found docker-bake.hcl"


def test_with_fix_mypy_reads_the_files_once_ruff_has_rewritten_them(make_settings, tmp_path, monkeypatch):
    gates = Gates(TOOLS, open_=True)
    started_mypy: list[list[str]] = []
    fake_tools(monkeypatch, gates)

    def mypy(*args, **kwargs) -> ToolResult:
        # What has finished when mypy starts.
        started_mypy.append(list(gates.finished))
        return ToolResult("mypy")

    monkeypatch.setattr(suite, "run_mypy", mypy)
    tree = BakeTree(tmp_path, (), (), configured=False, unusable="no bake files")
    results = suite.lint_tree(make_settings(), tree, True, None)
    assert "ruff" in started_mypy[0]
    assert [result.tool for result in results] == ["shellcheck", "hadolint", "pins", "bake", "ruff", "mypy"]
    assert results[3].skipped == "no bake files"


def test_bake_with_a_missing_file_reports_it_and_resolves_nothing(make_settings, tmp_path):
    tree = BakeTree(tmp_path, ("a.hcl",), ("gone.hcl",), configured=False)
    results = suite.lint_tree(make_settings(), tree, False, None)
    by_tool = {result.tool: result for result in results}
    assert [finding.rule for finding in by_tool["bake"].findings] == ["missing-file"]
    assert by_tool["bake-check"].skipped == "the default targets don't resolve (see bake)"


def test_the_bake_summary_lists_missing_files_then_the_default_then_the_full_matrix(tmp_path):
    def finding(rule: str) -> Finding:
        return Finding("a.hcl", 1, 0, "bake", rule, "error", rule)

    tree = BakeTree(Path(tmp_path), ("a.hcl",), (), configured=False)
    result = bake_definition_result(
        tree, Resolution({}, finding("print-default")), Resolution({}, finding("print-full-matrix"))
    )
    assert [f.rule for f in result.findings] == ["print-default", "print-full-matrix"]
    assert result.files_checked == 1 and result.note == ""
    assert bake_definition_result(tree, Resolution({"target": {}}), None).findings == []
