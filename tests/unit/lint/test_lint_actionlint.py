"""actionlint in `inv lint`: which files are workflows, its JSON as findings, and the suite's line for it.

The suite tests run the real actionlint of the venv (built into it on first use when it isn't there).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasks.lint import files as lint_files
from tasks.lint import suite
from tasks.lint.actionlint import actionlint_path, run_actionlint
from tasks.lint.bake_tree import BakeTree
from tasks.lint.findings import Finding, ToolResult, parse_actionlint, render

ROOT = Path("/work/tree")

# Real output of actionlint 1.7.12 -format '{{json .}}' (one check of its own, one of shellcheck's).
ACTIONLINT = json.dumps(
    [
        {"message": 'property "nothing" is not defined in object type {}',
         "filepath": ".github/workflows/a.yml", "line": 7, "column": 23, "kind": "expression",
         "snippet": "      - run: echo ${{ matrix.nothing }}", "end_column": 36},
        {"message": "shellcheck reported issue in this script: SC2086:info:1:6: Double quote to prevent"
         " globbing and word splitting", "filepath": "/work/tree/.github/workflows/a.yml", "line": 8,
         "column": 9, "kind": "shellcheck", "snippet": "      - run: echo $FOO", "end_column": 12},
        {"message": "could not parse as YAML: did not find expected node content",
         "filepath": ".github/workflows/b.yaml", "line": 1, "column": 0, "kind": "syntax-check",
         "snippet": "name: [", "end_column": 0},
    ]
)  # fmt: skip

BROKEN_WORKFLOW = """\
name: broken
on: push
jobs:
  test:
    runs-on: ubuntu-24.04
    steps:
      - run: echo ${{ matrix.nothing }}
"""
CLEAN_WORKFLOW = """\
name: clean
on: push
jobs:
  test:
    runs-on: ubuntu-24.04
    steps:
      - run: echo hello
"""


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        (".github/workflows/ci.yml", True),
        (".github/workflows/release.yaml", True),
        (".github/workflows/notes.md", False),
        (".github/workflows/nested/ci.yml", False),  # GitHub reads the directory itself only
        (".github/dependabot.yml", False),
        ("tests/fixtures/lint/.github/workflows/ci.yml", False),  # another tree's, not this one's
    ],
)
def test_workflows_are_the_yaml_files_of_the_roots_workflows_directory(relative, expected):
    assert lint_files.is_workflow(relative) is expected


def test_actionlint_errors_become_findings():
    assert parse_actionlint(ACTIONLINT, ROOT) == [
        Finding(".github/workflows/a.yml", 7, 23, "actionlint", "expression", "error",
                'property "nothing" is not defined in object type {}'),
        Finding(".github/workflows/a.yml", 8, 9, "actionlint", "SC2086", "info",
                "shellcheck reported issue in this script: SC2086:info:1:6: Double quote to prevent globbing"
                " and word splitting"),
        Finding(".github/workflows/b.yaml", 1, 0, "actionlint", "syntax-check", "error",
                "could not parse as YAML: did not find expected node content"),
    ]  # fmt: skip


@pytest.mark.parametrize("output", ["", "[]\n", "null\n"])
def test_no_errors_is_no_findings(output):
    assert parse_actionlint(output, ROOT) == []


def test_its_findings_read_like_every_other_tools():
    findings = parse_actionlint(ACTIONLINT, ROOT)
    from_tools = ToolResult("actionlint", files_checked=2, findings=findings)
    assert render([from_tools], "tty").splitlines() == [
        '.github/workflows/a.yml:7:23: error: property "nothing" is not defined in object type {}'
        " [actionlint expression]",
        ".github/workflows/a.yml:8:9: info: shellcheck reported issue in this script: SC2086:info:1:6: "
        "Double quote to prevent globbing and word splitting [actionlint SC2086]",
        ".github/workflows/b.yaml:1: error: could not parse as YAML: did not find expected node content"
        " [actionlint syntax-check]",
        "actionlint: 2 files checked, 3 findings",
    ]


def test_the_venvs_actionlint_checks_a_trees_workflows(tmp_path, write_tree):
    write_tree(
        tmp_path,
        {".github/workflows/broken.yml": BROKEN_WORKFLOW, ".github/workflows/ok.yml": CLEAN_WORKFLOW},
    )
    assert actionlint_path().exists()
    result = run_actionlint(tmp_path, [".github/workflows/broken.yml", ".github/workflows/ok.yml"])
    assert result.summary() == "actionlint: 2 files checked, 1 finding"
    assert [(f.path, f.line, f.rule) for f in result.findings] == [
        (".github/workflows/broken.yml", 7, "expression")
    ]


def tree_without_bake(root: Path) -> BakeTree:
    return BakeTree(root, (), (), configured=False, unusable="no bake files")


def test_a_tree_with_workflows_gets_an_actionlint_line_last(make_settings, tmp_path, write_tree):
    write_tree(tmp_path, {".github/workflows/broken.yml": BROKEN_WORKFLOW, "README.md": "a tree\n"})
    results = suite.lint_tree(make_settings(), tree_without_bake(tmp_path), False, None)
    assert [result.tool for result in results] == [
        "shellcheck", "hadolint", "pins", "bake", "ruff", "mypy", "actionlint",
    ]  # fmt: skip
    assert [finding.rule for finding in results[-1].findings] == ["expression"]


def test_a_tree_without_workflows_has_no_actionlint_line(make_settings, tmp_path, write_tree):
    write_tree(tmp_path, {"README.md": "a tree\n", "docs/ci.yml": CLEAN_WORKFLOW})
    results = suite.lint_tree(make_settings(), tree_without_bake(tmp_path), False, None)
    assert "actionlint" not in [result.tool for result in results]
