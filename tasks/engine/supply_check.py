"""Whether a build needs anything supplied registry-free: the images its Dockerfiles pull that the
local registry lacks, and the architectures other than this machine's that it builds for.

Every build on a docker-container builder asks this in registry-free mode, and the answer is
almost always "nothing", so this module is kept light: it reads Dockerfiles and asks the local
registry, and imports nothing that makes images (tasks.engine.supply does, when something is
missing).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from ..bake.definition import ResolvedBake, plan_platforms
from ..bake.platforms import Platform
from ..builder.emulation import NATIVE
from ..shared.local_registry import hub_image, registry_address, registry_has
from ..shared.settings import Settings
from .tree_images import ImageUse, images_needed


@dataclass(frozen=True)
class SupplyNeeds:
    """What a build needs made before it runs: the first use of each image the local registry
    lacks, and the platforms it builds for when some are foreign (their emulation and bases)."""

    missing: tuple[ImageUse, ...] = ()
    platforms: tuple[Platform, ...] = ()

    @property
    def anything(self) -> bool:
        return bool(self.missing or self.platforms)


def native_architecture() -> str:
    """This machine's own OCI architecture ("" when unknown)."""
    return NATIVE.get(os.uname().machine, ("",))[0]


def foreign_architectures(platforms: Sequence[Platform]) -> list[str]:
    return sorted({p.architecture for p in platforms} - {native_architecture()})


def missing_images(config: Settings, uses: list[ImageUse]) -> list[ImageUse]:
    """The first use of each Docker Hub image the local registry doesn't hold. Images of other
    registries are left alone: whether the builder reaches them is not known here."""
    address = registry_address(config)
    missing: dict[str, ImageUse] = {}
    for use in uses:
        image = hub_image(use.image)
        if image is None or use.image in missing:
            continue
        if not registry_has(address, image.repository, image.reference):
            missing[use.image] = use
    return list(missing.values())


def build_supply_needs(config: Settings, resolved: ResolvedBake) -> SupplyNeeds:
    """What the resolved build needs supplied registry-free (the caller knows it is registry-free,
    on a docker-container builder: tasks.shared.local_registry.supplies_builds)."""
    missing = missing_images(config, images_needed(resolved.plan, resolved.root))
    platforms = plan_platforms(resolved.plan)
    foreign = tuple(platforms) if foreign_architectures(platforms) else ()
    return SupplyNeeds(tuple(missing), foreign)
