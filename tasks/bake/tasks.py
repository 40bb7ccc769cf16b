"""`inv build` tasks: thin wrappers over tasks.bake.definition, tasks.bake.execution and tasks.bake.pool."""

from __future__ import annotations

import json
import sys

from invoke import Context

from ..builder.lifecycle import resolve_builder_name
from ..cache.maintenance import plan_with_cache
from ..cli.context import settings, task
from ..engine.supply import ensure_build_supply
from ..shared.errors import bad_input
from .cells import with_cell
from .definition import BakeInvocation, bake_print, list_targets
from .execution import bake_build, progress_mode
from .pool import parse_builders, pool_build


@task(
    iterable=["target", "set", "matrix"],
    help={
        "target": "target or group to build (repeatable; default: the configured default group)",
        "print": "print the resolved plan as JSON and build nothing",
        "list": "list the tree's targets and groups",
        "set": "override a target value: pattern.key=value (repeatable)",
        "matrix": "narrow the matrix: NAME=VALUE, singular name for one value, plural for a JSON array",
        "cell": "exactly this matrix cell: an id from `inv ci.matrix`, e.g. debian--trixie-slim--default",
        "builder": "builder name ('default' = the engine's own builder; default: the configured one)",
        "builders": "a pool, e.g. a,b: one bake per matrix cell, each on the next free builder, in parallel",
        "keep_going": "a failing target/cell does not stop the others",
        "progress": "auto | plain | tty | quiet | rawjson",
    },
)
def build(
    c: Context,
    target: list[str] | None = None,
    print: bool = False,  # noqa: A002 - the option is --print, like bake's
    list: bool = False,  # noqa: A002 - the option is --list, like bake's
    set: list[str] | None = None,  # noqa: A002 - the option is --set, like bake's
    matrix: list[str] | None = None,
    builder: str | None = None,
    keep_going: bool = False,
    progress: str | None = None,
    cell: str | None = None,
    builders: str | None = None,
) -> None:
    """Build targets of the image tree with docker buildx bake, over the matrix."""
    overrides = with_cell(settings(c), cell, matrix or [])
    # Refused in every mode, though --print and --list use neither: a typo is never silently ignored.
    progress_mode(progress, settings(c))
    resolve_builder_name(settings(c), builder)
    if builders is not None and builder:
        raise bad_input("--builder and --builders: give one of them")
    pool = parse_builders(builders) if builders is not None else None
    targets = target or [*settings(c).bake.default_targets]  # `list` is the option here
    if list:
        for name, description in list_targets(settings(c), overrides):
            sys.stdout.write(f"{name}\t{description}\n" if description else f"{name}\n")
        return
    if print:
        plan = plan_with_cache(settings(c), bake_print(settings(c), targets, overrides, set or []))
        sys.stdout.write(json.dumps(plan, indent=2) + "\n")
        return
    # Registry-free, what the tree's Dockerfiles pull (base images, `# syntax=` frontends) is made
    # and put in the local registry before the first bake; elsewhere this does nothing.
    config = settings(c)

    def supply(invocation: BakeInvocation) -> None:
        ensure_build_supply(config, invocation)

    if pool:
        pool_build(
            config, targets, pool, matrix_overrides=overrides, sets=set or [], keep_going=keep_going,
            progress=progress, before_bake=supply,
        )  # fmt: skip
        return
    bake_build(
        config, targets, matrix_overrides=overrides, sets=set or [], builder=builder,
        keep_going=keep_going, progress=progress, before_bake=supply,
    )  # fmt: skip
