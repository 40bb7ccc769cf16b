"""`inv ci.*` tasks: thin wrappers over tasks.bake.cells and tasks.ci.formats."""

from __future__ import annotations

import sys

from invoke import Context

from ..bake.cells import selected_cells
from ..bake.definition import bake_print
from ..bake.request import BakeSelection
from ..cli.context import settings, task
from .formats import FORMATS, check_format, render


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
    """The selected matrix cells, each with a stable id and the overrides that select it, for a CI."""
    check_format(format)
    cells = selected_cells(settings(c), matrix or [])
    # The tree's own validation blocks judge the values: a cell bake refuses must not reach a CI
    # matrix, where every job would fail the same way.
    bake_print(settings(c), BakeSelection.of(settings(c).bake.default_targets, matrix or []))
    sys.stdout.write(render(cells, format))
