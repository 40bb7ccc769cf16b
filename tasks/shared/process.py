"""Running external commands with expected failures turned into BakehouseError."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from tasks.shared.errors import BakehouseError

# The repository: tasks/shared/process.py -> tasks/shared -> tasks -> the root.
REPO_ROOT = Path(__file__).resolve().parents[2]


def say(message: str) -> None:
    """Progress for humans: stderr, so stdout stays clean for --print/--json."""
    print(f"bakehouse: {message}", file=sys.stderr, flush=True)


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def run(
    cmd: Sequence[str],
    *,
    check: bool = True,
    capture: bool = True,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
    timeout: float | None = None,
    cwd: Path | None = None,
    what: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``; on failure raise one line naming ``what`` failed and why."""
    full_env = {**os.environ, **env} if env else None
    try:
        result = subprocess.run(
            list(cmd),
            check=False,
            text=True,
            capture_output=capture,
            env=full_env,
            input=input_text,
            timeout=timeout,
            cwd=cwd,
        )
    except FileNotFoundError as exc:
        raise BakehouseError(f"{cmd[0]}: command not found") from exc
    except subprocess.TimeoutExpired as exc:
        raise BakehouseError(f"{what or shlex.join(cmd)}: timed out after {timeout:.0f}s") from exc
    if check and result.returncode != 0:
        reason = (
            last_line(result.stderr or "") or last_line(result.stdout or "") or f"exit {result.returncode}"
        )
        raise BakehouseError(f"{what or shlex.join(cmd[:3])} failed: {reason}")
    return result


def docker(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """The docker CLI, for what python-on-whales lacks (each caller says what)."""
    return run(["docker", *args], **kwargs)  # type: ignore[arg-type]


def git_output(*args: str) -> str:
    """Output of a git command in this repository; empty when git fails (no repo, no tags...)."""
    result = run(["git", "-C", str(REPO_ROOT), *args], check=False)
    return result.stdout.strip() if result.returncode == 0 else ""
