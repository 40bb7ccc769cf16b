"""The steps of one `inv complement` run that need no engine: the gate options, run ids per cell,
the namespaces swept, a crashed homeserver's report and the final verdict."""

from __future__ import annotations

import pytest

from tasks.cli.context import settings as settings_of
from tasks.complement.cell_job import CellRun
from tasks.complement.events import RunEvents
from tasks.complement.options import RunOptions, suite_settings
from tasks.complement.results_dir import INCOMPLETE, CellResults, ResultsDir, RunRecord
from tasks.complement.run_cells import ComplementCell
from tasks.complement.session import (
    cell_run_id,
    check_gate_options,
    complement_namespaces,
    conclude,
    refuse_if_crashed,
)
from tasks.complement.shards import ShardSpec
from tasks.complement.tester_container import TesterOutcome as Outcome  # not collected by pytest
from tasks.complement.watch import Crash
from tasks.shared.errors import BAD_INPUT, BakehouseError


def cell(label):
    return ComplementCell(
        label, f"complement-testee--{label}", f"testee:{label}", "complement-tester", "tester:1"
    )


def test_gate_options_that_go_together_pass():
    check_gate_options(RunOptions())
    check_gate_options(RunOptions(update_baseline=True, accept_regressions=True, run_id="nightly-1.a_b"))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (RunOptions(accept_regressions=True), "--accept-regressions only makes sense with --update-baseline"),
        (RunOptions(run_id="has space"),
         "--run-id 'has space': use lower-case letters, digits, '.', '_' or '-' (max 48)"),
        (RunOptions(run_id="x" * 49), f"--run-id '{'x' * 49}': use lower-case letters"),
        (RunOptions(update_baseline=True, shard="1/2"), "a shard can't update the baseline"),
    ],
)  # fmt: skip
def test_gate_options_that_do_not_go_together_are_bad_input(options, message):
    with pytest.raises(BakehouseError) as caught:
        check_gate_options(options)
    assert caught.value.code == BAD_INPUT
    assert str(caught.value).startswith(message)


def test_an_explicit_run_id_is_numbered_only_when_there_are_several_cells():
    one, two = cell("debian--trixie-slim--default"), cell("debian--bookworm-slim--default")
    assert cell_run_id("Nightly", 0, [one]) == "nightly"
    assert [cell_run_id("nightly", index, [one, two]) for index in (0, 1)] == ["nightly-0", "nightly-1"]


def test_without_an_explicit_run_id_each_cell_of_a_ci_job_gets_its_own(monkeypatch):
    monkeypatch.delenv("BAKEHOUSE_RUN_ID", raising=False)
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    cells = [cell("debian--trixie-slim--default"), cell("debian--bookworm-slim--default")]
    first, second = (cell_run_id(None, index, cells) for index in (0, 1))
    assert first.startswith("ci") and second.startswith("ci") and first != second
    assert cell_run_id(None, 0, cells) == first  # the same job and cell: the same id
    # Shards of one cell run in one CI job of a matrix (same job name): each its own id.
    shards = {cell_run_id(None, 0, cells, ShardSpec(index, 3)) for index in (1, 2, 3)}
    assert len(shards) == 3 and first not in shards


def test_the_swept_namespaces_are_those_of_the_selected_packages(make_settings, capsys):
    c = make_settings()
    settings, _ = suite_settings(c, RunOptions(packages="./tests/csapi ./tests"))
    assert complement_namespaces(c, settings) == ["csapi", "fed"]
    assert capsys.readouterr().err == ""


def test_a_package_without_a_known_namespace_is_said_and_left_to_complement(make_context, capsys):
    context = make_context()
    del context.config.bakehouse.complement.namespaces["tests"]
    c = settings_of(context)
    settings, _ = suite_settings(c, RunOptions(packages="./tests"))
    assert complement_namespaces(c, settings) == []
    assert "no Complement namespace known for ./tests (complement.namespaces)" in capsys.readouterr().err


def run_with_crash(tmp_path, crash, crash_log=""):
    return CellRun(
        results=CellResults(
            label="debian--trixie-slim--default",
            directory=ResultsDir(tmp_path),
            record=RunRecord("run1", INCOMPLETE),
            state=RunEvents(),
            listing=None,
        ),
        outcome=Outcome(exit_code=1, interrupted=None, seconds=12.4, crash=crash, crash_log=crash_log),
    )


def test_a_run_without_a_crash_goes_on_to_the_gate(tmp_path):
    refuse_if_crashed(cell("x"), run_with_crash(tmp_path, None))


def test_a_crashed_homeserver_fails_the_cell_with_its_last_lines(tmp_path, capsys):
    crash = Crash("0123456789abcdef", "hs1", "bakehouse-complement-testee:run1", "1")
    run = run_with_crash(tmp_path, crash, "boot\nKeyError: 'server_name'")
    with pytest.raises(BakehouseError) as caught:
        refuse_if_crashed(cell("debian--trixie-slim--default"), run)
    assert str(caught.value).startswith(
        "debian--trixie-slim--default: homeserver container hs1 (bakehouse-complement-testee:run1) exited "
        "with status 1 before it was healthy; run run1 stopped after 12s (its log is above;"
    )
    assert capsys.readouterr().err == "--- last lines of hs1 ---\nboot\nKeyError: 'server_name'\n---\n"


def test_a_crash_without_output_says_so(tmp_path, capsys):
    run = run_with_crash(tmp_path, Crash("0123456789abcdef", "", "img", "137"))
    with pytest.raises(BakehouseError):
        refuse_if_crashed(cell("x"), run)
    assert capsys.readouterr().err == "--- last lines of 0123456789ab ---\n(no output)\n---\n"


def test_the_verdict_fails_on_any_cells_failures_unless_report_only(capsys):
    conclude([], report_only=False)
    with pytest.raises(BakehouseError) as caught:
        conclude(["a: 1 regression(s): TestX", "b: incomplete run (x)"], report_only=False)
    assert caught.value.code == 1
    assert str(caught.value) == "complement: a: 1 regression(s): TestX | b: incomplete run (x)"
    conclude(["a: 1 regression(s): TestX"], report_only=True)
    assert capsys.readouterr().err == "bakehouse: report only, not failing: a: 1 regression(s): TestX\n"
