"""Which files of a tree each linter looks at.

Shell scripts are recognised by extension *and* by shebang (helper scripts often have no
extension); Dockerfiles and GitHub workflows by name; another tree's bake files by content
(``find_bake_files``).
Excluded: version-control and tool directories, and the tree-relative glob patterns from config
(e.g. the lint fixtures, which hold findings on purpose).
"""

from __future__ import annotations

import configparser
import fnmatch
import json
import os
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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


# Where GitHub reads workflows from: YAML files directly in this directory of the repository's root.
WORKFLOWS_DIR = PurePosixPath(".github/workflows")


def is_workflow(relative: str) -> bool:
    path = PurePosixPath(relative)
    return path.parent == WORKFLOWS_DIR and path.suffix in (".yml", ".yaml")


def workflow_files(files: Iterable[str]) -> list[str]:
    return [relative for relative in files if is_workflow(relative)]


def mypy_sources(python: Iterable[str]) -> list[str]:
    """The Python files to hand mypy: a module with a stub (a.py beside a.pyi) is the stub alone,
    as mypy itself takes it (both named would be one module found twice)."""
    names = list(python)
    stubs = {name for name in names if name.endswith(".pyi")}
    return [name for name in names if not (name.endswith(".py") and name + "i" in stubs)]


# mypy's config files in the order it looks for them in a directory; the shared ones count only
# when they have a mypy section.
_MYPY_CONFIGS = ("mypy.ini", ".mypy.ini", "pyproject.toml", "setup.cfg")


def mypy_config_names_files(root: Path) -> bool:
    """Whether the mypy config mypy reads in ``root`` says which files to check (its ``files``):
    then mypy is run on that, not on every Python file of the tree."""
    for name in _MYPY_CONFIGS:
        path = root / name
        if not path.is_file():
            continue
        if name == "pyproject.toml":
            try:
                document = tomllib.loads(path.read_text(encoding="utf-8", errors="replace"))
            except tomllib.TOMLDecodeError:
                return False  # mypy says what is wrong with it
            tool = document.get("tool")
            section = tool.get("mypy") if isinstance(tool, dict) else None
            if not isinstance(section, dict):
                continue
            return bool(section.get("files"))
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(path, encoding="utf-8")
        except configparser.Error:
            return False
        if name == "setup.cfg" and not parser.has_section("mypy"):
            continue
        return bool(parser.get("mypy", "files", fallback=""))
    return False


# --- another tree's bake files ------------------------------------------------------------------

# The files bake reads from its working directory when given no -f, in its order. Compose files,
# which bake reads too, are left out: they describe services to run, and bake would merge their
# services with the tree's targets of the same name.
BAKE_DEFAULT_FILES = (
    "docker-bake.json",
    "docker-bake.hcl",
    "docker-bake.override.json",
    "docker-bake.override.hcl",
)
# Bake files under these belong to other projects (vendored code, test fixtures).
NOT_OWN_DIRS = frozenset({"vendor", "third_party", "testdata"})
BAKE_BLOCK_TYPES = frozenset({"target", "group", "variable", "function"})
_BAKE_FILE_MAX_BYTES = 1 << 20

# A top-level HCL block opening: type, labels (quoted or bare), brace. Top-level blocks start at
# column 0 in practice; nested ones (validation, matrix) are indented and not wanted here.
_HCL_BLOCK = re.compile(r'^([A-Za-z_][\w-]*)((?:[ \t]+(?:"[^"\n]*"|[A-Za-z_][\w-]*))*)[ \t]*\{', re.MULTILINE)
_HCL_LABEL = re.compile(r'"([^"\n]*)"|([A-Za-z_][\w-]*)')


