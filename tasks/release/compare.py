"""Comparing two OCI layouts of one target: identical digests, or where and why they differ.

Same manifest digest means the same image, bit for bit. Otherwise the config is compared key by
key (created times, history, labels) and each differing layer file by file (layer_diff).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..shared.oci_layout import blob_path, read_blob_json
from . import layer_diff
from .index_layout import index_entries, index_of
from .layout_check import Image, images

# The two builds, as every line names them.
LABELS = ("build 1", "build 2")
# Longest value shown for a differing config key.
SHOWN_VALUE = 120


# How the verdict of a multi-platform image (its index) names its platform.
MULTI_PLATFORM = "multi-platform"


@dataclass
class Comparison:
    name: str
    identical: bool
    lines: list[str] = field(default_factory=list)
    # Shown beside the verdict when the images are of several platforms ("" otherwise).
    platform: str = ""


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """JSON as `key.path[0].name` -> value text, so two documents compare key by key."""
    if isinstance(value, dict):
        for key in sorted(value):
            yield from _flatten(value[key], f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for position, item in enumerate(value):
            yield from _flatten(item, f"{prefix}[{position}]")
    else:
        yield prefix, json.dumps(value)


def _short(text: str | None) -> str:
    if text is None:
        return "absent"
    return text if len(text) <= SHOWN_VALUE else f"{text[: SHOWN_VALUE - 3]}..."


def json_differences(first: dict[str, Any], second: dict[str, Any]) -> list[str]:
    """One line per key whose value differs between two JSON documents."""
    ones, twos = dict(_flatten(first)), dict(_flatten(second))
    return [
        f"{key}: {_short(ones.get(key))} in {LABELS[0]}, {_short(twos.get(key))} in {LABELS[1]}"
        for key in sorted(ones.keys() | twos.keys())
        if ones.get(key) != twos.get(key)
    ]


def _identical_lines(image: Image) -> list[str]:
    lines = [f"manifest {image.manifest.digest}", f"config   {image.config.digest}"]
    lines.extend(f"layer {n}  {layer.digest}" for n, layer in enumerate(image.layers, 1))
    return lines


def _image_differences(first_layout: Path, first: Image, second_layout: Path, second: Image) -> list[str]:
    lines = [f"manifest {first.manifest.digest} in {LABELS[0]}, {second.manifest.digest} in {LABELS[1]}"]
    if first.config.digest != second.config.digest:
        lines.append("config differs:")
        config_lines = json_differences(
            read_blob_json(first_layout, first.config), read_blob_json(second_layout, second.config)
        )
        lines.extend(f"  {line}" for line in config_lines)
    if len(first.layers) != len(second.layers):
        lines.append(
            f"layer count differs: {len(first.layers)} in {LABELS[0]}, {len(second.layers)} in {LABELS[1]}"
        )
    for number, (one, two) in enumerate(zip(first.layers, second.layers, strict=False), 1):
        if one.digest == two.digest:
            continue
        lines.append(f"layer {number} differs ({one.digest} vs {two.digest}):")
        explanation = layer_diff.explain_layers(
            layer_diff.read_layer(blob_path(first_layout, one.digest)),
            layer_diff.read_layer(blob_path(second_layout, two.digest)),
            LABELS,
        )
        lines.extend(f"  {line}" for line in explanation)
    if first.config.digest == second.config.digest and [x.digest for x in first.layers] == [
        x.digest for x in second.layers
    ]:
        # Same content: the manifest itself (media types, annotations) is what differs.
        manifest_lines = json_differences(
            read_blob_json(first_layout, first.manifest), read_blob_json(second_layout, second.manifest)
        )
        lines.append("manifest differs:")
        lines.extend(f"  {line}" for line in manifest_lines)
    return lines


def compare_layouts(name: str, first_layout: Path, second_layout: Path) -> Comparison:
    """Compare the images two builds of the target ``name`` exported."""
    ones, twos = images(first_layout), images(second_layout)
    if len(ones) != len(twos):
        return Comparison(name, False, [f"{len(ones)} image(s) in {LABELS[0]}, {len(twos)} in {LABELS[1]}"])
    comparison = Comparison(name, True)
    for first, second in zip(ones, twos, strict=True):
        if first.manifest.digest == second.manifest.digest:
            comparison.lines.extend(_identical_lines(first))
        else:
            comparison.identical = False
            comparison.lines.extend(_image_differences(first_layout, first, second_layout, second))
    return comparison


def compare_index_layouts(name: str, first_layout: Path, second_layout: Path) -> Comparison:
    """Compare the multi-platform image ``name`` both builds' layouts hold: the same index (its
    digest), else the index's digests and the platforms whose manifests differ."""
    ones, twos = index_of(first_layout), index_of(second_layout)
    if ones is None or twos is None:
        missing = LABELS[0] if ones is None else LABELS[1]
        return Comparison(name, False, [f"no image index in {missing}"], MULTI_PLATFORM)
    first, second = index_entries(first_layout, ones), index_entries(second_layout, twos)
    if ones.digest == twos.digest:
        lines = [f"index    {ones.digest}", *(f"{platform}  {digest}" for platform, digest in first)]
        return Comparison(name, True, lines, MULTI_PLATFORM)
    lines = [f"index {ones.digest} in {LABELS[0]}, {twos.digest} in {LABELS[1]}"]
    in_second = dict(second)
    for platform, digest in first:
        other = in_second.pop(platform, None)
        if other != digest:
            lines.append(f"{platform}: manifest {digest} in {LABELS[0]}, {other or 'absent'} in {LABELS[1]}")
    lines.extend(
        f"{platform}: absent in {LABELS[0]}, manifest {digest} in {LABELS[1]}"
        for platform, digest in in_second.items()
    )
    return Comparison(name, False, lines, MULTI_PLATFORM)
