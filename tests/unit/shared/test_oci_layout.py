"""Following an OCI layout's index to every blob it reaches: real layouts written in tmp."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tasks.shared.errors import BakehouseError
from tasks.shared.oci_layout import (
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    blob_path,
    listed,
    reachable_digests,
    read_blob_json,
    read_json,
    walk,
)

CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def put(layout: Path, media_type: str, content: bytes) -> dict[str, object]:
    digest = f"sha256:{hashlib.sha256(content).hexdigest()}"
    blob_path(layout, digest).parent.mkdir(parents=True, exist_ok=True)
    blob_path(layout, digest).write_bytes(content)
    return {"mediaType": media_type, "digest": digest, "size": len(content)}


def put_json(layout: Path, media_type: str, document: object) -> dict[str, object]:
    return put(layout, media_type, json.dumps(document).encode())


def image(layout: Path, media_type: str, *layers: bytes) -> dict[str, object]:
    config = put(layout, CONFIG, b"{}")
    return put_json(
        layout,
        media_type,
        {"schemaVersion": 2, "config": config, "layers": [put(layout, LAYER, data) for data in layers]},
    )


def reader(layout: Path):
    def read(descriptor: Descriptor):
        return read_blob_json(layout, descriptor) if blob_path(layout, descriptor.digest).is_file() else None

    return read


def test_blobs_live_under_their_algorithm():
    assert blob_path(Path("/l"), "sha256:abc") == Path("/l/blobs/sha256/abc")


def test_an_index_reaches_nested_indexes_manifests_configs_and_layers_in_document_order(tmp_path):
    amd64 = image(tmp_path, OCI_MANIFEST, b"base", b"app")
    arm64 = image(tmp_path, DOCKER_MANIFEST, b"base", b"arm app")
    nested = put_json(tmp_path, OCI_INDEX, {"schemaVersion": 2, "manifests": [amd64, arm64]})
    lone = image(tmp_path, OCI_MANIFEST, b"lone")
    top = listed({"manifests": [nested, lone]})
    reached = list(walk(top, reader(tmp_path)))
    order = [item.descriptor.media_type for item in reached]
    # The shared base layer and config are reached once.
    assert order[:5] == [OCI_INDEX, OCI_MANIFEST, CONFIG, LAYER, LAYER]
    assert order[5:] == [DOCKER_MANIFEST, LAYER, OCI_MANIFEST, LAYER]
    documents = [item for item in reached if item.document is not None]
    assert [item.descriptor.digest for item in documents] == [
        entry["digest"] for entry in (nested, amd64, arm64, lone)
    ]
    on_disk = {f"sha256:{path.name}" for path in (tmp_path / "blobs" / "sha256").iterdir()}
    assert reachable_digests(top, reader(tmp_path)) == on_disk


def test_what_no_index_reaches_any_more_is_left_out(tmp_path):
    kept = image(tmp_path, OCI_MANIFEST, b"shared", b"kept")
    dropped = image(tmp_path, OCI_MANIFEST, b"shared", b"dropped only")
    reachable = reachable_digests(listed({"manifests": [kept]}), reader(tmp_path))
    on_disk = {f"sha256:{path.name}" for path in (tmp_path / "blobs" / "sha256").iterdir()}
    dropped_layer = json.loads(blob_path(tmp_path, str(dropped["digest"])).read_bytes())["layers"][1]
    assert on_disk - reachable == {dropped["digest"], dropped_layer["digest"]}


def test_an_absent_manifest_is_reached_but_not_followed_and_other_types_are_never_read(tmp_path):
    absent = {"mediaType": OCI_MANIFEST, "digest": "sha256:" + "0" * 64, "size": 2}
    # A cache config blob isn't a manifest: reading it would fail the test.
    config = {"mediaType": "application/vnd.buildkit.cacheconfig.v0", "digest": "sha256:" + "1" * 64}
    read: list[str] = []

    def read_document(descriptor: Descriptor):
        read.append(descriptor.digest)
        return None

    top = listed({"manifests": [absent, config]})
    assert reachable_digests(top, read_document) == {absent["digest"], config["digest"]}
    assert read == [absent["digest"]]


def test_an_unreadable_document_is_an_error_naming_the_file(tmp_path):
    (tmp_path / "index.json").write_text("[]")
    with pytest.raises(BakehouseError, match=r"index\.json: expected a JSON object"):
        read_json(tmp_path / "index.json")
    broken = put(tmp_path, OCI_MANIFEST, b"{not json")
    with pytest.raises(BakehouseError, match="not a readable JSON document"):
        list(walk(listed({"manifests": [broken]}), reader(tmp_path)))
