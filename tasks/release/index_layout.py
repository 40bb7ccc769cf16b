"""One OCI layout holding a multi-platform image, assembled from the per-platform layouts.

Our trees build each platform as a target of its own (one platform per target), so BuildKit writes
one layout per platform: the shape docker-library ships, one image per layout. The multi-platform
image is pure file work on top of those: every blob the members reach is linked (or copied) into
`blobs/`, an OCI image index lists each member's manifest with its platform, and `index.json`
points to that index, as BuildKit's layout of a multi-platform build does
(https://github.com/opencontainers/image-spec/blob/main/image-index.md).

Deterministic: the index depends on the members' manifest descriptors and the platforms their
configs name, nothing else (members in platform order, whatever order the matrix lists them in).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..bake.platforms import Platform
from ..shared.errors import BakehouseError
from ..shared.oci_layout import (
    INDEX_TYPES,
    OCI_INDEX,
    Descriptor,
    ReadDocument,
    blob_path,
    listed,
    reachable_digests,
    read_blob_json,
    read_json,
)
from .layout_check import INDEX_FILE, LAYOUT_FILE, LAYOUT_VERSION, platform_in

COMPACT = (",", ":")


@dataclass(frozen=True)
class Member:
    """A per-platform layout's one image: its manifest descriptor, the platform its config names
    and the annotations its index.json gives it."""

    layout: Path
    manifest: Descriptor
    platform: Platform
    annotations: Mapping[str, str]


def platform_json(platform: Platform) -> dict[str, str]:
    """An index entry's `platform`, the spec's fields (variant only when there is one)."""
    fields = {"architecture": platform.architecture, "os": platform.os}
    if platform.variant:
        fields["variant"] = platform.variant
    return fields


def read_member(layout: Path, expected: Platform, name: str) -> Member:
    """The one image of ``layout`` (target ``name``), which must be a single image built for
    ``expected`` (the tree's platform): a config naming another one is the tree or buildx wrong,
    and an index made of it would send a runtime the wrong binaries."""
    top = read_json(layout / INDEX_FILE).get("manifests") or []
    if len(top) != 1 or str(top[0].get("mediaType", "")) in INDEX_TYPES:
        raise BakehouseError(f"{name}: its layout holds {len(top)} entries, not one image manifest")
    entry = top[0]
    manifest = Descriptor.from_json(entry)
    config = Descriptor.from_json(read_blob_json(layout, manifest).get("config") or {})
    platform = platform_in(read_blob_json(layout, config))
    if platform.normalized != expected.normalized:
        raise BakehouseError(f"{name}: built for {expected}, but its image config says {platform}")
    annotations = {str(key): str(value) for key, value in (entry.get("annotations") or {}).items()}
    return Member(layout, manifest, platform, annotations)


def index_document(members: Sequence[Member]) -> dict[str, Any]:
    """The image index over ``members``, ordered by platform. Two members of one platform are no
    multi-platform image: refused."""
    ordered = sorted(members, key=lambda member: member.platform)
    platforms = [member.platform.normalized for member in ordered]
    if len(set(platforms)) != len(platforms):
        listed_platforms = ", ".join(map(str, platforms))
        raise BakehouseError(f"an image index can't list one platform twice: {listed_platforms}")
    return {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": member.manifest.media_type,
                "digest": member.manifest.digest,
                "size": member.manifest.size,
                "platform": platform_json(member.platform),
            }
            for member in ordered
        ],
    }


def encode_index(document: Mapping[str, Any]) -> bytes:
    """The index blob's bytes: indented as BuildKit writes its manifests, key order as given."""
    return json.dumps(document, indent=2).encode()


def common_annotations(members: Sequence[Member]) -> dict[str, str]:
    """What every member's index.json entry says alike (BuildKit's image name and created time):
    the multi-platform image's entry says it too."""
    first, *rest = members
    return {
        key: value
        for key, value in sorted(first.annotations.items())
        if all(member.annotations.get(key) == value for member in rest)
    }


def document_reader(layout: Path) -> ReadDocument:
    return lambda descriptor: read_blob_json(layout, descriptor)


def _place_blob(source: Path, destination: Path) -> None:
    """A hard link where the file system allows (blobs are immutable, named by their digest), else a copy."""
    if destination.exists():
        return
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, destination)
    except OSError:
        shutil.copyfile(source, destination)


def write_index_layout(destination: Path, members: Sequence[Member]) -> Descriptor:
    """Write the layout of the multi-platform image made of ``members`` into ``destination`` (a
    directory that doesn't exist yet); its index's descriptor."""
    document = index_document(members)
    destination.mkdir(parents=True)
    for member in members:
        # Only what the member's image reaches: what its own layout would need to be valid.
        for digest in sorted(reachable_digests([member.manifest], document_reader(member.layout))):
            _place_blob(blob_path(member.layout, digest), blob_path(destination, digest))
    data = encode_index(document)
    digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
    blob = blob_path(destination, digest)
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(data)
    blob.chmod(0o444)  # read-only, as BuildKit leaves the members' blobs
    descriptor: dict[str, Any] = {"mediaType": OCI_INDEX, "digest": digest, "size": len(data)}
    if annotations := common_annotations(members):
        descriptor["annotations"] = annotations
    top = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [descriptor]}
    # Compact, as BuildKit writes these two files.
    (destination / INDEX_FILE).write_text(json.dumps(top, separators=COMPACT))
    marker = {"imageLayoutVersion": LAYOUT_VERSION}
    (destination / LAYOUT_FILE).write_text(json.dumps(marker, separators=COMPACT))
    return Descriptor.from_json(descriptor)


def index_of(layout: Path) -> Descriptor | None:
    """The image index a layout's index.json names, when it names exactly one (an index layout)."""
    top = listed(read_json(layout / INDEX_FILE))
    return top[0] if len(top) == 1 and top[0].media_type in INDEX_TYPES else None


def index_entries(layout: Path, index: Descriptor) -> list[tuple[Platform, str]]:
    """Each platform an index lists, with its manifest's digest, in the index's order."""
    manifests = read_blob_json(layout, index).get("manifests") or []
    return [(platform_in(entry.get("platform") or {}), str(entry.get("digest", ""))) for entry in manifests]
