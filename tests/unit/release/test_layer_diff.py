"""What differs between two builds of a layer: real tar files built in tmp, in every compression."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

import pytest
import zstandard

from tasks.release.layer_diff import diff_files, explain_layers, read_layer

LABELS = ("build 1", "build 2")
EPOCH = 1_700_000_000


def tar_bytes(entries, *, pax=None) -> bytes:
    """An uncompressed tar: entries are (name, content or None for a directory or a "->target" str
    for a symlink, mode, mtime)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, content, mode, mtime in entries:
            info = tarfile.TarInfo(name)
            info.mode, info.mtime = mode, mtime
            if pax and name in pax:
                info.pax_headers = pax[name]
            if content is None:
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            elif isinstance(content, str):
                info.type, info.linkname = tarfile.SYMTYPE, content.removeprefix("->")
                archive.addfile(info)
            else:
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def write_layer(path: Path, data: bytes, compression: str) -> Path:
    if compression == "gzip":
        data = gzip.compress(data, mtime=0)
    elif compression == "zstd":
        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)
    return path


BASE = [
    ("usr", None, 0o755, EPOCH),
    ("usr/bin", None, 0o755, EPOCH),
    ("usr/bin/tool", b"#!/bin/sh\necho tool\n", 0o755, EPOCH),
    ("usr/bin/alias", "->tool", 0o777, EPOCH),
    ("var/log/dpkg.log", b"2026-11-28 10:13:30 install\n", 0o644, EPOCH),
]


@pytest.mark.parametrize("compression", ["none", "gzip", "zstd"])
def test_entries_are_read_in_order_whatever_the_compression(tmp_path, compression):
    data = tar_bytes(BASE)
    layer = read_layer(write_layer(tmp_path / "layer", data, compression))
    assert [entry.path for entry in layer.entries] == [
        "/usr", "/usr/bin", "/usr/bin/tool", "/usr/bin/alias", "/var/log/dpkg.log",
    ]  # fmt: skip
    tool = layer.entries[2]
    assert (tool.kind, tool.size, tool.mode, tool.mtime) == ("file", 20, 0o755, EPOCH)
    assert tool.content == "sha256:" + hashlib.sha256(b"#!/bin/sh\necho tool\n").hexdigest()[:16]
    assert layer.entries[3].content == "-> tool"
    assert layer.entries[0].kind == "directory"
    # The diffID is the digest of the uncompressed tar, end padding included.
    assert layer.diff_id == "sha256:" + hashlib.sha256(data).hexdigest()


def test_identical_layers_have_no_differing_file(tmp_path):
    one = read_layer(write_layer(tmp_path / "1", tar_bytes(BASE), "gzip"))
    two = read_layer(write_layer(tmp_path / "2", tar_bytes(BASE), "zstd"))
    assert diff_files(one.entries, two.entries) == []
    assert one.diff_id == two.diff_id
    # Only the compression differs: the explanation says so instead of naming files.
    assert explain_layers(one, two, LABELS) == [
        f"the same uncompressed tar (diffID {one.diff_id}): only the compression differs"
    ]


def test_a_file_whose_content_differs_is_named_with_both_sides(tmp_path):
    changed = [*BASE[:4], ("var/log/dpkg.log", b"2026-11-29 08:00:00 install\n", 0o644, EPOCH)]
    one = read_layer(write_layer(tmp_path / "1", tar_bytes(BASE), "zstd"))
    two = read_layer(write_layer(tmp_path / "2", tar_bytes(changed), "zstd"))
    lines = explain_layers(one, two, LABELS)
    assert lines[0] == "1 file(s) differ:"
    assert lines[1] == "/var/log/dpkg.log"
    first, second = lines[2], lines[3]
    assert first.startswith(
        "  build 1: file, 28 B, mode 0644, mtime 2023-11-14T22:13:20Z, owner 0:0, sha256:"
    )
    assert second.startswith(
        "  build 2: file, 28 B, mode 0644, mtime 2023-11-14T22:13:20Z, owner 0:0, sha256:"
    )
    assert first.split("sha256:")[1] != second.split("sha256:")[1]


