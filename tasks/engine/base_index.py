"""One base image name for several architectures in the local registry: a manifest list (an index)
over the per-architecture manifests, so that `FROM debian:trixie-slim` resolves per platform.

The local registry (Debian's docker-registry on loopback, plain http, no auth) is spoken to directly:
buildx 0.29's `imagetools create` needs a builder that knows the registry is plain http, and
`inv engine.up` runs before any builder exists. The members keep their digests: the list only
points at manifests already pushed, so builds that resolved the amd64 image before see the same one.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass

from ..shared.errors import BakehouseError

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
ACCEPT = ", ".join((DOCKER_LIST, OCI_INDEX, DOCKER_MANIFEST, OCI_MANIFEST))
LISTS = (DOCKER_LIST, OCI_INDEX)


@dataclass(frozen=True)
class Member:
    """One architecture's manifest."""

    digest: str
    size: int
    media_type: str
    architecture: str
    os: str = "linux"
    variant: str = ""


@dataclass(frozen=True)
class Manifest:
    digest: str
    media_type: str
    body: bytes

    @property
    def is_list(self) -> bool:
        return self.media_type in LISTS

    def members(self) -> list[Member]:
        """The list's members ([] for a single manifest)."""
        if not self.is_list:
            return []
        document = json.loads(self.body)
        return [
            Member(
                digest=str(entry["digest"]),
                size=int(entry["size"]),
                media_type=str(entry.get("mediaType") or ""),
                architecture=str(entry.get("platform", {}).get("architecture") or ""),
                os=str(entry.get("platform", {}).get("os") or ""),
                variant=str(entry.get("platform", {}).get("variant") or ""),
            )
            for entry in document.get("manifests", [])
        ]


def list_document(members: Sequence[Member]) -> bytes:
    """A Docker manifest list over the members (the engine pushes Docker v2 manifests; an OCI index
    over them would mix the two families)."""
    if not members:
        raise BakehouseError("a manifest list needs at least one member")
    manifests = []
    for member in members:
        platform = {"architecture": member.architecture, "os": member.os}
        if member.variant:
            platform["variant"] = member.variant
        manifests.append(
            {
                "mediaType": member.media_type,
                "size": member.size,
                "digest": member.digest,
                "platform": platform,
            }
        )
    document = {"schemaVersion": 2, "mediaType": DOCKER_LIST, "manifests": manifests}
    return json.dumps(document, indent=3).encode()


def _url(registry: str, repository: str, reference: str) -> str:
    return f"http://{registry}/v2/{repository}/manifests/{reference}"


def fetch(registry: str, repository: str, reference: str) -> Manifest | None:
    """The manifest or list at a tag or digest; None when the registry has none."""
    request = urllib.request.Request(_url(registry, repository, reference), headers={"Accept": ACCEPT})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            body = answer.read()
            return Manifest(
                digest=answer.headers.get("Docker-Content-Digest", ""),
                media_type=answer.headers.get_content_type(),
                body=body,
            )
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise BakehouseError(f"local registry {registry}: {repository}:{reference}: HTTP {exc.code}") from exc
    except OSError as exc:
        raise BakehouseError(f"local registry {registry} does not answer: {exc}") from exc


def put_list(registry: str, repository: str, tag: str, body: bytes) -> str:
    """Store the list under the tag; its digest."""
    request = urllib.request.Request(
        _url(registry, repository, tag), data=body, method="PUT", headers={"Content-Type": DOCKER_LIST}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return str(answer.headers.get("Docker-Content-Digest", ""))
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace").strip()
        raise BakehouseError(
            f"local registry {registry}: storing {repository}:{tag}: HTTP {exc.code} {detail}"
        ) from exc
    except OSError as exc:
        raise BakehouseError(f"local registry {registry} does not answer: {exc}") from exc


def member_of(registry: str, repository: str, digest: str, architecture: str) -> Member:
    """The manifest pushed for one architecture, as a list member."""
    manifest = fetch(registry, repository, digest)
    if manifest is None or manifest.is_list:
        raise BakehouseError(f"local registry {registry}: {repository}@{digest} is not an image manifest")
    return Member(digest, len(manifest.body), manifest.media_type, architecture)
