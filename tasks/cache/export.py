"""Exporting the tree's build cache and importing it into another (e.g. freshly created) builder.

Bake takes cache settings per target: ``--set NAME.cache-to=...`` / ``--set NAME.cache-from=...``.
Each target exports its own steps only, so every target of the build gets one (a leaf's cache alone
leaves its parents to be rebuilt). Measured here: a fresh docker-container builder importing the
tests-smoke chain's cache ran none of the parents' steps; the smoke leaf's one step ran again in 4 of
10 builds although its key was in the imported layout (BuildKit, docker/buildx#414; docs/cache.md).

Local layout: ``DIR/<target>/`` is one OCI layout per target (its own index.json), and every
``DIR/<target>/blobs`` is a symlink to the shared ``DIR/blobs``, so targets share layers on disk.
One index.json shared by all targets does not work: bake exports targets concurrently and buildx
then fails a target with "could not lock .../index.json.lock" (seen here).

Facts this relies on (buildx 0.29, BuildKit 0.33):
- The engine's own `docker` driver can't export cache to local/registry (only inline, and only with
  the containerd image store), so the plan for it is empty, with a note.
- Since buildx 0.20, bake refuses local paths outside its working directory without
  ``--allow fs.write=DIR`` (export) / ``--allow fs.read=DIR`` (import); DIR must exist, or bake asks
  for its parent instead.
- Importing from a local directory without index.json fails the build, so cache-from is only set
  for targets that have been exported before.
- BuildKit never removes blobs from a local cache directory; the ones no target's index reaches any
  more (tasks.shared.oci_layout.reachable_digests) can be deleted after an export.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The typed cache section (bakehouse.cache), with the values it can take: the plan is made from it.
from ..shared.settings import CacheSettings as CacheSettings
from .trust import RunTrust, ScopedRefs

# Per target: its cache-from entries and its cache-to entries, as `bake --print` shows them.
CacheEntries = dict[str, tuple[list[dict[str, str]], list[dict[str, str]]]]

REF_NAME = "org.opencontainers.image.ref.name"


@dataclass
class CachePlan:
    """What the bake runner adds: ``--allow`` and ``--set`` arguments, local layouts to prepare first."""

    set_args: list[str] = field(default_factory=list)
    allow_args: list[str] = field(default_factory=list)
    # Per-target layout directories to create, each with ``blobs`` linked to the shared blob store.
    layouts: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def args(self) -> list[str]:
        return [*self.allow_args, *self.set_args]


def local_tags(index_json: str) -> set[str]:
    """Tags (``org.opencontainers.image.ref.name``) an OCI layout's index.json holds."""
    if not index_json.strip():
        return set()
    manifests = json.loads(index_json).get("manifests") or []
    return {str((entry.get("annotations") or {}).get(REF_NAME)) for entry in manifests} - {"None"}


def cache_plan(
    settings: CacheSettings,
    targets: Sequence[str],
    repo_root: Path,
    driver: str,
    exported: Iterable[str] = (),
    siblings: Mapping[str, Sequence[str]] | None = None,
    scoped: ScopedRefs | None = None,
) -> CachePlan:
    """The bake arguments that export/import the cache of ``targets`` (all bake target names).

    ``exported``: targets whose local layout already holds an export (DIR/<target>/index.json).
    ``siblings``: per target, the same layer in the matrix's other cells (registry backend): their
    exports are imported too, after the target's own, because cells share steps under other target
    names (a runner building one cell finds them in the cache another runner's cell exported).
    ``scoped``: the trust scopes' refs for this run (registry backend; replaces ``settings.ref``).

    Registry exports carry no ``ignore-error``: a registry refusing the push (401/403) fails the
    target with the registry's words, rather than leaving later runners without the cache unseen.
    """
    plan = CachePlan()
    if not settings.backend or not targets:
        return plan
    if driver == "docker":
        plan.notes.append(
            "cache export/import skipped: the docker driver supports only inline cache; "
            "use a docker-container builder (inv builder.create)"
        )
        return plan
    if settings.backend == "local":
        # A local directory that can't be written is this machine's problem, not a rejected push.
        to_options = f"mode={settings.mode},compression={settings.compression},ignore-error=true"
        directory = settings.local_dir(repo_root)
        available = set(exported)
        if settings.export_cache:
            plan.allow_args.append(f"--allow=fs.write={directory}")
            for target in targets:
                plan.layouts.append(directory / target)
                plan.set_args.append(
                    f"--set={target}.cache-to=type=local,dest={directory / target},{to_options}"
                )
        imported = [target for target in targets if target in available] if settings.import_cache else []
        if imported:
            plan.allow_args.append(f"--allow=fs.read={directory}")
            for target in imported:
                plan.set_args.append(f"--set={target}.cache-from=type=local,src={directory / target}")
        missing = len(targets) - len(imported)
        if settings.import_cache and missing:
            plan.notes.append(
                f"{missing} of {len(targets)} targets have no exported cache in {directory} yet"
            )
    else:
        entries = scoped_entries(settings, scoped or single_ref(settings.ref), targets, siblings)
        plan.set_args.extend(entry_set_args(entries))
    return plan


