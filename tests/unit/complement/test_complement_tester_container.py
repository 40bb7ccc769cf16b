"""The tester container: the exact docker command lines of a Complement run, for given settings
(no engine), and the socket it mounts."""

from __future__ import annotations

import pytest

from tasks.complement import tester_container
from tasks.complement.isolation import RUN_LABEL
from tasks.complement.tester_container import _socket_path
from tasks.shared.process import Completed


@pytest.fixture
def commands(monkeypatch):
    ran: list[tuple[list[str], dict[str, str]]] = []

    def fake_run(command, *, env=None, **_options):
        ran.append((list(command), dict(env or {})))
        return Completed(tuple(command), 0, "csapi\nTestLogin\nTestLogout\n")

    monkeypatch.setattr(tester_container, "run", fake_run)
    return ran


def test_listing_the_suite_runs_the_tester_offline_with_names_only_in_argv(commands, suite_settings):
    tester_container.list_tests("tester:r1", suite_settings, "bh-r1-list", "r1")
    [(argv, env)] = commands
    assert argv[:10] == [
        "docker", "run", "--rm", "--init", "--name", "bh-r1-list", "--label", f"{RUN_LABEL}=r1",
        "--network", "none",
    ]  # fmt: skip
    assert argv[-3:] == ["tester:r1", "-test.list", ".*"]
    # Each variable is passed by name: its value comes from the CLI's environment, set by the runner.
    passed = argv[10:-3]
    assert passed == [word for name in env for word in ("-e", name)]
    assert env and all("=" not in word for word in passed)


def test_the_tester_mounts_the_daemons_socket_or_the_default_one():
    assert _socket_path("unix:///run/user/1000/docker.sock") == "/run/user/1000/docker.sock"
    assert _socket_path("tcp://daemon.example:2376") == "/var/run/docker.sock"
