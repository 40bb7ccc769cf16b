"""Helpers for engine tests: the real Docker engine, driven through `inv` as a user would."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tasks.builder.lifecycle import CONFIG_NAME, rendered_configs_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
INV = str(Path(sys.executable).with_name("inv"))
# Ignored by git, written by tasks: Complement results and the local cache export.
OUTPUT_DIRS = ("build", ".cache")


def inv(
    *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [INV, *args], cwd=REPO_ROOT, capture_output=True, text=True, env={**os.environ, **(env or {})}
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"inv {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


def _digest(path: Path) -> str:
    if path.is_symlink():
        return "-> " + os.readlink(path)
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.is_file() else "(not a file)"


def _tree_files() -> list[str]:
    """git's view of the work tree (modified and untracked files, -z so any name parses), each with
    a hash of its content: a second write to an already modified file shows too."""
    out = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "-z", "--untracked-files=all"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    entries = iter(out.split("\0"))
    listed = []
    for entry in entries:
        if not entry:
            continue
        status, path = entry[:2], entry[3:]
        if status[0] in "RC":
            next(entries, None)  # the rename's source path
        listed.append(f"{status} {path} {_digest(REPO_ROOT / path)}")
    for directory in OUTPUT_DIRS:
        for output in sorted((REPO_ROOT / directory).rglob("*")):
            if output.is_file() or output.is_symlink():
                stat = output.lstat()
                listed.append(f"!! {output.relative_to(REPO_ROOT)} {stat.st_size} {stat.st_mtime_ns}")
    return listed


def _builders(ls_json: str) -> list[str]:
    """`buildx ls` entries with each node's buildkitd.toml decoded, plus the rendered configs
    bakehouse keeps per builder."""
    builders = []
    for line in ls_json.splitlines():
        if not line.strip():
            continue
        entry = json.loads(line)
        for node in entry.get("Nodes") or []:
            files = node.get("Files") or {}
            if CONFIG_NAME in files:
                files[CONFIG_NAME] = base64.b64decode(files[CONFIG_NAME]).decode(errors="replace")
        builders.append(json.dumps(entry, sort_keys=True))
    directory = rendered_configs_dir()
    if directory.is_dir():
        for path in sorted(directory.iterdir()):
            builders.append(f"rendered {path.name}: {path.read_text(errors='replace')}")
    return sorted(builders)


def _lines(*args: str) -> list[str]:
    return sorted(docker(*args).stdout.split())


def state_fingerprint() -> dict[str, list[str]]:
    """Everything a task could change, for before/after comparisons: the work tree (tracked and
    untracked files with content hashes, and the task output directories), the builders with their
    configs, image ids, containers, networks and volumes. The engine queries run concurrently."""
    queries = {
        "builders": lambda: _builders(docker("buildx", "ls", "--format", "json").stdout),
        "images": lambda: _lines("images", "-aq", "--no-trunc"),
        "containers": lambda: _lines("ps", "-aq", "--no-trunc"),
        "networks": lambda: _lines("network", "ls", "-q"),
        "volumes": lambda: _lines("volume", "ls", "-q"),
        "files": _tree_files,
    }
    with ThreadPoolExecutor(len(queries)) as pool:
        futures = {name: pool.submit(query) for name, query in queries.items()}
        return {name: future.result() for name, future in futures.items()}
