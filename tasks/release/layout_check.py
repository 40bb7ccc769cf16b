"""The images of a released OCI layout directory, and what makes a layout invalid.

https://github.com/opencontainers/image-spec/blob/main/image-layout.md: `oci-layout` names the
layout version, `index.json` lists the images; reading blobs and following an index is
tasks.shared.oci_layout's. An index entry's `platform` must be what its image's config says: a
runtime picks the entry by it and runs the config's binaries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..bake.platforms import Platform
from ..shared.errors import BakehouseError
from ..shared.oci_layout import (
    INDEX_TYPES,
    Descriptor,
    blob_path,
    listed,
    read_blob_json,
    read_json,
    walk,
)

LAYOUT_FILE = "oci-layout"
LAYOUT_VERSION = "1.0.0"
INDEX_FILE = "index.json"


@dataclass(frozen=True)
class Image:
    """One image manifest of a layout, with its config and layers in order."""

    manifest: Descriptor
    config: Descriptor
    layers: tuple[Descriptor, ...]


def images(layout: Path) -> list[Image]:
    """Every image in the layout, in index order (nested indexes followed)."""
    found = []
    top = listed(read_json(layout / INDEX_FILE))
    for reached in walk(top, lambda descriptor: read_blob_json(layout, descriptor)):
        document = reached.document
        if document is None or reached.descriptor.media_type in INDEX_TYPES:
            continue
        config = Descriptor.from_json(document.get("config") or {})
        layers = tuple(Descriptor.from_json(layer) for layer in document.get("layers") or [])
        found.append(Image(reached.descriptor, config, layers))
    return found


def is_layout(path: Path) -> bool:
    return (path / LAYOUT_FILE).is_file()


def digest_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as blob:
        while chunk := blob.read(1 << 20):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def layout_problems(layout: Path) -> list[str]:
    """What makes ``layout`` an invalid image layout (empty: valid): the marker file and its
    version, index.json, and every blob the images reach present with its size and digest."""
    if not is_layout(layout):
        return [f"{LAYOUT_FILE} is missing"]
    problems = []
    version = read_json(layout / LAYOUT_FILE).get("imageLayoutVersion")
    if version != LAYOUT_VERSION:
        problems.append(f"{LAYOUT_FILE}: imageLayoutVersion {version!r}, expected {LAYOUT_VERSION!r}")
    try:
        found = images(layout)
    except BakehouseError as exc:
        return [*problems, str(exc)]
    if not found:
        problems.append(f"{INDEX_FILE} lists no image")
    for image in found:
        for descriptor in (image.manifest, image.config, *image.layers):
            path = blob_path(layout, descriptor.digest)
            if not path.is_file():
                problems.append(f"blob {descriptor.digest} is missing")
            elif path.stat().st_size != descriptor.size:
                problems.append(
                    f"blob {descriptor.digest}: {path.stat().st_size} B, descriptor says {descriptor.size}"
                )
            elif digest_of(path) != descriptor.digest:
                problems.append(f"blob {descriptor.digest}: its content has another digest")
    if not problems:
        problems.extend(platform_problems(layout))
    return problems


def platform_in(fields: Mapping[str, Any]) -> Platform:
    """The platform an image config names (what the image runs on), or an index entry's `platform`:
    both spell it with the fields os, architecture and variant."""
    os, architecture, variant = (str(fields.get(key, "")) for key in ("os", "architecture", "variant"))
    return Platform(os, architecture, variant)


def platform_problems(layout: Path) -> list[str]:
    """Every index entry (index.json's and nested indexes') naming a platform for an image names
    its config's, and no index lists a platform twice. Run on a layout whose blobs are all there."""
    top = read_json(layout / INDEX_FILE)
    indexes: list[tuple[str, Mapping[str, Any]]] = [(INDEX_FILE, top)]
    for reached in walk(listed(top), lambda descriptor: read_blob_json(layout, descriptor)):
        if reached.descriptor.media_type in INDEX_TYPES and reached.document is not None:
            indexes.append((f"index {reached.descriptor.digest}", reached.document))
    problems = []
    for where, index in indexes:
        seen: set[Platform] = set()
        for entry in index.get("manifests") or []:
            if "platform" not in entry or str(entry.get("mediaType", "")) in INDEX_TYPES:
                continue
            said = platform_in(entry["platform"])
            manifest = Descriptor.from_json(entry)
            config = Descriptor.from_json(read_blob_json(layout, manifest).get("config") or {})
            named = platform_in(read_blob_json(layout, config))
            if said.normalized != named.normalized:
                problems.append(f"manifest {manifest.digest}: {where} says {said}, its config {named}")
            if said.normalized in seen:
                problems.append(f"{where} lists platform {said} twice")
            seen.add(said.normalized)
    return problems
