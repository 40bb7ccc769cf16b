"""Fixtures for engine tests (helpers live in enginekit.py)."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator

import pytest
from enginekit import docker
from registrykit import TlsRegistry, running_registry


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


@pytest.fixture(scope="session")
def tls_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsRegistry]:
    """A TLS + htpasswd registry for the session (see registrykit); stopped at the end. A test that
    stops it brings it back (``with tls_registry.stopped(): ...``)."""
    with running_registry(tmp_path_factory.mktemp("tls-registry")) as registry:
        yield registry
