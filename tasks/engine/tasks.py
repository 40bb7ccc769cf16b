"""`inv engine` tasks: thin wrappers over tasks.engine.bring_up and tasks.engine.supply."""

from __future__ import annotations

from invoke import Context

from ..cli.context import settings, task
from .bring_up import ensure_engine, print_status, stop_what_up_started
from .supply import ensure_emulation, ensure_supply


@task(
    iterable=["matrix"],
    help={
        "matrix": "cells whose platforms must run here (emulated where needed): NAME=VALUE, like inv build"
    },
)
def up(c: Context, matrix: list[str] | None = None) -> None:
    """Make a Docker engine available (a private one from Debian packages only if none is usable), with
    QEMU and base images for the platforms the selected cells need."""
    config = settings(c)
    ensure_engine(config)
    mode = ensure_supply(config)
    ensure_emulation(config, matrix or [], registry_free=mode == "registry-free")


@task()
def status(c: Context) -> None:
    """Say which engine is reachable, whether bakehouse started it, and the supply mode."""
    print_status(settings(c))


@task()
def down(c: Context) -> None:
    """Stop what `engine.up` started (the private engine and local registry); nothing else."""
    stop_what_up_started(settings(c))
