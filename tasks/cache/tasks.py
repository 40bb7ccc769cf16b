"""`inv cache` tasks: thin wrappers over tasks.cache.service."""

from __future__ import annotations

from dataclasses import asdict
from json import dumps as json_dumps

from invoke import Context, task

from tasks.builder import gc_policy as cache_gc
from tasks.builder.naming import validate_builder_name
from tasks.builder.service import resolve_builder_name
from tasks.cache.service import (
    builder_entry,
    cache_settings,
    collect_exported_garbage,
    engine_disk_free,
    prune_orphans,
    supported_prune_flags,
    usage,
)
from tasks.cache.usage import (
    format_size,
    prune_command,
    prune_total,
    render_summary,
    summarize,
)
from tasks.shared.buildx import disk_usage
from tasks.shared.errors import bad_input
from tasks.shared.process import run


@task(help={"builder": "builder name (default: the bakehouse builder)", "json": "print JSON"})
def du(c: Context, builder: str | None = None, json: bool = False) -> None:
    """The builder's disk usage by record type: cache mounts, layers, source, other."""
    name = resolve_builder_name(c, builder)
    builder_entry(name)
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
        cache_settings(c)
        removed, freed = collect_exported_garbage(c)
        print(f"exported cache: {removed} unreferenced blob(s) removed, {format_size(freed)} freed")
        return
    name = resolve_builder_name(c, builder)
    command = prune_command(
        name,
        include_all=all,
        until=until,
        filters=filter or (),
        reserved_space=reserved_space,
        max_used_space=max_used_space,
        min_free_space=min_free_space,
    )
    wanted = {flag for flag in command if flag.startswith("--") and flag.endswith("-space")}
    missing = wanted - supported_prune_flags()
    if missing:
        raise bad_input(f"this buildx has no {', '.join(sorted(missing))} (needs buildx 0.18+)")
    builder_entry(name)
    before = usage(name)
    output = run(command, what=f"docker buildx prune --builder {name}").stdout
    after = usage(name)
    reclaimed = prune_total(output)
    print(f"builder {name}:")
    print(f"  reclaimed: {format_size(reclaimed) if reclaimed is not None else 'unknown (no Total: line)'}")
    print(f"  before:    {format_size(before.total)} in {before.records} records")
    print(f"  after:     {format_size(after.total)} in {after.records} records")


@task(help={"builder": "builder name (default: the bakehouse builder)", "json": "print JSON"})
def status(c: Context, builder: str | None = None, json: bool = False) -> None:
    """Disk usage plus the builder's GC policies in words and how close usage is to each limit."""
    name = resolve_builder_name(c, builder)
    entry = builder_entry(name)
    node = (entry.get("Nodes") or [{}])[0]
    driver = str(entry.get("Driver", ""))
    records = disk_usage(name)
    summary = summarize(records)
    policies = cache_gc.parse_policies(node)
    disk_free = engine_disk_free() if driver in ("docker", "docker-container") else None
    if policies:
        gc_lines = cache_gc.explain(policies, records, disk_free)
    elif driver == "docker":
        gc_lines = ['set by the engine (daemon.json "builder": {"gc": ...}); buildx doesn\'t report it']
    else:
        gc_lines = ["none reported: this builder never garbage-collects on its own"]
    if json:
        document = {
            "builder": name,
            "driver": driver,
            "status": node.get("Status", ""),
            "buildkit": node.get("Version", ""),
            "usage": summary.as_json(),
            "gc_policies": [asdict(policy) for policy in policies],
            "gc": gc_lines,
            "disk_free_bytes": disk_free,
        }
        print(json_dumps(document, indent=2))
        return
    version = node.get("Version") or "unknown"
    print(f"builder {name}: {driver}, {node.get('Status', 'unknown')}, BuildKit {version}")
    print("\n".join(render_summary(summary, name)[1:]))
    print("GC policies (applied in this order):")
    for line in gc_lines:
        print(f"  {line}")
    if disk_free is not None:
        print(f"disk: {format_size(disk_free)} free where the engine keeps builder state")
