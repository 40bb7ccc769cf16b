"""Every lint tool over one tree, in the report's order: shellcheck, hadolint, pins, bake, ruff, mypy.

Findings are merged into one report; the exit status is 0 only when every tool is clean.
"""

from __future__ import annotations

from invoke import Context

from tasks.lint import files as lint_files
from tasks.lint.bake_tree import BakeTree, run_bake_checks, run_bake_definition
from tasks.lint.findings import ToolResult
from tasks.lint.pinning import run_pins
from tasks.lint.tools import run_hadolint, run_mypy, run_ruff, run_shellcheck
from tasks.lint.tree import excluded_patterns, tree_files
from tasks.shared.process import REPO_ROOT


def lint_tree(c: Context, tree: BakeTree, fix: bool, builder: str | None) -> list[ToolResult]:
    root = tree.root
    files = tree_files(root, excluded_patterns(c, root))
    scripts = lint_files.shell_scripts(root, files)
    dockerfiles = lint_files.dockerfiles(files)
    results = [run_shellcheck(root, scripts, fix), run_hadolint(root, dockerfiles)]
    # Named files that are all missing still run: the missing ones are findings.
    if tree.files or tree.missing:
        bake_result, default_plan, printed = run_bake_definition(c, tree)
        if tree.found:
            bake_result.note = f"found {', '.join(tree.files)}"
        results.append(run_pins(c, root, dockerfiles, printed))
        results.append(bake_result)
        results.append(run_bake_checks(c, tree, default_plan, builder))
    else:
        results.append(run_pins(c, root, dockerfiles, {}))
        results.append(ToolResult("bake", skipped=tree.unusable or "no bake files in this tree"))
    python_files = lint_files.python_files(files)
    results.append(run_ruff(root, python_files, fix))
    # Only this repository keeps mypy's cache (.mypy_cache, ignored by git); another tree is left as it was.
    results.append(run_mypy(root, python_files, keep_cache=root == REPO_ROOT))
    return results
