"""Matrix cells (one value per dimension), their ids, and what `--cell ID` selects.

A cell's id joins its values the way the tree names its targets (`elem` in images/bake.hcl: `--`
between values, any character but letters, digits, `_` and `-` made `_`), e.g.
`debian--trixie-slim--postgres--amd64`: the suffix of the cell's target names and the name of its
Complement results directory, the same in every run and on every machine. Ids are looked up among
known cells, never parsed back (a value may itself hold `-`); two cells with one id are refused.

`--cell ID` may name any cell of the resolved matrix (config, environment, `--matrix`) or of the
tree's full matrix (`lint.full_matrix`: every value the tree accepts), so a CI job can build a cell
another job listed with a wider `--matrix`. It becomes one singular override per dimension, placed
after the `--matrix` options so that it wins over them and over the environment, as task options
do; a `--matrix` option that excludes the cell is refused as a contradiction.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..shared.errors import bad_input
from ..shared.settings import Settings
from . import matrix as matrix_logic
from .matrix import Matrix

_NOT_IN_NAMES = re.compile(r"[^a-zA-Z0-9_-]")


@dataclass(frozen=True)
class Cell:
    """One cell: its id and, per dimension in the matrix's order, the (plural) name and the value."""

    id: str
    values: tuple[tuple[str, str], ...]

    @property
    def overrides(self) -> dict[str, str]:
        """The singular overrides that select this cell, e.g. {"sys_version": "trixie-slim", ...}."""
        return {matrix_logic.singular(plural): value for plural, value in self.values}

    def matrix_options(self) -> list[str]:
        """The cell as `--matrix` options."""
        return [_matrix_option(plural, value) for plural, value in self.values]


def _matrix_option(plural: str, value: str) -> str:
    """Singular NAME=VALUE; for a dimension whose name has no singular form, a one-value JSON array
    (the option reads that name's value as an array)."""
    one = matrix_logic.singular(plural)
    return f"{one}={value}" if one != plural else f"{plural}={json.dumps([value])}"


def cell_id(values: Iterable[str]) -> str:
    return "--".join(_NOT_IN_NAMES.sub("_", value) for value in values)


def cells_of(matrix: Matrix) -> list[Cell]:
    """Every cell of the matrix (its cartesian product, in the vectors' order); one id per cell."""
    cells = [
        Cell(cell_id(values), tuple(zip(matrix, values, strict=True)))
        for values in itertools.product(*matrix.values())
    ]
    first_with: dict[str, Cell] = {}
    for cell in cells:
        other = first_with.setdefault(cell.id, cell)
        if other is not cell:
            raise bad_input(
                f"cells {_described(other)} and {_described(cell)} both have the id {cell.id!r}: "
                "rename a matrix value"
            )
    return cells


def _described(cell: Cell) -> str:
    return "(" + ", ".join(f"{name}={value}" for name, value in cell.overrides.items()) + ")"


def union(first: Matrix, *others: Mapping[str, Sequence[str]]) -> Matrix:
    """Per dimension of ``first``: its values, then the others' values it lacks, in their order."""
    return {
        plural: list(dict.fromkeys([*values, *(v for other in others for v in other.get(plural, ()))]))
        for plural, values in first.items()
    }


def find_cell(wanted: str, known: Sequence[Cell]) -> Cell:
    if not wanted.strip():
        raise bad_input("--cell: expected a cell id (inv ci.matrix lists them)")
    for cell in known:
        if cell.id == wanted:
            return cell
    raise bad_input(f"--cell {wanted!r}: no such cell; valid ids: {', '.join(cell.id for cell in known)}")


def refuse_contradictions(cell: Cell, matrix_options: Sequence[str], dimensions: Iterable[str]) -> None:
    """A `--matrix` option that leaves the cell out contradicts `--cell`: refused, not overridden."""
    for plural, vector in matrix_logic.option_vectors(dimensions, matrix_options).items():
        name = matrix_logic.singular(plural)
        value = cell.overrides[name]
        if value not in vector:
            raise bad_input(
                f"--cell {cell.id} has {name}={value}, but --matrix selects {plural}={json.dumps(vector)}: "
                "drop one of them"
            )


def select_cell(wanted: str, known: Matrix, matrix_options: Sequence[str]) -> list[str]:
    """The `--matrix` options that select exactly the cell ``wanted`` among the ``known`` ones."""
    cell = find_cell(wanted, cells_of(known))
    refuse_contradictions(cell, matrix_options, known)
    return [*matrix_options, *cell.matrix_options()]


# --- over the configuration ---------------------------------------------------------------------


def known_matrix(config: Settings, matrix_options: Sequence[str]) -> Matrix:
    """Every value a cell may take: the resolved matrix's, then the tree's full matrix's."""
    conf = config
    resolved = matrix_logic.resolve(conf.bake.matrix, os.environ, matrix_options)
    full = matrix_logic.resolve(conf.lint.full_matrix, {}) if conf.lint.full_matrix else {}
    return union(resolved, full)


def selected_cells(config: Settings, matrix_options: Sequence[str]) -> list[Cell]:
    """The cells of the resolved matrix, their ids checked unique among every known cell."""
    cells_of(known_matrix(config, matrix_options))
    return cells_of(matrix_logic.resolve(config.bake.matrix, os.environ, matrix_options))


def with_cell(config: Settings, cell: str | None, matrix_options: Sequence[str]) -> list[str]:
    """`--matrix` options plus those of `--cell` (none given: the options as they are)."""
    if cell is None:
        return list(matrix_options)
    return select_cell(cell, known_matrix(config, matrix_options), matrix_options)
