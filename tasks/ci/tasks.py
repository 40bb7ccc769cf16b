"""`inv ci.*` tasks: thin wrappers over tasks.build.cells and tasks.ci.formats."""

from __future__ import annotations

import sys

from invoke import Context, task

from tasks.build.cells import selected_cells
from tasks.build.plan import bake_print
from tasks.ci.formats import FORMATS, check_format, render
from tasks.shared.settings import settings


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
    cells = selected_cells(c, matrix or [])
    # The tree's own validation blocks judge the values: a cell bake refuses must not reach a CI
    # matrix, where every job would fail the same way.
    bake_print(c, [*settings(c).bake.default_targets], matrix or [])
    sys.stdout.write(render(cells, format))
