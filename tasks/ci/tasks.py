"""`inv ci.*` tasks: thin wrappers over tasks.bake.cells and tasks.ci.formats (imported when a task
runs: see tasks/cli/__init__.py)."""

from __future__ import annotations

import sys

from invoke import Context

from ..cli.context import settings, task

# The formats of `ci.matrix`, here for its --help; tests/unit/layout checks they are ci.formats'.
FORMATS = ("json", "github", "gitlab")


@task(
    name="matrix",
    iterable=["matrix"],
    help={
        "format": f"{' | '.join(FORMATS)} (default: json)",
        "matrix": "narrow or widen the matrix: NAME=VALUE, like inv build (repeatable)",
        "waves": "also a first job building the targets two or more cells share (exported to the cache)",
    },
)
def matrix_cells(
    c: Context,
    format: str = "json",  # noqa: A002 - the option is --format
    matrix: list[str] | None = None,
    waves: bool = False,
) -> None:
    """The selected matrix cells for a CI: each with a stable id, its platform and its overrides."""
    from ..bake.cells import selected_cells
    from ..bake.definition import bake_print
    from ..bake.platforms import cell_platform
    from ..bake.request import BakeSelection
    from .formats import CellInfo, check_format, render
    from .waves import shared_targets

    config = settings(c)
    check_format(format)
    cells = selected_cells(config, matrix or [])
    targets = [*config.bake.default_targets]
    # The tree's own validation blocks judge the values: a cell bake refuses must not reach a CI
    # matrix, where every job would fail the same way.
    plan = bake_print(config, BakeSelection.of(targets, matrix or []))
    platforms = {cell.id: cell_platform(plan, cell.id) for cell in cells}
    wave = None
    if waves:
        # One `bake --print` per cell: its plan's targets, dependencies included.
        plans = {
            cell.id: bake_print(
                config, BakeSelection.of(targets, [*(matrix or []), *cell.matrix_options()])
            ).get("target", {})
            for cell in cells
        }
        wave = shared_targets(plans)
    sys.stdout.write(render(cells, format, CellInfo(platforms, dict(config.ci.runners)), wave))
