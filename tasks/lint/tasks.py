"""`inv lint` tasks: thin wrappers over tasks.lint.suite and tasks.lint.pin_fix (imported when a task
runs: see tasks/cli/__init__.py)."""

from __future__ import annotations

import sys

from invoke import Context

from ..cli.context import settings, task
from ..shared.errors import BakehouseError, bad_input

# The report formats of `inv lint`, here for its --help; tests/unit/layout checks they are findings'.
FORMATS = ("tty", "checkstyle", "json", "sarif", "html")


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
    """shellcheck, hadolint, digest pins, bake definition, ruff, mypy, actionlint; exit 0 only when clean."""
    from ..builder.lifecycle import require_builder, resolve_builder_name
    from ..shared.engine import require_engine
    from ..shared.process import say
    from .bake_tree import BakeTree
    from .findings import render
    from .suite import lint_tree
    from .tree import tree_root

    if format not in FORMATS:
        raise bad_input(f"--format {format}: expected one of {', '.join(FORMATS)}")
    if builder:
        # Named explicitly, it must exist (a typo is not a skip); checked before --fix changes files.
        require_engine()
        require_builder(resolve_builder_name(settings(c), builder))
    tree = BakeTree.of(settings(c), tree_root(path, settings(c).root), bake_file or [])
    results = lint_tree(settings(c), tree, fix, builder)
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
    from .bake_tree import BakeTree
    from .pin_fix import pin_tree
    from .tree import tree_root

    pin_tree(
        settings(c),
        BakeTree.of(settings(c), tree_root(path, settings(c).root), bake_file or []),
        dry_run=dry_run,
    )
