"""Every lint tool over one tree, in the report's order: shellcheck, hadolint, pins, bake, ruff, mypy,
and actionlint where the tree has GitHub workflows.

The tools run side by side (``tasks.lint.steps``), each once over all of its files; the report is
assembled afterwards in its fixed order, so it reads exactly as a sequential run's would. Findings
are merged into one report; the exit status is 0 only when every tool is clean.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from ..shared.settings import Settings
from . import files as lint_files
from .actionlint import run_actionlint
from .bake_tree import (
    BakeTree,
    Resolution,
    bake_definition_result,
    resolve_default,
    resolve_full,
    run_bake_checks,
)
from .findings import ToolResult
from .pin_fix import run_pins
from .steps import Step, Steps
from .tools import run_hadolint, run_mypy, run_ruff, run_shellcheck
from .tree import excluded_patterns, tree_files


def lint_workers(cpus: int | None) -> int:
    """One step more than cores (at least 2): bake's checks mostly wait on BuildKit, and a third
    step keeps both cores busy meanwhile."""
    return max(2, (cpus or 1) + 1)


def lint_tree(config: Settings, tree: BakeTree, fix: bool, builder: str | None) -> list[ToolResult]:
    root = tree.root
    # Built here, once: the steps read the settings from several threads.
    # (the settings were built once, by the task layer)
    files = tree_files(root, excluded_patterns(config, root))
    scripts = lint_files.shell_scripts(root, files)
    dockerfiles = lint_files.dockerfiles(files)
    python_files = lint_files.python_files(files)
    workflows = lint_files.workflow_files(files)
    steps = Steps(lint_workers(os.cpu_count()))
    # bake's chain is the longest (print, then check), so it is added, and started, first.
    bake = _add_bake_steps(config, steps, tree, dockerfiles, builder)
    shellcheck = steps.add("shellcheck", lambda: run_shellcheck(root, scripts, fix))
    hadolint = steps.add("hadolint", lambda: run_hadolint(root, dockerfiles))
    ruff = steps.add("ruff", lambda: run_ruff(root, python_files, fix))
    # Only this repository keeps mypy's cache (.mypy_cache, ignored by git); another tree is left as it was.
    keep_cache = root == config.root
    # With --fix, ruff rewrites the files mypy reads: mypy checks them once ruff is done.
    mypy = steps.add(
        "mypy", lambda: run_mypy(root, python_files, keep_cache=keep_cache), after=[ruff] if fix else []
    )
    # Only a tree with workflows has an actionlint line (and needs actionlint at all).
    actionlint = [steps.add("actionlint", lambda: run_actionlint(root, workflows))] if workflows else []
    steps.run()
    return [
        shellcheck.result(),
        hadolint.result(),
        *(step.result() for step in bake),
        ruff.result(),
        mypy.result(),
        *(step.result() for step in actionlint),
    ]


def _add_bake_steps(
    config: Settings, steps: Steps, tree: BakeTree, dockerfiles: Sequence[str], builder: str | None
) -> list[Step[ToolResult]]:
    """The pins, bake and bake-check steps, in the report's order."""
    root = tree.root
    if not (tree.files or tree.missing):
        pins = steps.add("pins", lambda: run_pins(config, root, dockerfiles, {}))
        skipped = ToolResult("bake", skipped=tree.unusable or "no bake files in this tree")
        return [pins, steps.add("bake", lambda: skipped)]
    if tree.missing:
        # Named files that are all missing still run: the missing ones are findings; bake can't
        # resolve a tree with a file missing, so nothing is printed or checked.
        return [
            steps.add("pins", lambda: run_pins(config, root, dockerfiles, {})),
            steps.add("bake", lambda: bake_definition_result(tree, None, None)),
            steps.add("bake-check", lambda: run_bake_checks(config, tree, {}, builder)),
        ]
    default = steps.add("bake-print-default", lambda: resolve_default(config, tree))
    full = steps.add("bake-print-full", lambda: resolve_full(config, tree))
    check = steps.add(
        "bake-check", lambda: run_bake_checks(config, tree, default.result().plan, builder), after=[default]
    )
    pins = steps.add("pins", lambda: run_pins(config, root, dockerfiles, full.result().plan), after=[full])
    bake = steps.add("bake", lambda: _definition(tree, default, full), after=[default, full])
    return [pins, bake, check]


def _definition(tree: BakeTree, default: Step[Resolution], full: Step[Resolution]) -> ToolResult:
    return bake_definition_result(tree, default.result(), full.result())
