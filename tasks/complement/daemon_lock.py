"""The daemon lock: one Complement run at a time per Docker daemon.

Complement removes everything carrying its namespace label when a package starts, so two runs on
one daemon would remove each other's homeservers. A run holds an exclusive file lock keyed by the
daemon (tasks/complement/isolation.py) for its run, gate and reports; the kernel drops it if the
process dies. The lock file holds the holder's name, which a waiting or refused run shows.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from ..shared.errors import BakehouseError
from ..shared.process import docker, say
from .isolation import docker_endpoint, lock_path


def current_endpoint() -> str:
    """The daemon this client talks to (DOCKER_HOST, the current context, or the default socket)."""
    context_host = None
    if not os.environ.get("DOCKER_HOST"):
        result = docker("context", "inspect", "--format", "{{.Endpoints.docker.Host}}", check=False)
        if result.returncode == 0 and result.stdout.strip():
            context_host = result.stdout.strip()
    return docker_endpoint(os.environ, context_host)


def usable_lock_dir(configured: str) -> Path:
    candidate = Path(configured)
    if candidate.is_dir() and os.access(candidate, os.W_OK):
        return candidate
    return Path(tempfile.gettempdir())


def busy_error(holder: str, path: Path) -> BakehouseError:
    return BakehouseError(
        f"the daemon is busy with a Complement run ({holder}); lock {path}; "
        "run again without --no-wait to queue"
    )


def refuse_if_busy(lock_dir: str) -> None:
    """For --no-wait: fail before building anything when another run holds the daemon."""
    path = lock_for_current_daemon(lock_dir)
    if not path.exists():
        return
    with path.open("r", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy_error(handle.read().strip() or "another run", path) from None
        fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def daemon_lock(path: Path, owner: str, *, wait: bool) -> Iterator[None]:
    """Hold an exclusive lock for the daemon; the kernel drops it if this process dies."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    with contextlib.suppress(PermissionError):
        os.chmod(path, 0o666)  # other users' runs on this daemon must be able to queue too
    handle = os.fdopen(descriptor, "r+", encoding="utf-8")
    held = False
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another run"
            if not wait:
                raise busy_error(holder, path) from None
            say(f"waiting for the daemon: a Complement run is in progress ({holder}); lock {path}")
            started = time.monotonic()
            fcntl.flock(handle, fcntl.LOCK_EX)
            say(f"got the daemon lock after {time.monotonic() - started:.0f}s")
        held = True
        handle.seek(0)
        handle.truncate()
        handle.write(owner)
        handle.flush()
        yield
    finally:
        # Only the holder empties the file: a run refused (or interrupted while queued) must not
        # erase the name of the run that holds the daemon.
        if held:
            with contextlib.suppress(OSError):
                handle.seek(0)
                handle.truncate()
        handle.close()  # closing releases the lock


@contextlib.contextmanager
def daemon_held(lock_dir: str, run_id: str, *, wait: bool) -> Iterator[None]:
    """The daemon lock for this run, owned under a name that tells waiting runs which run they wait for."""
    lock = lock_for_current_daemon(lock_dir)
    owner = f"run {run_id}, pid {os.getpid()} on {socket.gethostname()}, since {time.strftime('%H:%M:%S')}"
    with daemon_lock(lock, owner, wait=wait):
        yield


def lock_for_current_daemon(lock_dir: str) -> Path:
    return lock_path(usable_lock_dir(lock_dir), current_endpoint())
