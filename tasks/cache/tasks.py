"""`inv cache` tasks: thin wrappers over tasks.cache.maintenance (imported when a task runs: see
tasks/cli/__init__.py)."""

from __future__ import annotations

from json import dumps as json_dumps

from invoke import Context

from ..cli.context import settings, task
from ..shared.errors import bad_input


@task(help={"builder": "builder name (default: the bakehouse builder)", "json": "print JSON"})
def du(c: Context, builder: str | None = None, json: bool = False) -> None:
    """The builder's disk usage by record type: cache mounts, layers, source, other."""
    from ..builder.lifecycle import resolve_builder_name
    from .bake_cache import builder_record
    from .maintenance import usage
    from .usage import render_summary

    name = resolve_builder_name(settings(c), builder)
    builder_record(name)
    summary = usage(name)
    if json:
        print(json_dumps({"builder": name, **summary.as_json()}, indent=2))
        return
    print("\n".join(render_summary(summary, name)))


@task(
    iterable=["filter"],
    help={
        "builder": "builder name (default: the bakehouse builder)",
        "all": "also internal and frontend records (buildx --all)",
        "until": "only records unused for longer than this Go duration, e.g. 168h",
        "filter": "buildx filter KEY=VALUE, e.g. type=exec.cachemount (repeatable)",
        "reserved_space": "always keep this much (e.g. 10GB)",
        "max_used_space": "prune down to at most this much",
        "min_free_space": "prune until the disk has this much free",
        "orphans": "remove buildx_buildkit_*_state volumes of builders that no longer exist "
        "(with --builder: only that builder's)",
        "exported": "delete blobs of the local cache export directory that no target's index uses any more",
        "dry_run": "with --orphans: only list them",
    },
)
def prune(
    c: Context,
    builder: str | None = None,
    all: bool = False,  # noqa: A002 - the option is --all
    until: str | None = None,
    filter: list[str] | None = None,  # noqa: A002 - the option is --filter
    reserved_space: str | None = None,
    max_used_space: str | None = None,
    min_free_space: str | None = None,
    orphans: bool = False,
    exported: bool = False,
    dry_run: bool = False,
) -> None:
    """Remove build cache; prints what buildx reclaimed (its Total:) and usage before and after."""
    from ..builder.lifecycle import resolve_builder_name
    from ..builder.naming import validate_builder_name
    from .maintenance import prune_builder, prune_exported, prune_orphans
    from .usage import prune_command

    cache_options = all or until or filter or reserved_space or max_used_space or min_free_space
    if orphans:
        if cache_options or exported:
            raise bad_input("--orphans removes state volumes only; run the other prune options separately")
        if builder:
            validate_builder_name(builder)
        prune_orphans(builder, dry_run)
        return
    if dry_run:
        # Without --orphans there is nothing to list: pruning would go ahead, which is not what was asked.
        raise bad_input("--dry-run only works with --orphans (buildx prune can't say what it would remove)")
    if exported:
        if cache_options or builder:
            raise bad_input("--exported cleans the cache export directory only; prune the builder separately")
        prune_exported(settings(c))
        return
    name = resolve_builder_name(settings(c), builder)
    command = prune_command(
        name,
        include_all=all,
        until=until,
        filters=filter or (),
        reserved_space=reserved_space,
        max_used_space=max_used_space,
        min_free_space=min_free_space,
    )
    prune_builder(name, command)


@task(help={"builder": "builder name (default: the bakehouse builder)", "json": "print JSON"})
def status(c: Context, builder: str | None = None, json: bool = False) -> None:
    """Disk usage plus the builder's GC policies in words and how close usage is to each limit."""
    from ..builder.lifecycle import resolve_builder_name
    from .maintenance import show_status

    show_status(resolve_builder_name(settings(c), builder), as_json=json)
