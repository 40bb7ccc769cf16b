"""Registry-free supply: base images, the local registry, the BuildKit image, and what a tree's
Dockerfiles pull (its Debian base images and Dockerfile frontends), where pulls fail."""

from __future__ import annotations

import dataclasses
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..bake.definition import ResolvedBake, bake_print, plan_platforms, resolve_bake
from ..bake.execution import bake_build
from ..bake.platforms import Platform
from ..bake.request import BakeSelection, build_request
from ..builder.emulation import check_host_can_provide, ensure_platforms
from ..shared import whales
from ..shared.errors import BakehouseError, bad_input
from ..shared.local_registry import hub_image, start_registry, supplies_builds
from ..shared.private_state import paths
from ..shared.process import say
from ..shared.settings import Settings
from . import base_index
from .provision import (
    debootstrap_image,
    decide_mode,
    foreign_base_name,
    push_to_registry,
    registry_repository,
)
from .supply_check import (
    SupplyNeeds,
    build_supply_needs,
    missing_images,
    native_architecture,
)
from .tree_images import ImageUse, Supply, debian_suite, frontend_serves, images_needed, supply_for

# OCI architecture -> Debian's name for it (debootstrap --arch).
DEBIAN_ARCHES = {"amd64": "amd64", "arm64": "arm64", "386": "i386", "ppc64le": "ppc64el", "s390x": "s390x",
                 "riscv64": "riscv64"}  # fmt: skip

# bakehouse's own supply targets (the BuildKit image, the Dockerfile frontend image) ship in the
# package and are built from there whatever tree bake.files names: a project's tree has no such targets.
SUPPLY_ROOT = Path(__file__).with_name("buildkit")
SUPPLY_FILE = "buildkit.hcl"


def supply_settings(config: Settings) -> Settings:
    """The settings that build bakehouse's supply targets: its own bake file, no matrix."""
    bake = dataclasses.replace(config.bake, files=(SUPPLY_FILE,), matrix={})
    return dataclasses.replace(config, bake=bake, root=SUPPLY_ROOT)


def ensure_buildkit_image(config: Settings) -> None:
    supply = config.supply
    client = whales.client()
    if client.image.exists(supply.buildkit_image):
        return
    say(f"building {supply.buildkit_image} from the Go module (once; several minutes)")
    # The tag comes from config (the one place); the bake file's default is only for raw bake runs.
    tag = f"{supply.buildkit_target}.tags={supply.buildkit_image}"
    own = supply_settings(config)
    selection = BakeSelection.of([supply.buildkit_target], sets=[tag])
    bake_build(own, build_request(own, selection, builder="default"), resolve_bake(own, selection))
    if not client.image.exists(supply.buildkit_image):
        raise BakehouseError(f"target {supply.buildkit_target} did not produce {supply.buildkit_image}")


@dataclass(frozen=True)
class Frontend:
    """The Dockerfile frontend image bakehouse builds: its tag in the engine's store and the
    Dockerfile syntax version it implements (both pinned in the supply bake file)."""

    image: str
    syntax: str


def frontend_of(config: Settings) -> Frontend:
    target_name = config.supply.frontend_target
    plan = bake_print(supply_settings(config), BakeSelection.of([target_name]))
    target = (plan.get("target") or {}).get(target_name) or {}
    tags, syntax = target.get("tags") or [], (target.get("args") or {}).get("dockerfile_syntax")
    if not tags or not syntax:
        raise BakehouseError(f"{SUPPLY_FILE}: target {target_name} needs tags and a dockerfile_syntax arg")
    return Frontend(str(tags[0]), str(syntax))


def ensure_frontend_image(config: Settings, frontend: Frontend) -> None:
    client = whales.client()
    if client.image.exists(frontend.image):
        return
    say(f"building {frontend.image} (Dockerfile frontend {frontend.syntax}) from the Go module (once)")
    own = supply_settings(config)
    selection = BakeSelection.of([config.supply.frontend_target])
    bake_build(own, build_request(own, selection, builder="default"), resolve_bake(own, selection))
    if not client.image.exists(frontend.image):
        raise BakehouseError(f"target {config.supply.frontend_target} did not produce {frontend.image}")


