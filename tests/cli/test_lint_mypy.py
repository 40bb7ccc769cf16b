"""`inv lint --path DIR` runs mypy on a tree with Python files, with the tree's own mypy config.

These start `inv` as a subprocess; the trees have no bake file, so no engine is needed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

INV = str(Path(sys.executable).with_name("inv"))

# Clean for ruff, one error for mypy (line 5: an int where a str is declared).
TYPE_ERROR = "def double(x: int) -> int:\n    return x * 2\n\n\nhalf: str = double(2)\n"
CLEAN = "def double(x: int) -> int:\n    return x * 2\n"


def write(root, files):
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def lint_json(repo_root, tree):
    result = subprocess.run(
        [INV, "lint", "--path", str(tree), "--format", "json"], cwd=repo_root, capture_output=True, text=True
    )
    document = json.loads(result.stdout)
    tools = {row["tool"]: row for row in document["tools"]}
    findings = [f for f in document["findings"] if f["tool"] == "mypy"]
    mypy = [(f["path"], f["line"], f["column"], f["rule"]) for f in findings]
    return result, tools, mypy


def test_mypy_findings_have_file_line_and_code_and_the_tree_gets_no_cache(repo_root, tmp_path):
    write(tmp_path, {"app/half.py": TYPE_ERROR, "app/ok.py": CLEAN})
    result, tools, mypy = lint_json(repo_root, tmp_path)
    assert result.returncode == 1, result.stderr
    assert mypy == [("app/half.py", 5, 13, "assignment")]
    assert (tools["mypy"]["files_checked"], tools["mypy"]["findings"]) == (2, 1)
    assert tools["ruff"]["findings"] == 0
    assert "bakehouse: mypy: 2 files checked, 1 finding" in result.stderr
    assert not (tmp_path / ".mypy_cache").exists()


def test_the_trees_own_mypy_config_chooses_the_files(repo_root, tmp_path):
    write(
        tmp_path,
        {
            "pyproject.toml": '[tool.mypy]\nfiles = ["src"]\n',
            "src/ok.py": CLEAN,
            "scripts/half.py": TYPE_ERROR,
        },
    )
    result, tools, mypy = lint_json(repo_root, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tools["mypy"]["files_checked"], mypy) == (1, [])
