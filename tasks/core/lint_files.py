"""Which files of a tree each linter looks at.

Shell scripts are recognised by extension *and* by shebang (helper scripts often have no
extension); Dockerfiles by name. Excluded: version-control and tool directories, and the
tree-relative glob patterns from config (e.g. the lint fixtures, which hold findings on purpose).
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

# Directories no linter should descend into: VCS metadata, virtualenvs, caches, vendored code.
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".tox",
    }
)

SHELL_EXTENSIONS = frozenset({".sh", ".bash", ".dash", ".ksh"})
# Shells shellcheck understands; zsh, fish and others are left alone.
SHELL_INTERPRETERS = frozenset({"sh", "bash", "dash", "ksh", "mksh", "ash", "busybox"})

_SHEBANG = re.compile(rb"^#!\s*(\S+)(?:\s+(.*))?$")


def is_excluded(relative: str, patterns: Sequence[str]) -> bool:
    """True if ``relative`` (a POSIX path in the tree) or one of its parent directories matches a pattern."""
    path = PurePosixPath(relative)
    candidates = [
        path.as_posix(),
        *(parent.as_posix() for parent in path.parents if parent.as_posix() != "."),
    ]
    return any(
        fnmatch.fnmatchcase(candidate, pattern.rstrip("/"))
        for candidate in candidates
        for pattern in patterns
    )


def walk_tree(root: Path, exclude: Sequence[str] = ()) -> list[str]:
    """Every regular file under ``root`` as a sorted tree-relative POSIX path, skipping excluded ones."""
    found: list[str] = []
    for directory, subdirs, files in os.walk(root):
        relative_dir = Path(directory).relative_to(root)
        subdirs[:] = sorted(
            name
            for name in subdirs
            if name not in SKIPPED_DIRS and not is_excluded((relative_dir / name).as_posix(), exclude)
        )
        for name in files:
            relative = (relative_dir / name).as_posix()
            if not is_excluded(relative, exclude) and not os.path.islink(os.path.join(directory, name)):
                found.append(relative)
    return sorted(found)


def shebang_interpreter(first_line: bytes) -> str:
    """The interpreter a shebang line names (``#!/usr/bin/env bash`` -> ``bash``), or ""."""
    match = _SHEBANG.match(first_line.strip())
    if not match:
        return ""
    program = match.group(1).decode(errors="replace").rsplit("/", 1)[-1]
    arguments = (match.group(2) or b"").decode(errors="replace").split()
    if program == "env":
        # `env -S bash -e` and `env bash` both name bash; skip env's own options.
        arguments = [argument for argument in arguments if not argument.startswith("-")]
        return arguments[0].rsplit("/", 1)[-1] if arguments else ""
    if program == "busybox" and arguments:
        return arguments[0]
    return program


def is_shell_script(relative: str, first_line: bytes) -> bool:
    if PurePosixPath(relative).suffix in SHELL_EXTENSIONS:
        return True
    return shebang_interpreter(first_line) in SHELL_INTERPRETERS


def is_dockerfile(relative: str) -> bool:
    name = PurePosixPath(relative).name
    return (
        name in ("Dockerfile", "Containerfile")
        or name.startswith(("Dockerfile.", "Containerfile."))
        or name.endswith(".Dockerfile")
    ) and not name.endswith((".dockerignore", ".md"))


def is_python(relative: str) -> bool:
    return PurePosixPath(relative).suffix in (".py", ".pyi")


def read_first_line(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.readline(256)
    except OSError:
        return b""


def shell_scripts(root: Path, files: Iterable[str]) -> list[str]:
    return [relative for relative in files if is_shell_script(relative, read_first_line(root / relative))]


def dockerfiles(files: Iterable[str]) -> list[str]:
    return [relative for relative in files if is_dockerfile(relative)]


def python_files(files: Iterable[str]) -> list[str]:
    return [relative for relative in files if is_python(relative)]
