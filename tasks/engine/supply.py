"""Registry-free supply: base images, the local registry and the BuildKit image, where pulls fail."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..bake.execution import bake_build
from ..shared import whales
from ..shared.errors import BakehouseError
from ..shared.local_registry import start_registry
from ..shared.private_state import paths
from ..shared.process import say
from ..shared.settings import Settings
from .provision import debootstrap_image, decide_mode, push_to_registry

# The BuildKit image's bake file and Dockerfile, shipped in the package: a project's tree needn't have them.
BUILDKIT_DIR = Path(__file__).with_name("buildkit")
BUILDKIT_BAKE_FILE = "buildkit.hcl"


def buildkit_bake_config(config: Settings) -> Settings:
    """The settings that bake the packaged BuildKit target: its own file, run in its own directory
    (its context), instead of the project's tree."""
    bake = dataclasses.replace(config.bake, files=(BUILDKIT_BAKE_FILE,))
    return dataclasses.replace(config, bake=bake, root=BUILDKIT_DIR)


def ensure_buildkit_image(config: Settings) -> None:
    supply = config.supply
    client = whales.client()
    if client.image.exists(supply.buildkit_image):
        return
    say(f"building {supply.buildkit_image} from the Go module (once; several minutes)")
    # The tag comes from config (the one place); the bake file's default is only for raw bake runs.
    tag = f"{supply.buildkit_target}.tags={supply.buildkit_image}"
    bake_build(buildkit_bake_config(config), [supply.buildkit_target], builder="default", sets=[tag])
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
