"""The one door to other programs: run, stream, spawn, pipe, and the one line a failure becomes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tasks.shared.errors import FAILED, BakehouseError
from tasks.shared.process import (
    REPO_ROOT,
    CommandFailed,
    Completed,
    failure_reason,
    git,
    git_output,
    pipe,
    run,
    spawn,
    start,
    start_git,
    stream,
)


def sh(script: str) -> list[str]:
    return ["sh", "-c", script]


# --- failure_reason: the one extractor --------------------------------------------------------


def test_the_reason_is_the_last_error_line_without_its_prefix():
    stderr = "#1 building\nERROR: first\n  detail\nERROR: target app: failed to solve\n"
    assert failure_reason(stderr) == "target app: failed to solve"


def test_without_an_error_line_the_reason_is_the_last_line_or_unknown():
    assert failure_reason("one\ntwo\n\n") == "two"
    assert failure_reason("") == "unknown error"


def test_the_reason_falls_back_to_stdout_then_to_the_exit_status():
    assert failure_reason("", "out 1\nout 2\n", 3) == "out 2"
    assert failure_reason("  \n", "", 3) == "exit 3"
    # stderr wins over stdout, whatever stdout says.
    assert failure_reason("the cause\n", "ERROR: noise\n", 1) == "the cause"


def test_an_empty_error_line_is_kept_as_it_is():
    assert failure_reason("ERROR:\n") == "ERROR:"


# --- run ---------------------------------------------------------------------------------------


def test_run_captures_both_outputs_and_the_status():
    result = run(sh("echo out; echo err >&2; exit 3"), check=False)
    assert result == Completed(("sh", "-c", "echo out; echo err >&2; exit 3"), 3, "out\n", "err\n")
    assert not result.ok
    assert result.reason() == "err"


def test_a_failure_is_one_line_naming_what_failed_and_carries_the_command():
    with pytest.raises(CommandFailed) as caught:
        run(sh("echo partial; echo 'ERROR: no such builder' >&2; exit 4"), what="removing b1")
    failed = caught.value
    assert isinstance(failed, BakehouseError) and failed.code == FAILED
    assert str(failed) == "removing b1 failed: no such builder"
    assert failed.why == "no such builder"
    assert failed.argv[:2] == ("sh", "-c")
    assert failed.exit_code == 4
    assert (failed.stdout, failed.stderr) == ("partial\n", "ERROR: no such builder\n")


def test_without_what_the_command_names_itself_by_its_first_three_words():
    with pytest.raises(CommandFailed) as caught:
        run(["sh", "-c", "exit 2", "ignored", "words"])
    assert str(caught.value) == "sh -c 'exit 2' failed: exit 2"


def test_the_failure_keeps_only_the_tail_of_a_long_output():
    with pytest.raises(CommandFailed) as caught:
        run(sh("head -c 100000 /dev/zero | tr '\\0' x >&2; echo; echo last >&2; exit 1"))
    assert len(caught.value.stderr) == 4000
    assert caught.value.stderr.endswith("last\n")


def test_a_missing_program_is_command_not_found():
    with pytest.raises(CommandFailed) as caught:
        run(["bakehouse-no-such-program", "x"])
    assert str(caught.value) == "bakehouse-no-such-program: command not found"
    assert caught.value.exit_code is None


def test_a_started_command_runs_while_this_process_goes_on(tmp_path):
    # It waits for a file only this test writes after start() returned: start() did not wait.
    flag = tmp_path / "go"
    started = start(sh(f"while [ ! -e {flag} ]; do sleep 0.01; done; echo done; echo why >&2"))
    flag.write_text("")
    completed = started.finish()
    assert (completed.returncode, completed.stdout, completed.stderr) == (0, "done\n", "why\n")
    assert started.finish() is completed  # the same answer on every call


def test_a_started_command_fails_like_run_when_finished_and_checked():
    started = start(sh("echo 'ERROR: broken' >&2; exit 3"))
    assert started.finish(check=False).returncode == 3
    with pytest.raises(CommandFailed) as caught:
        started.finish(what="the check")
    assert str(caught.value) == "the check failed: broken"
    with pytest.raises(CommandFailed, match="command not found"):
        start(["bakehouse-no-such-program"])


def test_start_git_runs_in_the_repository_it_is_told(tmp_path):
    run(["git", "init", "-q", "-b", "trunk", str(tmp_path)])
    answer = start_git("symbolic-ref", "--short", "HEAD", cwd=tmp_path).finish(check=False)
    assert answer.stdout.strip() == "trunk"


def test_a_command_that_takes_too_long_is_stopped_and_named():
    started = time.monotonic()
    with pytest.raises(CommandFailed) as caught:
        run(["sleep", "30"], timeout=1, what="waiting")
    assert time.monotonic() - started < 10
    assert str(caught.value) == "waiting: timed out after 1s"


def test_stdin_is_closed_so_nothing_can_prompt():
    # cat would wait for a terminal's input forever; with stdin closed it ends at once.
    assert run(["cat"], timeout=10).stdout == ""


def test_input_text_is_the_commands_stdin():
    assert run(["cat"], input_text="line 1\nline 2\n").stdout == "line 1\nline 2\n"


def test_env_is_set_over_this_process_environment(monkeypatch):
    monkeypatch.setenv("BAKEHOUSE_TEST_KEPT", "kept")
    result = run(
        sh('echo "$BAKEHOUSE_TEST_KEPT $BAKEHOUSE_TEST_ADDED"'), env={"BAKEHOUSE_TEST_ADDED": "added"}
    )
    assert result.stdout == "kept added\n"


def test_cwd_is_where_the_command_runs(tmp_path):
    assert run(["pwd"], cwd=tmp_path).stdout.strip() == str(tmp_path.resolve())


def test_output_receives_stdout_and_stderr_in_order(tmp_path):
    log = tmp_path / "log"
    with log.open("w", encoding="utf-8") as handle:
        result = run(sh("echo one; echo two >&2; echo three"), output=handle)
    assert log.read_text() == "one\ntwo\nthree\n"
    assert (result.stdout, result.stderr) == ("", "")


def test_undecodable_bytes_are_replaced_not_fatal():
    assert run(sh("printf 'a\\377b'")).stdout == "a\ufffdb"


# --- git -------------------------------------------------------------------------------------


def test_git_runs_in_the_repository_it_is_told(tmp_path):
    assert Path(git("rev-parse", "--show-toplevel", cwd=REPO_ROOT).stdout.strip()).resolve() == REPO_ROOT
    top = git("rev-parse", "--show-toplevel", cwd=REPO_ROOT).stdout.strip()
    assert git_output("rev-parse", "--show-toplevel", cwd=REPO_ROOT) == top
    other = tmp_path / "other"
    run(["git", "init", "-q", str(other)])
    (other / "sub").mkdir()
    assert Path(git("rev-parse", "--show-toplevel", cwd=other / "sub").stdout.strip()) == other.resolve()


def test_a_failing_git_command_is_an_answer_not_an_error(tmp_path):
    outside = git("rev-parse", "--show-toplevel", cwd=tmp_path)
    assert not outside.ok
    assert "not a git repository" in outside.reason()
    assert git_output("rev-parse", "--verify", "--quiet", "no-such-ref-in-bakehouse", cwd=REPO_ROOT) == ""


# --- stream ------------------------------------------------------------------------------------


def test_stream_yields_lines_as_they_come_and_the_exit_status():
    with stream(sh("echo a; echo b; exit 5")) as running:
        assert list(running.lines()) == ["a\n", "b\n"]
        assert running.wait() == 5
        assert running.returncode == 5


def test_stream_can_read_stderr_and_send_stdout_elsewhere(tmp_path):
    other = tmp_path / "stdout"
    with (
        other.open("w", encoding="utf-8") as handle,
        stream(sh("echo to-file; echo progress >&2"), read="stderr", other_output=handle) as running,
    ):
        assert list(running.lines()) == ["progress\n"]
        running.wait()
    assert other.read_text() == "to-file\n"


def test_wait_with_a_timeout_says_none_while_it_runs():
    with stream(["sleep", "30"]) as running:
        assert running.wait(timeout=0.1) is None
        assert running.returncode is None


def test_stop_ends_a_command_that_ignores_sigterm():
    with stream(sh("trap '' TERM; echo ready; sleep 30")) as running:
        assert next(iter(running.lines())) == "ready\n"
        started = time.monotonic()
        running.stop(grace=0.5)
        assert running.returncode is not None
        assert time.monotonic() - started < 10


def test_leaving_the_block_stops_the_command():
    with stream(["sleep", "30"]) as running:
        pass
    assert running.returncode is not None


def test_own_session_keeps_a_terminals_ctrl_c_away():
    # /proc/PID/stat: the session id is the fourth field after the command name's ")".
    with stream(sh("cat /proc/$$/stat"), own_session=True) as running:
        stat = next(iter(running.lines()))
    pid, session = stat.split()[0], stat.rpartition(")")[2].split()[3]
    assert session == pid != str(os.getsid(0))


def test_stream_of_a_missing_program_is_command_not_found():
    with pytest.raises(CommandFailed, match="bakehouse-no-such-program: command not found"):
        stream(["bakehouse-no-such-program"])


# --- spawn -------------------------------------------------------------------------------------


def test_spawn_starts_a_daemon_in_its_own_session_logging_to_a_file(tmp_path):
    # The daemon reports its own session: by the time the test could ask with os.getsid(), a
    # short-lived child may already be gone (reaped by whoever waits for children).
    log = tmp_path / "daemon.log"
    log.write_bytes(b"earlier\n")
    pid = spawn(
        sh('echo started; echo warning >&2; echo "$$ $(cat /proc/$$/stat)" ; echo $BAKEHOUSE_TEST'),
        log=log,
        env={"BAKEHOUSE_TEST": "1"},
    )
    deadline = time.monotonic() + 10
    while log.read_text().count("\n") < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    earlier, started, warning, stat, variable = log.read_text().splitlines()
    own_pid, _, rest = stat.partition(" ")
    session = rest.rpartition(")")[2].split()[3]
    assert (earlier, started, warning, variable) == ("earlier", "started", "warning", "1")
    assert own_pid == str(pid) == session != str(os.getsid(0))


# --- pipe --------------------------------------------------------------------------------------


def test_pipe_feeds_one_commands_output_into_the_other():
    result = pipe(["printf", "abcd"], ["wc", "-c"], what="counting")
    assert result.stdout.strip() == "4"


def test_a_failing_consumer_is_named_with_its_reason():
    with pytest.raises(CommandFailed) as caught:
        pipe(
            ["printf", "x"],
            sh("cat >/dev/null; echo 'invalid tar header' >&2; exit 1"),
            what="docker import x",
        )
    assert str(caught.value) == "docker import x failed: invalid tar header"


def test_a_failing_producer_is_named_too():
    with pytest.raises(CommandFailed) as caught:
        pipe(["false"], ["cat"], what="docker import x")
    assert str(caught.value) == "docker import x failed: false exited with status 1"
    assert caught.value.argv == ("false",)


def test_a_consumer_that_stops_reading_does_not_leave_the_producer_blocked():
    started = time.monotonic()
    with pytest.raises(CommandFailed):
        pipe(["yes"], sh("head -c 10 >/dev/null; exit 1"), what="reading ten bytes")
    assert time.monotonic() - started < 10
