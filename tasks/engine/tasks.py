"""`inv engine` tasks: thin wrappers over tasks.engine.bring_up and tasks.engine.supply (imported when
a task runs: see tasks/cli/__init__.py)."""

from __future__ import annotations

from invoke import Context

from ..cli.context import settings, task


@task(
    iterable=["matrix"],
    help={
        "matrix": "cells whose platforms must run here (emulated where needed): NAME=VALUE, like inv build"
    },
)
def up(c: Context, matrix: list[str] | None = None) -> None:
    """Make a Docker engine available (a private one from Debian packages only if none is usable), with
    QEMU and base images for the platforms the selected cells need."""
    from .bring_up import ensure_engine
    from .supply import ensure_supply

    config = settings(c)
    ensure_engine(config)
    ensure_supply(config, matrix or [])


@task()
def status(c: Context) -> None:
    """Say which engine is reachable, whether bakehouse started it, and the supply mode."""
    from .bring_up import print_status

    print_status(settings(c))


@task()
def down(c: Context) -> None:
    """Stop what `engine.up` started (the private engine and local registry); nothing else."""
    from .bring_up import stop_what_up_started

    stop_what_up_started(settings(c))
