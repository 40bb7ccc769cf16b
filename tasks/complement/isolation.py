"""Isolation of Complement runs: run ids, the names and labels derived from them, the lock key.

Complement itself names everything after its package namespace (`complement_fed_…`,
`complement_csapi_…`; labels `complement_context`, `complement_pkg`, `complement_blueprint`,
`complement_hs_name`) and removes everything carrying its namespace label when a package
starts. So runs that share a daemon are serialized by a lock keyed by that daemon, and each run
marks what it owns with its run id: the tester container directly, and every homeserver
container and blueprint image through a per-run copy of the testee image that carries the run
label (docker copies image labels onto containers, and `commit` copies them back onto images).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..shared.engine import DEFAULT_ENDPOINT, unix_socket_path

RUN_LABEL = "org.bakehouse.complement.run"
# Complement's own labels (matrix-org/complement internal/docker).
COMPLEMENT_CONTEXT_LABEL = "complement_context"
COMPLEMENT_PACKAGE_LABEL = "complement_pkg"

_RUN_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,47}$")

# CI systems and the variables that identify one job of one pipeline run (a re-run of the same
# job gets the same id, so its sweep removes what an interrupted attempt left behind).
_CI_IDENTITIES: tuple[tuple[str, ...], ...] = (
    ("GITHUB_RUN_ID", "GITHUB_JOB", "GITHUB_REPOSITORY"),
    ("CI_JOB_ID", "CI_PROJECT_PATH"),
    ("BUILDKITE_JOB_ID",),
    ("CIRCLE_WORKFLOW_JOB_ID",),
    ("BUILD_TAG",),  # Jenkins
)


def valid_run_id(run_id: str) -> bool:
    return bool(_RUN_ID.match(run_id))


def ci_identity(env: Mapping[str, str]) -> str | None:
    for names in _CI_IDENTITIES:
        if env.get(names[0]):
            return "\0".join(f"{name}={env.get(name, '')}" for name in names)
    return None


def make_run_id(env: Mapping[str, str], cell: str, *, explicit: str | None = None) -> str:
    """The run id: explicit (option or BAKEHOUSE_RUN_ID), else a hash of the CI job and the
    matrix cell, else random. Lower-case so it fits image references too."""
    chosen = explicit or env.get("BAKEHOUSE_RUN_ID") or ""
    if chosen:
        return chosen.lower()
    identity = ci_identity(env)
    if identity is not None:
        return "ci" + hashlib.sha256(f"{identity}\0{cell}".encode()).hexdigest()[:10]
    return "r" + secrets.token_hex(5)


def run_container_name(prefix: str, run_id: str, role: str) -> str:
    return f"{prefix}-{run_id}-{role}"


def run_image_reference(prefix: str, run_id: str) -> str:
    """The per-run copy of the testee image Complement starts homeservers from."""
    return f"{prefix}-testee:{run_id}"


def docker_endpoint(env: Mapping[str, str], context_host: str | None = None) -> str:
    """The daemon this client talks to: DOCKER_HOST, else the current context's host, else the
    default socket. Unix sockets are resolved so two spellings of one socket share a lock."""
    host = env.get("DOCKER_HOST") or context_host or DEFAULT_ENDPOINT
    socket = unix_socket_path(host)
    return "unix://" + os.path.realpath(socket) if socket is not None else host


def lock_path(lock_dir: Path, endpoint: str) -> Path:
    digest = hashlib.sha256(endpoint.encode()).hexdigest()[:16]
    return lock_dir / f"bakehouse-complement-{digest}.lock"


def namespaces_for(package_paths: Sequence[str], known: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """Complement namespaces of the selected packages (`./tests` -> `fed`, `csapi` or
    `./tests/csapi` or its import path -> `csapi`), and the packages whose namespace isn't known."""
    found: list[str] = []
    unknown: list[str] = []
    for package in package_paths:
        wanted = package.removeprefix("./").rstrip("/")
        matches = [
            namespace
            for path, namespace in known.items()
            if path == wanted or path.endswith("/" + wanted) or wanted.endswith("/" + path)
        ]
        if not matches:
            unknown.append(package)
        for namespace in matches[:1]:
            if namespace not in found:
                found.append(namespace)
    return found, unknown
