"""Is a Docker engine reachable, which versions, and did it go away: cheap probes every task uses."""

from __future__ import annotations

import http.client
import os
import socket
from dataclasses import dataclass

from . import whales
from .errors import BakehouseError
from .process import run
from .settings import EngineSettings
from .versions import version_at_least

DEFAULT_SOCKET = "/var/run/docker.sock"
DEFAULT_ENDPOINT = f"unix://{DEFAULT_SOCKET}"


def unix_socket_path(endpoint: str) -> str | None:
    """The socket file of a `unix://` endpoint; None for any other transport."""
    return endpoint.removeprefix("unix://") if endpoint.startswith("unix://") else None


def _socket_path() -> str | None:
    return unix_socket_path(engine_endpoint())


def socket_answers(path: str, timeout: float = 2.0) -> bool:
    """GET /_ping on a unix socket: cheap, and tells a live daemon from a stale socket file."""

    class UnixConnection(http.client.HTTPConnection):
        def connect(self) -> None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(path)

    try:
        conn = UnixConnection("localhost", timeout=timeout)
        conn.request("GET", "/_ping")
        return conn.getresponse().status == 200
    except OSError:
        return False


@dataclass(frozen=True)
class EngineInfo:
    server_version: str
    api_version: str
    buildx_version: str | None


def probe_engine() -> EngineInfo | None:
    """The reachable engine's versions, or None when no engine answers."""
    path = _socket_path()
    if path is not None and not socket_answers(path):
        return None
    try:
        version = whales.client().version()
    except whales.docker_error():
        return None
    server = version.server
    if server is None:
        return None
    return EngineInfo(str(server.version), str(server.api_version), installed_buildx_version())


def installed_buildx_version() -> str | None:
    # python-on-whales has no call for the plugin's own version; ask the CLI.
    result = run(["docker", "buildx", "version"], check=False)
    if result.returncode != 0:
        return None
    words = result.stdout.split()
    return words[1].lstrip("v") if len(words) > 1 else None


def engine_answers() -> bool:
    """Whether the engine answers now: one ping where it is a unix socket."""
    path = _socket_path()
    return socket_answers(path) if path is not None else probe_engine() is not None


def engine_endpoint() -> str:
    return os.environ.get("DOCKER_HOST") or DEFAULT_ENDPOINT


def require_engine() -> None:
    """Fail with the fix when no engine answers; cheap (one ping) where the engine is a unix socket."""
    if not engine_answers():
        raise BakehouseError("no Docker engine is reachable; run `inv engine.up` first")


def engine_lost(during: str) -> BakehouseError | None:
    """The error for a failure whose cause is the engine going away, or None if it still answers."""
    if engine_answers():
        return None
    return BakehouseError(
        f"the Docker engine at {engine_endpoint()} stopped answering during {during}; "
        "run `inv engine.up`, then run this again (the builder's cache is kept)"
    )


def engine_usable(info: EngineInfo, cfg: EngineSettings) -> list[str]:
    """What is missing for bakehouse on this engine (empty when usable)."""
    missing = []
    if not version_at_least(info.api_version, cfg.min_api_version):
        missing.append(f"engine API {info.api_version} < {cfg.min_api_version}")
    if info.buildx_version is None:
        missing.append("docker-buildx plugin")
    elif not version_at_least(info.buildx_version, cfg.min_buildx_version):
        missing.append(f"buildx {info.buildx_version} < {cfg.min_buildx_version}")
    return missing
