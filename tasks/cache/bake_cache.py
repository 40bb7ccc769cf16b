"""The cache a build exports and imports: the bake arguments for each target's cache-from and
cache-to, the trust scope of this run, and removing exported blobs no target reaches any more.

Every build uses this module; `inv cache.*`'s disk usage, pruning and status are in
tasks.cache.maintenance.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..builder.lifecycle import default_builder_name, require_builder
from ..shared.buildx import BuilderRecord
from ..shared.engine import require_engine
from ..shared.errors import BakehouseError, bad_input
from ..shared.oci_layout import Descriptor, blob_path, listed, reachable_digests, read_blob_json, read_json
from ..shared.process import say
from ..shared.settings import CacheSettings, Settings
from . import export as cache_export
from . import trust as cache_trust


def builder_record(name: str) -> BuilderRecord:
    """The builder's `buildx ls` record, after checking that an engine answers (read-only)."""
    require_engine()
    return require_builder(name)


def cache_settings(config: Settings) -> CacheSettings:
    """The cache section, its values checked: the bake runner can use no other."""
    cache = config.cache
    cache.validate()
    return cache


def github_event(env: Mapping[str, str]) -> dict[str, Any] | None:
    """GitHub's event payload (GITHUB_EVENT_PATH): it names the repository's default branch."""
    path = env.get("GITHUB_EVENT_PATH", "")
    if not path or not os.path.isfile(path):
        return None
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return document if isinstance(document, dict) else None


def run_trust(config: Settings, env: Mapping[str, str]) -> cache_trust.RunTrust:
    cache = config.cache
    policy = cache_trust.TrustPolicy(cache.trusted_repository, cache.trusted_refs, cache.trust_local)
    return cache_trust.decide_trust(env, policy, github_event(env))


def cache_scope(config: Settings, plan: Mapping[str, Any]) -> cache_trust.ScopedRefs | None:
    """The cache settings checked and, with trust scopes, this run's refs; refuses (exit 2) before
    anything runs a plan whose cache entries (ours, the bake files', --set's) break the run's trust.

    For the bake runner: call before the builder is prepared, pass the result to bake_cache_args.
    """
    cache = cache_settings(config)
    cache_trust.check_scope_settings(cache.trusted_ref, cache.scope_ref, cache.ref, cache.backend)
    if not cache.scoped:
        return None
    env = os.environ
    scoped = cache_trust.scoped_refs(
        cache.trusted_ref, cache.scope_ref, default_builder_name(config.root), run_trust(config, env)
    )
    targets: Mapping[str, Mapping[str, Any]] = plan.get("target", {})
    generated = cache_export.scoped_entries(cache, scoped, sorted(targets))
    # What the bake files and --set ask for counts even where ours replace it: asked for, refused.
    problems = [
        *cache_trust.trust_violations(scoped, cache_trust.planned_entries(targets)),
        *cache_trust.trust_violations(scoped, generated),
    ]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise bad_input(f"cache trust: {problems[0]}{more}")
    return scoped


def plan_with_cache(config: Settings, plan: Mapping[str, Any]) -> dict[str, Any]:
    """The printed plan (`inv build --print`) with each target's cache-from/cache-to as a build
    would give them on a docker-container builder (trust scopes decided and checked as for a build)."""
    scoped = cache_scope(config, plan)
    cache = config.cache
    shown = dict(plan)
    if cache.backend != "registry":
        return shown
    targets: Mapping[str, Mapping[str, Any]] = plan.get("target", {})
    refs = scoped or cache_export.single_ref(cache.ref)
    generated = cache_export.scoped_entries(cache, refs, sorted(targets))
    final = cache_trust.final_entries(targets, generated, sorted(targets))
    shown["target"] = {
        name: {**definition, "cache-from": final[name][0], "cache-to": final[name][1]}
        for name, definition in targets.items()
    }
    if scoped is not None:
        trust = scoped.trust
        say(f"cache: {'trusted' if trust.trusted else 'untrusted'} run ({trust.system}: {trust.reason})")
    return shown


def bake_cache_args(
    config: Settings,
    targets: Sequence[str],
    builder: str,
    siblings: Mapping[str, Sequence[str]] | None = None,
    scoped: cache_trust.ScopedRefs | None = None,
    driver: str | None = None,
) -> list[str]:
    """``--allow``/``--set`` arguments that export and import the cache of ``targets`` (bake names).

    For the bake runner: ``targets`` are *all* target names of `bake --print` for the selection,
    dependencies included (each target's build exports only its own steps, so a leaf's cache alone
    leaves its parents to be rebuilt). Add the result to the bake command line, and call
    ``collect_exported_garbage`` after a successful build. ``siblings``: see cache_export.cache_plan;
    ``scoped``: what cache_scope returned (trust scopes), checked before the builder was prepared.
    The cache settings are checked once, by the caller (the build request). ``driver``: the
    builder's buildx driver when the caller knows it (else `buildx ls` says).
    """
    cache = config.cache
    if not cache.backend:
        return []
    driver = driver or builder_record(builder).driver
    directory = cache.local_dir(config.root)
    exported = [target for target in targets if (directory / target / "index.json").is_file()]
    if scoped is not None:
        say(
            f"cache: {'trusted' if scoped.trust.trusted else 'untrusted'} run ({scoped.trust.system}: "
            f"{scoped.trust.reason}); imports {', '.join(scoped.imports)}; exports to {scoped.export}"
        )
    plan = cache_export.cache_plan(cache, targets, config.root, driver, exported, siblings, scoped)
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


def collect_exported_garbage(config: Settings) -> tuple[int, int]:
    """Delete blobs of the local cache directory no target's index reaches any more; (blobs, bytes).
    The cache settings are checked by the caller (the build request, or `cache.prune --exported`)."""
    cache = config.cache
    directory = cache.local_dir(config.root)
    blob_dir = directory / "blobs" / "sha256"
    if cache.backend != "local" or not blob_dir.is_dir():
        return 0, 0
    # Every DIR/<target>/blobs links to DIR/blobs, so DIR reads as one layout for the blobs.
    top = [entry for path in sorted(directory.glob("*/index.json")) for entry in listed(read_json(path))]
    present = {f"sha256:{path.name}" for path in blob_dir.iterdir() if path.is_file()}

    def read_document(descriptor: Descriptor) -> dict[str, Any] | None:
        # An index may name a manifest whose blob is gone: there is nothing behind it to follow.
        if not blob_path(directory, descriptor.digest).is_file():
            return None
        return read_blob_json(directory, descriptor)

    removed = freed = 0
    for digest in sorted(present - reachable_digests(top, read_document)):
        path = blob_path(directory, digest)
        freed += path.stat().st_size
        path.unlink()
        removed += 1
    return removed, freed
