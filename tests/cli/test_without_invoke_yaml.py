"""A tree without our invoke.yaml runs on the defaults registered in code: same tasks, same plan."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

INV = str(Path(sys.executable).with_name("inv"))
# What `inv build --print` reads: the tasks, the bake tree and the builder's config.
TREE = ("tasks.py", "tasks", "images")


def copy_tree(repo_root: Path, destination: Path, *, with_invoke_yaml: bool) -> Path:
    destination.mkdir()
    for name in TREE:
        source = repo_root / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, destination / name)
    if with_invoke_yaml:
        shutil.copy2(repo_root / "invoke.yaml", destination / "invoke.yaml")
    return destination


def inv(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Both copies run alike: no INVOKE_* settings, no matrix variables from the caller's shell.
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVOKE_")}
    for dimension in ("sys_name", "sys_version", "feat_set"):
        env.pop(dimension, None)
        env.pop(dimension + "s", None)
    return subprocess.run([INV, *args], cwd=root, capture_output=True, text=True, env=env)


@pytest.fixture
def trees(repo_root: Path, tmp_path: Path) -> tuple[Path, Path]:
    """Two copies outside any git work tree (same git variables): with and without invoke.yaml."""
    return (
        copy_tree(repo_root, tmp_path / "with", with_invoke_yaml=True),
        copy_tree(repo_root, tmp_path / "without", with_invoke_yaml=False),
    )


def test_list_is_the_same_without_invoke_yaml(trees: tuple[Path, Path]) -> None:
    documented, bare = (inv(root, "--list") for root in trees)
    assert bare.returncode == 0, bare.stderr
    assert bare.stdout == documented.stdout


def test_build_print_makes_the_same_plan_without_invoke_yaml(trees: tuple[Path, Path]) -> None:
    documented, bare = (inv(root, "build", "--print") for root in trees)
    assert documented.returncode == 0, documented.stderr
    assert bare.returncode == 0, bare.stderr
    plan = json.loads(bare.stdout)
    assert plan == json.loads(documented.stdout)
    assert "tests-smoke--debian--trixie-slim--default--amd64" in plan["target"]


def test_the_matrix_defaults_in_code_can_be_narrowed(trees: tuple[Path, Path]) -> None:
    # The matrix is known without invoke.yaml: its dimensions come from the code's defaults.
    args = ("build", "--print", "--target", "tests-smoke", "--matrix", "sys_version=bookworm-slim")
    documented, bare = (inv(root, *args) for root in trees)
    assert bare.returncode == 0, bare.stderr
    plan = json.loads(bare.stdout)
    assert plan == json.loads(documented.stdout)
    assert "tests-smoke--debian--bookworm-slim--default--amd64" in plan["target"]
    assert not [name for name in plan["target"] if "trixie" in name]
