"""`inv ci.matrix --waves`: the targets two or more cells share, and the wave job in each format."""

from __future__ import annotations

import json

import yaml

from tasks.bake.cells import cells_of
from tasks.ci import formats
from tasks.ci.waves import shared_targets

CELLS = cells_of({"feat_sets": ["default", "postgres", "sentry"]})
PLANS = {
    "default": ["system--trixie", "base--trixie", "venv--trixie", "install--trixie--default"],
    "postgres": ["system--trixie", "base--trixie", "venv--trixie", "builder--trixie--postgres"],
    "sentry": ["system--trixie", "base--trixie", "install--trixie--sentry"],
}
WAVE = ["base--trixie", "system--trixie", "venv--trixie"]


def test_the_wave_is_every_target_in_two_or_more_cells():
    assert shared_targets(PLANS) == WAVE
    assert shared_targets({"only": ["system--trixie", "system--trixie"]}) == []
    assert shared_targets({}) == []


def test_json_with_a_wave_holds_its_targets_beside_the_cells():
    document = json.loads(formats.render(CELLS, "json", WAVE))
    assert document["wave"] == WAVE
    assert [cell["id"] for cell in document["cells"]] == ["default", "postgres", "sentry"]
    # Without --waves the shape stays a list.
    assert isinstance(json.loads(formats.render(CELLS, "json")), list)


def test_github_with_a_wave_adds_one_output_line_before_the_matrix():
    lines = formats.render(CELLS, "github", WAVE).splitlines()
    assert lines[0] == 'wave=["base--trixie","system--trixie","venv--trixie"]'
    assert lines[1].startswith("matrix=") and len(lines) == 2
    assert formats.render(CELLS, "github", []).splitlines()[0] == "wave=[]"


def test_gitlab_with_a_wave_runs_its_job_in_a_stage_before_the_cells():
    pipeline = yaml.safe_load(formats.render(CELLS, "gitlab", WAVE))
    assert pipeline["stages"] == ["wave", "cells", "gate"]
    assert pipeline["bakehouse-wave"] == {
        "extends": ".bakehouse-wave",
        "stage": "wave",
        "variables": {"BAKEHOUSE_WAVE_TARGETS": "base--trixie system--trixie venv--trixie"},
        "allow_failure": True,
    }
    # Nothing shared: no wave job, no stage.
    empty = yaml.safe_load(formats.render(CELLS, "gitlab", []))
    assert empty["stages"] == ["cells", "gate"] and "bakehouse-wave" not in empty
