"""The daemon lock without docker: a real file lock under tmp_path.

DOCKER_HOST is set so the endpoint needs no `docker context` call. Two opens of one file in this
process conflict as two processes would (flock).
"""

from __future__ import annotations

import os
import stat
import tempfile

import pytest

from tasks.complement.daemon_lock import (
    busy_error,
    current_endpoint,
    daemon_held,
    daemon_lock,
    lock_for_current_daemon,
    refuse_if_busy,
    usable_lock_dir,
)
from tasks.complement.isolation import docker_endpoint, lock_path
from tasks.shared.errors import BakehouseError


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