def single_ref(ref: str) -> ScopedRefs:
    """The one shared ``cache.ref`` (no trust scopes): every run imports and exports it."""
    return ScopedRefs(RunTrust(True, "any", "one shared cache.ref, no trust scopes"), ref, ref, (ref,), ref)


def scoped_entries(
    settings: CacheSettings,
    scoped: ScopedRefs,
    targets: Sequence[str],
    siblings: Mapping[str, Sequence[str]] | None = None,
) -> CacheEntries:
    """Per target, the cache-from entries (each import repository in order: the target's tag, then
    its matrix siblings') and the cache-to entry (the export repository) of a scoped registry cache."""
    entries: CacheEntries = {}
    for target in targets:
        imports: list[dict[str, str]] = []
        if settings.import_cache:
            tags = [target, *(siblings or {}).get(target, ())]
            imports = [
                {"type": "registry", "ref": f"{repository}:{tag}"}
                for repository in scoped.imports
                for tag in tags
            ]
        exports: list[dict[str, str]] = []
        if settings.export_cache:
            exports = [
                {
                    "type": "registry",
                    "ref": f"{scoped.export}:{target}",
                    "mode": settings.mode,
                    "compression": settings.compression,
                    "oci-mediatypes": "true",
                    "image-manifest": "true",
                }
            ]
        entries[target] = (imports, exports)
    return entries


def entry_set_args(entries: CacheEntries) -> list[str]:
    """``--set`` arguments giving each target exactly these entries (the first ``=`` replaces what
    the bake files say, ``+=`` appends)."""
    args: list[str] = []
    for target, (imports, exports) in entries.items():
        for key, listed_entries in (("cache-to", exports), ("cache-from", imports)):
            for number, entry in enumerate(listed_entries):
                value = ",".join(f"{name}={text}" for name, text in entry.items())
                args.append(f"--set={target}.{key}{'=' if number == 0 else '+='}{value}")
    return args


def matrix_siblings(
    targets: Iterable[str], full_plan_targets: Mapping[str, Mapping[str, Any]]
) -> dict[str, list[str]]:
    """Per target, the other targets of the full matrix's plan made from the same Dockerfile and
    context: one target block's cells (bake names them apart; what they share is their recipe)."""

    def recipe(definition: Mapping[str, Any]) -> tuple[str, str, str]:
        return (
            str(definition.get("context", "")),
            str(definition.get("dockerfile", "")),
            str(definition.get("dockerfile-inline", "")),
        )

    by_recipe: dict[tuple[str, str, str], list[str]] = {}
    for name, definition in sorted(full_plan_targets.items()):
        by_recipe.setdefault(recipe(definition), []).append(name)
    result: dict[str, list[str]] = {}
    for target in targets:
        if target in full_plan_targets:
            same = by_recipe[recipe(full_plan_targets[target])]
            result[target] = [name for name in same if name != target]
    return result
