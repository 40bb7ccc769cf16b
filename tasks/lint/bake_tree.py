"""The linted tree's bake files and their checks: the definition resolves (default targets, full
matrix) and `bake --call check` of the default targets."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..bake import definition as bake_plan
from ..bake.matrix import parse_vector
from ..builder.lifecycle import resolve_builder_name
from ..shared.command import Command
from ..shared.errors import BakehouseError
from ..shared.process import failure_reason, run
from ..shared.settings import Settings
from . import bake_checks as lint_bake
from . import files as lint_files
from .findings import Finding, ToolResult
from .tree import excluded_patterns, tree_files


@dataclass(frozen=True)
class BakeTree:
    """The linted tree's bake files: --bake-file, the configured ones, or those found in another tree."""

    root: Path
    files: tuple[str, ...]
    missing: tuple[str, ...]
    configured: bool
    # The files were found by looking through another tree (find_bake_files), not named.
    found: bool = False
    # Why no bake file is linted (none found, or found ones that can't go together): a skip.
    unusable: str = ""

    @classmethod
    def of(cls, config: Settings, root: Path, names: Sequence[str]) -> BakeTree:
        configured = list(config.bake.files)
        # Another tree uses this repository's bake files only when it has all of them (a checkout of
        # bakehouse); otherwise its own are looked for.
        use_configured = root == config.root or (
            bool(configured) and all((root / name).is_file() for name in configured)
        )
        if not names and not use_configured:
            found = lint_files.find_bake_files(root, tree_files(root, excluded_patterns(config, root)))
            return cls(root, found.files, (), False, bool(found.files), _unusable_reason(root, found))
        wanted = list(names) or configured
        present = tuple(name for name in wanted if (root / name).is_file())
        missing = tuple(name for name in wanted if name not in present)
        return cls(root, present, missing, not names)

    def command(self, *args: str) -> Command:
        # The CLI: python-on-whales' buildx.bake has no --call and no --allow.
        return Command("docker", "buildx", "bake", *args).options("-f", self.files)


def _unusable_reason(root: Path, found: lint_files.BakeFiles) -> str:
    if found.clashes:
        names = ", ".join(name for name, _ in found.clashes)
        paths = sorted(
            {path for _, defining in found.clashes for path in defining}, key=lint_files.bake_file_order
        )
        return (
            f"bake files in different directories define the same target/group names ({names}):"
            f" {', '.join(paths)};"
            " bake would merge them into one definition, so pass --bake-file (repeatable) to choose"
        )
    if found.files:
        return ""
    outside = ", ".join(f"{name}/" for name in sorted(lint_files.NOT_OWN_DIRS))
    looked_for = f"docker-bake.* and any *.hcl or *.json defining a target, outside {outside}"
    return f"no bake files found under {root} (looked for {looked_for}); pass --bake-file"


def _bake_env(config: Settings, matrix_overrides: Sequence[str]) -> dict[str, str]:
    # The environment the bake runner builds with (matrix, git and Go variables).
    return bake_plan.bake_env(config, bake_plan.resolve_matrix(config, matrix_overrides))


def full_matrix_overrides(config: Settings) -> list[str]:
    """``NAME=JSON`` overrides for every allowed value of every dimension (lint.full_matrix)."""
    dimensions = config.lint.full_matrix or config.bake.matrix
    # A dimension may be given as the JSON array text bake reads.
    return lint_bake.full_matrix_variables(
        {k: parse_vector(k, vs) if isinstance(vs, str) else vs for k, vs in dimensions.items()}
    )


def bake_print(
    config: Settings, tree: BakeTree, targets: Sequence[str], matrix_overrides: Sequence[str]
) -> dict[str, Any]:
    """The resolved definition of ``targets``: as the bake runner resolves it for the configured
    files, bake's plain view for another tree's. Raises BakehouseError with bake's own line."""
    env = _bake_env(config, matrix_overrides)
    try:
        return bake_plan.print_plan(tree.files, targets, env, tree.root, as_built=tree.configured)
    except bake_plan.BakeRejected as exc:
        if tree.configured:
            raise  # the runner's own words, as `inv build` says them
        raise BakehouseError(exc.why) from None


def bake_targets(config: Settings, tree: BakeTree, matrix_overrides: Sequence[str]) -> list[str]:
    """Every group and target name bake knows under this matrix."""
    try:
        rows = bake_plan.list_names(tree.files, _bake_env(config, matrix_overrides), tree.root)
    except bake_plan.BakeRejected as exc:
        raise BakehouseError(exc.why) from None
    return [str(entry["name"]) for entry in rows]


def full_plan(config: Settings, tree: BakeTree) -> dict[str, Any]:
    """Every target of the tree over the full matrix."""
    overrides = full_matrix_overrides(config)
    return bake_print(config, tree, bake_targets(config, tree, overrides), overrides)


