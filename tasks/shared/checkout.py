"""The project checkout's commit, read once per command: one `git log` for what the bake variables
(revision, commit time, SOURCE_DATE_EPOCH) and the default builder name (branch) need."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .process import git

# Revision, committer time (ISO and seconds), ref names ("HEAD -> branch, main, tag: v1").
_FORMAT = "--format=%H%n%cI%n%ct%n%D"
# What `git rev-parse --abbrev-ref HEAD` says on a detached HEAD.
DETACHED = "HEAD"


@dataclass(frozen=True)
class Commit:
    revision: str
    created: str
    epoch: str
    # The checked-out branch; "HEAD" when detached, as `git rev-parse --abbrev-ref HEAD` says.
    branch: str


def branch_of(refs: str) -> str:
    """The branch in `%D` ref names: "HEAD -> name" names it; a detached HEAD has no arrow.
    Ref names never hold a space, so ", " separates them."""
    for ref in refs.split(", "):
        if ref.startswith("HEAD -> "):
            return ref.removeprefix("HEAD -> ")
    return DETACHED


def read_commit(root: Path) -> Commit | None:
    """HEAD's commit, or None outside a git checkout (or before its first commit)."""
    result = git("log", "-1", _FORMAT, cwd=root)
    lines = result.stdout.splitlines() if result.ok else []
    if len(lines) < 3:
        return None
    revision, created, epoch = lines[:3]
    return Commit(revision, created, epoch, branch_of(lines[3] if len(lines) > 3 else ""))
