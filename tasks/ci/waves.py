"""Waves: the targets several cells share, built (and exported to the cache) once before the cells.

Without a wave, N runners starting their cells at the same moment each build the shared parents
(system, base, venv) themselves: nobody has exported them yet (docker/bake-action#435). A wave job
builds the targets two or more selected cells have in their plans, exports their cache, and the cell
jobs start after it, importing them. Bake names a target after the dimensions its layer depends on,
so one name in two cells' plans is one layer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping


def shared_targets(cell_targets: Mapping[str, Collection[str]]) -> list[str]:
    """The targets (all of each cell's plan, dependencies included) in two or more cells, sorted."""
    counts = Counter(target for targets in cell_targets.values() for target in set(targets))
    return sorted(target for target, cells in counts.items() if cells >= 2)
