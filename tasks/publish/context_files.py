"""Files of a build context: listing (minus .dockerignore), picking those a Dockerfile reads, and
hashing each as git does (a blob id of its current content and a git file mode).

Hashing like git means a clean tracked file hashes to the id git already has for it in HEAD (that
is how -wip is told), while a modified or untracked file is hashed all the same.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from .dockerfile_reads import ContextReads

# git's file modes: the only mode bits a clone carries from one machine to another.
MODE_FILE = "100644"
MODE_EXECUTABLE = "100755"
MODE_SYMLINK = "120000"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileHash:
    """One file as git would store it: its path (relative to what it was read from), mode and id."""

    path: str
    mode: str
    oid: str

    def as_list(self) -> list[str]:
        return [self.path, self.mode, self.oid]


def blob_id(path: Path, algorithm: str = "sha1") -> tuple[str, str]:
    """(git mode, git blob id) of a file or symlink as it is now; a symlink's blob is its target."""
    info = path.lstat()
    digest = hashlib.new(algorithm)
    if stat.S_ISLNK(info.st_mode):
        target = os.fsencode(os.readlink(path))
        digest.update(b"blob %d\0" % len(target) + target)
        return MODE_SYMLINK, digest.hexdigest()
    digest.update(b"blob %d\0" % info.st_size)
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    # git keeps one permission bit: executable by its owner, or not.
    return (MODE_EXECUTABLE if info.st_mode & stat.S_IXUSR else MODE_FILE), digest.hexdigest()


def _translate(pattern: str) -> str:
    """A .dockerignore pattern (Go filepath.Match plus `**`) as a regular expression."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**", index):
            out.append(".*")
            index += 2
            if pattern.startswith("/", index):
                out.append("/?")  # `**/x` matches `x` at any depth, the top included
                index += 1
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", index + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                body = pattern[index + 1 : end]
                out.append("[" + ("^" + body[1:] if body.startswith(("^", "!")) else body) + "]")
                index = end
        elif char == "\\" and index + 1 < len(pattern):
            index += 1
            out.append(re.escape(pattern[index]))
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)


class DockerIgnore:
    """The exclusions of a .dockerignore: the last pattern that matches a path (or one of its
    parent directories) decides; `!` patterns take paths back."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.rules: list[tuple[bool, re.Pattern[str]]] = []
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            keep = line.startswith("!")
            pattern = posixpath.normpath(line.removeprefix("!").strip()).lstrip("/")
            if pattern in ("", "."):
                continue
            self.rules.append((keep, re.compile(f"^{_translate(pattern)}(/.*)?$")))

    def excludes(self, path: str) -> bool:
        excluded = False
        for keep, rule in self.rules:
            if rule.match(path):
                excluded = not keep
        return excluded


def dockerignore_file(context_dir: Path, dockerfile: Path | None) -> Path | None:
    """The ignore file buildx uses: `<Dockerfile>.dockerignore` beside the Dockerfile, else the
    context's `.dockerignore`."""
    candidates = [dockerfile.with_name(dockerfile.name + ".dockerignore")] if dockerfile else []
    candidates.append(context_dir / ".dockerignore")
    return next((path for path in candidates if path.is_file()), None)


def list_files(directory: Path, ignore: DockerIgnore | None = None) -> list[str]:
    """Every file and symlink under a directory (posix paths relative to it), minus the ignored."""
    found: list[str] = []
    for current, dirs, files in os.walk(directory):
        relative_dir = Path(current).relative_to(directory).as_posix()
        prefix = "" if relative_dir == "." else relative_dir + "/"
        for name in dirs:
            if (Path(current) / name).is_symlink():
                files.append(name)  # os.walk doesn't descend into it: the link itself is sent
        for name in files:
            path = prefix + name
            if ignore is None or not ignore.excludes(path):
                found.append(path)
    return sorted(found)


def _glob_parts(pattern: str) -> list[str]:
    # COPY's wildcards are Go's filepath.Match: `[^a]` there is fnmatch's `[!a]`.
    return [part.replace("[^", "[!") for part in pattern.split("/")]


def _matches(pattern_parts: Sequence[str], path: str) -> bool:
    """A source pattern names this file itself or a directory above it."""
    parts = path.split("/")
    return len(parts) >= len(pattern_parts) and all(
        fnmatchcase(part, wanted) for part, wanted in zip(parts, pattern_parts, strict=False)
    )


def select_read(context_dir: Path, files: Sequence[str], reads: ContextReads) -> tuple[list[str], list[str]]:
    """(files of the context the Dockerfile reads, patterns that matched nothing)."""
    if reads.whole_context:
        return list(files), []
    chosen: set[str] = set()
    unmatched: list[str] = []
    pending = list(reads.patterns)
    seen = set(pending)
    while pending:
        pattern = pending.pop(0)
        parts = _glob_parts(pattern)
        matched = [path for path in files if _matches(parts, path)]
        if not matched:
            unmatched.append(pattern)
        for path in matched:
            chosen.add(path)
            # A source that is itself a symlink is followed by COPY: its target is read too.
            if len(path.split("/")) == len(parts) and (context_dir / path).is_symlink():
                link = os.readlink(context_dir / path)
                target = posixpath.normpath(posixpath.join(posixpath.dirname(path), link))
                if not target.startswith(("../", "/")) and target != ".." and target not in seen:
                    seen.add(target)
                    pending.append(target)
    return sorted(chosen), sorted(unmatched)


def hash_files(directory: Path, paths: Iterable[str]) -> list[FileHash]:
    return [FileHash(path, *blob_id(directory / path)) for path in sorted(paths)]