def test_mode_mtime_and_presence_differences_are_named(tmp_path):
    other = [
        ("usr", None, 0o755, EPOCH),
        ("usr/bin", None, 0o755, EPOCH + 60),  # mtime
        ("usr/bin/tool", b"#!/bin/sh\necho tool\n", 0o700, EPOCH),  # mode
        ("usr/bin/alias", "->tool", 0o777, EPOCH),
        ("var/log/dpkg.log", b"2026-11-28 10:13:30 install\n", 0o644, EPOCH),
        ("var/cache/ldconfig/aux-cache", b"\x01\x02", 0o600, EPOCH),  # only in build 2
    ]
    one = read_layer(write_layer(tmp_path / "1", tar_bytes(BASE), "none"))
    two = read_layer(write_layer(tmp_path / "2", tar_bytes(other), "none"))
    differences = {d.path: d for d in diff_files(one.entries, two.entries)}
    assert sorted(differences) == ["/usr/bin", "/usr/bin/tool", "/var/cache/ldconfig/aux-cache"]
    directory, tool = differences["/usr/bin"], differences["/usr/bin/tool"]
    assert directory.first and directory.second and tool.first and tool.second
    assert (directory.first.mtime, directory.second.mtime) == (EPOCH, EPOCH + 60)
    assert (tool.first.mode, tool.second.mode) == (0o755, 0o700)
    assert differences["/var/cache/ldconfig/aux-cache"].first is None
    lines = explain_layers(one, two, LABELS)
    assert "/var/cache/ldconfig/aux-cache" in lines
    assert lines[lines.index("/var/cache/ldconfig/aux-cache") + 1] == "  build 1: absent"


def test_extended_headers_count(tmp_path):
    capability = {"usr/bin/tool": {"SCHILY.xattr.security.capability": "x"}}
    one = read_layer(write_layer(tmp_path / "1", tar_bytes(BASE), "none"))
    two = read_layer(write_layer(tmp_path / "2", tar_bytes(BASE, pax=capability), "none"))
    [difference] = diff_files(one.entries, two.entries)
    assert difference.path == "/usr/bin/tool"
    assert difference.second is not None
    assert difference.second.extended == (("SCHILY.xattr.security.capability", "x"),)
    assert "SCHILY.xattr.security.capability=x" in difference.second.describe()


def test_the_same_files_in_another_order_are_explained_as_such(tmp_path):
    reordered = [BASE[0], BASE[1], BASE[3], BASE[2], BASE[4]]
    one = read_layer(write_layer(tmp_path / "1", tar_bytes(BASE), "gzip"))
    two = read_layer(write_layer(tmp_path / "2", tar_bytes(reordered), "gzip"))
    assert explain_layers(one, two, LABELS) == [
        "the same files in another order: entry 3 is /usr/bin/tool in build 1, /usr/bin/alias in build 2"
    ]


def test_headers_that_differ_outside_the_compared_fields_are_explained(tmp_path):
    one = read_layer(write_layer(tmp_path / "1", tar_bytes(BASE), "none"))
    named = tar_bytes(BASE, pax={"usr": {"uname": "root"}})
    two = read_layer(write_layer(tmp_path / "2", named, "none"))
    [line] = explain_layers(one, two, LABELS)
    assert line.startswith("the same files in the same order, but the tar headers differ")


def test_many_differences_are_capped_with_a_count(tmp_path):
    files = [(f"f{n:03}.pyc", b"a", 0o644, EPOCH) for n in range(50)]
    changed = [(name, b"b", mode, mtime) for name, _, mode, mtime in files]
    one = read_layer(write_layer(tmp_path / "1", tar_bytes(files), "none"))
    two = read_layer(write_layer(tmp_path / "2", tar_bytes(changed), "none"))
    lines = explain_layers(one, two, LABELS)
    assert lines[0] == "50 file(s) differ:"
    assert lines[-1] == "... and 10 more"
    assert sum(1 for line in lines if line.startswith("/f")) == 40
