"""Fixtures for engine tests (helpers live in enginekit.py)."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator

import pytest
from enginekit import docker


@pytest.fixture(scope="session", autouse=True)
def engine_is_up() -> None:
    if subprocess.run(["docker", "version"], capture_output=True).returncode != 0:
        pytest.fail("no Docker engine reachable: run `inv engine.up` before the engine tests")


@pytest.fixture
def builder_name() -> Iterator[str]:
    """A throwaway builder, removed with its cache afterwards."""
    name = f"bh-test-{uuid.uuid4().hex[:8]}"
    yield name
    docker("buildx", "rm", name, check=False)
