"""One cell's run without docker: a shard without tests, the progress lines, why a run is incomplete."""

from __future__ import annotations

import json

from tasks.complement.cell_job import CellJob, _progress, record_shard_without_tests, run_problems
from tasks.complement.events import RunEvents
from tasks.complement.results_dir import ResultsDir
from tasks.complement.run_cells import ComplementCell, SuiteSettings
from tasks.complement.shards import BY_NAME, ShardPlan, ShardRecord, read_shard_record
from tasks.complement.signals import Interrupted
from tasks.complement.tester_container import TesterOutcome as Outcome  # not collected by pytest
from tasks.complement.watch import Crash


def test_a_shard_without_tests_is_recorded_complete_and_runs_nothing(tmp_path, suite_settings):
    plan = ShardPlan("cell", ("./tests/csapi",), "", "", BY_NAME, (("TestA",), ()))
    job = CellJob(
        ComplementCell("cell shard 2/2", "testee", "testee:1", "tester", "tester:1"), suite_settings, {},
        run_id="r1", name_prefix="bh", namespaces=["csapi"], stop_timeout=1,
        directory=ResultsDir(tmp_path / "shard-2-of-2"),
        listing={"p": frozenset({"TestA"})}, shard=ShardRecord(2, plan),
    )  # fmt: skip
    record_shard_without_tests(job)  # DOCKER_HOST points nowhere: any docker call would fail
    assert read_shard_record(job.directory.path / "shard.json") == ShardRecord(2, plan)
    assert json.loads((job.directory.path / "run.json").read_text())["state"] == "complete"
    assert (job.directory.path / "results.jsonl").read_text() == ""
    assert job.directory.load_listing() == {"p": frozenset({"TestA"})}


def test_progress_prints_one_line_per_top_level_test(capsys):
    package = "github.com/matrix-org/complement/tests/csapi"
    _progress(package, "TestLogin", "pass", 1.25)
    _progress(package, "TestLogin/parallel", "pass", 0.5)  # a subtest: not shown
    _progress(package, "", "pass", 9.0)  # the package's own result: not shown
    _progress(package, "TestLogout", "fail", None)
    assert capsys.readouterr().err == (
        "  pass  tests/csapi TestLogin (1.2s)\n  FAIL  tests/csapi TestLogout\n"
    )


# --- why a run is incomplete ------------------------------------------------------------------

CSAPI = "github.com/matrix-org/complement/tests/csapi"
FED = "github.com/matrix-org/complement/tests"
SETTINGS = SuiteSettings(
    base_image="", packages=("./tests/csapi", "./tests"), run="", skip="", timeout="30m", parallel=2,
    count=1, shuffle="off", spawn_timeout=120, dirty=False, share_env_prefix="BAKEHOUSE_TESTEE_",
)  # fmt: skip


def finished(*packages, events=10):
    return RunEvents(packages=dict.fromkeys(packages, "pass"), events=events)


def outcome(exit_code=0, interrupted=None, crash=None):
    return Outcome(exit_code=exit_code, interrupted=interrupted, seconds=1.0, crash=crash)


def test_a_run_whose_packages_all_finished_has_no_problems(engine_answers_ping):
    assert run_problems(SETTINGS, finished(CSAPI, FED), outcome(exit_code=1)) == []


def test_each_reason_a_run_is_incomplete_is_named(engine_answers_ping):
    problems = run_problems(SETTINGS, finished(CSAPI, events=0), outcome(2, Interrupted("SIGINT")))
    assert problems == [
        "interrupted by SIGINT",
        "tester exited with status 2",
        "package ./tests did not finish",
        "the tester printed no test events",
    ]


def test_a_crash_and_a_lost_engine_come_first():
    # No engine answers here (tests/unit/conftest.py points DOCKER_HOST at nothing).
    crash = Crash("0123456789abcdef", "hs1", "testee:run1", "1")
    assert run_problems(SETTINGS, finished(CSAPI, FED), outcome(crash=crash)) == [
        "the Docker engine stopped answering",
        f"stopped: {crash.describe()}",
    ]
