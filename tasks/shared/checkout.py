"""The project checkout's commit, read once per command: one `git log` for what the bake variables
(revision, commit time, SOURCE_DATE_EPOCH) and the default builder name (branch, origin's URL) need,
and where the bake variables ask for it one `git describe` beside it (the checkout's version). Both
are started at once and read when needed (CommitReading), so git runs while a command goes on.

The origin's URL rides on that same process: git's trace2 lists the config values named in
GIT_TRACE2_CONFIG_PARAMS as JSON events (git itself reads the config: system, global, includes,
worktrees, `-c`), and the `url.<base>.insteadOf` rewrites are applied here as `git remote get-url`
applies them. Where that can't give the same answer (a git without trace2, a legacy remotes file,
GIT_DIR set), the URL stays unknown and the builder name asks `git remote get-url` as before.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .process import Completed, start_git

# Revision, committer time (ISO and seconds), ref names ("HEAD -> branch, main, tag: v1").
_FORMAT = "--format=%H%n%cI%n%ct%n%D"
# What `git rev-parse --abbrev-ref HEAD` says on a detached HEAD.
DETACHED = "HEAD"
ORIGIN_URL = "remote.origin.url"
# trace2 reports keys with section and variable in lower case: url.<base>.insteadof.
_REWRITE_PREFIX, _REWRITE_SUFFIX = "url.", ".insteadof"
# Config values listed as trace2 events on stderr ("2"): the process's own environment, not the user's.
CONFIG_TRACE = {"GIT_TRACE2_CONFIG_PARAMS": f"{ORIGIN_URL},url.*.insteadof", "GIT_TRACE2_EVENT": "2"}
# Legacy remote definitions `git remote get-url` also reads, beside the config.
_LEGACY_REMOTE_DIRS = ("remotes", "branches")


@dataclass(frozen=True)
class Commit:
    revision: str
    created: str
    epoch: str
    # The checked-out branch; "HEAD" when detached, as `git rev-parse --abbrev-ref HEAD` says.
    branch: str
    # What `git remote get-url origin` prints ("" when it fails: no origin); None when not known.
    origin: str | None = None
    # What `git describe --tags --always --dirty` prints ("" when it fails); None when not asked.
    described: str | None = None


def branch_of(refs: str) -> str:
    """The branch in `%D` ref names: "HEAD -> name" names it; a detached HEAD has no arrow.
    Ref names never hold a space, so ", " separates them."""
    for ref in refs.split(", "):
        if ref.startswith("HEAD -> "):
            return ref.removeprefix("HEAD -> ")
    return DETACHED


def rewritten(url: str, rewrites: Iterable[tuple[str, str]]) -> str:
    """``url`` with the longest matching `url.<base>.insteadOf` prefix replaced by its base (the
    first of equally long ones, bases in the order git first saw them), as git's remote.c does."""
    by_base: dict[str, list[str]] = {}
    for base, prefix in rewrites:
        by_base.setdefault(base, []).append(prefix)
    best: tuple[str, str] | None = None
    for base, prefixes in by_base.items():
        for prefix in prefixes:
            if url.startswith(prefix) and (best is None or len(prefix) > len(best[1])):
                best = (base, prefix)
    return url if best is None else best[0] + url[len(best[1]) :]


def common_dir(worktree: Path) -> Path | None:
    """The repository directory holding a worktree's shared files (gitrepository-layout: `.git`
    is that directory, or a file `gitdir: PATH` whose directory may name it in `commondir`); None
    where git may look elsewhere."""
    if "GIT_DIR" in os.environ or "GIT_COMMON_DIR" in os.environ:
        return None
    dot_git = worktree / ".git"
    if dot_git.is_dir():
        return dot_git
    try:
        text = dot_git.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if not text.startswith("gitdir: "):
        return None
    git_dir = dot_git.parent / text.removeprefix("gitdir: ").strip()
    try:
        return git_dir / (git_dir / "commondir").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return git_dir
    except (OSError, UnicodeDecodeError):
        return None


def origin_from_trace(trace: str) -> str | None:
    """What `git remote get-url origin` would print, from a git command's trace2 events (see
    CONFIG_TRACE); None when the events can't tell."""
    events = []
    for line in trace.splitlines():
        if line.startswith("{"):
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                events.append(event)
    params = [
        (str(e.get("param")), str(e.get("value") or "")) for e in events if e.get("event") == "def_param"
    ]
    worktrees = [str(e["worktree"]) for e in events if e.get("event") == "def_repo" and e.get("worktree")]
    if not worktrees:
        return None  # no trace2 (an old git), or no worktree: git's answer is not known
    urls = [value for param, value in params if param == ORIGIN_URL]
    rewrites = [
        (param[len(_REWRITE_PREFIX) : -len(_REWRITE_SUFFIX)], value)
        for param, value in params
        if param.startswith(_REWRITE_PREFIX) and param.endswith(_REWRITE_SUFFIX)
    ]
    if urls:
        return rewritten(urls[0], rewrites)
    # No URL in the config: origin may still be defined by a legacy file, which only git reads.
    common = common_dir(Path(worktrees[0]))
    if common is None or any((common / legacy / "origin").exists() for legacy in _LEGACY_REMOTE_DIRS):
        return None
    return ""


_DESCRIBE = ("describe", "--tags", "--always", "--dirty")


def commit_of(log: Completed, described: str | None = None) -> Commit | None:
    """The Commit in the output of `git log -1 <_FORMAT>` run with CONFIG_TRACE; None when it failed."""
    lines = log.stdout.splitlines() if log.ok else []
    if len(lines) < 3:
        return None
    revision, created, epoch = lines[:3]
    branch = branch_of(lines[3] if len(lines) > 3 else "")
    return Commit(revision, created, epoch, branch, origin_from_trace(log.stderr), described)


class CommitReading:
    """The checkout's `git log` (and, with ``describe``, `git describe`) started now, read by
    ``commit()``: git runs while the command goes on (a build imports its logic meanwhile)."""

    def __init__(self, root: Path, *, describe: bool = False) -> None:
        self._log = start_git("log", "-1", _FORMAT, cwd=root, env=CONFIG_TRACE)
        self._describe = start_git(*_DESCRIBE, cwd=root) if describe else None

    def commit(self) -> Commit | None:
        """HEAD's commit, or None outside a git checkout (or before its first commit)."""
        described = None
        if self._describe is not None:
            answer = self._describe.finish(check=False)
            described = answer.stdout.strip() if answer.ok else ""
        return commit_of(self._log.finish(check=False), described)


def read_commit(root: Path, *, describe: bool = False) -> Commit | None:
    """HEAD's commit, or None outside a git checkout (or before its first commit); with
    ``describe``, its ``described`` version too (both git processes run at once)."""
    return CommitReading(root, describe=describe).commit()
