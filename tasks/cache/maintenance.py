"""`inv cache.*`: a builder's build cache — disk usage, pruning, GC policies, exported cache.

python-on-whales has no `buildx du` and its `buildx.prune` lacks --builder and the size flags,
so these tasks call the docker CLI and parse its JSON lines.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict

from ..builder import gc_policy as cache_gc
from ..shared.buildx import disk_usage, list_builders
from ..shared.errors import bad_input
from ..shared.process import docker, run
from ..shared.settings import Settings
from ..shared.units import format_size
from .bake_cache import builder_record, cache_settings, collect_exported_garbage
from .usage import UsageSummary, prune_total, render_summary, summarize


def usage(builder: str) -> UsageSummary:
    return summarize(disk_usage(builder))


def engine_disk_free() -> int | None:
    """Free bytes on the filesystem of the engine's data root, when the engine runs on this machine."""
    root = docker("info", "--format", "{{.DockerRootDir}}", check=False).stdout.strip()
    if not root or not os.path.isdir(root):
        return None
    return shutil.disk_usage(root).free


# --- tasks --------------------------------------------------------------------------------------


def _orphans(builder: str | None) -> list[str]:
    volumes = docker("volume", "ls", "--format", "{{.Name}}", what="docker volume ls").stdout.split()
    nodes = [node.name for record in list_builders() for node in record.nodes]
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


# --- pruning and status ---------------------------------------------------------------------------


def prune_builder(name: str, command: list[str]) -> None:
    """Run `buildx prune` (the command from prune_command); print what it reclaimed and the usage
    before and after."""
    wanted = {flag for flag in command if flag.startswith("--") and flag.endswith("-space")}
    missing = wanted - supported_prune_flags()
    if missing:
        raise bad_input(f"this buildx has no {', '.join(sorted(missing))} (needs buildx 0.18+)")
    builder_record(name)
    before = usage(name)
    output = run(command, what=f"docker buildx prune --builder {name}").stdout
    after = usage(name)
    reclaimed = prune_total(output)
    print(f"builder {name}:")
    print(f"  reclaimed: {format_size(reclaimed) if reclaimed is not None else 'unknown (no Total: line)'}")
    print(f"  before:    {format_size(before.total)} in {before.records} records")
    print(f"  after:     {format_size(after.total)} in {after.records} records")


def prune_exported(config: Settings) -> None:
    """Delete the blobs of the local cache export that no target's index uses any more."""
    cache_settings(config)
    removed, freed = collect_exported_garbage(config)
    print(f"exported cache: {removed} unreferenced blob(s) removed, {format_size(freed)} freed")


def show_status(name: str, *, as_json: bool) -> None:
    """The builder's usage, its GC policies in words (how close usage is to each) and the disk."""
    record = builder_record(name)
    node, driver = record.node, record.driver
    records = disk_usage(name)
    summary = summarize(records)
    policies = cache_gc.parse_policies(node.gc_policies)
    disk_free = engine_disk_free() if driver in ("docker", "docker-container") else None
    if policies:
        gc_lines = cache_gc.explain(policies, records, disk_free)
    elif driver == "docker":
        gc_lines = ['set by the engine (daemon.json "builder": {"gc": ...}); buildx doesn\'t report it']
    else:
        gc_lines = ["none reported: this builder never garbage-collects on its own"]
    if as_json:
        document = {
            "builder": name,
            "driver": driver,
            "status": node.status,
            "buildkit": node.version,
            "usage": summary.as_json(),
            "gc_policies": [asdict(policy) for policy in policies],
            "gc": gc_lines,
            "disk_free_bytes": disk_free,
        }
        print(json.dumps(document, indent=2))
        return
    print(f"builder {name}: {driver}, {node.status or 'unknown'}, BuildKit {node.version or 'unknown'}")
    print("\n".join(render_summary(summary, name)[1:]))
    print("GC policies (applied in this order):")
    for line in gc_lines:
        print(f"  {line}")
    if disk_free is not None:
        print(f"disk: {format_size(disk_free)} free where the engine keeps builder state")
