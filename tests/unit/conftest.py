"""Unit tests: no engine, no `inv`. Settings read the way `inv` reads them where a helper needs them."""

from __future__ import annotations

import http.server
import socketserver
import threading
from typing import Any

import pytest
from invoke import Config, Context

from tasks.cli.context import settings
from tasks.shared.process import REPO_ROOT
from tasks.shared.settings import Settings

# Where unit tests find "the engine": a socket nobody serves. A helper that would reach a real
# engine fails fast and visibly here instead of quietly depending on (or disturbing) one.
NO_ENGINE = "unix:///nonexistent/bakehouse-unit-tests-have-no-engine.sock"


@pytest.fixture(autouse=True)
def no_engine(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", NO_ENGINE)


class _Ping(http.server.BaseHTTPRequestHandler):
    """A daemon's /_ping and nothing else: what the cheap "does the engine answer" probes ask."""

    def do_GET(self):
        self.send_response(200 if self.path == "/_ping" else 404)
        self.end_headers()

    def address_string(self):
        return "unix"

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
        pass


class _UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@pytest.fixture
def answering_socket(tmp_path):
    """A unix socket under tmp_path that answers /_ping like a live daemon (and does nothing else)."""
    path = tmp_path / "docker.sock"
    server = _UnixHTTPServer(str(path), _Ping)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield str(path)
    server.shutdown()
    server.server_close()


@pytest.fixture
def engine_answers_ping(answering_socket, monkeypatch):
    """DOCKER_HOST points at a socket that answers /_ping: "the engine answers", and nothing more."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{answering_socket}")


def context_with(**sections: Any) -> Context:
    """The project's invoke.yaml with ``bakehouse.<section>`` keys overridden (merged, not replaced),
    as a task gets it.

    The shell's INVOKE_* variables are not loaded: a unit test sees the same config everywhere.
    """
    config = Config(project_location=REPO_ROOT, overrides={"bakehouse": sections})
    config.load_project()
    return Context(config)


def settings_with(**sections: Any) -> Settings:
    """The settings of ``context_with(**sections)``: what the core is given."""
    return settings(context_with(**sections))


@pytest.fixture
def make_context():
    return context_with


@pytest.fixture
def make_settings():
    return settings_with
