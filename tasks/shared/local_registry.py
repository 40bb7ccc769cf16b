"""The local registry of registry-free mode (Debian's docker-registry): where it is, whether it
answers, starting and stopping it. Builders use it as their docker.io mirror; `engine.up` fills it."""

from __future__ import annotations

import http.client
import json
import os
import signal

from .errors import BakehouseError
from .host import apt_install_host, pid_alive, wait_until
from .private_state import paths
from .process import say, spawn
from .settings import Settings


def recorded_mode(config: Settings) -> str:
    """The mode `engine.up` found; builders follow it. Without a record, the registry is used."""
    configured = config.supply.mode
    if configured in ("registry", "registry-free"):
        return configured
    mode_file = paths(config).mode_file
    return mode_file.read_text().strip() if mode_file.exists() else "registry"


def registry_address(config: Settings) -> str:
    return config.supply.registry


def registry_answers(address: str) -> bool:
    try:
        conn = http.client.HTTPConnection(address, timeout=2)
        conn.request("GET", "/v2/")
        return conn.getresponse().status == 200
    except OSError:
        return False


# What a builder accepts when it pulls: single-platform manifests and indexes, Docker's and OCI's.
_MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)


def registry_has(address: str, repository: str, reference: str) -> bool:
    """Whether the registry at ``address`` holds ``repository:reference`` (a tag or a digest).

    Only a definite 404 means missing; any other answer (or none) is an error, never "missing"."""
    try:
        conn = http.client.HTTPConnection(address, timeout=5)
        conn.request("HEAD", f"/v2/{repository}/manifests/{reference}", headers={"Accept": _MANIFEST_TYPES})
        status = conn.getresponse().status
    except OSError as exc:
        raise BakehouseError(f"local registry {address} did not answer: {exc}") from exc
    if status in (200, 404):
        return status == 200
    raise BakehouseError(f"local registry {address} answered {status} for {repository}:{reference}")


def start_registry(config: Settings) -> None:
    address = registry_address(config)
    if registry_answers(address):
        return
    apt_install_host(["docker-registry"])
    d = paths(config).registry_dir
    (d / "data").mkdir(parents=True, exist_ok=True)
    registry_config = {
        "version": 0.1,
        "storage": {"filesystem": {"rootdirectory": str(d / "data")}, "delete": {"enabled": True}},
        "http": {"addr": address},
    }
    # JSON is YAML: no YAML writer needed.
    (d / "config.yml").write_text(json.dumps(registry_config))
    say(f"starting the local registry on {address}")
    pid = spawn(["docker-registry", "serve", str(d / "config.yml")], log=d / "registry.log")
    (d / "registry.pid").write_text(str(pid))
    if wait_until(lambda: registry_answers(address), 20):
        return
    raise BakehouseError(f"local registry did not answer on {address} (log: {d / 'registry.log'})")


def stop_registry(config: Settings) -> bool:
    pid_file = paths(config).registry_dir / "registry.pid"
    pid = pid_alive(pid_file)
    pid_file.unlink(missing_ok=True)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    return True
