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
    "debian--trixie-slim--default--amd64",
    "debian--trixie-slim--postgres--amd64",
    "debian--bookworm-slim--default--amd64",
    "debian--bookworm-slim--postgres--amd64",
]
DIMENSIONS = ("sys_name", "sys_version", "feat_set", "sys_arch")


def inv(repo_root, *args, env=None):
    # The shell's matrix variables would change which cells there are.
    base = {k: v for k, v in os.environ.items() if k not in DIMENSIONS and k[:-1] not in DIMENSIONS}
    return subprocess.run(
        [INV, *args], cwd=repo_root, capture_output=True, text=True, env={**base, **(env or {})}
    )


def smoke_targets(plan):
    return sorted(name for name in plan["target"] if name.startswith("tests-smoke--"))


def test_json_lists_the_selected_cells_with_ids_platforms_and_overrides(repo_root):
    result = inv(repo_root, "ci.matrix", "--matrix", 'sys_archs=["amd64","arm64"]')
    assert result.returncode == 0, result.stderr
    overrides = {"sys_name": "debian", "sys_version": "trixie-slim", "feat_set": "default"}
    assert json.loads(result.stdout) == [
        {
            "id": "debian--trixie-slim--default--amd64",
            "platform": "linux/amd64",
            "overrides": {**overrides, "sys_arch": "amd64"},
        },
        {
            "id": "debian--trixie-slim--default--arm64",
            "platform": "linux/arm64",
            "overrides": {**overrides, "sys_arch": "arm64"},
        },
    ]


def test_github_prints_the_output_line_and_the_environment_narrows_it(repo_root):
    result = inv(repo_root, "ci.matrix", "--format", "github", *WIDE)
    assert result.returncode == 0, result.stderr
    name, _, value = result.stdout.rstrip("\n").partition("=")
    assert name == "matrix" and "\n" not in value
    include = json.loads(value)["include"]
    assert [entry["id"] for entry in include] == WIDE_IDS
    assert include[3] == {"id": WIDE_IDS[3], "platform": "linux/amd64", "sys_name": "debian",
                          "sys_version": "bookworm-slim", "feat_set": "postgres",
                          "sys_arch": "amd64"}  # fmt: skip
    narrowed = inv(repo_root, "ci.matrix", "--format", "github", env={"feat_sets": '["postgres","sentry"]'})
    ids = [entry["id"] for entry in json.loads(narrowed.stdout.partition("=")[2])["include"]]
    assert ids == ["debian--trixie-slim--postgres--amd64", "debian--trixie-slim--sentry--amd64"]


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
    cell = "debian--bookworm-slim--postgres--arm64"
    result = inv(repo_root, "build", "--print", "--target", "tests-smoke", "--cell", cell, *WIDE)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert smoke_targets(plan) == ["tests-smoke--debian--bookworm-slim--postgres--arm64"]
    assert plan["target"]["tests-smoke--debian--bookworm-slim--postgres--arm64"]["platforms"] == [
        "linux/arm64"
    ]


def test_an_unknown_cell_is_one_line_listing_the_valid_ids(repo_root):
    for task in ("build", "complement"):
        result = inv(repo_root, task, "--cell", "debian--sid--default")
        assert result.returncode == 2, result.stderr
        ids = [
            f"debian--{version}--{feat}--{arch}"
            for version in ("trixie-slim", "bookworm-slim")
            for feat in ("default", "postgres", "sentry")
            for arch in ("amd64", "arm64")
        ]
        assert result.stderr.strip().splitlines() == [
            f"bakehouse: --cell 'debian--sid--default': no such cell; valid ids: {', '.join(ids)}"
        ]


def test_a_matrix_that_contradicts_the_cell_is_refused(repo_root):
    for task in ("build", "complement"):
        result = inv(
            repo_root,
            task,
            "--cell",
            "debian--bookworm-slim--postgres--amd64",
            "--matrix",
            "feat_set=default",
        )
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip().splitlines() == [
            "bakehouse: --cell debian--bookworm-slim--postgres--amd64 has feat_set=postgres, "
            'but --matrix selects feat_sets=["default"]: drop one of them'
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
