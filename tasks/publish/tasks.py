"""`inv publish` and `inv publish.merge`: thin wrappers over tasks.publish.push (imported when the
task runs: see tasks/cli/__init__.py)."""

from __future__ import annotations

from invoke import Context

from ..cli.context import settings, task


@task(
    default=True,
    iterable=["target", "matrix"],
    help={
        "target": "target or group to publish (repeatable; default: publish.targets)",
        "matrix": "narrow the matrix: NAME=VALUE, singular name for one value, plural for a JSON array",
        "cell": "exactly this matrix cell: an id from `inv ci.matrix` (debian--trixie-slim--default--amd64)",
        "dry_run": "print each cell's content tag and whether the registry has it; change nothing",
        "by_digest": "content tags only (no human tags, no multi-platform index); each cell's digest "
        "recorded in build/publish-digests for `inv publish.merge` (one CI job per cell)",
        "builder": "builder name ('default' = the engine's own builder; default: the configured one)",
        "progress": "auto | plain | tty | quiet | rawjson",
    },
)
def publish(
    c: Context,
    target: list[str] | None = None,
    matrix: list[str] | None = None,
    cell: str | None = None,
    dry_run: bool = False,
    by_digest: bool = False,
    builder: str | None = None,
    progress: str | None = None,
) -> None:
    """Push the publishable targets of every matrix cell under content tags; skip the published ones."""
    from ..bake.cells import with_cell
    from .push import publish_images

    config = settings(c)
    publish_images(
        config,
        target or [],
        matrix_overrides=with_cell(config, cell, matrix or []),
        builder=builder,
        dry_run=dry_run,
        progress=progress,
        by_digest=by_digest,
    )


@task(
    iterable=["target", "matrix"],
    help={
        "digests": "directory of the cells' digest records (`inv publish --by-digest`), at any depth",
        "target": "target or group, as given to `inv publish` (default: publish.targets)",
        "matrix": "narrow the matrix, as given to `inv publish` (default: every cell)",
        "dry_run": "print the plan and check the records against the registry; change nothing",
        "builder": "the builder whose registry settings (CA, plain http) the index is written with",
    },
)
def merge(
    c: Context,
    digests: str,
    target: list[str] | None = None,
    matrix: list[str] | None = None,
    dry_run: bool = False,
    builder: str | None = None,
) -> None:
    """After `inv publish --by-digest` in every cell's job: check the recorded digests, put the human
    tags on, write one index per multi-platform image."""
    from .push import merge_published

    config = settings(c)
    merge_published(
        config,
        config.path(digests),
        target or [],
        matrix_overrides=matrix or [],
        builder=builder,
        dry_run=dry_run,
    )
