"""A builder's effective GC policies in words, how close usage is to each limit, orphaned state.

The policies come from `docker buildx ls --format json` (node "GCPolicy": the values BuildKit
actually uses, sizes in bytes and keepDuration in nanoseconds, percentages already resolved
against the disk), not from buildkitd.toml, which may have been edited since the builder was made.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..shared.buildx import UsageRecord
from ..shared.units import format_size

_STATE_VOLUME = re.compile(r"^buildx_buildkit_(?P<node>.+)_state$")
_TYPE_FILTER = re.compile(r"^type(?P<op>==|!=|=)(?P<value>.+)$")


@dataclass(frozen=True)
class GCPolicy:
    all: bool
    filters: tuple[str, ...]
    keep_duration_s: float
    reserved_space: int
    max_used_space: int
    min_free_space: int

    @classmethod
    def from_node(cls, raw: Mapping[str, Any]) -> GCPolicy:
        # buildx's JSON keeps BuildKit's field names; older BuildKit reports keepBytes instead
        # of maxUsedSpace (same meaning: the size the policy prunes down to).
        return cls(
            all=bool(raw.get("all")),
            filters=tuple(raw.get("filter") or raw.get("filters") or ()),
            keep_duration_s=int(raw.get("keepDuration") or 0) / 1e9,
            reserved_space=int(raw.get("reservedSpace") or 0),
            max_used_space=int(raw.get("maxUsedSpace") or raw.get("keepBytes") or 0),
            min_free_space=int(raw.get("minFreeSpace") or 0),
        )

    def subject(self) -> str:
        if self.filters:
            described = " or ".join(_describe_filter(item) for item in self.filters)
        else:
            described = "all records"
        if not self.all:
            described += " (except internal, frontend and shared records)"
        return described

    def matches(self, record: UsageRecord) -> bool | None:
        """Whether the policy applies to ``record``; None for filters this module can't evaluate.

        Like containerd's filters (which BuildKit uses): list items are ORed, the comma-separated
        conditions inside one item are ANDed.
        """
        # Without `all`, BuildKit leaves internal and frontend records and records shared with
        # the engine's images alone (buildx prune: --all).
        if not self.all and (record.record_type in ("internal", "frontend") or record.shared):
            return False
        if not self.filters:
            return True
        outcomes = []
        for item in self.filters:
            conditions = [_TYPE_FILTER.match(condition.strip()) for condition in item.split(",")]
            if not all(conditions):
                return None
            outcomes.append(
                all(
                    (record.record_type == match["value"]) == (match["op"] != "!=")
                    for match in conditions
                    if match
                )
            )
        return any(outcomes)


_TYPE_NAMES = {
    "exec.cachemount": "cache mounts",
    "regular": "layers",
    "source.local": "local sources",
    "source.git.checkout": "git checkouts",
    "internal": "internal records",
    "frontend": "frontend records",
}


def _describe_filter(item: str) -> str:
    conditions = [condition.strip() for condition in item.split(",") if condition.strip()]
    matches = [_TYPE_FILTER.match(condition) for condition in conditions]
    if not all(matches):
        return f"records matching {item}"
    wanted = {match["value"] for match in matches if match and match["op"] != "!="}
    excluded = {match["value"] for match in matches if match and match["op"] == "!="}
    if len(wanted) > 1 or wanted & excluded:
        # BuildKit's own default policy had this shape until moby/buildkit#6856.
        return f"nothing ({item}: conditions in one filter are ANDed)"
    if wanted:
        return _TYPE_NAMES.get(next(iter(wanted)), f"{next(iter(wanted))} records")
    return "everything but " + " and ".join(_TYPE_NAMES.get(value, value) for value in sorted(excluded))


def parse_policies(raw: Iterable[Mapping[str, Any]]) -> list[GCPolicy]:
    """A node's policies, from `buildx ls`'s GCPolicy list."""
    return [GCPolicy.from_node(policy) for policy in raw]


def human_duration(seconds: float) -> str:
    if seconds >= 86400 and seconds % 86400 == 0:
        days = int(seconds // 86400)
        return f"{days} day{'s' if days != 1 else ''}"
    if seconds >= 3600 and seconds % 3600 == 0:
        hours = int(seconds // 3600)
        return f"{hours} hour{'s' if hours != 1 else ''}"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)} min"
    return f"{seconds:g} s"


def format_limit(size: int) -> str:
    """A configured limit: binary units when exact (buildkitd.toml's "8GB" is 8 GiB), else decimal."""
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if size >= scale and size % scale == 0:
            return f"{size // scale}{unit}"
    return format_size(size)


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def describe(policy: GCPolicy) -> str:
    """One policy in words: what it covers and what it keeps."""
    rules = []
    if policy.max_used_space:
        rules.append(f"kept up to {format_limit(policy.max_used_space)}")
    if policy.reserved_space:
        rules.append(f"{format_limit(policy.reserved_space)} always kept")
    if policy.keep_duration_s:
        rules.append(f"unused > {human_duration(policy.keep_duration_s)} removed")
    if policy.min_free_space:
        rules.append(f"pruned while less than {format_limit(policy.min_free_space)} of the disk is free")
    if not rules:
        rules.append("removed whenever GC runs")
    return f"{policy.subject()}: " + ", ".join(rules)


def closeness(policy: GCPolicy, records: Sequence[UsageRecord], disk_free: int | None) -> list[str]:
    """How close usage is to each of the policy's limits, as short clauses."""
    clauses = []
    matching = [record for record in records if policy.matches(record)]
    evaluable = all(policy.matches(record) is not None for record in records)
    used = sum(record.size for record in matching)
    if policy.max_used_space:
        if evaluable:
            clauses.append(
                f"uses {format_size(used)} of {format_limit(policy.max_used_space)} "
                f"({percent(used, policy.max_used_space)})"
            )
        else:
            clauses.append("usage of its filter not computable here")
    if policy.reserved_space and evaluable:
        state = "all of it protected" if used <= policy.reserved_space else "above the reserve"
        clauses.append(f"{format_size(used)} vs {format_limit(policy.reserved_space)} reserve ({state})")
    if policy.min_free_space:
        if disk_free is None:
            clauses.append("disk free space unknown")
        else:
            margin = disk_free - policy.min_free_space
            state = (
                f"{format_size(margin)} above the floor" if margin >= 0 else "below the floor: GC will prune"
            )
            clauses.append(f"disk has {format_size(disk_free)} free, {state}")
    return clauses


def explain(policies: Sequence[GCPolicy], records: Sequence[UsageRecord], disk_free: int | None) -> list[str]:
    """Every policy in words with its distance to the limits; GC runs them in this order."""
    lines = []
    for index, policy in enumerate(policies, start=1):
        line = f"{index}. {describe(policy)}"
        clauses = closeness(policy, records, disk_free)
        if clauses:
            line += " — now " + "; ".join(clauses)
        lines.append(line)
    return lines


def state_volume_node(volume: str) -> str | None:
    """``buildx_buildkit_<node>_state`` -> node name (builder name + index), else None."""
    match = _STATE_VOLUME.match(volume)
    return match["node"] if match else None


def orphaned_volumes(
    volumes: Iterable[str], builder_nodes: Iterable[str], containers: Iterable[str]
) -> list[str]:
    """State volumes whose node belongs to no builder and to no existing builder container."""
    known_nodes = set(builder_nodes)
    container_names = {name.lstrip("/") for name in containers}
    orphans = []
    for volume in volumes:
        node = state_volume_node(volume)
        if node is None or node in known_nodes:
            continue
        if f"buildx_buildkit_{node}" in container_names:
            # A builder container without a buildx entry belongs to another docker CLI config.
            continue
        orphans.append(volume)
    return sorted(orphans)
