"""The selected cells as a CI's matrix: a JSON list, GitHub's `strategy.matrix`, a GitLab child pipeline.

GitLab: `parallel: matrix:` is read only from the pipeline's own YAML, when the pipeline is created,
so a matrix a job computes can't be spliced into it; GitLab documents dynamic child pipelines
(`trigger: include: - artifact:`) for configuration a job generates. The gitlab format is such a
child pipeline: one fan-out job whose `parallel: matrix:` lists the cell ids, and the gate after it;
their scripts come from job templates the project keeps (GITLAB_TEMPLATES, see docs/ci.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import yaml

from ..bake.cells import Cell
from ..shared.errors import bad_input

FORMATS = ("json", "github", "gitlab")

# The CIs' own ceilings: GitHub runs at most 256 jobs of one matrix, GitLab 200 of one parallel:matrix.
GITHUB_MAX_JOBS = 256
GITLAB_MAX_JOBS = 200

# The github entry's keys for the id and the platform, beside the singular dimension names.
ID_KEY = "id"
PLATFORM_KEY = "platform"
RUNNER_KEY = "runner"
# The child pipeline's include and its job templates (hidden jobs), and the variable a cell job reads.
GITLAB_TEMPLATES = ".gitlab/bakehouse.yml"
GITLAB_CELL_TEMPLATE = ".bakehouse-cell"
GITLAB_GATE_TEMPLATE = ".bakehouse-gate"
GITLAB_CELL_VARIABLE = "BAKEHOUSE_CELL"
# With --waves: the wave job's template, and the variable holding its targets (space-separated).
GITLAB_WAVE_TEMPLATE = ".bakehouse-wave"
GITLAB_WAVE_VARIABLE = "BAKEHOUSE_WAVE_TARGETS"


# A cell's platform as the tree sets it (tasks.bake.platforms.cell_platform), by cell id; "" when
# the tree sets none (the runner's own).
Platforms = Mapping[str, str]


@dataclass(frozen=True)
class CellInfo:
    """What the CI gets beside each cell's overrides: its platform (by cell id) and the runner labels
    (by platform, "default" for the rest; empty: no runner key)."""

    platforms: Platforms = field(default_factory=dict)
    runners: Mapping[str, str] = field(default_factory=dict)

    def platform(self, cell: Cell) -> str:
        return self.platforms.get(cell.id, "")

    def extra(self, cell: Cell) -> dict[str, str]:
        """The platform when the tree sets one (a tree that sets none gets what it got before), and
        the runner when runners are configured."""
        platform = self.platform(cell)
        found = {PLATFORM_KEY: platform} if platform else {}
        if not self.runners:
            return found
        return {**found, RUNNER_KEY: self.runners.get(platform) or self.runners.get("default", "")}


def as_json(cells: Sequence[Cell], info: CellInfo, wave: Sequence[str] | None = None) -> str:
    """A list: each cell's id, its platform (and runner) and the singular overrides that select it.
    With a wave: an object, the wave's targets under ``wave`` and that list under ``cells``."""
    entries = [{ID_KEY: cell.id, **info.extra(cell), "overrides": cell.overrides} for cell in cells]
    document: object = entries if wave is None else {"wave": list(wave), "cells": entries}
    return json.dumps(document, indent=2) + "\n"


def as_github(cells: Sequence[Cell], info: CellInfo, wave: Sequence[str] | None = None) -> str:
    """One `matrix=<JSON>` line for $GITHUB_OUTPUT; `fromJSON` of it is a `strategy.matrix`. With a
    wave, first a `wave=<JSON list of targets>` line (`[]`: no wave job needed)."""
    _refuse_over(len(cells), GITHUB_MAX_JOBS, "GitHub runs at most", "jobs of one matrix")
    include = []
    for cell in cells:
        for key, what in ((ID_KEY, "the id"), (PLATFORM_KEY, "the platform"), (RUNNER_KEY, "the runner")):
            if key in cell.overrides:
                raise bad_input(f"a matrix dimension named {key!r} clashes with {what} in --format github")
        include.append({ID_KEY: cell.id, **info.extra(cell), **cell.overrides})
    # Compact: an output line must not break.
    wave_line = "" if wave is None else "wave=" + json.dumps(list(wave), separators=(",", ":")) + "\n"
    return wave_line + "matrix=" + json.dumps({"include": include}, separators=(",", ":")) + "\n"


def as_gitlab(cells: Sequence[Cell], info: CellInfo, wave: Sequence[str] | None = None) -> str:
    """A dynamic child pipeline: the cells fanned out with `parallel: matrix:`, then the gate; with
    a (non-empty) wave, its job in a stage before the cells. (The cell job finds its platform in the
    plan; GitLab's matrix carries the ids only.)"""
    _refuse_over(len(cells), GITLAB_MAX_JOBS, "GitLab runs at most", "jobs of one parallel:matrix")
    wave_jobs: dict[str, object] = {}
    if wave:
        wave_jobs["bakehouse-wave"] = {
            "extends": GITLAB_WAVE_TEMPLATE,
            "stage": "wave",
            "variables": {GITLAB_WAVE_VARIABLE: " ".join(wave)},
            # A failed wave costs the cells time (they build the shared targets), not their run.
            "allow_failure": True,
        }
    pipeline = {
        "include": [{"local": GITLAB_TEMPLATES}],
        "stages": [*(["wave"] if wave else []), "cells", "gate"],
        **wave_jobs,
        "bakehouse-cell": {
            "extends": GITLAB_CELL_TEMPLATE,
            "stage": "cells",
            "parallel": {"matrix": [{GITLAB_CELL_VARIABLE: [cell.id for cell in cells]}]},
        },
        # A later stage: it gets every cell job's artifacts, and runs when some cell failed.
        "bakehouse-gate": {"extends": GITLAB_GATE_TEMPLATE, "stage": "gate", "when": "always"},
    }
    header = (
        "# Generated by `inv ci.matrix --format gitlab`: run it as a dynamic child pipeline\n"
        f"# (trigger: include: - artifact:). The job templates are in {GITLAB_TEMPLATES}.\n"
    )
    body: str = yaml.safe_dump(pipeline, sort_keys=False, default_flow_style=False)
    return header + body


RENDERERS = {"json": as_json, "github": as_github, "gitlab": as_gitlab}


def check_format(output_format: str) -> None:
    if output_format not in RENDERERS:
        raise bad_input(f"--format {output_format}: expected one of {', '.join(FORMATS)}")


def render(
    cells: Sequence[Cell], output_format: str, info: CellInfo | None = None, wave: Sequence[str] | None = None
) -> str:
    """The cells in ``output_format``, each with its platform (and runner); with ``wave`` (targets,
    maybe none), the wave job too."""
    check_format(output_format)
    return RENDERERS[output_format](cells, info or CellInfo(), wave)


def _refuse_over(count: int, limit: int, who: str, what: str) -> None:
    if count > limit:
        raise bad_input(f"{count} cells: {who} {limit} {what}; narrow the matrix with --matrix")
