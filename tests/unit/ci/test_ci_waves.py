"""`inv ci.matrix --waves`: the targets two or more cells share, and the wave job in each format."""

from __future__ import annotations

import json

import yaml

from tasks.bake.cells import cells_of
from tasks.ci import formats
from tasks.ci.waves import layer_keys, shared_targets

CELLS = cells_of({"feat_sets": ["default", "postgres", "sentry"]})


def target(dockerfile: str, parent: str | None = None, **args: str) -> dict[str, object]:
    """A target as `bake --print` shows it."""
    definition: dict[str, object] = {"context": "images", "dockerfile": dockerfile, "args": args}
    if parent:
        definition["contexts"] = {"input": f"target:{parent}"}
    return definition


def cell_plan(feat: str, packages: str) -> dict[str, dict[str, object]]:
    return {
        "system--trixie": target("Dockerfile.system", sys_version="trixie"),
        "base--trixie": target("Dockerfile.base", "system--trixie"),
        "venv--trixie": target("Dockerfile.venv", "base--trixie"),
        # Named per feature set, built alike where the feature set needs no build packages.
        f"builder--trixie--{feat}": target("Dockerfile.builder", "base--trixie", build_packages=packages),
        f"install--trixie--{feat}": target("Dockerfile.install", f"builder--trixie--{feat}", extras=feat),
    }


PLANS = {
    "default": cell_plan("default", ""),
    "postgres": cell_plan("postgres", "libpq-dev gcc"),
    "sentry": cell_plan("sentry", ""),
}
WAVE = ["base--trixie", "builder--trixie--default", "system--trixie", "venv--trixie"]


def test_the_wave_is_one_target_per_layer_in_two_or_more_cells():
    assert shared_targets(PLANS) == WAVE
    # A parent built differently makes its children different layers too.
    other_system = {
        **cell_plan("sentry", ""),
        "system--trixie": target("Dockerfile.system", sys_version="sid"),
    }
    assert shared_targets({"default": PLANS["default"], "sentry": other_system}) == []
    assert shared_targets({"only": PLANS["default"]}) == []
    assert shared_targets({}) == []


def test_layer_keys_ignore_names_outputs_and_tags_but_not_the_recipe():
    plan = {
        "a": {**target("Dockerfile.x", x="1"), "output": ["type=cacheonly"], "tags": ["a:1"]},
        "b": target("Dockerfile.x", x="1"),
        "c": target("Dockerfile.x", x="2"),
    }
    keys = layer_keys(plan)
    assert keys["a"] == keys["b"] != keys["c"]


def test_json_with_a_wave_holds_its_targets_beside_the_cells():
    document = json.loads(formats.render(CELLS, "json", wave=WAVE))
    assert document["wave"] == WAVE
    assert [cell["id"] for cell in document["cells"]] == ["default", "postgres", "sentry"]
    # Without --waves the shape stays a list.
    assert isinstance(json.loads(formats.render(CELLS, "json")), list)


def test_github_with_a_wave_adds_one_output_line_before_the_matrix():
    lines = formats.render(CELLS, "github", wave=WAVE).splitlines()
    assert lines[0] == 'wave=["base--trixie","builder--trixie--default","system--trixie","venv--trixie"]'
    assert lines[1].startswith("matrix=") and len(lines) == 2
    assert formats.render(CELLS, "github", wave=[]).splitlines()[0] == "wave=[]"


def test_gitlab_with_a_wave_runs_its_job_in_a_stage_before_the_cells():
    pipeline = yaml.safe_load(formats.render(CELLS, "gitlab", wave=WAVE))
    assert pipeline["stages"] == ["wave", "cells", "gate"]
    assert pipeline["bakehouse-wave"] == {
        "extends": ".bakehouse-wave",
        "stage": "wave",
        "variables": {"BAKEHOUSE_WAVE_TARGETS": " ".join(WAVE)},
        "allow_failure": True,
    }
    # Nothing shared: no wave job, no stage.
    empty = yaml.safe_load(formats.render(CELLS, "gitlab", wave=[]))
    assert empty["stages"] == ["cells", "gate"] and "bakehouse-wave" not in empty
