"""`buildx du` records, sizes, Go durations and the prune command line."""

from __future__ import annotations

import json

import pytest

from tasks.cache.usage import prune_command, prune_total, render_summary, summarize
from tasks.shared.buildx import parse_du
from tasks.shared.errors import BAD_INPUT, BakehouseError
from tasks.shared.units import check_go_duration, format_size, parse_human_size

# Records as `docker buildx du --format json` prints them, one per line (buildx 0.29.1, BuildKit 0.33.1).
RECORDS = [
    {"CreatedAt": "2026-11-22 06:53:58.341815873 +0000 UTC", "Description": "local source for context",
     "ID": "nv0obn4yjtef3d3fuh3zfvmms", "LastUsedAt": "Less than a second ago", "Mutable": True,
     "Parents": None, "Reclaimable": True, "Shared": False, "Size": "4.096kB", "Type": "source.local",
     "UsageCount": 1},
    {"CreatedAt": "2026-11-22 06:54:00.692949823 +0000 UTC", "Description": "cached mount /var/cache/lc",
     "ID": "wt5wvngv1uketi8e1eajff549", "LastUsedAt": "Less than a second ago", "Mutable": True,
     "Parents": None, "Reclaimable": True, "Shared": False, "Size": "5.251MB", "Type": "exec.cachemount",
     "UsageCount": 1},
    {"CreatedAt": "2026-11-22 06:54:01.683554487 +0000 UTC", "Description": "mount / from exec /bin/sh -c dd",
     "ID": "s5fi9j55i30wrkgvvillxd0b9", "LastUsedAt": "Less than a second ago", "Mutable": False,
     "Parents": ["rqs25uk9i1fmsxmjsp31gcn4s"], "Reclaimable": True, "Shared": False, "Size": "20.98MB",
     "Type": "regular", "UsageCount": 1},
    {"CreatedAt": "2026-11-22 06:53:58.405989279 +0000 UTC", "Description": "pulled from debian",
     "ID": "u7d0zdy6g9w6eyawlv6rncuym", "LastUsedAt": "2 minutes ago", "Mutable": False, "Parents": None,
     "Reclaimable": False, "Shared": True, "Size": "236.3MB", "Type": "regular", "UsageCount": 1},
    {"CreatedAt": "2026-11-22 06:53:58 +0000 UTC", "Description": "frontend image", "ID": "f1",
     "LastUsedAt": "", "Mutable": False, "Parents": None, "Reclaimable": True, "Shared": False, "Size": "0B",
     "Type": "frontend", "UsageCount": 0},
]  # fmt: skip
DU_LINES = "".join(json.dumps(record, separators=(",", ":")) + "\n" for record in RECORDS)


@pytest.mark.parametrize(
    ("text", "size"),
    [("0B", 0), ("252B", 252), ("4.096kB", 4096), ("5.251MB", 5_251_000), ("1.068GB", 1_068_000_000),
     ("20.97MB*", 20_970_000), ("2GiB", 2 * 2**30), ("1.5 KiB", 1536)],
)  # fmt: skip
def test_buildx_sizes_read_back_as_bytes(text, size):
    assert parse_human_size(text) == size


def test_a_text_that_is_no_size_is_a_value_error():
    with pytest.raises(ValueError):
        parse_human_size("lots")


@pytest.mark.parametrize(
    ("size", "text"), [(0, "0B"), (999, "999B"), (4096, "4.096kB"), (262_600_000, "262.6MB")]
)
def test_format_size_reads_like_buildx(size, text):
    assert format_size(size) == text


def test_du_records_are_grouped_by_type():
    records = parse_du(DU_LINES)
    assert [r.category for r in records] == ["source", "cache mounts", "layers", "layers", "other"]
    summary = summarize(records)
    groups = {group.name: group for group in summary.groups}
    assert groups["layers"].records == 2
    assert groups["layers"].size == 20_980_000 + 236_300_000
    assert groups["layers"].reclaimable == 20_980_000
    assert groups["cache mounts"].size == 5_251_000
    assert summary.total == 4_096 + 5_251_000 + 20_980_000 + 236_300_000
    assert summary.shared == 236_300_000
    assert summary.as_json()["groups"]["other"] == {"records": 1, "bytes": 0, "reclaimable_bytes": 0}


