"""`inv lint --path DIR` on trees whose bake files can't be used: the bake line says why, and skips.

These start `inv` as a subprocess; the trees have no usable bake file, so no engine is needed.
The discovery itself is unit-tested in tests/unit/lint/test_lint_bake_discovery.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

INV = str(Path(sys.executable).with_name("inv"))

BAKE = 'group "default" {\n  targets = ["app"]\n}\n\ntarget "app" {\n  dockerfile = "Dockerfile"\n}\n'


def lint(repo_root, tree):
    return subprocess.run([INV, "lint", "--path", str(tree)], cwd=repo_root, capture_output=True, text=True)


def test_lint_of_a_tree_without_bake_files_says_so_and_skips(repo_root, tmp_path, write_tree, terraform_hcl):
    write_tree(tmp_path, {"Dockerfile": "FROM scratch\n", "infra/main.hcl": terraform_hcl})
    result = lint(repo_root, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith("bake:")]
    assert line.startswith(f"bake: skipped: no bake files found under {tmp_path} (looked for docker-bake.")
    assert line.endswith("; pass --bake-file")


def test_lint_of_a_tree_with_clashing_bake_files_names_them(repo_root, tmp_path, write_tree):
    write_tree(tmp_path, {"a/docker-bake.hcl": BAKE, "b/docker-bake.hcl": BAKE})
    result = lint(repo_root, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith("bake:")]
    assert line == (
        "bake: skipped: bake files in different directories define the same target/group names"
        " (app, default): a/docker-bake.hcl, b/docker-bake.hcl; bake would merge them into one"
        " definition, so pass --bake-file (repeatable) to choose"
    )
