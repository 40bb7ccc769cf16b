"""The manifest list that gives a base image one name for several architectures."""

from __future__ import annotations

import json

import pytest

from tasks.engine.base_index import DOCKER_LIST, DOCKER_MANIFEST, Manifest, Member, list_document
from tasks.shared.errors import BakehouseError

AMD64 = Member("sha256:" + "a" * 64, 529, DOCKER_MANIFEST, "amd64")
ARM64 = Member("sha256:" + "b" * 64, 530, DOCKER_MANIFEST, "arm64", variant="v8")


def test_the_list_points_at_each_manifest_as_pushed_with_its_platform():
    document = json.loads(list_document([AMD64, ARM64]))
    assert document == {
        "schemaVersion": 2,
        "mediaType": DOCKER_LIST,
        "manifests": [
            {"mediaType": DOCKER_MANIFEST, "size": 529, "digest": AMD64.digest,
             "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": DOCKER_MANIFEST, "size": 530, "digest": ARM64.digest,
             "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
        ],
    }  # fmt: skip


def test_a_stored_list_reads_back_as_the_same_members():
    stored = Manifest("sha256:" + "c" * 64, DOCKER_LIST, list_document([AMD64, ARM64]))
    assert stored.is_list
    assert stored.members() == [AMD64, ARM64]
    assert Manifest(AMD64.digest, DOCKER_MANIFEST, b"{}").members() == []


def test_an_empty_list_is_refused():
    with pytest.raises(BakehouseError, match="at least one member"):
        list_document([])
