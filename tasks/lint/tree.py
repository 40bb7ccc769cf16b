"""The linted tree: its root, its files (git's view where it is a work tree) and the configured
excludes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..shared.errors import bad_input
from ..shared.process import git
from ..shared.settings import Settings
from . import files as lint_files


def tree_root(path: str | None, project_root: Path) -> Path:
    root = Path(path).resolve() if path else project_root
    if not root.is_dir():
        raise bad_input(f"--path {path}: not a directory")
    return root


def tree_files(root: Path, exclude: Sequence[str]) -> list[str]:
    """The tree's files: git's view (tracked + untracked, .gitignore honoured) when it is a work tree."""
    listed = git("ls-files", "--cached", "--others", "--exclude-standard", "-z", cwd=root)
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


def excluded_patterns(config: Settings, root: Path) -> list[str]:
    # The configured excludes describe this repository, not trees linted with --path.
    return list(config.lint.exclude) if root == config.root else []
