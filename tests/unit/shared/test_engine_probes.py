"""Engine reachability without an engine: which socket, whether it answers /_ping, what is missing.

A small HTTP server on a unix socket under tmp_path stands in for a daemon's /_ping (the
answering_socket fixture of tests/unit/conftest.py); DOCKER_HOST points at it (or at a socket
nobody serves), so the real engine is never asked.
"""

from __future__ import annotations

import socket

import pytest

from tasks.shared.engine import (
    EngineInfo,
    _socket_path,
    engine_answers,
    engine_endpoint,
    engine_lost,
    engine_usable,
    require_engine,
    socket_answers,
)
from tasks.shared.errors import BakehouseError
from tasks.shared.settings import EngineSettings

MINIMUMS = EngineSettings(min_api_version="1.45", min_buildx_version="0.17.0")


@pytest.fixture
def stale_socket(tmp_path):
    # A socket file left behind by a daemon that died: nothing accepts on it.
    path = tmp_path / "stale.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.close()
    return str(path)


def test_the_socket_is_docker_hosts_or_the_default_and_none_for_tcp(monkeypatch):
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert _socket_path() == "/var/run/docker.sock"
    assert engine_endpoint() == "unix:///var/run/docker.sock"
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/user/1000/docker.sock")
    assert _socket_path() == "/run/user/1000/docker.sock"
    assert engine_endpoint() == "unix:///run/user/1000/docker.sock"
    monkeypatch.setenv("DOCKER_HOST", "tcp://daemon.example:2376")
    assert _socket_path() is None
    assert engine_endpoint() == "tcp://daemon.example:2376"


def test_a_socket_answers_only_when_a_daemon_serves_ping(answering_socket, stale_socket, tmp_path):
    assert socket_answers(answering_socket)
    assert not socket_answers(stale_socket)
    assert not socket_answers(str(tmp_path / "missing.sock"))


def test_an_answering_engine_is_required_and_not_lost(answering_socket, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{answering_socket}")
    assert engine_answers()
    require_engine()
    assert engine_lost("the build") is None


def test_no_engine_is_refused_with_the_fix(stale_socket, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{stale_socket}")
    assert not engine_answers()
    with pytest.raises(BakehouseError) as caught:
        require_engine()
    assert caught.value.code == 1
    assert str(caught.value) == "no Docker engine is reachable; run `inv engine.up` first"


def test_an_engine_lost_during_a_step_is_named_with_its_endpoint_and_the_fix(stale_socket, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{stale_socket}")
    lost = engine_lost("the build")
    assert lost is not None
    assert str(lost) == (
        f"the Docker engine at unix://{stale_socket} stopped answering during the build; "
        "run `inv engine.up`, then run this again (the builder's cache is kept)"
    )


def test_a_recent_engine_with_buildx_is_usable():
    assert engine_usable(EngineInfo("28.5.2", "1.51", "0.29.1"), MINIMUMS) == []
    assert engine_usable(EngineInfo("26.1.5+dfsg1", "1.45", "0.17.0"), MINIMUMS) == []


def test_what_an_old_engine_lacks_is_listed():
    assert engine_usable(EngineInfo("24.0.7", "1.43", "0.13.1"), MINIMUMS) == [
        "engine API 1.43 < 1.45",
        "buildx 0.13.1 < 0.17.0",
    ]
    assert engine_usable(EngineInfo("28.5.2", "1.51", None), MINIMUMS) == ["docker-buildx plugin"]
