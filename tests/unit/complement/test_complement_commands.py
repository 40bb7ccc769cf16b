"""The exact docker command lines of a Complement run, for given settings (no engine)."""

from __future__ import annotations

import pytest

from tasks.complement import docker_run as runner
from tasks.complement.isolation import RUN_LABEL
from tasks.shared.process import Completed


@pytest.fixture
def commands(monkeypatch):
    ran: list[tuple[list[str], dict[str, str]]] = []

    def fake_run(command, *, env=None, **_options):
        ran.append((list(command), dict(env or {})))
        return Completed(tuple(command), 0, "csapi\nTestLogin\nTestLogout\n")

    monkeypatch.setattr(runner, "run", fake_run)
    return ran


def test_listing_the_suite_runs_the_tester_offline_with_names_only_in_argv(commands, suite_settings):
    runner.list_tests("tester:r1", suite_settings, "bh-r1-list", "r1")
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