def bake_blocks(relative: str, text: str) -> list[tuple[str, str]] | None:
    """(block type, name) of each top-level block when ``text`` is a bake file, else None.

    A bake file has only target/group/variable/function blocks with one label each; anything else
    (Terraform's ``resource "x" "y"``, Packer's ``source``, Nomad's ``job``) is another tool's HCL.
    """
    if PurePosixPath(relative).suffix == ".json":
        return _json_bake_blocks(text)
    blocks: list[tuple[str, str]] = []
    for match in _HCL_BLOCK.finditer(text):
        labels = [quoted or bare for quoted, bare in _HCL_LABEL.findall(match.group(2))]
        if match.group(1) not in BAKE_BLOCK_TYPES or len(labels) != 1:
            return None
        blocks.append((match.group(1), labels[0]))
    return blocks or None


def _json_bake_blocks(text: str) -> list[tuple[str, str]] | None:
    # Cheap test first: most JSON files in a tree (package.json, fixtures) name no bake block at all.
    if not any(f'"{kind}"' in text for kind in BAKE_BLOCK_TYPES):
        return None
    try:
        document = json.loads(text)
    except ValueError:
        return None
    if not isinstance(document, dict) or not document or not set(document) <= BAKE_BLOCK_TYPES:
        return None
    if not all(isinstance(entries, dict) for entries in document.values()):
        return None
    return [(kind, str(name)) for kind, entries in document.items() for name in entries] or None


def bake_file_order(relative: str) -> tuple[tuple[str, ...], int, int, str]:
    """Sort key: by directory; in each, bake's own file names in its order, then the other files by
    name, then ``*.override.*`` files (they override what comes before them)."""
    path = PurePosixPath(relative)
    known = (
        BAKE_DEFAULT_FILES.index(path.name) if path.name in BAKE_DEFAULT_FILES else len(BAKE_DEFAULT_FILES)
    )
    rank = 2 if ".override." in path.name else 0 if known < len(BAKE_DEFAULT_FILES) else 1
    return path.parent.parts, rank, known, path.name


@dataclass(frozen=True)
class BakeFiles:
    """The bake files found in a tree, or the reason they can't be used together."""

    files: tuple[str, ...] = ()
    # Target or group names defined in more than one directory, and the files defining them.
    clashes: tuple[tuple[str, tuple[str, ...]], ...] = ()


def _read_small(path: Path) -> str:
    try:
        if path.stat().st_size > _BAKE_FILE_MAX_BYTES:
            return ""
        return path.read_text(errors="replace")
    except OSError:
        return ""


def find_bake_files(root: Path, files: Iterable[str]) -> BakeFiles:
    """The bake definition of a tree that doesn't name one: its ``*.hcl``/``*.json`` bake files.

    A directory holds a bake definition when one of its bake files defines a target; its other bake
    files (variables, functions, groups only) belong to that definition. Definitions from several
    directories are used together unless they define the same target or group name: bake would
    silently merge those (the later file wins), so they are reported as clashes instead.
    """
    blocks: dict[str, list[tuple[str, str]]] = {}
    for relative in files:
        path = PurePosixPath(relative)
        if path.suffix not in (".hcl", ".json") or NOT_OWN_DIRS.intersection(path.parent.parts):
            continue
        found = bake_blocks(relative, _read_small(root / relative))
        if found is not None:
            blocks[relative] = found
    with_targets = {
        PurePosixPath(relative).parent
        for relative, found in blocks.items()
        if any(kind == "target" for kind, _ in found)
    }
    chosen = sorted((r for r in blocks if PurePosixPath(r).parent in with_targets), key=bake_file_order)
    directories: dict[str, set[PurePosixPath]] = {}
    defined_in: dict[str, set[str]] = {}
    for relative in chosen:
        for kind, name in blocks[relative]:
            if kind in ("target", "group"):
                directories.setdefault(name, set()).add(PurePosixPath(relative).parent)
                defined_in.setdefault(name, set()).add(relative)
    clashes = tuple(
        (name, tuple(sorted(defined_in[name], key=bake_file_order)))
        for name in sorted(directories)
        if len(directories[name]) > 1
    )
    return BakeFiles((), clashes) if clashes else BakeFiles(tuple(chosen))
