"""`inv lint` tasks: thin wrappers over tasks.lint.runner."""

from __future__ import annotations

import sys
from typing import Any

from invoke import Context, task

from tasks.builder.service import require_builder, resolve_builder_name
from tasks.lint import files as lint_files
from tasks.lint import pins as lint_pins
from tasks.lint.findings import (
    FORMATS,
    relative_path,
    render,
)
from tasks.lint.runner import (
    BakeTree,
    _exclude,
    full_plan,
    image_digest,
    lint_tree,
    tree_files,
    tree_root,
    unpinned_references,
)
from tasks.shared.engine import require_engine
from tasks.shared.errors import BakehouseError, bad_input
from tasks.shared.process import REPO_ROOT, say


@task(
    default=True,
    help={
        "path": "lint another tree (default: this repository)",
        "format": "tty (default) | checkstyle | json | sarif | html (a page for people)",
        "fix": "let the tools that can fix things do so first (ruff, shellcheck)",
        "builder": "builder for `bake --call check` (default: the bakehouse builder)",
        "bake_file": "bake file of the linted tree, relative to it (repeatable; default: bake.files,"
        " or the tree's own bake files with --path)",
    },
    iterable=["bake_file"],
)
def check(
    c: Context,
    path: str | None = None,
    format: str = "tty",  # noqa: A002 - the option is --format
    fix: bool = False,
    builder: str | None = None,
    bake_file: list[str] | None = None,
) -> None:
    """shellcheck, hadolint, digest pins, bake definition and ruff; exit 0 only when clean."""
    if format not in FORMATS:
        raise bad_input(f"--format {format}: expected one of {', '.join(FORMATS)}")
    if builder:
        # Named explicitly, it must exist (a typo is not a skip); checked before --fix changes files.
        require_engine()
        require_builder(resolve_builder_name(c, builder))
    tree = BakeTree.of(c, tree_root(path), bake_file or [])
    results = lint_tree(c, tree, fix, builder)
    report = render(results, format)
    sys.stdout.write(report)
    if format != "tty":
        for result in results:
            say(result.summary())
    total = sum(len(result.findings) for result in results)
    if total:
        raise BakehouseError(f"lint: {total} finding{'s' if total != 1 else ''}")


@task(
    help={
        "path": "pin another tree (default: this repository)",
        "dry_run": "show what would be written, change nothing",
        "bake_file": "bake file of the tree, relative to it (repeatable; default: bake.files,"
        " or the tree's own bake files with --path)",
    },
    iterable=["bake_file"],
)
def pin(
    c: Context, path: str | None = None, dry_run: bool = False, bake_file: list[str] | None = None
) -> None:
    """Look up digests of unpinned images and write them into the Dockerfiles (needs a registry)."""
    tree = BakeTree.of(c, tree_root(path), bake_file or [])
    root = tree.root
    dockerfiles = lint_files.dockerfiles(tree_files(root, _exclude(c, root)))
    printed: dict[str, Any] = {}
    if tree.files and not tree.missing:
        try:
            printed = full_plan(c, tree)
        except BakehouseError as exc:
            say(f"bake definition not resolved ({exc.reason}); pinning from the Dockerfiles alone")
    issues = unpinned_references(c, root, dockerfiles, printed)
    if not issues:
        print("pins: every registry image is pinned or allowed; nothing to do")
        return
    digests: dict[str, str] = {}
    failures: list[str] = []
    for reference in sorted({issue.reference for issue in issues if issue.literal}):
        try:
            digests[reference] = image_digest(reference)
        except BakehouseError as exc:
            failures.append(exc.reason)
    written = 0
    for issue in issues:
        location = f"{issue.path}:{issue.line}"
        if not issue.literal:
            print(f"{location}: {issue.finding().message}: pin it where the value is set")
            continue
        digest = digests.get(issue.reference)
        if digest is None:
            continue
        file_path = root / issue.path
        lines = file_path.read_text().splitlines(keepends=True)
        updated = lint_pins.pinned_line(lines[issue.line - 1], issue.reference, digest)
        print(f"{location}: {issue.reference} -> {issue.reference}@{digest}{' (dry run)' if dry_run else ''}")
        if updated == lines[issue.line - 1]:
            continue
        written += 1
        if not dry_run:
            lines[issue.line - 1] = updated
            file_path.write_text("".join(lines))
    for failure in failures:
        print(f"unresolved: {failure}")
    if failures and not digests:
        raise BakehouseError(
            f"no registry reachable for {len(failures)} image(s); nothing written (first: {failures[0]})"
        )
    pinned = f"{written} line(s) {'would be ' if dry_run else ''}pinned"
    if failures:
        raise BakehouseError(f"{len(failures)} image(s) could not be resolved; {pinned}")
    say(f"pins: {pinned} in {relative_path(str(root), REPO_ROOT)}")
