"""The files of an image layer, and what differs between two builds of the same layer.

A layer blob is a tar archive, uncompressed or compressed with gzip or zstd (told apart by their
magic bytes, not by media type: Docker and OCI name the same thing differently). Each entry is
reduced to what a reproducibility bug changes: kind, size, mode, mtime, owner, content hash (or
link target) and extended headers (xattrs). When no file differs, the explanation goes one level
down: entry order, then the tar headers, then only the compression.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import zstandard

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
CHUNK = 1 << 20
# Differing files printed per layer: enough to see the pattern, not a whole tree.
SHOWN_PER_LAYER = 40
# Extended headers that only repeat the fields an entry already has.
_PLAIN_PAX = frozenset(
    {"path", "linkpath", "size", "mtime", "atime", "ctime", "uid", "gid", "uname", "gname"}
)


@dataclass(frozen=True)
class FileEntry:
    """One tar entry, as far as two builds of it can differ."""

    path: str
    kind: str
    size: int
    mode: int
    mtime: float
    owner: str
    # sha256 of a regular file's bytes; the target of a link; major:minor of a device.
    content: str = ""
    extended: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        when = datetime.fromtimestamp(self.mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        words = [self.kind, f"{self.size} B", f"mode {self.mode:04o}", f"mtime {when}", f"owner {self.owner}"]
        if self.content:
            words.append(self.content)
        words.extend(f"{key}={value}" for key, value in self.extended)
        return ", ".join(words)


@dataclass(frozen=True)
class LayerFiles:
    """A layer's entries in archive order, and the sha256 of the uncompressed tar (its diffID)."""

    entries: tuple[FileEntry, ...]
    diff_id: str


@dataclass(frozen=True)
class FileDifference:
    path: str
    first: FileEntry | None
    second: FileEntry | None


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _HashingReader(io.BufferedIOBase):
    """A read-only stream that hashes what passes through it (the uncompressed tar's diffID)."""

    def __init__(self, source: Readable) -> None:
        super().__init__()
        self._source = source
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        data = self._source.read(-1 if size is None else size)
        self.digest.update(data)
        return data

    def drain(self) -> str:
        while self.read(CHUNK):
            pass
        return f"sha256:{self.digest.hexdigest()}"


@contextmanager
def uncompressed(path: Path) -> Iterator[Readable]:
    """The layer's tar stream, whatever its compression."""
    with path.open("rb") as raw:
        magic = raw.read(len(ZSTD_MAGIC))
        raw.seek(0)
        if magic.startswith(GZIP_MAGIC):
            with gzip.GzipFile(fileobj=raw) as unzipped:
                yield unzipped
        elif magic == ZSTD_MAGIC:
            with zstandard.ZstdDecompressor().stream_reader(raw) as unzstd:
                yield unzstd
        else:
            yield raw


def _kind(member: tarfile.TarInfo) -> str:
    kinds = [
        (member.isfile(), "file"),
        (member.isdir(), "directory"),
        (member.issym(), "symlink"),
        (member.islnk(), "hardlink"),
        (member.ischr(), "char device"),
        (member.isblk(), "block device"),
        (member.isfifo(), "fifo"),
    ]
    return next((name for matches, name in kinds if matches), "other")


def _content(archive: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    if member.issym():
        return f"-> {member.linkname}"
    if member.islnk():
        return f"hardlink to {_normal(member.linkname)}"
    if member.ischr() or member.isblk():
        return f"device {member.devmajor}:{member.devminor}"
    if not member.isfile():
        return ""
    stream = archive.extractfile(member)
    assert stream is not None  # a regular file always has content
    digest = hashlib.sha256()
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
    return f"sha256:{digest.hexdigest()[:16]}"


def _normal(name: str) -> str:
    """`./usr/bin/x`, `usr/bin/x/` -> `/usr/bin/x`: one spelling per path."""
    stripped = name.removeprefix("./").strip("/")
    return f"/{stripped}"


def read_layer(path: Path) -> LayerFiles:
    """Every entry of the layer blob at ``path``, in archive order."""
    entries = []
    with uncompressed(path) as stream:
        hashing = _HashingReader(stream)
        with tarfile.open(fileobj=hashing, mode="r|") as archive:
            for member in archive:
                extended = tuple(sorted((k, v) for k, v in member.pax_headers.items() if k not in _PLAIN_PAX))
                entries.append(
                    FileEntry(
                        path=_normal(member.name),
                        kind=_kind(member),
                        size=member.size,
                        mode=member.mode,
                        mtime=float(member.mtime),
                        owner=f"{member.uid}:{member.gid}",
                        content=_content(archive, member),
                        extended=extended,
                    )
                )
        diff_id = hashing.drain()
    return LayerFiles(tuple(entries), diff_id)


def diff_files(first: Sequence[FileEntry], second: Sequence[FileEntry]) -> list[FileDifference]:
    """The paths whose entries differ (or exist on one side only), sorted by path."""
    ones = {entry.path: entry for entry in first}
    twos = {entry.path: entry for entry in second}
    return [
        FileDifference(path, ones.get(path), twos.get(path))
        for path in sorted(ones.keys() | twos.keys())
        if ones.get(path) != twos.get(path)
    ]


def describe_difference(difference: FileDifference, labels: tuple[str, str]) -> list[str]:
    """A differing path and each side's entry, one line per side."""
    lines = [difference.path]
    for label, entry in zip(labels, (difference.first, difference.second), strict=True):
        lines.append(f"  {label}: {entry.describe() if entry else 'absent'}")
    return lines


def explain_layers(first: LayerFiles, second: LayerFiles, labels: tuple[str, str]) -> list[str]:
    """Why two builds of one layer differ: the files first; without any, the tar itself."""
    differences = diff_files(first.entries, second.entries)
    if differences:
        lines = [f"{len(differences)} file(s) differ:"]
        for difference in differences[:SHOWN_PER_LAYER]:
            lines.extend(describe_difference(difference, labels))
        if len(differences) > SHOWN_PER_LAYER:
            lines.append(f"... and {len(differences) - SHOWN_PER_LAYER} more")
        return lines
    order_one = [entry.path for entry in first.entries]
    order_two = [entry.path for entry in second.entries]
    if order_one != order_two:
        position = next(
            (i for i, (a, b) in enumerate(zip(order_one, order_two, strict=False)) if a != b),
            min(len(order_one), len(order_two)),
        )
        shown = [order[position] if position < len(order) else "(end)" for order in (order_one, order_two)]
        return [
            "the same files in another order: entry "
            f"{position + 1} is {shown[0]} in {labels[0]}, {shown[1]} in {labels[1]}"
        ]
    if first.diff_id != second.diff_id:
        return [
            "the same files in the same order, but the tar headers differ in a field not compared "
            f"(user/group names, padding, header format): diffIDs {first.diff_id} vs {second.diff_id}"
        ]
    return [f"the same uncompressed tar (diffID {first.diff_id}): only the compression differs"]
