"""`inv engine` tasks: thin wrappers over tasks.engine.service and tasks.engine.supply."""

from __future__ import annotations

from invoke import Context, task

from tasks.engine.service import ensure_engine, print_status, stop_what_up_started
from tasks.engine.supply import ensure_supply


@task
def up(c: Context) -> None:
    """Make a Docker engine available (a private one from Debian packages only if none is usable)."""
    ensure_engine(c)
    ensure_supply(c)


@task
def status(c: Context) -> None:
    """Say which engine is reachable, whether bakehouse started it, and the supply mode."""
    print_status(c)


@task
def down(c: Context) -> None:
    """Stop what `engine.up` started (the private engine and local registry); nothing else."""
    stop_what_up_started(c)
