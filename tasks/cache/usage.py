"""A builder's disk usage grouped by what the records are (tables, JSON), and the prune command."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..shared.buildx import CATEGORIES, UsageRecord
from ..shared.command import Command
from ..shared.errors import bad_input
from ..shared.table import align
from ..shared.units import check_flag_size, check_go_duration, format_size, parse_human_size

# The keys `buildx prune --filter` takes (its reference), plus unused-for, the old name of until.
PRUNE_FILTER_KEYS = frozenset(
    {"until", "unused-for", "id", "parents", "description", "inuse", "mutable", "immutable", "shared",
     "private", "type"}
)  # fmt: skip


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

    def as_json(self) -> dict[str, Any]:
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
    lines = [f"builder {builder}:"]
    lines += ["  " + line for line in align(rows, right=(1, 2, 3))]
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
    unused_for = check_go_duration(until, "--until") if until else None
    for item in filters:
        _check_prune_filter(item)
    command = (
        Command("docker", "buildx", "prune", "--force")
        .option("--builder", builder)
        .flag("--all", include_all)
        .option("--filter", f"until={unused_for}" if unused_for else None)
        .options("--filter", filters)
    )
    for option, value in (
        ("--reserved-space", reserved_space),
        ("--max-used-space", max_used_space),
        ("--min-free-space", min_free_space),
    ):
        command = command.option(option, check_flag_size(value, option) if value else None)
    return command.argv


def _check_prune_filter(item: str) -> None:
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
