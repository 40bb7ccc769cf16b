"""Waves: the targets several cells share, built (and exported to the cache) once before the cells.

Without a wave, N runners starting their cells at the same moment each build the shared parents
(system, base, venv) themselves: nobody has exported them yet (docker/bake-action#435). A wave job
builds what two or more selected cells have in their plans, exports its cache, and the cell jobs start
after it, importing it.

"The same" is judged by recipe, not only by name: bake names a target after the dimensions it is
declared to depend on, but two differently named targets can build identical layers (a feature set's
build packages that are empty for two feature sets). A target's layer key is its recipe (context,
Dockerfile, stage, args, platforms, secrets...) with each `target:` context replaced by that target's
key; the wave builds one target per key found in two or more cells, and the cells find it among the
matrix siblings they import (tasks.cache.export.matrix_siblings).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

# The fields of a `bake --print` target that decide the layers it builds (not its name, tags,
# labels or outputs).
RECIPE_FIELDS = (
    "context", "dockerfile", "dockerfile-inline", "target", "args", "platforms", "secret", "ssh",
    "network", "entitlements", "no-cache", "no-cache-filter", "shm-size", "ulimits", "extra-hosts",
)  # fmt: skip
TARGET_CONTEXT = "target:"


def layer_keys(plan_targets: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Per target of one plan, a key equal for targets that build the same layers."""
    keys: dict[str, str] = {}

    def key(name: str, path: tuple[str, ...]) -> str:
        if name in keys:
            return keys[name]
        definition = plan_targets[name]
        contexts: dict[str, str] = {}
        for context_name, value in sorted((definition.get("contexts") or {}).items()):
            parent = str(value).removeprefix(TARGET_CONTEXT)
            inside = str(value).startswith(TARGET_CONTEXT) and parent in plan_targets and parent not in path
            contexts[context_name] = f"layer:{key(parent, (*path, name))}" if inside else str(value)
        recipe = {field: definition.get(field) for field in RECIPE_FIELDS}
        recipe["contexts"] = contexts
        keys[name] = hashlib.sha256(json.dumps(recipe, sort_keys=True, default=str).encode()).hexdigest()
        return keys[name]

    for name in plan_targets:
        key(name, ())
    return keys


def shared_targets(cell_plans: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> list[str]:
    """One target (the first name, sorted) per layer key in two or more cells' plans, sorted.

    ``cell_plans``: per cell, its `bake --print` targets (all of them, dependencies included)."""
    per_cell = {cell: layer_keys(targets) for cell, targets in cell_plans.items()}
    counts = Counter(key for keys in per_cell.values() for key in set(keys.values()))
    names: dict[str, str] = {}
    for keys in per_cell.values():
        for name, key in keys.items():
            if counts[key] >= 2 and (key not in names or name < names[key]):
                names[key] = name
    return sorted(names.values())
