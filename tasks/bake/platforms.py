"""Each target's platform, read from the bake plan (`bake --print`), never assumed.

The tree says it: a target's own `platforms`, else (as trees that set it on their root expect) the
platform of the `target:` contexts it builds on. A target of a cell has exactly one; a target that
names none anywhere builds for the builder's own platform, shown as "" (the caller says "native").
Values are bake's as written (`linux/amd64`, `linux/amd64/v3`, `linux/arm64`): compared as OCI
platforms (os/architecture/variant), never mapped to a list of known ones here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..shared.errors import bad_input

TARGET_CONTEXT = "target:"


@dataclass(frozen=True, order=True)
class Platform:
    """An OCI platform: os/architecture[/variant] (`linux/arm64/v8` and `linux/arm64` are kept apart
    as written: BuildKit normalizes them alike, and so does ``same_as``)."""

    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(part for part in (self.os, self.architecture, self.variant) if part)

    @property
    def normalized(self) -> Platform:
        """arm64's v8 is its only variant and is dropped, as containerd's platform matcher does."""
        variant = "" if self.architecture == "arm64" and self.variant == "v8" else self.variant
        return Platform(self.os, self.architecture, variant)


def parse_platform(text: str, where: str) -> Platform:
    """`os/arch[/variant]`; anything else is bad input naming ``where`` it came from."""
    parts = text.strip().split("/")
    if len(parts) not in (2, 3) or not all(parts) or any(not p.replace("_", "").isalnum() for p in parts):
        raise bad_input(f"{where}: platform {text!r} is not os/architecture[/variant], e.g. linux/arm64")
    return Platform(*parts)


def _own(target: Mapping[str, Any]) -> list[str]:
    return [str(p) for p in target.get("platforms") or []]


def _context_targets(target: Mapping[str, Any]) -> list[str]:
    contexts = target.get("contexts") or {}
    return [
        str(value).removeprefix(TARGET_CONTEXT)
        for value in contexts.values()
        if str(value).startswith(TARGET_CONTEXT)
    ]


def target_platforms(targets: Mapping[str, Mapping[str, Any]], name: str) -> list[str]:
    """The platforms ``name`` builds for: its own, else its `target:` contexts' (depth first, the
    first that names any); [] when none does."""
    seen: set[str] = set()

    def resolve(current: str) -> list[str]:
        if current in seen or current not in targets:
            return []
        seen.add(current)
        own = _own(targets[current])
        if own:
            return own
        for parent in _context_targets(targets[current]):
            if inherited := resolve(parent):
                return inherited
        return []

    return resolve(name)


def platform_of(targets: Mapping[str, Mapping[str, Any]], name: str) -> str:
    """The one platform of a target as the tree writes it, "" for none (the builder's own);
    several are joined with "," (a multi-platform target)."""
    return ",".join(target_platforms(targets, name))


def platforms_by_target(plan: Mapping[str, Any], names: Iterable[str]) -> dict[str, str]:
    targets: Mapping[str, Mapping[str, Any]] = plan.get("target", {})
    return {name: platform_of(targets, name) for name in names}


def all_platforms(plan: Mapping[str, Any], names: Iterable[str]) -> list[Platform]:
    """Every distinct platform the named targets build for (parsed), in first-seen order."""
    targets: Mapping[str, Mapping[str, Any]] = plan.get("target", {})
    found: dict[Platform, None] = {}
    for name in names:
        for text in target_platforms(targets, name):
            found.setdefault(parse_platform(text, f"target {name}"), None)
    return list(found)


def cell_platform(plan: Mapping[str, Any], cell_id: str) -> str:
    """The platform of a matrix cell: that of the plan's targets named `<prefix>--<cell id>`
    (the cell's own layers); "" when they name none. Several different ones are refused: a cell
    builds for one platform."""
    targets: Mapping[str, Mapping[str, Any]] = plan.get("target", {})
    found = {platform_of(targets, name) for name in targets if name.endswith(f"--{cell_id}")}
    if len(found) > 1:
        listed = ", ".join(sorted(found))
        raise bad_input(f"cell {cell_id}: its targets build for different platforms: {listed}")
    return found.pop() if found else ""


# How the tree joins a target's prefix and dimension values into its name (its `elem` function).
NAME_SEPARATOR = "--"


@dataclass(frozen=True)
class MultiPlatformImage:
    """Targets that are one image for several platforms: their names differ in one value only (the
    tree's platform dimension), and each builds for a platform of its own. ``name`` is their name
    without that value: what the merged image (an OCI index) is called."""

    name: str
    # Member target -> its platform as the tree writes it, in the order the targets were given.
    members: tuple[tuple[str, str], ...]


def multi_platform_images(plan: Mapping[str, Any], names: Iterable[str]) -> list[MultiPlatformImage]:
    """The named targets grouped into multi-platform images, read from the plan, nothing assumed
    about the dimension: two targets belong together when their names differ in exactly one
    `--`-separated value and they build for different platforms. Targets with no partner (one
    platform selected, or a platform the tree doesn't set) are left out: they are no index."""
    targets: Mapping[str, Mapping[str, Any]] = plan.get("target", {})
    ordered = list(dict.fromkeys(names))
    platforms = {name: platform_of(targets, name) for name in ordered}
    groups: dict[tuple[int, tuple[str, ...]], list[str]] = {}
    for name in ordered:
        if not platforms[name] or "," in platforms[name]:
            continue
        parts = name.split(NAME_SEPARATOR)
        # The prefix (position 0) names the layer, never a platform: only values are candidates.
        for position in range(1, len(parts)):
            groups.setdefault((position, tuple(parts[:position] + parts[position + 1 :])), []).append(name)
    images: list[MultiPlatformImage] = []
    grouped: set[str] = set()
    for (_, rest), members in groups.items():
        distinct = {parse_platform(platforms[m], f"target {m}").normalized for m in members}
        if len(members) < 2 or len(distinct) < len(members):
            continue
        if grouped.intersection(members):
            raise bad_input(
                f"targets {', '.join(members)}: each belongs to more than one multi-platform image "
                "(their names differ in more than one value that changes the platform)"
            )
        grouped.update(members)
        images.append(
            MultiPlatformImage(NAME_SEPARATOR.join(rest), tuple((m, platforms[m]) for m in members))
        )
    return sorted(images, key=lambda image: ordered.index(image.members[0][0]))
