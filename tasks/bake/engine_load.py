"""Loading images into the engine only when they changed.

A docker-container builder hands a `type=docker` output to the engine as a tarball on every build,
changed or not (~2 s for the server image, most of a no-op build). Instead the build exports
those targets as `type=image` into the builder's own store (cheap) with a metadata file, whose
`containerimage.config.digest` is the image's config digest: the engine's image ID for the same
image. Only targets whose digest the engine lacks under their tags are then loaded, by a second,
fully cached bake with their original outputs. The engine's own builder (docker driver) stores
images natively and needs none of this.

On an engine with the containerd image store, image IDs are manifest digests, so they never
match: every build loads, as before, and pays the cheap first export on top.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..shared.process import docker


def _entry_attributes(entry: object) -> dict[str, str]:
    """One output entry of `bake --print`: a string (`type=docker,compression=zstd`) or, in newer
    buildx, an object."""
    if isinstance(entry, Mapping):
        return {str(key): str(value) for key, value in entry.items()}
    return dict(part.partition("=")[::2] for part in str(entry).split(","))


def output_types(target: Mapping[str, Any]) -> list[str]:
    """The exporter types of a target's outputs."""
    return [_entry_attributes(entry).get("type", "") for entry in target.get("output") or []]


def output_attributes(target: Mapping[str, Any]) -> dict[str, str]:
    """The single output's attributes (type, compression, ...); empty unless there is exactly one."""
    entries = target.get("output") or []
    return _entry_attributes(entries[0]) if len(entries) == 1 else {}


def engine_loads(plan: Mapping[str, Any], names: Sequence[str]) -> dict[str, list[str]]:
    """The requested targets that export to the engine (`type=docker` with tags): name -> tags."""
    targets = plan.get("target") or {}
    loads: dict[str, list[str]] = {}
    for name in names:
        target = targets.get(name) or {}
        tags = [str(tag) for tag in target.get("tags") or []]
        if tags and output_types(target) == ["docker"]:
            loads[name] = tags
    return loads


def image_export_args(
    loads: Mapping[str, Sequence[str]], metadata_file: Path, plan: Mapping[str, Any] | None = None
) -> list[str]:
    """bake arguments for the first pass: those targets into the builder's store, digests noted.
    The output keeps its other attributes (compression): the load that may follow then reuses the
    blobs compressed here instead of compressing again."""
    targets = (plan or {}).get("target") or {}
    args = []
    for name in loads:
        attributes = output_attributes(targets.get(name) or {})
        kept = [f"{key}={value}" for key, value in attributes.items() if key not in ("type", "dest")]
        output = ",".join(["type=image", *kept])
        args.append(f"--set={name}.output={output}")
    return [*args, f"--metadata-file={metadata_file}"]


def read_metadata(path: Path) -> dict[str, dict[str, Any]]:
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return metadata if isinstance(metadata, dict) else {}


def with_tag(tag: str) -> str:
    """`docker images` shows `name:tag`; a tag without one is `:latest`."""
    return tag if ":" in tag.rsplit("/", 1)[-1] else f"{tag}:latest"


def stale_loads(
    loads: Mapping[str, Sequence[str]],
    metadata: Mapping[str, Mapping[str, Any]],
    engine_ids: Mapping[str, str],
) -> list[str]:
    """Targets the engine lacks: any tag missing or holding another image. Without a digest in the
    metadata (an old buildx), a target counts as stale: loading is always correct."""
    stale = []
    for name, tags in loads.items():
        digests = {
            str(metadata.get(name, {}).get(key, ""))
            for key in ("containerimage.config.digest", "containerimage.digest")
        } - {""}
        if not digests or any(engine_ids.get(with_tag(tag)) not in digests for tag in tags):
            stale.append(name)
    return stale


def engine_image_ids() -> dict[str, str]:
    """`name:tag` -> image ID of every tagged image in the engine (one call; the CLI, because
    python-on-whales would inspect each image in full)."""
    listed = docker("images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}", check=False)
    ids = {}
    for line in listed.stdout.splitlines():
        reference, _, image_id = line.strip().rpartition(" ")
        if reference and not reference.endswith(":<none>"):
            ids[reference] = image_id
    return ids
