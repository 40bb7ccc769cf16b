"""`inv engine` tasks: thin wrappers over tasks.engine.bring_up and tasks.engine.supply."""

from __future__ import annotations

from invoke import Context

from ..cli.context import settings, task
from .bring_up import ensure_engine, print_status, stop_what_up_started
from .supply import ensure_supply


@task()
def up(c: Context) -> None:
    """Make a Docker engine available (a private one from Debian packages only if none is usable)."""
    ensure_engine(settings(c))
    ensure_supply(settings(c))


@task()
def status(c: Context) -> None:
    """Say which engine is reachable, whether bakehouse started it, and the supply mode."""
    print_status(settings(c))


@task()
def down(c: Context) -> None:
    """Stop what `engine.up` started (the private engine and local registry); nothing else."""
    stop_what_up_started(settings(c))
