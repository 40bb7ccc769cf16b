"""Comparing two OCI layouts, and checking one: real layouts written in tmp."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from tasks.release.compare import compare_layouts, json_differences
from tasks.release.layout_check import images, layout_problems

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"


def layer(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(content), 1_700_000_000, 0o644
            archive.addfile(info, io.BytesIO(content))
    return gzip.compress(buffer.getvalue(), mtime=0)


def put_blob(root: Path, data: bytes, media_type: str) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (root / "blobs" / "sha256" / digest).write_bytes(data)
    return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}


def make_layout(root: Path, layers: list[bytes], created: str = "2026-11-28T10:13:30Z", nested=False) -> Path:
    """A one-image OCI layout: layers (gzip tars), a config naming their diffIDs, a manifest."""
    diff_ids = [f"sha256:{hashlib.sha256(gzip.decompress(data)).hexdigest()}" for data in layers]
    config = {"created": created, "rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": []}
    config_descriptor = put_blob(
        root, json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json"
    )
    layer_descriptors = [
        put_blob(root, data, "application/vnd.oci.image.layer.v1.tar+gzip") for data in layers
    ]
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": config_descriptor,
        "layers": layer_descriptors,
    }
    top = put_blob(root, json.dumps(manifest).encode(), MANIFEST)
    if nested:
        top = put_blob(root, json.dumps({"schemaVersion": 2, "manifests": [top]}).encode(), INDEX)
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "mediaType": INDEX, "manifests": [top]}))
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    return root


BASE = layer({"etc/os-release": b"debian\n"})
VENV = layer({"opt/venv/x.pyc": b"\x00one"})


def test_identical_builds_are_reported_with_their_digests(tmp_path):
    one = make_layout(tmp_path / "1", [BASE, VENV])
    two = make_layout(tmp_path / "2", [BASE, VENV])
    comparison = compare_layouts("install--x", one, two)
    assert comparison.identical
    [image] = images(one)
    assert comparison.lines == [
        f"manifest {image.manifest.digest}",
        f"config   {image.config.digest}",
        f"layer 1  {image.layers[0].digest}",
        f"layer 2  {image.layers[1].digest}",
    ]


def test_a_differing_layer_names_its_files_and_the_config_names_the_diff_id(tmp_path):
    one = make_layout(tmp_path / "1", [BASE, VENV])
    two = make_layout(tmp_path / "2", [BASE, layer({"opt/venv/x.pyc": b"\x00two"})])
    comparison = compare_layouts("install--x", one, two)
    assert not comparison.identical
    text = "\n".join(comparison.lines)
    assert "config differs:" in text
    assert "rootfs.diff_ids[1]:" in text
    assert "rootfs.diff_ids[0]" not in text
    assert "layer 1 differs" not in text
    assert "layer 2 differs" in text
    assert "  /opt/venv/x.pyc" in comparison.lines


def test_a_config_only_difference_names_the_key(tmp_path):
    one = make_layout(tmp_path / "1", [BASE])
    two = make_layout(tmp_path / "2", [BASE], created="2026-11-29T00:00:00Z")
    comparison = compare_layouts("install--x", one, two)
    assert not comparison.identical
    assert (
        '  created: "2026-11-28T10:13:30Z" in build 1, "2026-11-29T00:00:00Z" in build 2' in comparison.lines
    )
    assert not any("layer" in line and "differs" in line for line in comparison.lines)


def test_json_differences_cover_nested_keys_and_absent_ones():
    first = {"config": {"Labels": {"a": "1"}}, "history": [{"created": "x"}]}
    second = {"config": {"Labels": {"a": "2", "b": "3"}}, "history": [{"created": "x"}]}
    assert json_differences(first, second) == [
        'config.Labels.a: "1" in build 1, "2" in build 2',
        'config.Labels.b: absent in build 1, "3" in build 2',
    ]


def test_a_nested_index_is_followed(tmp_path):
    layout = make_layout(tmp_path / "1", [BASE], nested=True)
    [image] = images(layout)
    assert len(image.layers) == 1
    assert layout_problems(layout) == []


def test_a_valid_layout_has_no_problem(tmp_path):
    assert layout_problems(make_layout(tmp_path / "1", [BASE, VENV])) == []


@pytest.mark.parametrize("damage", ["corrupt", "missing", "marker"])
def test_a_damaged_layout_is_named(tmp_path, damage):
    layout = make_layout(tmp_path / "1", [BASE, VENV])
    [image] = images(layout)
    blob = layout / "blobs" / "sha256" / image.layers[1].digest.removeprefix("sha256:")
    if damage == "corrupt":
        data = bytearray(blob.read_bytes())
        data[len(data) // 2] ^= 0xFF
        blob.write_bytes(bytes(data))
        assert layout_problems(layout) == [f"blob {image.layers[1].digest}: its content has another digest"]
    elif damage == "missing":
        blob.unlink()
        assert layout_problems(layout) == [f"blob {image.layers[1].digest} is missing"]
    else:
        (layout / "oci-layout").unlink()
        assert layout_problems(layout) == ["oci-layout is missing"]
