"""`inv publish`: a thin wrapper over tasks.publish.push (imported when the task runs: see
tasks/cli/__init__.py)."""

from __future__ import annotations

from invoke import Context

from ..cli.context import settings, task


@task(
    default=True,
    iterable=["target", "matrix"],
    help={
        "target": "target or group to publish (repeatable; default: publish.targets)",
        "matrix": "narrow the matrix: NAME=VALUE, singular name for one value, plural for a JSON array",
        "dry_run": "print each cell's content tag and whether the registry has it; change nothing",
        "builder": "builder name ('default' = the engine's own builder; default: the configured one)",
        "progress": "auto | plain | tty | quiet | rawjson",
    },
)
def publish(
    c: Context,
    target: list[str] | None = None,
    matrix: list[str] | None = None,
    dry_run: bool = False,
    builder: str | None = None,
    progress: str | None = None,
) -> None:
    """Push the publishable targets of every matrix cell under content tags; skip the published ones."""
    from .push import publish_images

    publish_images(
        settings(c),
        target or [],
        matrix_overrides=matrix or [],
        builder=builder,
        dry_run=dry_run,
        progress=progress,
    )
