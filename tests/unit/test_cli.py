"""The `inv` entry point: the namespace loads, and bad input is one line with exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

INV = str(Path(sys.executable).with_name("inv"))


def inv(repo_root, *args, env=None):
    return subprocess.run([INV, *args], cwd=repo_root, capture_output=True, text=True, env=env)


def test_list_shows_every_task_with_help(repo_root):
    plain = inv(repo_root, "--list")
    assert plain.returncode == 0, plain.stderr
    result = inv(repo_root, "--list", "--list-format", "json")
    tree = json.loads(result.stdout)
    helps = {t["name"]: t["help"] for t in tree["tasks"]}
    for collection in tree["collections"]:
        helps.update({f"{collection['name']}.{t['name']}": t["help"] for t in collection["tasks"]})
        if collection["default"]:
            helps[collection["name"]] = helps[f"{collection['name']}.{collection['default']}"]
    expected = {
        "build", "complement", "lint", "lint.pin", "engine.up", "engine.status", "engine.down",
        "builder.create", "builder.rm", "builder.status", "builder.ls", "cache.du", "cache.prune",
        "cache.status",
    }  # fmt: skip
    assert expected <= set(helps)
    assert all(helps.values()), [name for name, text in helps.items() if not text]


def test_tasks_package_imports_outside_invoke(repo_root):
    code = "import tasks.builder, tasks.core.matrix; print(tasks.builder.__name__)"
    result = subprocess.run([sys.executable, "-c", code], cwd=repo_root, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "tasks.builder"


def test_unknown_matrix_dimension_is_one_line_exit_2(repo_root):
    result = inv(repo_root, "build", "--print", "--matrix", "rust_toolchain=stable")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "bakehouse: unknown matrix dimension 'rust_toolchain' (known: sys_name/sys_names, "
        "sys_version/sys_versions, feat_set/feat_sets)"
    ]


def test_invalid_plural_json_is_exit_2(repo_root):
    import os

    result = inv(repo_root, "build", "--print", env={**os.environ, "sys_versions": "[trixie-slim"})
    assert result.returncode == 2
    assert "sys_versions: not a JSON array" in result.stderr
    assert "Traceback" not in result.stderr
