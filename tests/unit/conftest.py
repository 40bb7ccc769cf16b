"""Unit tests: no engine, no `inv`. A real invoke Context where a helper reads the configuration."""

from __future__ import annotations

import pytest
from invoke import Config, Context

from tasks.shared.process import REPO_ROOT

# Where unit tests find "the engine": a socket nobody serves. A helper that would reach a real
# engine fails fast and visibly here instead of quietly depending on (or disturbing) one.
NO_ENGINE = "unix:///nonexistent/bakehouse-unit-tests-have-no-engine.sock"


@pytest.fixture(autouse=True)
def no_engine(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", NO_ENGINE)


def context_with(**sections: dict) -> Context:
    """The project's invoke.yaml with ``bakehouse.<section>`` keys overridden (merged, not replaced).

    The shell's INVOKE_* variables are not loaded: a unit test sees the same config everywhere.
    """
    config = Config(project_location=str(REPO_ROOT), overrides={"bakehouse": sections})
    config.load_project()
    return Context(config)


@pytest.fixture
def make_context():
    return context_with
