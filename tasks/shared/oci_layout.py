"""OCI image layouts and the manifests in them: media types, blob paths, what an index reaches.

https://github.com/opencontainers/image-spec/blob/main/image-layout.md: `index.json` lists the
top descriptors, every blob lives at `blobs/<algorithm>/<hex>` and is named by the digest of its
bytes. An index points to manifests (and nested indexes), a manifest to its config and layers.
Both Docker's and OCI's media types occur: BuildKit writes OCI ones, registries still serve both.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import BakehouseError

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
# Every document that points to other blobs: indexes (multi-platform) and single-image manifests.
# In this order a registry is told what it may answer a manifest request with.
MANIFEST_TYPES = (OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST)


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Descriptor:
        return cls(str(value.get("mediaType", "")), str(value.get("digest", "")), int(value.get("size", 0)))


# A manifest or index document by its descriptor; None when its blob is absent.
ReadDocument = Callable[[Descriptor], Mapping[str, Any] | None]


@dataclass(frozen=True)
class Reached:
    """A descriptor reached from an index, with its document when it is a manifest or index."""

    descriptor: Descriptor
    document: Mapping[str, Any] | None


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


def listed(document: Mapping[str, Any]) -> list[Descriptor]:
    """The descriptors a document points to, in its order: an index's manifests, or a manifest's
    config then layers (index.json is an index)."""
    entries = [*(document.get("manifests") or [])]
    if document.get("config"):
        entries.append(document["config"])
    entries.extend(document.get("layers") or [])
    return [Descriptor.from_json(entry) for entry in entries]


def walk(top: Iterable[Descriptor], read_document: ReadDocument) -> Iterator[Reached]:
    """Everything ``top`` reaches, depth first in document order, each digest once. Documents are
    read for manifest and index media types only; one ``read_document`` can't find is not followed."""
    seen: set[str] = set()
    pending = list(reversed(list(top)))
    while pending:
        descriptor = pending.pop()
        if not descriptor.digest or descriptor.digest in seen:
            continue
        seen.add(descriptor.digest)
        document = read_document(descriptor) if descriptor.media_type in MANIFEST_TYPES else None
        yield Reached(descriptor, document)
        if document is not None:
            pending.extend(reversed(listed(document)))


def reachable_digests(top: Iterable[Descriptor], read_document: ReadDocument) -> set[str]:
    """The digests of every blob ``top`` reaches: what a layout must keep."""
    return {reached.descriptor.digest for reached in walk(top, read_document)}
