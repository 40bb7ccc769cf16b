"""Each target's platform read from a bake plan: its own, else its `target:` contexts'."""

from __future__ import annotations

from typing import Any

import pytest

from tasks.bake import platforms
from tasks.bake.platforms import (
    Platform,
    all_platforms,
    cell_platform,
    parse_platform,
    platform_of,
    platforms_by_target,
)
from tasks.shared.errors import BAD_INPUT, BakehouseError

# As `bake --print` writes a tree that sets platforms on its root only (the reference homeserver's
# shape) beside one that sets it on every target (ours), with a variant nobody lists anywhere here.
TARGETS: dict[str, dict[str, Any]] = {
    "system--v3": {"platforms": ["linux/amd64/v3"]},
    "base--v3": {"contexts": {"input": "target:system--v3"}},
    "install--x--v3": {"contexts": {"deps": "docker-image://debian", "input": "target:base--v3"}},
    "system--arm64": {"platforms": ["linux/arm64"]},
    "install--x--arm64": {"platforms": ["linux/arm64"], "contexts": {"input": "target:system--arm64"}},
    "loose": {"contexts": {"input": "target:loose"}},
    "both": {"platforms": ["linux/amd64", "linux/arm64"]},
}
PLAN = {"target": TARGETS}


def test_a_target_without_platforms_inherits_its_target_contexts():
    assert platform_of(TARGETS, "install--x--v3") == "linux/amd64/v3"
    assert platform_of(TARGETS, "install--x--arm64") == "linux/arm64"


def test_a_target_that_names_none_anywhere_is_the_builders_own_and_a_cycle_ends():
    assert platform_of(TARGETS, "loose") == ""
    assert platform_of(TARGETS, "missing") == ""


def test_platforms_by_target_and_the_distinct_ones_parsed():
    names = ["install--x--v3", "base--v3", "install--x--arm64"]
    assert platforms_by_target(PLAN, names) == {
        "install--x--v3": "linux/amd64/v3",
        "base--v3": "linux/amd64/v3",
        "install--x--arm64": "linux/arm64",
    }
    assert all_platforms(PLAN, names) == [Platform("linux", "amd64", "v3"), Platform("linux", "arm64")]
    assert platform_of(TARGETS, "both") == "linux/amd64,linux/arm64"


def test_a_cells_platform_is_that_of_its_own_targets():
    assert cell_platform(PLAN, "x--v3") == "linux/amd64/v3"
    assert cell_platform(PLAN, "x--arm64") == "linux/arm64"
    assert cell_platform(PLAN, "nothing") == ""
    mixed = {"target": {"a--c": {"platforms": ["linux/arm64"]}, "b--c": {"platforms": ["linux/amd64"]}}}
    with pytest.raises(BakehouseError, match="cell c: its targets build for different platforms: ") as err:
        cell_platform(mixed, "c")
    assert err.value.code == BAD_INPUT


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("linux/arm64", Platform("linux", "arm64")),
        ("linux/amd64/v3", Platform("linux", "amd64", "v3")),
        ("linux/arm/v7", Platform("linux", "arm", "v7")),
    ],
)
def test_platforms_parse_and_print_back(text, expected):
    assert parse_platform(text, "here") == expected
    assert str(expected) == text


@pytest.mark.parametrize("text", ["arm64", "linux/", "linux/arm64/v8/x", "linux/arm 64", ""])
def test_a_malformed_platform_is_bad_input_naming_where_it_came_from(text):
    with pytest.raises(BakehouseError, match=r"^target t: platform .* is not os/architecture") as err:
        parse_platform(text, "target t")
    assert err.value.code == BAD_INPUT


def test_arm64_v8_is_arm64_once_normalized():
    assert Platform("linux", "arm64", "v8").normalized == Platform("linux", "arm64")
    assert Platform("linux", "amd64", "v3").normalized == Platform("linux", "amd64", "v3")


def _plan(platforms: dict[str, str]) -> dict[str, Any]:
    return {"target": {name: {"platforms": [p]} if p else {} for name, p in platforms.items()}}


def test_cells_that_differ_only_in_their_platform_value_are_one_image() -> None:
    plan = _plan({
        "install--debian--trixie-slim--default--amd64": "linux/amd64",
        "install--debian--trixie-slim--default--arm64": "linux/arm64",
        "install--debian--trixie-slim--postgres--amd64": "linux/amd64",
        "install--debian--trixie-slim--postgres--arm64": "linux/arm64",
    })  # fmt: skip
    images = platforms.multi_platform_images(plan, plan["target"])
    assert images == [
        platforms.MultiPlatformImage(
            "install--debian--trixie-slim--default",
            (("install--debian--trixie-slim--default--amd64", "linux/amd64"),
             ("install--debian--trixie-slim--default--arm64", "linux/arm64")),
        ),
        platforms.MultiPlatformImage(
            "install--debian--trixie-slim--postgres",
            (("install--debian--trixie-slim--postgres--amd64", "linux/amd64"),
             ("install--debian--trixie-slim--postgres--arm64", "linux/arm64")),
        ),
    ]  # fmt: skip


def test_the_platform_value_may_sit_anywhere_in_the_name_and_variants_count() -> None:
    plan = _plan({"server--x86-64-v1--full": "linux/amd64", "server--x86-64-v3--full": "linux/amd64/v3"})
    (image,) = platforms.multi_platform_images(plan, plan["target"])
    assert image.name == "server--full"
    assert [platform for _, platform in image.members] == ["linux/amd64", "linux/amd64/v3"]


def test_one_platform_or_none_set_makes_no_image() -> None:
    one = _plan({"install--a--amd64": "linux/amd64", "install--b--amd64": "linux/amd64"})
    assert platforms.multi_platform_images(one, one["target"]) == []
    # arm64 and arm64/v8 are one platform (as containerd matches them).
    one = _plan({"install--a--arm64": "linux/arm64", "install--b--arm64": "linux/arm64/v8"})
    assert platforms.multi_platform_images(one, one["target"]) == []
    unset = _plan({"install--a": "", "install--b": ""})
    assert platforms.multi_platform_images(unset, unset["target"]) == []


def test_a_target_in_two_images_is_refused() -> None:
    plan = _plan(
        {"img--a--amd64": "linux/amd64", "img--a--arm64": "linux/arm64", "img--b--arm64": "linux/arm/v7"}
    )
    with pytest.raises(BakehouseError, match="more than one multi-platform image"):
        platforms.multi_platform_images(plan, plan["target"])