def test_summary_table_ends_with_the_total_and_the_shared_size():
    lines = render_summary(summarize(parse_du(DU_LINES)), "lc-x")
    assert lines[0] == "builder lc-x:"
    assert lines[1].split() == ["TYPE", "RECORDS", "SIZE", "RECLAIMABLE"]
    assert lines[-2].split() == ["total", "5", "262.5MB", "26.24MB"]
    assert lines[-1] == "  (236.3MB shared with the engine's images)"


def test_an_empty_builder_sums_to_zero():
    summary = summarize(parse_du(""))
    assert summary.total == summary.records == 0
    assert [group.size for group in summary.groups] == [0, 0, 0, 0]


def test_prune_total_reads_buildx_total_line():
    output = "ID\tRECLAIMABLE\tSIZE\tLAST ACCESSED\nabc\ttrue\t5.251MB\t\nTotal:\t195.9MB\n"
    assert prune_total(output) == 195_900_000
    assert prune_total("nothing") is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("7d", "--until 7d: Go durations have no days or weeks; use 168h"),
        ("1w2d", "--until 1w2d: Go durations have no days or weeks; use 216h"),
        ("2d12h", "--until 2d12h: Go durations have no days or weeks; use 60h"),
        ("soon", "--until 'soon': not a Go duration (e.g. 168h, 90m, 1h30m)"),
    ],
)
def test_days_are_refused_with_the_fix(value, message):
    with pytest.raises(BakehouseError) as err:
        check_go_duration(value, "--until")
    assert err.value.code == BAD_INPUT
    assert str(err.value) == message


@pytest.mark.parametrize("value", ["168h", "90m", "1h30m", "500ms"])
def test_go_durations_pass(value):
    assert check_go_duration(value, "--until") == value


def test_prune_command_is_the_exact_buildx_argv_for_the_options():
    command = prune_command(
        "lc-x",
        include_all=True,
        until="168h",
        filters=["type=exec.cachemount"],
        reserved_space="1GB",
        max_used_space="10GB",
        min_free_space=None,
    )
    assert command == [
        "docker", "buildx", "prune", "--force", "--builder", "lc-x", "--all", "--filter", "until=168h",
        "--filter", "type=exec.cachemount", "--reserved-space", "1GB", "--max-used-space", "10GB",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"filters": ["oops"]}, "--filter 'oops': expected KEY=VALUE (e.g. type=exec.cachemount)"),
        ({"filters": ["until=3d"]}, "--filter until 3d: Go durations have no days or weeks; use 72h"),
        ({"max_used_space": "10%"}, "--max-used-space '10%': expected bytes or a size such as 512MB or 10GB"),
    ],
)
def test_prune_command_rejects_bad_input(kwargs, message):
    options = {"include_all": False, "until": None, "filters": [], "reserved_space": None,
               "max_used_space": None, "min_free_space": None, **kwargs}  # fmt: skip
    with pytest.raises(BakehouseError) as err:
        prune_command("lc-x", **options)
    assert str(err.value) == message


def test_prune_command_without_options_prunes_the_builder_unprompted():
    command = prune_command("lc-x", include_all=False, until=None, filters=[], reserved_space=None,
                            max_used_space=None, min_free_space=None)  # fmt: skip
    assert command == ["docker", "buildx", "prune", "--force", "--builder", "lc-x"]


def test_prune_filters_take_negated_and_regexp_keys_and_check_durations():
    filters = ["type!=exec.cachemount", "description~=pulled", "unused-for=48h"]
    command = prune_command("lc-x", include_all=False, until=None, filters=filters, reserved_space=None,
                            max_used_space=None, min_free_space="5GB")  # fmt: skip
    assert command == [
        "docker", "buildx", "prune", "--force", "--builder", "lc-x", "--filter", "type!=exec.cachemount",
        "--filter", "description~=pulled", "--filter", "unused-for=48h", "--min-free-space", "5GB",
    ]  # fmt: skip


def test_a_filter_key_buildx_does_not_know_is_refused_naming_the_known_ones():
    with pytest.raises(BakehouseError) as err:
        prune_command("lc-x", include_all=False, until=None, filters=["typo=regular"], reserved_space=None,
                      max_used_space=None, min_free_space=None)  # fmt: skip
    assert err.value.code == BAD_INPUT
    assert str(err.value) == (
        "--filter 'typo=regular': unknown key 'typo' (known: description, id, immutable, inuse, mutable, "
        "parents, private, shared, type, until, unused-for)"
    )
