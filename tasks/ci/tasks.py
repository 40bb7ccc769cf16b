"""`inv ci.*` tasks: thin wrappers over tasks.bake.cells and tasks.ci.formats."""

from __future__ import annotations

import sys

from invoke import Context

from ..bake.cells import selected_cells
from ..bake.definition import bake_print
from ..bake.platforms import cell_platform
from ..cli.context import settings, task
from .formats import FORMATS, CellInfo, check_format, render


@task(
    name="matrix",
    iterable=["matrix"],
    help={
        "format": f"{' | '.join(FORMATS)} (default: json)",
        "matrix": "narrow or widen the matrix: NAME=VALUE, like inv build (repeatable)",
    },
)
def matrix_cells(
    c: Context,
    format: str = "json",  # noqa: A002 - the option is --format
    matrix: list[str] | None = None,
) -> None:
    """The selected matrix cells for a CI: each with a stable id, its platform and its overrides."""
    check_format(format)
    cells = selected_cells(settings(c), matrix or [])
    # The tree's own validation blocks judge the values: a cell bake refuses must not reach a CI
    # matrix, where every job would fail the same way.
    plan = bake_print(settings(c), [*settings(c).bake.default_targets], matrix or [])
    platforms = {cell.id: cell_platform(plan, cell.id) for cell in cells}
    runners = dict(settings(c).ci.runners)
    sys.stdout.write(render(cells, format, CellInfo(platforms, runners)))
