"""Registry-free supply: base images, the local registry and the BuildKit image, where pulls fail."""

from __future__ import annotations

from ..bake.definition import resolve_bake
from ..bake.execution import bake_build
from ..bake.request import BakeSelection, build_request
from ..shared import whales
from ..shared.errors import BakehouseError
from ..shared.local_registry import start_registry
from ..shared.private_state import paths
from ..shared.process import say
from ..shared.settings import Settings
from .provision import debootstrap_image, decide_mode, push_to_registry


def ensure_buildkit_image(config: Settings) -> None:
    supply = config.supply
    client = whales.client()
    if client.image.exists(supply.buildkit_image):
        return
    say(f"building {supply.buildkit_image} from the Go module (once; several minutes)")
    # The tag comes from config (the one place); the bake file's default is only for raw bake runs.
    tag = f"{supply.buildkit_target}.tags={supply.buildkit_image}"
    selection = BakeSelection.of([supply.buildkit_target], sets=[tag])
    bake_build(config, build_request(config, selection, builder="default"), resolve_bake(config, selection))
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
