"""`inv ci.*` tasks: thin wrappers over tasks.bake.cells and tasks.ci.formats."""

from __future__ import annotations

import sys

from invoke import Context

from ..bake.cells import selected_cells
from ..bake.definition import bake_print
from ..cli.context import settings, task
from .formats import FORMATS, check_format, render
from .waves import shared_targets


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
    """The selected matrix cells, each with a stable id and the overrides that select it, for a CI."""
    check_format(format)
    cells = selected_cells(settings(c), matrix or [])
    targets = [*settings(c).bake.default_targets]
    # The tree's own validation blocks judge the values: a cell bake refuses must not reach a CI
    # matrix, where every job would fail the same way.
    bake_print(settings(c), targets, matrix or [])
    wave = None
    if waves:
        # One `bake --print` per cell: its plan's targets, dependencies included.
        plans = {
            cell.id: bake_print(settings(c), targets, [*(matrix or []), *cell.matrix_options()]).get(
                "target", {}
            )
            for cell in cells
        }
        wave = shared_targets(plans)
    sys.stdout.write(render(cells, format, wave))
