"""buildx's JSON, parsed once into small typed records: builders and their nodes
(`buildx ls --format json`) and disk usage (`buildx du --format json`).

buildx prints one JSON object per line. `du` rounds sizes for humans ("5.243MB", go-units' decimal
HumanSize); they are turned back into bytes here. `ls` gives each node's files base64-encoded;
they are decoded here.

The CLI, not python-on-whales: its Builder model lacks the nodes' Files, Flags and DriverOpts, and
it has no `buildx du`.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import BakehouseError
from .process import docker
from .units import parse_human_size


def docker_config_dir(env: Mapping[str, str] | None = None) -> Path:
    """The docker CLI's config directory (config.json, cli-plugins): $DOCKER_CONFIG, else ~/.docker.
    ``env`` is this process's environment unless given."""
    configured = (os.environ if env is None else env).get("DOCKER_CONFIG")
    return Path(configured) if configured else Path.home() / ".docker"


def buildx_config_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where buildx keeps its state (one file per builder under instances/): $BUILDX_CONFIG, else
    the docker config directory's buildx."""
    source = os.environ if env is None else env
    configured = source.get("BUILDX_CONFIG")
    return Path(configured) if configured else docker_config_dir(source) / "buildx"


@dataclass(frozen=True)
class NodeRecord:
    """One node of a builder: a docker-container builder has one (its BuildKit container), a remote
    builder one per daemon."""

    name: str
    status: str = ""
    version: str = ""
    # Where buildx reaches the daemon: the engine's socket, or tcp://host:port for a remote node.
    endpoint: str = ""
    # buildkitd's command-line flags, e.g. --allow-insecure-entitlement=network.host.
    flags: tuple[str, ...] = ()
    driver_opts: dict[str, str] = field(default_factory=dict)
    # The files buildx copied in at create time (buildkitd.toml), by name, as text.
    files: dict[str, str] = field(default_factory=dict)
    # As BuildKit reports them (its field names); tasks.builder.gc_policy reads them.
    gc_policies: tuple[dict[str, Any], ...] = ()
    # The platforms the node runs (native and emulated), as os/arch[/variant], as BuildKit found them.
    platforms: tuple[str, ...] = ()


@dataclass(frozen=True)
class BuilderRecord:
    name: str
    driver: str
    nodes: tuple[NodeRecord, ...] = ()

    @property
    def node(self) -> NodeRecord:
        """The first node; an empty one (no status, no files) when buildx lists none."""
        return self.nodes[0] if self.nodes else NodeRecord(name="")


def _decoded(encoded: str) -> str:
    try:
        return base64.b64decode(encoded).decode(errors="replace")
    except (binascii.Error, ValueError):
        return ""


def parse_node(item: Mapping[str, Any]) -> NodeRecord:
    return NodeRecord(
        name=str(item.get("Name") or ""),
        status=str(item.get("Status") or ""),
        endpoint=str(item.get("Endpoint") or ""),
        version=str(item.get("Version") or ""),
        flags=tuple(str(flag) for flag in item.get("Flags") or ()),
        driver_opts={str(k): str(v) for k, v in (item.get("DriverOpts") or {}).items()},
        files={str(name): _decoded(str(text)) for name, text in (item.get("Files") or {}).items()},
        gc_policies=tuple(dict(policy) for policy in item.get("GCPolicy") or ()),
        platforms=tuple(str(p) for p in item.get("Platforms") or ()),
    )


def parse_builder(item: Mapping[str, Any]) -> BuilderRecord:
    """One builder of `buildx ls --format json`."""
    return BuilderRecord(
        name=str(item.get("Name") or ""),
        driver=str(item.get("Driver") or ""),
        nodes=tuple(parse_node(node) for node in item.get("Nodes") or ()),
    )


def parse_ls(output: str) -> list[BuilderRecord]:
    """`docker buildx ls --format json`: one builder per line."""
    try:
        return [parse_builder(json.loads(line)) for line in output.splitlines() if line.strip()]
    except (json.JSONDecodeError, AttributeError) as exc:
        raise BakehouseError(f"docker buildx ls printed something other than JSON lines: {exc}") from exc


def list_builders() -> list[BuilderRecord]:
    return parse_ls(docker("buildx", "ls", "--format", "json", what="docker buildx ls").stdout)


# Record types BuildKit reports, in the groups `cache.du` shows.
CATEGORIES = ("cache mounts", "layers", "source", "other")
_CATEGORY_OF_TYPE = {
    "exec.cachemount": "cache mounts",
    "regular": "layers",
    "source.local": "source",
    "source.git.checkout": "source",
}


@dataclass(frozen=True)
class UsageRecord:
    id: str
    record_type: str
    size: int
    reclaimable: bool
    shared: bool
    mutable: bool
    description: str
    last_used: str
    usage_count: int

    @property
    def category(self) -> str:
        return _CATEGORY_OF_TYPE.get(self.record_type, "other")


def parse_du(output: str) -> list[UsageRecord]:
    """`docker buildx du --format json`: one JSON record per line."""
    records = []
    for line in output.splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        records.append(
            UsageRecord(
                id=str(item.get("ID", "")),
                record_type=str(item.get("Type") or ""),
                size=parse_human_size(str(item.get("Size") or "0B")),
                reclaimable=bool(item.get("Reclaimable", True)),
                shared=bool(item.get("Shared", False)),
                mutable=bool(item.get("Mutable", False)),
                description=str(item.get("Description") or ""),
                last_used=str(item.get("LastUsedAt") or ""),
                usage_count=int(item.get("UsageCount") or 0),
            )
        )
    return records


def disk_usage(builder: str) -> list[UsageRecord]:
    """The builder's records."""
    output = docker(
        "buildx", "du", "--builder", builder, "--format", "json", what=f"docker buildx du --builder {builder}"
    ).stdout
    return parse_du(output)
