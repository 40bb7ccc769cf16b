"""A builder's disk usage: `docker buildx du --format json` records, grouped by what they are.

buildx prints one JSON object per record per line, with sizes already rounded for humans
("5.243MB", go-units' decimal HumanSize); this module turns them back into bytes, groups them by
record type and renders tables. Also home to the size and Go-duration parsing the prune options need.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tasks.core.units import check_go_duration
from tasks.errors import bad_input

# go-units HumanSize (what buildx prints) is decimal; buildkitd.toml and the prune flags parse
# sizes with go-units RAMInBytes, where "GB" means GiB.
_DECIMAL = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15, "e": 10**18}
_BINARY = {"k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40, "p": 2**50, "e": 2**60}
_HUMAN_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtpe]?)(i?)(b?)\s*\*?\s*$", re.IGNORECASE)
_FLAG_SIZE = re.compile(r"^\d+(\.\d+)?\s*([kmgtp]i?b?|b)?$", re.IGNORECASE)
_LONG_UNITS = re.compile(r"(\d+(?:\.\d+)?)(w|d|ns|us|µs|ms|s|m|h)")

# The keys `buildx prune --filter` takes (its reference), plus unused-for, the old name of until.
PRUNE_FILTER_KEYS = frozenset(
    {"until", "unused-for", "id", "parents", "description", "inuse", "mutable", "immutable", "shared",
     "private", "type"}
)  # fmt: skip

# Record types BuildKit reports, in the groups `cache.du` shows.
CATEGORIES = ("cache mounts", "layers", "source", "other")
_CATEGORY_OF_TYPE = {
    "exec.cachemount": "cache mounts",
    "regular": "layers",
    "source.local": "source",
    "source.git.checkout": "source",
}


def parse_human_size(text: str) -> int:
    """Bytes from buildx's rounded size ("5.243MB", "0B", "4.096kB"; a trailing * marks shared)."""
    match = _HUMAN_SIZE.match(text)
    if not match:
        raise ValueError(f"not a size: {text!r}")
    number, prefix, binary, _ = match.groups()
    table = _BINARY if binary else _DECIMAL
    return round(float(number) * table[prefix.lower()])


def format_size(size: int | float) -> str:
    """Decimal units like buildx's own output: 262.6MB, 4.096kB, 0B."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if abs(value) < 1000 or unit == "PB":
            return f"{value:.4g}{unit}" if unit != "B" else f"{int(value)}B"
        value /= 1000
    raise AssertionError("unreachable")


def check_flag_size(value: str, option: str) -> str:
    """A size for the prune flags (bytes or a number with a unit, no percentages); returned unchanged."""
    if not _FLAG_SIZE.match(value.strip()):
        raise bad_input(f"{option} {value!r}: expected bytes or a size such as 512MB or 10GB")
    return value.strip()


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


@dataclass(frozen=True)
class UsageGroup:
    name: str
    records: int
    size: int
    reclaimable: int


@dataclass(frozen=True)
class UsageSummary:
    groups: tuple[UsageGroup, ...]
    total: int
    reclaimable: int
    shared: int

    @property
    def records(self) -> int:
        return sum(group.records for group in self.groups)

    def as_json(self) -> dict[str, object]:
        return {
            "groups": {
                group.name: {
                    "records": group.records,
                    "bytes": group.size,
                    "reclaimable_bytes": group.reclaimable,
                }
                for group in self.groups
            },
            "total_bytes": self.total,
            "reclaimable_bytes": self.reclaimable,
            "shared_bytes": self.shared,
            "records": self.records,
        }


def summarize(records: Iterable[UsageRecord]) -> UsageSummary:
    """Totals per category (every category present, zero when empty), the way buildx sums them."""
    rows = list(records)
    groups = []
    for name in CATEGORIES:
        members = [record for record in rows if record.category == name]
        groups.append(
            UsageGroup(
                name=name,
                records=len(members),
                size=sum(record.size for record in members),
                reclaimable=sum(record.size for record in members if record.reclaimable),
            )
        )
    return UsageSummary(
        groups=tuple(groups),
        total=sum(record.size for record in rows),
        reclaimable=sum(record.size for record in rows if record.reclaimable),
        shared=sum(record.size for record in rows if record.shared),
    )


def render_summary(summary: UsageSummary, builder: str) -> list[str]:
    rows = [("TYPE", "RECORDS", "SIZE", "RECLAIMABLE")]
    rows += [
        (group.name, str(group.records), format_size(group.size), format_size(group.reclaimable))
        for group in summary.groups
    ]
    rows.append(("total", str(summary.records), format_size(summary.total), format_size(summary.reclaimable)))
    widths = [max(len(row[index]) for row in rows) for index in range(4)]
    lines = [f"builder {builder}:"]
    for row in rows:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  " + "  ".join(cells))
    if summary.shared:
        lines.append(f"  ({format_size(summary.shared)} shared with the engine's images)")
    return lines


def prune_total(output: str) -> int | None:
    """The ``Total:`` line `docker buildx prune` ends with, in bytes (None when it printed none)."""
    for line in reversed(output.splitlines()):
        if line.strip().startswith("Total:"):
            return parse_human_size(line.split(":", 1)[1])
    return None


def prune_command(
    builder: str,
    *,
    include_all: bool,
    until: str | None,
    filters: Sequence[str],
    reserved_space: str | None,
    max_used_space: str | None,
    min_free_space: str | None,
) -> list[str]:
    """The `docker buildx prune` argv for these options (validated; `-f`: tasks never prompt)."""
    command = ["docker", "buildx", "prune", "--force", "--builder", builder]
    if include_all:
        command.append("--all")
    if until:
        command += ["--filter", f"until={check_go_duration(until, '--until')}"]
    for item in filters:
        key, equals, _ = item.partition("=")
        if not equals or not key:
            raise bad_input(f"--filter {item!r}: expected KEY=VALUE (e.g. type=exec.cachemount)")
        if key.rstrip("!~") not in PRUNE_FILTER_KEYS:
            # A record a filter can't evaluate doesn't match it: a typo in a key would prune nothing
            # and still look like success.
            raise bad_input(
                f"--filter {item!r}: unknown key {key.rstrip('!~')!r} "
                f"(known: {', '.join(sorted(PRUNE_FILTER_KEYS))})"
            )
        if key.rstrip("!~") in ("until", "unused-for"):
            check_go_duration(item.split("=", 1)[1], f"--filter {key}")
        command += ["--filter", item]
    for option, value in (
        ("--reserved-space", reserved_space),
        ("--max-used-space", max_used_space),
        ("--min-free-space", min_free_space),
    ):
        if value:
            command += [option, check_flag_size(value, option)]
    return command
