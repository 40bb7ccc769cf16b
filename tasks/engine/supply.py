"""Registry-free supply: base images, the local registry and the BuildKit image, where pulls fail."""

from __future__ import annotations

from invoke import Context

from tasks.build.runner import bake_build
from tasks.engine.provision import debootstrap_image, decide_mode, push_to_registry
from tasks.shared import whales
from tasks.shared.errors import BakehouseError
from tasks.shared.local_registry import start_registry
from tasks.shared.private_state import paths
from tasks.shared.process import say
from tasks.shared.settings import settings


def ensure_buildkit_image(c: Context) -> None:
    supply = settings(c).supply
    client = whales.client()
    if client.image.exists(supply.buildkit_image):
        return
    say(f"building {supply.buildkit_image} from the Go module (once; several minutes)")
    # The tag comes from config (the one place); the bake file's default is only for raw bake runs.
    tag = f"{supply.buildkit_target}.tags={supply.buildkit_image}"
    bake_build(c, [supply.buildkit_target], builder="default", sets=[tag])
    if not client.image.exists(supply.buildkit_image):
        raise BakehouseError(f"target {supply.buildkit_target} did not produce {supply.buildkit_image}")


def ensure_supply(c: Context) -> str:
    mode = decide_mode(c)
    mode_file = paths(c).mode_file
    if mode == "registry":
        say("registries are reachable: registry-free supply not needed")
        if mode_file.exists():
            mode_file.unlink()
        return mode
    say("no registry reachable: registry-free mode")
    client = whales.client()
    for image in settings(c).supply.base_images:
        if not client.image.exists(image):
            debootstrap_image(c, image)
    start_registry(c)
    for image in settings(c).supply.base_images:
        push_to_registry(c, image)
    ensure_buildkit_image(c)
    mode_file.parent.mkdir(parents=True, exist_ok=True)
    mode_file.write_text(mode + "\n")
    return mode
