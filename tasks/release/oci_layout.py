"""Reading an OCI image layout directory: index.json, the manifests it reaches, their blobs.

https://github.com/opencontainers/image-spec/blob/main/image-layout.md: `oci-layout` names the
layout version, `index.json` lists the images, every blob lives at `blobs/<algorithm>/<hex>`
and is named by the digest of its bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks.shared.errors import BakehouseError

LAYOUT_FILE = "oci-layout"
INDEX_FILE = "index.json"
INDEX_TYPES = frozenset(
    {"application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"}
)


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Descriptor:
        return cls(str(value.get("mediaType", "")), str(value.get("digest", "")), int(value.get("size", 0)))


@dataclass(frozen=True)
class Image:
    """One image manifest of a layout, with its config and layers in order."""

    manifest: Descriptor
    config: Descriptor
    layers: tuple[Descriptor, ...]


def blob_path(layout: Path, digest: str) -> Path:
    algorithm, _, encoded = digest.partition(":")
    return layout / "blobs" / algorithm / encoded


def read_json(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise BakehouseError(f"{path}: not a readable JSON document ({exc})") from exc
    if not isinstance(document, dict):
        raise BakehouseError(f"{path}: expected a JSON object")
    return document


def read_blob_json(layout: Path, descriptor: Descriptor) -> dict[str, Any]:
    return read_json(blob_path(layout, descriptor.digest))


def _manifests(layout: Path, index: Mapping[str, Any]) -> Iterator[Descriptor]:
    """Image manifests reachable from an index, nested indexes followed."""
    for entry in index.get("manifests") or []:
        descriptor = Descriptor.from_json(entry)
        if descriptor.media_type in INDEX_TYPES:
            yield from _manifests(layout, read_blob_json(layout, descriptor))
        else:
            yield descriptor


def images(layout: Path) -> list[Image]:
    """Every image in the layout, in index order."""
    found = []
    for manifest in _manifests(layout, read_json(layout / INDEX_FILE)):
        document = read_blob_json(layout, manifest)
        config = Descriptor.from_json(document.get("config") or {})
        layers = tuple(Descriptor.from_json(layer) for layer in document.get("layers") or [])
        found.append(Image(manifest, config, layers))
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
    if version != "1.0.0":
        problems.append(f"{LAYOUT_FILE}: imageLayoutVersion {version!r}, expected '1.0.0'")
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
    return problems
