"""Content tags: one tag per concrete bake target, computed from what its image is built from.

A target's digest is a sha256 over (as canonical JSON):
- its definition from `bake --print`, without what doesn't change the image: tags, outputs, cache
  import/export, the description, the labels listed in ``publish.ignore_labels`` (those filled from
  git per commit), the build args listed in ``publish.ignore_args`` (machine-dependent, like
  ``nprocs``) and ``SOURCE_DATE_EPOCH``;
- every file of its build context its Dockerfile reads (COPY/ADD sources without --from, RUN bind
  mounts without from=; the whole context when a source is the root or can't be resolved), the
  Dockerfile itself and the .dockerignore in use, each as (path in the context, git mode, git blob id);
- each named context: a `target:` parent by the parent's digest (so the tags form a Merkle tree: an
  edit changes the tags of the targets under it and no others), a local directory by its files,
  anything else (an image reference, a URL) by its value.

The tag is ``c-<first 16 hex of the digest>``, plus ``-wip`` when a file the target or any of its
parents reads differs from HEAD (modified, untracked, ignored, or no git at all). Paths are relative
to the context and the core count never enters, so another clone at another path, on another machine,
gets the same tags. Bake files are seen through the definitions they resolve to: an edit there
changes the tags it changes, without a -wip.

What a tag can't see: the content behind an image reference or URL (a moving `debian:trixie-slim`);
pin those by digest where that matters (`inv lint` checks pinning).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..shared.errors import BakehouseError
from ..shared.process import git
from .context_files import (
    DockerIgnore,
    FileHash,
    blob_id,
    dockerignore_file,
    hash_files,
    list_files,
    select_read,
)
from .dockerfile_reads import ContextReads, context_reads

TAG_PREFIX = "c-"
TAG_DIGEST_CHARS = 16
WIP_SUFFIX = "-wip"
# Bumped whenever what goes into the digest changes, so old and new tags never mean different things.
FORMAT = 1

# Definition keys that say where the image goes or how it is described, not what it holds.
UNHASHED_KEYS = ("tags", "output", "cache-from", "cache-to", "description")
# Set from the commit time by the build: a commit's time is not content.
ALWAYS_IGNORED_ARGS = ("SOURCE_DATE_EPOCH",)
TARGET_CONTEXT = "target:"
CWD_PREFIX = "cwd://"
OCI_LAYOUT = "oci-layout://"


@dataclass(frozen=True)
class ContentTag:
    """A target's digest, whether its chain reads uncommitted files, and what it read itself."""

    target: str
    digest: str
    wip: bool
    # Paths (relative to the bake directory) of the files this target reads itself, parents' not included.
    files: tuple[str, ...]

    @property
    def tag(self) -> str:
        return f"{TAG_PREFIX}{self.digest[:TAG_DIGEST_CHARS]}{WIP_SUFFIX if self.wip else ''}"


@dataclass(frozen=True)
class GitTree:
    """HEAD's files (path relative to the top level -> (mode, blob id)) and where the work tree is."""

    toplevel: Path
    entries: Mapping[str, tuple[str, str]]

    @property
    def algorithm(self) -> str:
        """The repository's object format, told by the length of its ids."""
        some = next(iter(self.entries.values()), ("", "0" * 40))[1]
        return "sha256" if len(some) == 64 else "sha1"

    def is_committed(self, path: Path, sha1_entry: tuple[str, str]) -> bool:
        """Whether the file at ``path`` (absolute) is in HEAD as it is now; ``sha1_entry`` is its git
        mode and sha1 blob id."""
        try:
            relative = path.relative_to(self.toplevel).as_posix()
        except ValueError:
            return False  # outside the repository
        recorded = self.entries.get(relative)
        if recorded is None:
            return False
        current = sha1_entry if self.algorithm == "sha1" else blob_id(path, self.algorithm)
        return recorded == current


def read_git_tree(directory: Path) -> GitTree | None:
    """HEAD of the repository holding ``directory``; None outside git or before the first commit."""
    top = git("rev-parse", "--show-toplevel", cwd=directory)
    if not top.ok:
        return None
    listing = git("ls-tree", "-r", "-z", "--full-tree", "HEAD", cwd=directory)
    if not listing.ok:
        return None
    entries: dict[str, tuple[str, str]] = {}
    for record in listing.stdout.split("\0"):
        meta, tab, path = record.partition("\t")
        fields = meta.split()
        if tab and len(fields) == 3 and fields[1] == "blob":
            entries[path] = (fields[0], fields[2])
    return GitTree(Path(top.stdout.strip()).resolve(), entries)


def normalized_definition(
    definition: Mapping[str, Any], ignore_args: Collection[str], ignore_labels: Collection[str] = ()
) -> dict[str, Any]:
    """The parts of a target's resolved definition that decide what its image holds."""
    kept = {key: value for key, value in definition.items() if key not in UNHASHED_KEYS}
    ignored = {*ignore_args, *ALWAYS_IGNORED_ARGS}
    args = {key: value for key, value in (kept.pop("args", None) or {}).items() if key not in ignored}
    if args:
        kept["args"] = args
    labels = {
        key: value for key, value in (kept.pop("labels", None) or {}).items() if key not in ignore_labels
    }
    if labels:
        kept["labels"] = labels
    return kept


# A file read, as an absolute path and its hash (sha1 blob id).
_Read = tuple[Path, FileHash]