def _bake_error_finding(message: str, files: Sequence[str], what: str) -> Finding:
    # bake names the file and position as "file.hcl:LINE,COL-COL: ..." when it knows them.
    match = re.search(r"(?P<file>[^\s:]+\.hcl):(?P<line>\d+)(?:,(?P<col>\d+))?", message)
    if match and match["file"] in files:
        line, column = int(match["line"]), int(match["col"] or 0)
        return Finding(match["file"], line, column, "bake", what, "error", message)
    return Finding(files[0], 1, 0, "bake", what, "error", message)


@dataclass(frozen=True)
class Resolution:
    """One `bake --print` of the tree: the resolved definition, or the finding that says why not."""

    plan: dict[str, Any]
    finding: Finding | None = None


def resolve_default(config: Settings, tree: BakeTree) -> Resolution:
    """The default targets under the default vectors."""
    try:
        return Resolution(bake_print(config, tree, config.bake.default_targets, ()))
    except BakehouseError as exc:
        return Resolution({}, _bake_error_finding(exc.reason, tree.files, "print-default"))


def resolve_full(config: Settings, tree: BakeTree) -> Resolution:
    """Every target over the full matrix."""
    try:
        return Resolution(full_plan(config, tree))
    except BakehouseError as exc:
        return Resolution({}, _bake_error_finding(exc.reason, tree.files, "print-full-matrix"))


def bake_definition_result(tree: BakeTree, default: Resolution | None, full: Resolution | None) -> ToolResult:
    """The bake summary: missing files, then why the default targets, then the full matrix, don't
    resolve. ``None``: not resolved (a file is missing)."""
    result = ToolResult("bake", files_checked=len(tree.files))
    for name in tree.missing:
        message = f"{name} is a bake file of this tree but missing"
        result.findings.append(Finding(name, 1, 0, "bake", "missing-file", "error", message))
    result.findings += [r.finding for r in (default, full) if r is not None and r.finding is not None]
    if tree.found:
        result.note = f"found {', '.join(tree.files)}"
    return result


def run_bake_definition(
    config: Settings, tree: BakeTree
) -> tuple[ToolResult, dict[str, Any], dict[str, Any]]:
    """Resolve the default targets (default vectors) and every target over the full matrix.

    Returns the result and both resolved definitions (default targets, full matrix; empty on failure).
    """
    if tree.missing:
        # bake can't resolve a tree with a file missing; the result's findings say which.
        return bake_definition_result(tree, None, None), {}, {}
    default, full = resolve_default(config, tree), resolve_full(config, tree)
    return bake_definition_result(tree, default, full), default.plan, full.plan


def _builder_for_checks(config: Settings, name: str | None) -> str:
    return resolve_builder_name(config, name or config.lint.check_builder or None)


def builder_exists(name: str) -> bool:
    return run(["docker", "buildx", "inspect", name], check=False).ok


def run_bake_checks(
    config: Settings, tree: BakeTree, default_plan: Mapping[str, Any], builder: str | None
) -> ToolResult:
    """`bake --call check` of the default targets, when the builder's frontend can run checks."""
    result = ToolResult(
        "bake-check", files_checked=len(lint_bake.bindings_from_print(default_plan, tree.root))
    )
    if not default_plan:
        result.skipped = "the default targets don't resolve (see bake)"
        return result
    name = _builder_for_checks(config, builder)
    command = (
        tree.command("--builder", name, "--call", "check,format=json")
        # bake refuses targets that declare entitlements unless they are allowed, even for checks.
        .options("--allow", list(config.bake.allow), joined=True)
        .args(*lint_bake.check_overrides(default_plan))
        .args(*config.bake.default_targets)
    )
    completed = run(command, check=False, cwd=tree.root, env=_bake_env(config, ()), timeout=600)
    # Whether the builder exists is asked only when the check failed: a lookup first would cost
    # every run a round trip to the builder.
    if not completed.ok and not builder_exists(name):
        result.skipped = f"builder {name} does not exist (inv builder.create, or --builder NAME)"
        return result
    output = completed.stderr + completed.stdout
    if not completed.ok and (syntax_line := lint_bake.unpulled_frontend(output, default_plan, tree.root)):
        # Not the builder's age: the frontend image the tree asks for can't be pulled (registry-free,
        # `inv build` supplies docker/dockerfile 1.x; see docs/foreign-trees.md).
        result.skipped = f"builder {name} can't pull the Dockerfile frontend that {syntax_line} names"
        return result
    if not completed.ok and lint_bake.checks_unsupported(output):
        result.skipped = f"builder {name} can't run checks (its Dockerfile frontend is too old)"
        return result
    try:
        result.findings = lint_bake.findings_from_check(completed.stdout, tree.root, default_plan)
    except json.JSONDecodeError:
        result.findings = []
    if not completed.ok and not result.findings:
        result.findings = [_bake_error_finding(failure_reason(completed.stderr), tree.files, "check")]
    return result
