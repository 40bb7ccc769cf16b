"""`inv cache.*`: a builder's build cache — disk usage, pruning, GC policies, exported cache.

python-on-whales has no `buildx du` and its `buildx.prune` lacks --builder and the size flags,
so these tasks call the docker CLI and parse its JSON lines.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import asdict
from json import dumps as json_dumps
from pathlib import Path
from typing import Any

from invoke import Context, task

from tasks.builder import list_builders, require_builder, resolve_builder_name
from tasks.core import cache_export, cache_gc
from tasks.core.cache_usage import (
    UsageRecord,
    UsageSummary,
    format_size,
    parse_du,
    prune_command,
    prune_total,
    render_summary,
    summarize,
)
from tasks.core.naming import validate_builder_name
from tasks.engine import require_engine
from tasks.errors import BakehouseError, bad_input
from tasks.proc import REPO_ROOT, docker, run, say


def builder_entry(name: str) -> dict[str, Any]:
    """The builder's `buildx ls` entry, after checking that an engine answers (read-only)."""
    require_engine()
    return require_builder(name)


def usage_records(builder: str) -> list[UsageRecord]:
    output = docker(
        "buildx", "du", "--builder", builder, "--format", "json", what=f"docker buildx du --builder {builder}"
    ).stdout
    return parse_du(output)


def usage(builder: str) -> UsageSummary:
    return summarize(usage_records(builder))


def engine_disk_free() -> int | None:
    """Free bytes on the filesystem of the engine's data root, when the engine runs on this machine."""
    root = docker("info", "--format", "{{.DockerRootDir}}", check=False).stdout.strip()
    if not root or not os.path.isdir(root):
        return None
    return shutil.disk_usage(root).free


# --- cache export / import for the bake runner ------------------------------------------------------


def cache_settings(c: Context) -> cache_export.CacheSettings:
    return cache_export.CacheSettings.from_config(c.config.bakehouse.get("cache") or {})


def bake_cache_args(c: Context, targets: Sequence[str], builder: str) -> list[str]:
    """``--allow``/``--set`` arguments that export and import the cache of ``targets`` (bake names).

    For the bake runner: ``targets`` are *all* target names of `bake --print` for the selection,
    dependencies included (each target's build exports only its own steps, so a leaf's cache alone
    leaves its parents to be rebuilt). Add the result to the bake command line, and call
    ``collect_exported_garbage`` after a successful build.
    """
    settings = cache_settings(c)
    if not settings.backend:
        return []
    driver = str(builder_entry(builder).get("Driver", ""))
    directory = settings.local_dir(REPO_ROOT)
    exported = [target for target in targets if (directory / target / "index.json").is_file()]
    plan = cache_export.cache_plan(settings, targets, REPO_ROOT, driver, exported)
    for layout in plan.layouts:
        prepare_layout(layout)
    for note in plan.notes:
        say(note)
    return plan.args


def prepare_layout(layout: Path) -> None:
    """DIR/<target>/ with ``blobs`` pointing at DIR/blobs, the store all targets share."""
    shared = layout.parent / "blobs"
    (shared / "sha256").mkdir(parents=True, exist_ok=True)
    layout.mkdir(parents=True, exist_ok=True)
    link = layout / "blobs"
    if not link.is_symlink():
        if link.exists():
            raise BakehouseError(f"{link}: expected a link to {shared}; remove the directory {layout.parent}")
        link.symlink_to(Path("..") / "blobs")


def collect_exported_garbage(c: Context) -> tuple[int, int]:
    """Delete blobs of the local cache directory no target's index reaches any more; (blobs, bytes)."""
    settings = cache_settings(c)
    directory = settings.local_dir(REPO_ROOT)
    blob_dir = directory / "blobs" / "sha256"
    if settings.backend != "local" or not blob_dir.is_dir():
        return 0, 0
    indexes = [path.read_text() for path in sorted(directory.glob("*/index.json"))]
    present = {f"sha256:{path.name}" for path in blob_dir.iterdir() if path.is_file()}

    def read_blob(digest: str) -> bytes | None:
        path = blob_dir / digest.removeprefix("sha256:")
        return path.read_bytes() if path.is_file() else None

    removed = freed = 0
    for digest in sorted(cache_export.unreferenced_blobs(indexes, read_blob, present)):
        path = blob_dir / digest.removeprefix("sha256:")
        freed += path.stat().st_size
        path.unlink()
        removed += 1
    return removed, freed


# --- tasks --------------------------------------------------------------------------------------


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


def _orphans(builder: str | None) -> list[str]:
    volumes = docker("volume", "ls", "--format", "{{.Name}}", what="docker volume ls").stdout.split()
    nodes = [str(node.get("Name")) for entry in list_builders() for node in entry.get("Nodes") or []]
    containers = docker("ps", "-a", "--format", "{{.Names}}", what="docker ps").stdout.split()
    orphans = cache_gc.orphaned_volumes(volumes, nodes, containers)
    if builder:
        # A node is the builder name plus its index: lc-x -> lc-x0.
        pattern = re.compile(rf"^{re.escape(builder)}\d+$")
        orphans = [volume for volume in orphans if pattern.match(cache_gc.state_volume_node(volume) or "")]
    return orphans


def prune_orphans(builder: str | None, dry_run: bool) -> None:
    orphans = _orphans(builder)
    if not orphans:
        print("no orphaned builder state volumes")
        return
    for volume in orphans:
        if dry_run:
            print(f"would remove {volume}")
            continue
        docker("volume", "rm", volume, what=f"docker volume rm {volume}")
        print(f"removed {volume}")


def supported_prune_flags() -> set[str]:
    """The size flags this buildx's prune knows (--reserved-space etc. came with buildx 0.18)."""
    text = docker("buildx", "prune", "--help", what="docker buildx prune --help").stdout
    return {flag for flag in ("--reserved-space", "--max-used-space", "--min-free-space") if flag in text}


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
    records = usage_records(name)
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