def _layout_path(value: str) -> str:
    """The directory of a local named context: a plain path, or an OCI layout's (without :tag/@digest)."""
    if not value.startswith(OCI_LAYOUT):
        return value
    return value.removeprefix(OCI_LAYOUT).split("@", 1)[0].split(":", 1)[0]


def _is_remote(location: str) -> bool:
    return "://" in location or location.startswith("git@")


def _local_path(base: Path, location: str) -> Path:
    path = Path(location.removeprefix(CWD_PREFIX))
    return path if path.is_absolute() else base / path


def _digest(document: Any) -> str:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class _Hasher:
    """Digests of the targets of one plan, each computed once (parents before children)."""

    def __init__(
        self,
        plan: Mapping[str, Any],
        base: Path,
        ignore_args: Collection[str],
        ignore_labels: Collection[str],
        git: GitTree | None,
    ) -> None:
        self.targets: Mapping[str, Any] = plan.get("target", {})
        self.base = base
        self.ignore_args = ignore_args
        self.ignore_labels = ignore_labels
        self.git = git
        self.done: dict[str, ContentTag] = {}

    def tag(self, name: str, chain: tuple[str, ...] = ()) -> ContentTag:
        if name in self.done:
            return self.done[name]
        if name in chain:
            raise BakehouseError(f"bake targets form a cycle: {' -> '.join((*chain, name))}")
        definition = self.targets.get(name)
        if definition is None:
            parent_of = chain[-1] if chain else "the request"
            raise BakehouseError(f"bake --print did not describe target {name!r} (a parent of {parent_of})")
        read: list[_Read] = []
        document: dict[str, Any] = {
            "format": FORMAT,
            "definition": normalized_definition(definition, self.ignore_args, self.ignore_labels),
            "context": self._main_context(definition, read),
        }
        named: dict[str, Any] = {}
        wip = False
        for context_name, value in sorted((definition.get("contexts") or {}).items()):
            value = str(value)
            if value.startswith(TARGET_CONTEXT):
                parent = self.tag(value.removeprefix(TARGET_CONTEXT), (*chain, name))
                named[context_name] = {"target": parent.digest}
                wip = wip or parent.wip
            elif _is_remote(value.removeprefix(OCI_LAYOUT)) or value.startswith("docker-image://"):
                named[context_name] = {"value": value}
            else:
                directory = _local_path(self.base, _layout_path(value))
                hashes = hash_files(directory, list_files(directory) if directory.is_dir() else [])
                read.extend((directory / f.path, f) for f in hashes)
                named[context_name] = {"value": value, "files": [f.as_list() for f in hashes]}
        document["contexts"] = named
        wip = wip or not self._all_committed(read)
        result = ContentTag(
            name, _digest(document), wip, tuple(sorted(self._shown(path) for path, _ in read))
        )
        self.done[name] = result
        return result

    def _main_context(self, definition: Mapping[str, Any], read: list[_Read]) -> dict[str, Any]:
        """The build context's part of the digest: the Dockerfile, the ignore file and what is read."""
        location = str(definition.get("context") or ".")
        if _is_remote(location.removeprefix(CWD_PREFIX)):
            return {"remote": location}  # fetched by BuildKit; the definition holds the address
        context_dir = _local_path(self.base, location)
        inline = definition.get("dockerfile-inline")
        dockerfile: Path | None = None
        if inline is None:
            dockerfile = _local_path(context_dir, str(definition.get("dockerfile") or "Dockerfile"))
            if not dockerfile.is_file():
                raise BakehouseError(f"Dockerfile {dockerfile} not found (context {location!r})")
            text = dockerfile.read_text(errors="replace")
        else:
            text = str(inline)
        ignore_path = dockerignore_file(context_dir, dockerfile)
        ignore = DockerIgnore(ignore_path.read_text(errors="replace").splitlines()) if ignore_path else None
        reads: ContextReads = context_reads(text)
        files, unmatched = select_read(context_dir, list_files(context_dir, ignore), reads)
        hashes = hash_files(context_dir, files)
        part: dict[str, Any] = {"files": [f.as_list() for f in hashes], "unmatched": unmatched}
        read.extend((context_dir / f.path, f) for f in hashes)
        for role, path in (("dockerfile", dockerfile), ("dockerignore", ignore_path)):
            if path is not None:
                entry = FileHash(os.path.relpath(path, context_dir), *blob_id(path))
                part[role] = entry.as_list()
                read.append((path, entry))
        return part

    def _all_committed(self, read: list[_Read]) -> bool:
        git = self.git
        if git is None:
            return False
        # The link itself, not what it points to, is what git records for a symlink.
        return all(git.is_committed(path.parent.resolve() / path.name, (f.mode, f.oid)) for path, f in read)

    def _shown(self, path: Path) -> str:
        try:
            return path.relative_to(self.base).as_posix()
        except ValueError:
            return str(path)


def content_tags(
    plan: Mapping[str, Any],
    names: Collection[str],
    base: Path,
    ignore_args: Collection[str] = (),
    git: GitTree | None = None,
    *,
    ignore_labels: Collection[str] = (),
) -> dict[str, ContentTag]:
    """Content tags of the named targets of a `bake --print` plan (whose contexts are relative to
    ``base``, the directory bake ran in), computed over the plan's targets they build on."""
    hasher = _Hasher(plan, base, ignore_args, ignore_labels, git)
    return {name: hasher.tag(name) for name in names}
