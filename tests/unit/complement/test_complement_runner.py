"""The Complement runner's parts without docker: signals, the daemon lock, run status, progress lines.

The lock is a real file lock under tmp_path; DOCKER_HOST is set so the endpoint needs no `docker
context` call. Two opens of one file in this process conflict as two processes would (flock).
"""

from __future__ import annotations

import json
import os
import signal
import stat
import tempfile
import time

import pytest

from tasks.complement import (
    docker_run as complement_run,  # not its TesterOutcome: pytest would try to collect it
)
from tasks.complement.docker_run import (
    CellJob,
    Interrupted,
    Swept,
    _progress,
    _socket_path,
    busy_error,
    current_endpoint,
    daemon_held,
    daemon_lock,
    lock_for_current_daemon,
    record_shard_without_tests,
    refuse_if_busy,
    run_problems,
    signals_ignored,
    signals_interrupt,
    usable_lock_dir,
    write_run_status,
)
from tasks.complement.events import RunEvents
from tasks.complement.isolation import docker_endpoint, lock_path
from tasks.complement.results import LISTING_FILE, load_listing
from tasks.complement.run_cells import ComplementCell, SuiteSettings
from tasks.complement.shards import BY_NAME, SHARD_FILE, ShardPlan, ShardRecord, read_shard_record
from tasks.complement.watch import Crash
from tasks.shared.errors import BakehouseError


