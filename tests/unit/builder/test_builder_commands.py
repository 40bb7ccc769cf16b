"""The exact docker command lines the builder service runs, for given options (no engine)."""

from __future__ import annotations

import pytest

from tasks.builder import lifecycle as service
from tasks.shared.process import Completed


@pytest.fixture
def commands(monkeypatch):
    ran: list[tuple[list[str], str | None]] = []

    def fake_run(command, *, what=None, **_options):
        ran.append((list(command), what))
        return Completed(tuple(command), 0)

    monkeypatch.setattr(service, "run", fake_run)
    return ran


def test_remove_builder_keeps_state_only_when_asked(commands):
    service.remove_builder("b1", keep_state=True)
    service.remove_builder("b1", keep_state=False)
    assert commands == [
        (["docker", "buildx", "rm", "--keep-state", "b1"], "docker buildx rm b1"),
        (["docker", "buildx", "rm", "b1"], "docker buildx rm b1"),
    ]
