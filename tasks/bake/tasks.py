"""`inv build` tasks: the options decided once into a build request (tasks.bake.request), resolved
once (tasks.bake.definition), built by tasks.bake.execution or tasks.bake.pool (imported when a task
runs: see tasks/cli/__init__.py)."""

from __future__ import annotations

import json
import sys

from invoke import Context

from ..cli.context import settings, task


@task(
    iterable=["target", "set", "matrix"],
    help={
        "target": "target or group to build (repeatable; default: the configured default group)",
        "print": "print the resolved plan as JSON and build nothing",
        "list": "list the tree's targets and groups",
        "set": "override a target value: pattern.key=value (repeatable)",
        "matrix": "narrow the matrix: NAME=VALUE, singular name for one value, plural for a JSON array",
        "cell": "exactly this matrix cell: an id from `inv ci.matrix` (debian--trixie-slim--default--amd64)",
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
    from ..shared.checkout import CommitReading

    config = settings(c)
    # The checkout's commit (the default builder name and the bake variables use it): git reads it
    # while the build's logic is imported below (start-up). `--list` and `--print` don't need it.
    reading = None if list or print else CommitReading(config.root, describe=config.bake.git_variables)

    from ..cache.bake_cache import plan_with_cache
    from ..engine.supply_check import build_supply_needs
    from ..shared.local_registry import supplies_builds
    from .cells import with_cell
    from .definition import bake_print, list_targets, resolve_bake
    from .execution import bake_build
    from .request import BakeSelection, build_request, check_build_options

    overrides = with_cell(config, cell, matrix or [])
    selection = BakeSelection.of(target or [*config.bake.default_targets], overrides, set or [])
    if list or print:
        check_build_options(config, builder, builders, progress)
    if list:
        for name, description in list_targets(config, overrides):
            sys.stdout.write(f"{name}\t{description}\n" if description else f"{name}\n")
        return
    if print:
        plan = plan_with_cache(config, bake_print(config, selection))
        sys.stdout.write(json.dumps(plan, indent=2) + "\n")
        return
    assert reading is not None  # neither --list nor --print
    commit = reading.commit()
    request = build_request(
        config, selection, builder=builder, pool=builders, progress=progress, keep_going=keep_going,
        commit=commit,
    )  # fmt: skip
    resolved = resolve_bake(config, selection, commit)
    # Registry-free, what the tree's Dockerfiles pull (base images, `# syntax=` frontends) is made
    # and put in the local registry before the first bake. Checking is light; the logic that makes
    # images is imported only when something is missing (start-up: ~25 ms).
    if supplies_builds(config, request.builder_names):
        needs = build_supply_needs(config, resolved)
        if needs.anything:
            from ..engine.supply import ensure_build_supply

            ensure_build_supply(config, resolved, needs)
    if request.pool:
        from .pool import pool_build  # only a pooled build needs it (start-up)

        pool_build(config, request, resolved)
    else:
        bake_build(config, request, resolved)