@pytest.mark.parametrize(("name", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_an_interruption_exits_128_plus_the_signal_number(name, code):
    assert Interrupted(name).exit_code == code
    assert Interrupted(name).signal_name == name


class SignalEscaped(Exception):
    pass


def _escaped(signum, _frame):
    raise SignalEscaped(signal.Signals(signum).name)


@pytest.fixture
def guarded_signals():
    """SIGINT and SIGTERM raise SignalEscaped while the test runs: a signal the code under test
    fails to handle fails the test instead of ending pytest. The real handlers come back after."""
    previous = {sig: signal.signal(sig, _escaped) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in previous.items():
        signal.signal(sig, handler)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_sigint_and_sigterm_become_interrupted_and_the_handlers_come_back(guarded_signals, sig):
    with pytest.raises(Interrupted) as caught, signals_interrupt():
        os.kill(os.getpid(), sig)
        time.sleep(5)  # the handler raises as soon as Python runs it, at the latest in here
    assert caught.value.signal_name == sig.name
    assert signal.getsignal(sig) is _escaped


def test_cleanup_ignores_a_second_ctrl_c_and_restores_the_handlers(guarded_signals):
    with signals_ignored():
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)  # time for a handler to run, were there one
    assert signal.getsignal(signal.SIGINT) is _escaped
    assert signal.getsignal(signal.SIGTERM) is _escaped
    with pytest.raises(SignalEscaped):  # restored: the next signal is handled again
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)


def test_a_writable_lock_dir_is_used_else_the_temp_dir(tmp_path):
    assert usable_lock_dir(str(tmp_path)) == tmp_path
    assert str(usable_lock_dir(str(tmp_path / "missing"))) == tempfile.gettempdir()


def test_the_endpoint_is_docker_host_without_asking_docker(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/docker.sock")
    assert current_endpoint() == docker_endpoint({"DOCKER_HOST": f"unix://{tmp_path}/docker.sock"})
    assert lock_for_current_daemon(str(tmp_path)) == lock_path(tmp_path, current_endpoint())


def test_the_busy_message_names_the_holder_the_lock_and_the_fix(tmp_path):
    error = busy_error("run abc, pid 7", tmp_path / "x.lock")
    assert error.code == 1
    assert str(error) == (
        f"the daemon is busy with a Complement run (run abc, pid 7); lock {tmp_path / 'x.lock'}; "
        "run again without --no-wait to queue"
    )


def test_the_lock_holds_its_owner_and_refuses_a_second_run_that_will_not_wait(tmp_path):
    path = tmp_path / "daemon.lock"
    with daemon_lock(path, "run one", wait=False):
        assert path.read_text() == "run one"
        assert stat.S_IMODE(path.stat().st_mode) == 0o666  # other users' runs can queue
        with pytest.raises(BakehouseError) as caught, daemon_lock(path, "run two", wait=False):
            pass
        assert str(caught.value) == str(busy_error("run one", path))
        assert path.read_text() == "run one"
    # Released and emptied: the next run gets it at once.
    assert path.read_text() == ""
    with daemon_lock(path, "run two", wait=False):
        assert path.read_text() == "run two"


def test_no_wait_refuses_before_building_only_while_a_run_holds_the_daemon(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "tcp://daemon.example:2376")
    refuse_if_busy(str(tmp_path))  # no lock file yet
    with daemon_held(str(tmp_path), "run1", wait=False):
        with pytest.raises(BakehouseError) as caught:
            refuse_if_busy(str(tmp_path))
        assert str(caught.value).startswith(
            f"the daemon is busy with a Complement run (run run1, pid {os.getpid()} on "
        )
    refuse_if_busy(str(tmp_path))  # released


def test_runs_on_another_daemon_do_not_wait_for_each_other(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "tcp://one.example:2376")
    with daemon_held(str(tmp_path), "run1", wait=False):
        monkeypatch.setenv("DOCKER_HOST", "tcp://two.example:2376")
        refuse_if_busy(str(tmp_path))


def test_swept_reads_as_counts():
    assert str(Swept(containers=2, networks=1, images=3)) == "2 container(s), 1 network(s), 3 image(s)"


def test_the_tester_mounts_the_daemons_socket_or_the_default_one():
    assert _socket_path("unix:///run/user/1000/docker.sock") == "/run/user/1000/docker.sock"
    assert _socket_path("tcp://daemon.example:2376") == "/var/run/docker.sock"


def test_run_status_is_replaced_whole(tmp_path):
    write_run_status(tmp_path, "run1", "running")
    write_run_status(tmp_path, "run1", "incomplete", ["the tester printed no test events"])
    status = json.loads((tmp_path / "run.json").read_text())
    assert {key: status[key] for key in ("run_id", "state", "problems")} == {
        "run_id": "run1", "state": "incomplete", "problems": ["the tester printed no test events"],
    }  # fmt: skip
    assert isinstance(status["time"], float)
    assert [path.name for path in tmp_path.iterdir()] == ["run.json"]


def test_a_finished_run_records_its_packages_and_seconds(tmp_path):
    write_run_status(tmp_path, "run1", "complete", packages={"p2": "pass", "p1": "fail"}, seconds=12.345)
    status = json.loads((tmp_path / "run.json").read_text())
    assert (status["packages"], status["seconds"]) == ({"p1": "fail", "p2": "pass"}, 12.3)


def test_a_shard_without_tests_is_recorded_complete_and_runs_nothing(tmp_path, suite_settings):
    plan = ShardPlan("cell", ("./tests/csapi",), "", "", BY_NAME, (("TestA",), ()))
    job = CellJob(
        ComplementCell("cell shard 2/2", "testee", "testee:1", "tester", "tester:1"), suite_settings, {},
        run_id="r1",
        name_prefix="bh", namespaces=["csapi"], stop_timeout=1, directory=tmp_path / "shard-2-of-2",
        listing={"p": frozenset({"TestA"})}, shard=ShardRecord(2, plan),
    )  # fmt: skip
    record_shard_without_tests(job)  # DOCKER_HOST points nowhere: any docker call would fail
    assert read_shard_record(job.directory / SHARD_FILE) == ShardRecord(2, plan)
    assert json.loads((job.directory / "run.json").read_text())["state"] == "complete"
    assert (job.directory / "results.jsonl").read_text() == ""
    assert load_listing(job.directory / LISTING_FILE) == {"p": frozenset({"TestA"})}


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
    return complement_run.TesterOutcome(
        exit_code=exit_code, interrupted=interrupted, seconds=1.0, crash=crash
    )


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
