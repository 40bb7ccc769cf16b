"""GC policies from `buildx ls --format json` in words, closeness to limits, orphaned state volumes."""

from __future__ import annotations

from typing import Any

from tasks.builder.gc_policy import (
    GCPolicy,
    closeness,
    describe,
    explain,
    format_limit,
    human_duration,
    orphaned_volumes,
    parse_policies,
    state_volume_node,
)
from tasks.shared.buildx import UsageRecord

# Node "GCPolicy" of a builder made from a buildkitd.toml with cache-mount, other and floor policies
# (as `docker buildx ls --format json` printed it: BuildKit 0.33.1; "2GB" in the toml is 2 GiB).
NODE: dict[str, list[dict[str, Any]]] = {
    "GCPolicy": [
        {"all": False, "filter": ["type==exec.cachemount"], "keepDuration": 1209600000000000,
         "maxUsedSpace": 2147483648, "minFreeSpace": 0, "reservedSpace": 0},
        {"all": False, "filter": ["type!=exec.cachemount"], "keepDuration": 43200000000000,
         "maxUsedSpace": 3221225472, "minFreeSpace": 0, "reservedSpace": 0},
        {"all": True, "filter": None, "keepDuration": 0, "maxUsedSpace": 0, "minFreeSpace": 26000000000,
         "reservedSpace": 0},
    ]
}  # fmt: skip


def record(record_type: str, size: int, shared: bool = False) -> UsageRecord:
    return UsageRecord("id", record_type, size, True, shared, False, "", "", 1)


RECORDS = [
    record("exec.cachemount", 500_000_000),
    record("regular", 1_000_000_000),
    record("regular", 300_000_000, shared=True),
    record("source.local", 1_000),
    record("frontend", 20_000_000),
]


def test_each_policy_reads_as_what_it_covers_and_what_it_keeps():
    policies = parse_policies(NODE["GCPolicy"])
    assert [describe(policy) for policy in policies] == [
        "cache mounts (except internal, frontend and shared records): kept up to 2GiB, "
        "unused > 14 days removed",
        "everything but cache mounts (except internal, frontend and shared records): kept up to 3GiB, "
        "unused > 12 hours removed",
        "all records: pruned while less than 26GB of the disk is free",
    ]


def test_filters_or_across_items_and_across_conditions():
    any_of = GCPolicy.from_node({"filter": ["type==source.local", "type==exec.cachemount"]})
    assert any_of.matches(record("exec.cachemount", 1)) is True
    assert any_of.matches(record("regular", 1)) is False
    # Conditions in one item are ANDed (containerd filter syntax): two types can never both hold.
    never = GCPolicy.from_node({"filter": ["type==source.local,type==exec.cachemount"]})
    assert never.matches(record("exec.cachemount", 1)) is False
    assert describe(never).startswith("nothing (type==source.local,type==exec.cachemount: conditions")
    unknown = GCPolicy.from_node({"filter": ["id~=abc"]})
    assert unknown.matches(record("regular", 1)) is None


def test_without_all_internal_frontend_and_shared_records_are_left_alone():
    policy = GCPolicy.from_node({})
    assert policy.matches(record("frontend", 1)) is False
    assert policy.matches(record("regular", 1, shared=True)) is False
    assert GCPolicy.from_node({"all": True}).matches(record("frontend", 1)) is True


def test_usage_is_compared_with_each_limit_in_words():
    cache_mounts, other, floor = parse_policies(NODE["GCPolicy"])
    assert closeness(cache_mounts, RECORDS, None) == ["uses 500MB of 2GiB (23%)"]
    assert closeness(other, RECORDS, None) == ["uses 1GB of 3GiB (31%)"]
    assert closeness(floor, RECORDS, 30_000_000_000) == ["disk has 30GB free, 4GB above the floor"]
    assert closeness(floor, RECORDS, 20_000_000_000) == ["disk has 20GB free, below the floor: GC will prune"]
    assert closeness(floor, RECORDS, None) == ["disk free space unknown"]
    reserve = GCPolicy.from_node({"all": True, "reservedSpace": 10**9})
    assert closeness(reserve, RECORDS, None) == ["1.82GB vs 1GB reserve (above the reserve)"]


def test_explain_numbers_policies_in_gc_order():
    lines = explain(parse_policies(NODE["GCPolicy"]), RECORDS, 30_000_000_000)
    assert lines[0].startswith("1. cache mounts")
    assert lines[0].endswith("— now uses 500MB of 2GiB (23%)")
    assert lines[2].startswith("3. all records")


def test_limits_read_like_the_config_that_set_them():
    assert [format_limit(size) for size in (8 * 2**30, 400 * 2**20, 26_000_000_000, 512_000_000)] == [
        "8GiB",
        "400MiB",
        "26GB",
        "512MB",
    ]


def test_old_buildkit_keep_bytes_reads_as_max_used_space():
    assert GCPolicy.from_node({"keepBytes": 512_000_000}).max_used_space == 512_000_000


def test_durations_read_in_their_largest_whole_unit():
    assert [human_duration(s) for s in (1209600, 43200, 5400, 90)] == [
        "14 days",
        "12 hours",
        "90 min",
        "90 s",
    ]


def test_a_state_volume_names_its_builder_node():
    assert state_volume_node("buildx_buildkit_lc-x0_state") == "lc-x0"
    assert state_volume_node("buildx_buildkit_bakehouse-root-main-main0_state") == "bakehouse-root-main-main0"
    assert state_volume_node("other_volume") is None


def test_orphans_are_volumes_without_builder_or_container():
    volumes = [
        "buildx_buildkit_live0_state",
        "buildx_buildkit_gone0_state",
        "buildx_buildkit_foreign0_state",
        "unrelated",
    ]
    orphans = orphaned_volumes(volumes, builder_nodes=["live0"], containers=["/buildx_buildkit_foreign0"])
    assert orphans == ["buildx_buildkit_gone0_state"]
