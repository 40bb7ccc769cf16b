"""Registry-free supply: base images, the local registry and the BuildKit image, where pulls fail."""

from __future__ import annotations

import platform as host_platform

from ..bake.definition import bake_print, plan_platforms
from ..bake.execution import bake_build
from ..bake.platforms import Platform
from ..builder.emulation import NATIVE, check_host_can_provide, ensure_platforms
from ..shared import whales
from ..shared.errors import BakehouseError
from ..shared.local_registry import start_registry
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

# OCI architecture -> Debian's name for it (debootstrap --arch).
DEBIAN_ARCHES = {"amd64": "amd64", "arm64": "arm64", "386": "i386", "ppc64le": "ppc64el", "s390x": "s390x",
                 "riscv64": "riscv64"}  # fmt: skip


def ensure_buildkit_image(config: Settings) -> None:
    supply = config.supply
    client = whales.client()
    if client.image.exists(supply.buildkit_image):
        return
    say(f"building {supply.buildkit_image} from the Go module (once; several minutes)")
    # The tag comes from config (the one place); the bake file's default is only for raw bake runs.
    tag = f"{supply.buildkit_target}.tags={supply.buildkit_image}"
    bake_build(config, [supply.buildkit_target], builder="default", sets=[tag])
    if not client.image.exists(supply.buildkit_image):
        raise BakehouseError(f"target {supply.buildkit_target} did not produce {supply.buildkit_image}")


def ensure_supply(config: Settings) -> str:
    mode = decide_mode(config)
    mode_file = paths(config).mode_file
    if mode == "registry":
        say("registries are reachable: registry-free supply not needed")
        if mode_file.exists():
            mode_file.unlink()
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
    return mode


def ensure_base_platforms(config: Settings, native: str, platforms: list[Platform]) -> None:
    """Each base image for every architecture the platforms need, in the local registry under its
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
    for image in config.supply.base_images:
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


def ensure_emulation(config: Settings, matrix_options: list[str], *, registry_free: bool) -> None:
    """QEMU for the platforms the selected cells need and the engine's builder lacks, and (registry-free)
    their base images; refused, naming platform and fix, where nobody here can provide one."""
    needed = plan_platforms(bake_print(config, [*config.bake.default_targets], matrix_options))
    check_host_can_provide(needed)
    for done in ensure_platforms("default", needed):
        say(f"engine: {done}")
    if registry_free:
        native = NATIVE.get(host_platform.machine(), ("",))[0]
        ensure_base_platforms(config, native, needed)
