"""`inv verify` and `inv export`: thin wrappers over tasks.release.verify and tasks.release.export
(imported when a task runs: see tasks/cli/__init__.py)."""

from __future__ import annotations

import sys
from pathlib import Path

from invoke import Context

from ..cli.context import settings, task
from ..shared.errors import bad_input

_HELP = {
    "target": "target or group (repeatable; default: release.targets in invoke.yaml)",
    "matrix": "narrow the matrix: NAME=VALUE, singular name for one value, plural for a JSON array",
    "set": "override a target value: pattern.key=value (repeatable)",
    "progress": "auto | plain | tty | quiet | rawjson",
}


@task(iterable=["target", "matrix", "set"], help=_HELP)
def verify(
    c: Context,
    target: list[str] | None = None,
    matrix: list[str] | None = None,
    set: list[str] | None = None,  # noqa: A002 - the option is --set, like bake's
    progress: str | None = None,
) -> None:
    """Build targets twice on two fresh builders and compare the images bit for bit."""
    from .oci_build import release_targets
    from .verify import report, verify_targets

    targets = release_targets(target or [], settings(c).release)
    comparisons = verify_targets(
        settings(c), targets, matrix_overrides=matrix or [], sets=set or [], progress=progress
    )
    report(comparisons)


@task(
    iterable=["target", "matrix", "set"],
    help={
        "oci": "directory to write into: one OCI image layout per target and matrix cell, and one per "
        "multi-platform image (its index)",
        "builder": "build on this docker-container builder, with its cache (default: a fresh builder)",
        **_HELP,
    },
)
def export(
    c: Context,
    oci: str | None = None,
    target: list[str] | None = None,
    matrix: list[str] | None = None,
    set: list[str] | None = None,  # noqa: A002 - the option is --set, like bake's
    builder: str | None = None,
    progress: str | None = None,
) -> None:
    """Write targets as OCI image layouts (reproducible: SOURCE_DATE_EPOCH, rewrite-timestamp)."""
    from .export import export_layouts
    from .oci_build import release_targets

    if not oci:
        raise bad_input("--oci DIR is required (the only export format)")
    targets = release_targets(target or [], settings(c).release)
    exported = export_layouts(
        settings(c),
        Path(oci),
        targets,
        matrix_overrides=matrix or [],
        sets=set or [],
        builder=builder,
        progress=progress,
    )
    for layout in exported:
        # A multi-platform image's layout: its index, which names the images.
        listed = [layout.index] if layout.index else [image.manifest for image in layout.images]
        sys.stdout.write(f"{layout.path}\t{', '.join(descriptor.digest for descriptor in listed)}\n")