def suite_in_archive(config: Settings, suite: str) -> bool:
    """Whether Debian's archive (supply.mirror_suite_url) has ``suite``: its Release file answers."""
    url = f"{config.supply.mirror_suite_url.rstrip('/')}/dists/{suite}/Release"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=20) as answer:
            return int(answer.status) == 200
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return False
        raise BakehouseError(f"Debian's archive answered {exc.code} for {url}") from exc
    except OSError as exc:
        raise BakehouseError(f"Debian's archive did not answer ({url}): {exc}") from exc


def plan_supplies(config: Settings, missing: list[ImageUse]) -> tuple[list[Supply], Frontend | None]:
    """How each missing image is made; the first one that can't be made is one line (nothing done)."""
    supplies: list[Supply] = []
    frontend: Frontend | None = None
    for use in missing:
        how = supply_for(use)
        if isinstance(how, str):
            raise BakehouseError(f"{use.where()}: can't be supplied registry-free: {how}")
        if how.frontend:
            frontend = frontend or frontend_of(config)
            if not frontend_serves(how.image.tag, frontend.syntax):
                raise BakehouseError(
                    f"{use.where()}: can't be supplied registry-free: the frontend built here implements "
                    f"Dockerfile syntax {frontend.syntax} "
                    f"(dockerfile_syntax in bakehouse's engine/buildkit/{SUPPLY_FILE})"
                )
        elif not suite_in_archive(config, how.suite):
            archive = config.supply.mirror_suite_url
            raise bad_input(f"{use.where()}: Debian's archive has no suite {how.suite!r} ({archive})")
        supplies.append(how)
    return supplies, frontend


def ensure_tree_supply(config: Settings, plan: Mapping[str, Any], root: Path) -> None:
    """Put every base image and Dockerfile frontend the plan's Dockerfiles pull into the local
    registry (registry-free mode only); what can't be made is one line before anything is made."""
    make_missing(config, missing_images(config, images_needed(plan, root)))


def make_missing(config: Settings, missing: Sequence[ImageUse]) -> None:
    """Make each missing image and push it to the local registry (all checked before any is made)."""
    if not missing:
        return
    supplies, frontend = plan_supplies(config, list(missing))
    say("supplying for the tree: " + ", ".join(supply.image.short_name for supply in supplies))
    client = whales.client()
    for supply in supplies:
        name = supply.image.short_name
        if supply.frontend and frontend is not None:
            ensure_frontend_image(config, frontend)
            push_to_registry(config, name, source=frontend.image)
            continue
        if not client.image.exists(name):
            debootstrap_image(config, name)
        push_to_registry(config, name)


def ensure_build_supply(config: Settings, resolved: ResolvedBake, needs: SupplyNeeds) -> None:
    """Make what supply_check found a registry-free build on docker-container builders needs: the
    images its Dockerfiles pull that the local registry lacks, and for foreign platforms the host's
    emulation and their Debian bases."""
    make_missing(config, needs.missing)
    if needs.platforms:
        # Base images of the other architectures are made under QEMU: the host's emulation first.
        bases = debian_bases_of(resolved.plan, resolved.root)
        ensure_emulation(config, list(needs.platforms), bases, registry_free=True)


def supply_build(config: Settings, resolved: ResolvedBake, builders: Sequence[str]) -> None:
    """Before a build on ``builders``: in registry-free mode on docker-container builders, what it
    pulls is in the local registry (made now when missing). The engine's own builder reads the
    engine's store instead, and with registries reachable nothing is supplied."""
    if supplies_builds(config, builders):
        ensure_build_supply(config, resolved, build_supply_needs(config, resolved))


