"""The host this runs on: its Debian packages, and processes by pid file."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from .process import run, say


def apt_install_host(packages: list[str]) -> None:
    """Install packages from the host's own suite (idempotent: apt skips installed ones)."""
    missing = [
        p
        for p in packages
        if run(["dpkg-query", "-W", "-f=${Status}", p], check=False).stdout.find("install ok installed") < 0
    ]
    if not missing:
        return
    say(f"installing from the host's Debian suite: {' '.join(missing)}")
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    attempt = run(["apt-get", "install", "-y", "-qq", *missing], check=False, env=env)
    if attempt.returncode != 0:
        run(["apt-get", "update", "-qq"], env=env, what="apt-get update")
        run(
            ["apt-get", "install", "-y", "-qq", *missing],
            env=env,
            what=f"apt-get install {' '.join(missing)}",
        )


def wait_until(ready: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return True
        time.sleep(0.3)
    return ready()


def _is_zombie(pid: int) -> bool:
    """A killed daemon whose parent is gone waits as a zombie until init reaps it (some inits are
    slow to): signal 0 still reaches it, but it is dead."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def pid_alive(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return None if _is_zombie(pid) else pid
