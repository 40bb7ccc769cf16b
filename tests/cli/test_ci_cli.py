"""`inv ci.matrix` in each format, and `--cell` of `inv build` / `inv complement` (no engine: `--print`,
and bad input refused before anything else)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

INV = str(Path(sys.executable).with_name("inv"))
WIDE = [
    "--matrix",
    'sys_versions=["trixie-slim","bookworm-slim"]',
    "--matrix",
    'feat_sets=["default","postgres"]',
]
WIDE_IDS = [
    "debian--trixie-slim--default",
    "debian--trixie-slim--postgres",
    "debian--bookworm-slim--default",
    "debian--bookworm-slim--postgres",
]
DIMENSIONS = ("sys_name", "sys_version", "feat_set")


def inv(repo_root, *args, env=None):
    # The shell's matrix variables would change which cells there are.
    base = {k: v for k, v in os.environ.items() if k not in DIMENSIONS and k[:-1] not in DIMENSIONS}
    return subprocess.run(
        [INV, *args], cwd=repo_root, capture_output=True, text=True, env={**base, **(env or {})}
    )


def smoke_targets(plan):
    return sorted(name for name in plan["target"] if name.startswith("tests-smoke--"))


def test_json_lists_the_selected_cells_with_ids_and_overrides(repo_root):
    result = inv(repo_root, "ci.matrix")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {
            "id": "debian--trixie-slim--default",
            "overrides": {"sys_name": "debian", "sys_version": "trixie-slim", "feat_set": "default"},
        }
    ]


def test_github_prints_the_output_line_and_the_environment_narrows_it(repo_root):
    result = inv(repo_root, "ci.matrix", "--format", "github", *WIDE)
    assert result.returncode == 0, result.stderr
    name, _, value = result.stdout.rstrip("\n").partition("=")
    assert name == "matrix" and "\n" not in value
    include = json.loads(value)["include"]
    assert [entry["id"] for entry in include] == WIDE_IDS
    assert include[3] == {"id": WIDE_IDS[3], "sys_name": "debian", "sys_version": "bookworm-slim",
                          "feat_set": "postgres"}  # fmt: skip
    narrowed = inv(repo_root, "ci.matrix", "--format", "github", env={"feat_sets": '["postgres","sentry"]'})
    ids = [entry["id"] for entry in json.loads(narrowed.stdout.partition("=")[2])["include"]]
    assert ids == ["debian--trixie-slim--postgres", "debian--trixie-slim--sentry"]


def test_gitlab_prints_a_child_pipeline(repo_root):
    result = inv(repo_root, "ci.matrix", "--format", "gitlab", *WIDE)
    assert result.returncode == 0, result.stderr
    pipeline = yaml.safe_load(result.stdout)
    assert pipeline["bakehouse-cell"]["parallel"]["matrix"] == [{"BAKEHOUSE_CELL": WIDE_IDS}]


def test_every_listed_id_builds_exactly_its_cell(repo_root):
    listed = json.loads(inv(repo_root, "ci.matrix", *WIDE).stdout)
    for cell in listed:
        # No --matrix here: the id is found among the tree's full matrix, as a CI cell job finds it.
        result = inv(repo_root, "build", "--cell", cell["id"], "--print", "--target", "tests-smoke")
        assert result.returncode == 0, result.stderr
        assert smoke_targets(json.loads(result.stdout)) == [f"tests-smoke--{cell['id']}"]


def test_a_cell_and_a_matrix_that_includes_it(repo_root):
    cell = "debian--bookworm-slim--postgres"
    result = inv(repo_root, "build", "--print", "--target", "tests-smoke", "--cell", cell, *WIDE)
    assert result.returncode == 0, result.stderr
    assert smoke_targets(json.loads(result.stdout)) == ["tests-smoke--debian--bookworm-slim--postgres"]


def test_an_unknown_cell_is_one_line_listing_the_valid_ids(repo_root):
    for task in ("build", "complement"):
        result = inv(repo_root, task, "--cell", "debian--sid--default")
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip().splitlines() == [
            "bakehouse: --cell 'debian--sid--default': no such cell; valid ids: "
            "debian--trixie-slim--default, debian--trixie-slim--postgres, debian--trixie-slim--sentry, "
            "debian--bookworm-slim--default, "
            "debian--bookworm-slim--postgres, debian--bookworm-slim--sentry"
        ]


def test_a_matrix_that_contradicts_the_cell_is_refused(repo_root):
    for task in ("build", "complement"):
        result = inv(
            repo_root, task, "--cell", "debian--bookworm-slim--postgres", "--matrix", "feat_set=default"
        )
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip().splitlines() == [
            "bakehouse: --cell debian--bookworm-slim--postgres has feat_set=postgres, but --matrix selects "
            'feat_sets=["default"]: drop one of them'
        ]


def test_an_unknown_format_is_one_line_exit_2(repo_root):
    result = inv(repo_root, "ci.matrix", "--format", "yaml")
    assert result.returncode == 2
    assert result.stderr.strip() == "bakehouse: --format yaml: expected one of json, github, gitlab"
    assert result.stdout == ""


def test_the_task_is_listed_with_its_help(repo_root):
    tree = json.loads(inv(repo_root, "--list", "--list-format", "json").stdout)
    ci = next(collection for collection in tree["collections"] if collection["name"] == "ci")
    assert [(task["name"], bool(task["help"])) for task in ci["tasks"]] == [("matrix", True)]