def ensure_supply(config: Settings, matrix_options: Sequence[str] = ()) -> str:
    """Registry-free mode where nothing can be pulled (base images, the BuildKit image, the local
    registry, what the tree pulls); in both modes, emulation for the platforms of the cells
    ``matrix_options`` select."""
    mode = decide_mode(config)
    mode_file = paths(config).mode_file
    if mode == "registry":
        say("registries are reachable: registry-free supply not needed")
        if mode_file.exists():
            mode_file.unlink()
        if matrix_options:
            supply_configured_tree(config, matrix_options, registry_free=False)
        return mode
    say("no registry reachable: registry-free mode")
    client = whales.client()
    for image in config.supply.base_images:
        if not client.image.exists(image):
            debootstrap_image(config, image)
    start_registry(config)
    for image in config.supply.base_images:
        push_to_registry(config, image)
    ensure_buildkit_image(config)
    mode_file.parent.mkdir(parents=True, exist_ok=True)
    mode_file.write_text(mode + "\n")
    supply_configured_tree(config, matrix_options, registry_free=True)
    return mode


def debian_bases_of(plan: Mapping[str, Any], root: Path) -> list[str]:
    """The `debian:<suite>` images the plan's Dockerfiles pull (short names), in first-seen order:
    the bases another architecture needs made."""
    found: dict[str, None] = {}
    for use in images_needed(plan, root):
        image = hub_image(use.image)
        if image is not None and debian_suite(image) is not None:
            found.setdefault(image.short_name, None)
    return list(found)


def ensure_base_platforms(
    config: Settings, native: str, platforms: list[Platform], bases: Sequence[str]
) -> None:
    """Each of ``bases`` for every architecture the platforms need, in the local registry under its
    one name: a manifest list when there is more than the native one.

    The native image keeps its manifest (and digest): the list only adds the others beside it."""
    foreign = sorted({p.architecture for p in platforms} - {native})
    if not foreign:
        return
    unknown = [arch for arch in foreign if arch not in DEBIAN_ARCHES]
    if unknown:
        raise BakehouseError(
            f"no Debian architecture for {', '.join(unknown)}: can't make base images for it", 1
        )
    client = whales.client()
    address = config.supply.registry
    for image in bases:
        repo, tag = registry_repository(image)
        members = [base_index.member_of(address, repo, push_to_registry(config, image), native)]
        for arch in foreign:
            name = foreign_base_name(image, arch)
            if not client.image.exists(name):
                debootstrap_image(config, image, DEBIAN_ARCHES[arch])
            digest = push_to_registry(config, name, tag=f"{tag}--{arch}")
            members.append(base_index.member_of(address, repo, digest, arch))
        current = base_index.fetch(address, repo, tag)
        if current is not None and current.members() == members:
            continue
        if current is not None and not current.is_list and current.digest != members[0].digest:
            # Builds elsewhere resolve this tag now: its native image must stay the one they get.
            raise BakehouseError(
                f"local registry {address}: {repo}:{tag} is {current.digest}, not the engine's {image} "
                f"({members[0].digest}); run `inv engine.up` without other architectures to push it first"
            )
        digest = base_index.put_list(address, repo, tag, base_index.list_document(members))
        say(f"{address}/{repo}:{tag}: one name for {', '.join(m.architecture for m in members)} ({digest})")


def ensure_emulation(
    config: Settings, needed: list[Platform], bases: Sequence[str], *, registry_free: bool
) -> None:
    """QEMU for the platforms the selected cells need and the engine's builder lacks, and (registry-free)
    their ``bases`` for those platforms; refused, naming platform and fix, where nobody here can
    provide one."""
    check_host_can_provide(needed)
    for done in ensure_platforms("default", needed):
        say(f"engine: {done}")
    if registry_free:
        ensure_base_platforms(config, native_architecture(), needed, bases)


def supply_configured_tree(config: Settings, matrix_options: Sequence[str], *, registry_free: bool) -> None:
    """What the configured tree's default targets (the cells of ``matrix_options``) pull, and the
    platforms they build for; a tree that doesn't resolve is left to `inv build`, unless cells were
    asked for."""
    try:
        plan = bake_print(config, BakeSelection.of(config.bake.default_targets, matrix_options))
    except BakehouseError as exc:
        if matrix_options:
            raise
        say(f"not supplying for the tree's default targets: they don't resolve ({exc.reason})")
        return
    if registry_free:
        ensure_tree_supply(config, plan, config.root)
    bases = debian_bases_of(plan, config.root)
    ensure_emulation(config, plan_platforms(plan), bases, registry_free=registry_free)
