"""The local registry of registry-free mode (Debian's docker-registry): where it is, whether it
answers, what it holds, starting and stopping it. Builders use it as their docker.io mirror;
`engine.up` (and `inv build`, for what a tree pulls) fills it."""

from __future__ import annotations

import http.client
import json
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import BakehouseError
from .host import apt_install_host, pid_alive, wait_until
from .private_state import paths
from .process import say, spawn
from .settings import Settings

_DOCKER_HUB = ("docker.io/", "index.docker.io/", "registry-1.docker.io/")


@dataclass(frozen=True)
class HubImage:
    """A Docker Hub reference as the mirror serves it: repository (library/ for official images),
    tag, and digest (empty when not pinned)."""

    repository: str
    tag: str
    digest: str

    @property
    def reference(self) -> str:
        """What the mirror is asked for: the digest when pinned, else the tag."""
        return self.digest or self.tag

    @property
    def short_name(self) -> str:
        """The name Docker Hub users write (``debian:testing-slim``, ``docker/dockerfile:1``)."""
        name = self.repository.removeprefix("library/")
        return f"{name}:{self.tag}" + (f"@{self.digest}" if self.digest else "")


def hub_image(reference: str) -> HubImage | None:
    """``reference`` as a Docker Hub image, or None when another registry serves it."""
    name = reference
    for prefix in _DOCKER_HUB:
        name = name.removeprefix(prefix)
    name, _, digest = name.partition("@")
    first = name.split("/", 1)[0] if "/" in name else ""
    if first == "localhost" or any(mark in first for mark in ".:"):
        return None  # a registry host: the local registry mirrors docker.io only
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    tag = name[colon + 1 :] if colon > last_slash else "latest"
    repository = name[:colon] if colon > last_slash else name
    if "/" not in repository:
        repository = f"library/{repository}"
    return HubImage(repository, tag, digest)


def recorded_mode(config: Settings) -> str:
    """The mode `engine.up` found; builders follow it. Without a record, the registry is used."""
    configured = config.supply.mode
    if configured in ("registry", "registry-free"):
        return configured
    mode_file = paths(config).mode_file
    return mode_file.read_text().strip() if mode_file.exists() else "registry"


def supplies_builds(config: Settings, builders: Sequence[str]) -> bool:
    """Whether a build on ``builders`` is supplied from the local registry first: registry-free, on
    a docker-container builder (the engine's own builder reads the engine's store)."""
    return any(name != "default" for name in builders) and recorded_mode(config) == "registry-free"


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


def registry_digest(address: str, repository: str, reference: str) -> str | None:
    """The digest the registry at ``address`` serves for ``repository:reference`` (a tag or a
    digest); None when it holds none.

    Only a definite 404 means missing; any other answer (or none) is an error, never "missing"."""
    try:
        conn = http.client.HTTPConnection(address, timeout=5)
        conn.request("HEAD", f"/v2/{repository}/manifests/{reference}", headers={"Accept": _MANIFEST_TYPES})
        answer = conn.getresponse()
    except OSError as exc:
        raise BakehouseError(f"local registry {address} did not answer: {exc}") from exc
    if answer.status == 404:
        return None
    digest = answer.getheader("Docker-Content-Digest") or ""
    if answer.status != 200 or not digest.startswith("sha256:"):
        raise BakehouseError(
            f"local registry {address} answered {answer.status} for {repository}:{reference}"
        )
    return digest


def registry_has(address: str, repository: str, reference: str) -> bool:
    """Whether the registry at ``address`` holds ``repository:reference`` (a tag or a digest)."""
    return registry_digest(address, repository, reference) is not None


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
