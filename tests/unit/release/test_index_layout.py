"""A multi-platform image's layout, assembled from per-platform layouts written in tmp the way
BuildKit writes them; layout_check on good and broken index layouts; comparing two builds' indexes."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from tasks.bake.platforms import MultiPlatformImage, Platform
from tasks.release.compare import Comparison, compare_index_layouts
from tasks.release.index_layout import (
    Member,
    common_annotations,
    index_document,
    index_of,
    read_member,
    write_index_layout,
)
from tasks.release.layout_check import images, layout_problems
from tasks.release.oci_build import multi_platform_layouts, write_index_layouts
from tasks.release.verify import report
from tasks.shared.errors import BAD_INPUT, BakehouseError

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
CREATED = "2026-12-05T07:26:02Z"
AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64")


def sha256(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def put_blob(root: Path, data: bytes, media_type: str) -> dict[str, Any]:
    path = root / "blobs" / "sha256" / sha256(data).removeprefix("sha256:")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"mediaType": media_type, "digest": sha256(data), "size": len(data)}


def platform_layout(
    root: Path,
    architecture: str,
    *,
    variant: str = "",
    said: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> Path:
    """A one-image layout as BuildKit writes it for one platform: a layer, a config naming the
    platform, a manifest, and an index.json entry with annotations and the platform (``said``, when
    it should say another one than the config)."""
    layer = put_blob(root, f"files of {architecture}{variant}".encode(), LAYER)
    config: dict[str, Any] = {"architecture": architecture, "os": "linux", "rootfs": {"type": "layers"}}
    if variant:
        config["variant"] = variant
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": put_blob(root, json.dumps(config).encode(), CONFIG),
        "layers": [layer],
    }
    entry = put_blob(root, json.dumps(manifest, indent=2).encode(), MANIFEST)
    entry["annotations"] = (
        annotations
        if annotations is not None
        else {"org.opencontainers.image.created": CREATED, "org.opencontainers.image.ref.name": "latest"}
    )
    entry["platform"] = said or {
        "architecture": architecture,
        "os": "linux",
        **({"variant": variant} if variant else {}),
    }
    (root / "index.json").write_text(
        json.dumps({"schemaVersion": 2, "mediaType": INDEX, "manifests": [entry]})
    )
    (root / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    return root


def blobs(layout: Path) -> set[str]:
    return {f"sha256:{path.name}" for path in (layout / "blobs" / "sha256").iterdir()}


@pytest.fixture
def members(tmp_path: Path) -> list[Member]:
    amd64 = platform_layout(tmp_path / "image--amd64", "amd64")
    arm64 = platform_layout(tmp_path / "image--arm64", "arm64")
    return [read_member(amd64, AMD64, "image--amd64"), read_member(arm64, ARM64, "image--arm64")]


def test_the_index_layout_lists_each_platforms_manifest_and_holds_every_blob(tmp_path, members):
    descriptor = write_index_layout(tmp_path / "image", members)
    layout = tmp_path / "image"
    amd64, arm64 = members
    expected_index = {
        "schemaVersion": 2,
        "mediaType": INDEX,
        "manifests": [
            {"mediaType": MANIFEST, "digest": amd64.manifest.digest, "size": amd64.manifest.size,
             "platform": {"architecture": "amd64", "os": "linux"}},
            {"mediaType": MANIFEST, "digest": arm64.manifest.digest, "size": arm64.manifest.size,
             "platform": {"architecture": "arm64", "os": "linux"}},
        ],
    }  # fmt: skip
    data = json.dumps(expected_index, indent=2).encode()
    assert (descriptor.media_type, descriptor.digest, descriptor.size) == (INDEX, sha256(data), len(data))
    index_blob = layout / "blobs" / "sha256" / sha256(data).removeprefix("sha256:")
    assert index_blob.read_bytes() == data
    assert (layout / "index.json").read_text() == json.dumps(
        {"schemaVersion": 2, "mediaType": INDEX, "manifests": [{
            "mediaType": INDEX, "digest": sha256(data), "size": len(data),
            "annotations": {
                "org.opencontainers.image.created": CREATED, "org.opencontainers.image.ref.name": "latest"
            },
        }]},
        separators=(",", ":"),
    )  # fmt: skip
    assert (layout / "oci-layout").read_text() == '{"imageLayoutVersion":"1.0.0"}'
    assert blobs(layout) == blobs(amd64.layout) | blobs(arm64.layout) | {sha256(data)}
    assert [image.manifest.digest for image in images(layout)] == [
        amd64.manifest.digest,
        arm64.manifest.digest,
    ]
    assert index_of(layout) == descriptor
    assert index_of(amd64.layout) is None
    assert layout_problems(layout) == []


def test_the_same_members_give_the_same_index_whatever_their_order(tmp_path, members):
    first = write_index_layout(tmp_path / "one", members)
    second = write_index_layout(tmp_path / "two", list(reversed(members)))
    assert first == second
    assert (tmp_path / "one" / "index.json").read_bytes() == (tmp_path / "two" / "index.json").read_bytes()


def test_blobs_a_member_does_not_reach_are_left_out(tmp_path, members):
    stray = put_blob(members[0].layout, b"an earlier export's blob", LAYER)["digest"]
    write_index_layout(tmp_path / "image", members)
    assert stray not in blobs(tmp_path / "image")


def test_the_platform_comes_from_the_config_with_its_variant(tmp_path):
    v3 = platform_layout(tmp_path / "v3", "amd64", variant="v3")
    arm = platform_layout(tmp_path / "arm", "arm64", said={"architecture": "arm64", "os": "linux"})
    members = [
        read_member(v3, Platform("linux", "amd64", "v3"), "image--v3"),
        # The tree may write arm64's only variant: the config without one is the same platform.
        read_member(arm, Platform("linux", "arm64", "v8"), "image--arm64"),
    ]
    assert [entry["platform"] for entry in index_document(members)["manifests"]] == [
        {"architecture": "amd64", "os": "linux", "variant": "v3"},
        {"architecture": "arm64", "os": "linux"},
    ]


def test_a_member_whose_config_names_another_platform_is_refused(tmp_path):
    # What buildx did with a child target that didn't set platforms: built for the builder's own.
    layout = platform_layout(tmp_path / "image--arm64", "amd64")
    with pytest.raises(BakehouseError) as refused:
        read_member(layout, ARM64, "image--arm64")
    assert str(refused.value) == "image--arm64: built for linux/arm64, but its image config says linux/amd64"


def test_a_layout_that_is_not_one_image_is_no_member(tmp_path, members):
    write_index_layout(tmp_path / "image", members)
    with pytest.raises(BakehouseError) as refused:
        read_member(tmp_path / "image", AMD64, "image")
    assert str(refused.value) == "image: its layout holds 1 entries, not one image manifest"


def test_one_platform_twice_is_no_index(tmp_path):
    one = platform_layout(tmp_path / "one", "arm64")
    two = platform_layout(tmp_path / "two", "arm64", variant="v8")
    with pytest.raises(BakehouseError, match="can't list one platform twice: linux/arm64, linux/arm64"):
        index_document([read_member(one, ARM64, "one"), read_member(two, ARM64, "two")])


def test_only_the_annotations_every_member_shares_are_kept(tmp_path):
    common = {"org.opencontainers.image.ref.name": "latest"}
    one = platform_layout(tmp_path / "one", "amd64", annotations={**common, "created": "a"})
    two = platform_layout(tmp_path / "two", "arm64", annotations={**common, "created": "b"})
    members = [read_member(one, AMD64, "one"), read_member(two, ARM64, "two")]
    assert common_annotations(members) == common


def test_a_platform_the_index_names_wrongly_is_a_problem(tmp_path, members):
    layout = tmp_path / "image"
    write_index_layout(layout, members)
    index = index_of(layout)
    assert index is not None
    # Rewrite the index so that its amd64 entry says arm64 (a new blob, index.json pointing to it).
    document = json.loads((layout / "blobs" / "sha256" / index.digest.removeprefix("sha256:")).read_bytes())
    document["manifests"][0]["platform"] = {"architecture": "arm64", "os": "linux"}
    wrong = put_blob(layout, json.dumps(document).encode(), INDEX)
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [wrong]}))
    index_name = f"index {wrong['digest']}"
    assert layout_problems(layout) == [
        f"manifest {members[0].manifest.digest}: {index_name} says linux/arm64, its config linux/amd64",
        f"{index_name} lists platform linux/arm64 twice",
    ]


def test_a_per_platform_layout_whose_entry_says_another_platform_is_a_problem(tmp_path):
    layout = platform_layout(tmp_path / "image", "amd64", said={"architecture": "arm64", "os": "linux"})
    [entry] = json.loads((layout / "index.json").read_text())["manifests"]
    assert layout_problems(layout) == [
        f"manifest {entry['digest']}: index.json says linux/arm64, its config linux/amd64"
    ]


def test_a_member_blob_missing_from_the_index_layout_is_a_problem(tmp_path, members):
    layout = tmp_path / "image"
    write_index_layout(layout, members)
    layer = images(layout)[1].layers[0]
    os.unlink(layout / "blobs" / "sha256" / layer.digest.removeprefix("sha256:"))
    assert layout_problems(layout) == [f"blob {layer.digest} is missing"]


def test_two_builds_of_one_index_compare_identical_or_name_the_platform_that_differs(tmp_path, members):
    write_index_layout(tmp_path / "1", members)
    write_index_layout(tmp_path / "2", members)
    index = index_of(tmp_path / "1")
    assert index is not None
    same = compare_index_layouts("image", tmp_path / "1", tmp_path / "2")
    assert same == Comparison("image", True, [
        f"index    {index.digest}",
        f"linux/amd64  {members[0].manifest.digest}",
        f"linux/arm64  {members[1].manifest.digest}",
    ], "multi-platform")  # fmt: skip
    other_arm64 = read_member(
        platform_layout(tmp_path / "other", "arm64", variant="v8"), ARM64, "image--arm64"
    )
    write_index_layout(tmp_path / "3", [members[0], other_arm64])
    other = index_of(tmp_path / "3")
    assert other is not None
    differs = compare_index_layouts("image", tmp_path / "1", tmp_path / "3")
    assert differs == Comparison("image", False, [
        f"index {index.digest} in build 1, {other.digest} in build 2",
        f"linux/arm64: manifest {members[1].manifest.digest} in build 1, absent in build 2",
        f"linux/arm64/v8: absent in build 1, manifest {other_arm64.manifest.digest} in build 2",
    ], "multi-platform")  # fmt: skip


PLAN = {
    "target": {
        "install--trixie--amd64": {"platforms": ["linux/amd64"]},
        "install--trixie--arm64": {"platforms": ["linux/arm64"]},
        "install--trixie": {"platforms": ["linux/amd64"]},
    }
}


def test_a_multi_platform_image_named_like_a_selected_target_is_refused():
    assert [
        image.name
        for image in multi_platform_layouts(PLAN, ["install--trixie--amd64", "install--trixie--arm64"])
    ] == ["install--trixie"]
    with pytest.raises(BakehouseError) as refused:
        multi_platform_layouts(PLAN, list(PLAN["target"]))
    assert refused.value.code == BAD_INPUT
    assert str(refused.value).startswith("install--trixie: the name of a multi-platform image")


def test_each_multi_platform_image_gets_its_layout_beside_its_members(tmp_path):
    platform_layout(tmp_path / "install--trixie--arm64", "arm64")
    platform_layout(tmp_path / "install--trixie--amd64", "amd64")
    members = (("install--trixie--arm64", "linux/arm64"), ("install--trixie--amd64", "linux/amd64"))
    write_index_layouts(tmp_path, [MultiPlatformImage("install--trixie", members)])
    layout = tmp_path / "install--trixie"
    index = index_of(layout)
    assert index is not None
    listed = json.loads((layout / "blobs" / "sha256" / index.digest.removeprefix("sha256:")).read_text())
    assert [entry["platform"]["architecture"] for entry in listed["manifests"]] == ["amd64", "arm64"]
    assert layout_problems(layout) == []


def test_verify_reports_each_image_with_its_platform(capsys):
    report([
        Comparison("install--amd64", True, ["manifest sha256:a"], "linux/amd64"),
        Comparison("install--arm64", True, ["manifest sha256:b"], "linux/arm64"),
        Comparison("install", True, ["index    sha256:c"], "multi-platform"),
    ])  # fmt: skip
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "install--amd64: identical (linux/amd64)",
        "  manifest sha256:a",
        "install--arm64: identical (linux/arm64)",
        "  manifest sha256:b",
        "install: identical (multi-platform)",
        "  index    sha256:c",
    ]
    assert err.strip().splitlines()[-1] == (
        "bakehouse: all 3 image(s) identical in both builds "
        "(linux/amd64: 1, linux/arm64: 1, multi-platform: 1)"
    )


def test_verify_reports_one_platform_as_before(capsys):
    report([Comparison("install--amd64", True, ["manifest sha256:a"])])
    out, err = capsys.readouterr()
    assert out == "install--amd64: identical\n  manifest sha256:a\n"
    assert err.strip().splitlines()[-1] == "bakehouse: all 1 image(s) identical in both builds"
