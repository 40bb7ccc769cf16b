"""The host's Go settings for the bake environment (`go env`), remembered between commands by what
decides them, so a repeated build starts no `go` process.

`go env NAME...` answers from the process environment, then the user's env file ($GOENV, else
<user config dir>/go/env, written by `go env -w`), then $GOROOT/go.env, then the defaults compiled
into the toolchain, which a go.mod or go.work `toolchain`/`go` line may switch (GOTOOLCHAIN). The key
holds each of those: the go binary found on PATH (path, target, size, mtime), every GO* variable and
the variables that place the env file, the env files' and go.env's stat, and the stat of every
go.mod/go.work from the current directory up. A change to any of them asks `go env` again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..shared.process import run

CACHE_FILE = "go-env.json"
# Answers kept: one per state of Go's inputs (a checkout's directory is one of them).
KEEP = 32


def _stat(path: Path) -> list[int] | None:
    try:
        found = path.stat()
    except OSError:
        return None
    return [found.st_size, found.st_mtime_ns, found.st_ino]


def _user_env_file(environ: Mapping[str, str]) -> Path | None:
    """Where `go env -w` writes: $GOENV ("off": none), else os.UserConfigDir()/go/env."""
    if "GOENV" in environ:
        return None if environ["GOENV"] in ("", "off") else Path(environ["GOENV"])
    config_home = environ.get("XDG_CONFIG_HOME") or (
        str(Path(environ["HOME"]) / ".config") if environ.get("HOME") else ""
    )
    return Path(config_home) / "go" / "env" if config_home else None


def settings_key(go: str, names: Sequence[str], environ: Mapping[str, str], cwd: Path) -> str:
    """The hash of everything `go env NAMES` reads to answer (see the module docstring)."""
    binary = Path(go).resolve()
    # GOROOT: the variable, else the directory above the binary's bin/, as found or with links resolved.
    roots = [Path(environ["GOROOT"])] if environ.get("GOROOT") else []
    roots += [Path(go).absolute().parent.parent, binary.parent.parent]
    user_file = _user_env_file(environ)
    module_files = [folder / name for folder in (cwd, *cwd.parents) for name in ("go.mod", "go.work")]
    parts = {
        "names": list(names),
        "go": [go, str(binary), _stat(binary)],
        "environ": sorted(
            (name, value)
            for name, value in environ.items()
            if name.startswith("GO") or name in ("HOME", "XDG_CONFIG_HOME")
        ),
        "cwd": str(cwd),
        "files": [
            [str(path), _stat(path)]
            for path in [
                *(root / "go.env" for root in roots),
                *([user_file] if user_file else []),
                *module_files,
            ]
        ],
    }
    return hashlib.sha256(json.dumps(parts).encode("utf-8", "surrogateescape")).hexdigest()


def _entries(path: Path) -> dict[str, dict[str, str]]:
    """The remembered answers, by key (oldest first); none when the file is missing or foreign."""
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    entries = stored.get("entries") if isinstance(stored, dict) else None
    if not isinstance(entries, dict):
        return {}
    return {
        str(key): {str(name): str(value) for name, value in values.items()}
        for key, values in entries.items()
        if isinstance(values, dict)
    }


def _remember(path: Path, key: str, values: Mapping[str, str]) -> None:
    """Added to the newest KEEP answers (checkouts in other directories have keys of their own),
    written atomically (builds may run at once); a cache that can't be written costs a `go env`."""
    entries = _entries(path)
    entries.pop(key, None)
    entries[key] = dict(values)
    kept = dict(list(entries.items())[-KEEP:])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps({"entries": kept}), encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        return


def cache_dir(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bakehouse"


def go_settings(names: Sequence[str]) -> dict[str, str]:
    """The non-empty values of `go env NAMES` (none without go, or when it fails), asked once per
    state of what decides them."""
    go = shutil.which("go")
    if go is None:
        return {}
    try:
        key: str | None = settings_key(go, names, os.environ, Path.cwd())
    except OSError:  # the current directory is gone: go answers (or fails) uncached
        key = None
    cache = cache_dir(os.environ) / CACHE_FILE
    remembered = _entries(cache).get(key) if key else None
    if remembered is not None:
        return remembered
    result = run(["go", "env", *names], check=False)
    if result.returncode != 0:
        return {}
    values = {name: value for name, value in zip(names, result.stdout.splitlines(), strict=False) if value}
    if key:
        _remember(cache, key, values)
    return values
