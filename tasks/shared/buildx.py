"""buildx's JSON, parsed once into small typed records: disk usage (`buildx du --format json`).

buildx prints one JSON object per record per line, with sizes already rounded for humans
("5.243MB", go-units' decimal HumanSize); sizes are turned back into bytes here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tasks.shared.process import docker
from tasks.shared.units import parse_human_size

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
    """The builder's records. The CLI: python-on-whales has no `buildx du`."""
    output = docker(
        "buildx", "du", "--builder", builder, "--format", "json", what=f"docker buildx du --builder {builder}"
    ).stdout
    return parse_du(output)
