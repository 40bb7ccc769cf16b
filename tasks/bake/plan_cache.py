"""Remembered bake plans: a repeated `inv build` goes straight to bake, without `bake --print`.

A plan (bake's resolved definition) is a function of what bake reads to make it: the bake files'
bytes, the values of the variables they declare (matrix vectors, git and configured variables
all reach bake that way), buildx's own BUILDX_*/BAKE_* settings, the targets, the `--set`
overrides, the core count (`*.args.nprocs`), buildx itself and SOURCE_DATE_EPOCH (buildx puts it
into every target's args). The key hashes all of them, so a change to any one gives a new key;
nothing is ever invalidated by time. Files other than HCL and JSON (compose files interpolate any
variable) put the whole environment into the key.

A plan is stored only after a build with it succeeded: bad input never writes one. A build with a
remembered plan bakes its file (`bake -f <key>.json`), not the bake files: bake's printed plan is
a bake file itself, with every variable, matrix and `--set` already applied.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..shared.buildx import docker_config_dir

# `variable "name" {` in HCL; bake reads a declared variable's value from the environment.
_HCL_VARIABLE = re.compile(rb'^\s*variable\s+"([A-Za-z_][A-Za-z0-9_-]*)"', re.MULTILINE)
_BUILDX_SETTINGS = ("BUILDX_", "BAKE_")
# Variables buildx reads itself, declared or not, and writes into the plan.
_BUILDX_READS = ("SOURCE_DATE_EPOCH",)
# Plans kept: the newest ones (each is one matrix selection x targets x overrides).
KEEP = 200


def declared_variables(files: Iterable[tuple[str, bytes]]) -> set[str] | None:
    """Variables the bake files declare, or None when a file may interpolate any variable."""
    names: set[str] = set()
    for name, content in files:
        if name.endswith(".hcl"):
            names.update(match.decode() for match in _HCL_VARIABLE.findall(content))
        elif name.endswith(".json"):
            try:
                document = json.loads(content)
            except ValueError:
                return None
            variables = document.get("variable") if isinstance(document, dict) else None
            if isinstance(variables, dict):
                names.update(str(key) for key in variables)
        else:
            return None
    return names


def plan_key(
    *,
    root: Path,
    files: Sequence[tuple[str, bytes]],
    env: Mapping[str, str],
    targets: Sequence[str],
    sets: Sequence[str],
    cores: int,
    buildx: str,
) -> str:
    """The hash of everything a plan depends on (see the module docstring)."""
    declared = declared_variables(files)
    relevant = {
        name: value
        for name, value in env.items()
        if declared is None or name in declared or name.startswith(_BUILDX_SETTINGS) or name in _BUILDX_READS
    }
    digest = hashlib.sha256()
    for part in (
        str(root),
        json.dumps([[name, hashlib.sha256(content).hexdigest()] for name, content in files]),
        json.dumps(sorted(relevant.items())),
        json.dumps(list(targets)),
        json.dumps(list(sets)),
        str(cores),
        buildx,
    ):
        digest.update(part.encode("utf-8", "surrogateescape"))
        digest.update(b"\0")
    return digest.hexdigest()


def buildx_identity(environ: Mapping[str, str]) -> str:
    """Which buildx answers `docker buildx`: its plugin file's path, size and modification time
    (a stat, where asking buildx for its version would cost a process start)."""
    candidates = [
        docker_config_dir(environ) / "cli-plugins" / "docker-buildx",
        Path("/usr/local/lib/docker/cli-plugins/docker-buildx"),
        Path("/usr/local/libexec/docker/cli-plugins/docker-buildx"),
        Path("/usr/lib/docker/cli-plugins/docker-buildx"),
        Path("/usr/libexec/docker/cli-plugins/docker-buildx"),
    ]
    found = []
    for path in candidates:
        try:
            stat = path.stat()
        except OSError:
            continue
        found.append(f"{path}:{stat.st_size}:{stat.st_mtime_ns}")
    return ";".join(found) or "no buildx plugin found"


def cache_dir(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bakehouse" / "plans"


def plan_file(directory: Path, key: str) -> Path:
    """Where the plan stored under ``key`` is: a JSON bake file, which a build bakes directly."""
    return directory / f"{key}.json"


def load(directory: Path, key: str) -> dict[str, Any] | None:
    """The plan stored under ``key``, marked as just used: the build that loaded it bakes its file,
    which the clean-up of concurrent builds (oldest first) then leaves alone."""
    path = plan_file(directory, key)
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    with contextlib.suppress(OSError):  # a cache that can't be written still serves its plans
        os.utime(path)
    return plan if isinstance(plan, dict) else None


def store(directory: Path, key: str, plan: Mapping[str, Any]) -> None:
    """Write atomically (concurrent builds may store the same plan), then keep the newest KEEP."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        temporary = directory / f".{key}.{os.getpid()}.tmp"
        temporary.write_text(json.dumps(plan), encoding="utf-8")
        os.replace(temporary, plan_file(directory, key))
        plans = sorted(directory.glob("*.json"), key=lambda path: path.stat().st_mtime)
        for old in plans[:-KEEP]:
            old.unlink(missing_ok=True)
    except OSError:
        return  # a cache that can't be written only costs the next build a `bake --print`
