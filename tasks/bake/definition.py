"""The bake plan of a build: bake files, environment, `--print`/`--list` (the one place that calls
them; lint's trees too), requested targets, entitlements, and the exact bake command line.

bake is called through the docker CLI: python-on-whales' `buildx.bake` has no `--allow`, no
rawjson progress, and evaluates `--print` a second time after every build.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..cache import export as cache_export
from ..cache.bake_cache import bake_cache_args, cache_scope
from ..cache.trust import ScopedRefs
from ..shared.checkout import Commit, read_commit
from ..shared.command import Command
from ..shared.errors import BAD_INPUT, BakehouseError, bad_input
from ..shared.process import Completed, failure_reason, git_output, run
from ..shared.settings import Settings
from . import go_env, plan_cache
from . import matrix as matrix_logic
from .platforms import Platform, all_platforms
from .request import BakeSelection

# What a project without (the right) bake files configured is told to do.
NO_BAKE_FILES_HINT = "set bake.files (bakehouse.yaml or invoke.yaml) or run `bakehouse init`"


def bake_files(config: Settings, root: Path | None = None) -> list[str]:
    files = list(config.bake.files)
    if not files:
        raise bad_input(f"no bake files configured: {NO_BAKE_FILES_HINT}")
    for f in files:
        if not ((root or config.root) / f).exists():
            raise bad_input(f"bake file {f} not found in {root or config.root}: {NO_BAKE_FILES_HINT}")
    return files


def resolve_matrix(config: Settings, matrix_overrides: Sequence[str] = ()) -> matrix_logic.Matrix:
    return matrix_logic.resolve(config.bake.matrix, os.environ, matrix_overrides)


def _git_variables(root: Path, commit: Commit | None) -> dict[str, str]:
    described = commit.described if commit is not None else None
    if described is None:  # not read with the commit
        described = git_output("describe", "--tags", "--always", "--dirty", cwd=root)
    return {
        "git_version": described or "unknown",
        "git_revision": commit.revision if commit else "unknown",
        "git_created": commit.created if commit else "1970-01-01T00:00:00Z",
    }


def _go_variables() -> dict[str, str]:
    """The host's Go settings, so builds reach the same module proxy the host does (remembered)."""
    return go_env.go_settings(["GOPROXY", "GOSUMDB", "GONOSUMDB", "GOFLAGS"])


# buildx's own settings for the bakes it runs (the user's value wins). BUILDX_GIT_INFO: buildx asks
# git about the build context (~7 git processes per target) for provenance only, which the bake
# command turns off (--provenance=false); the images don't change.
BUILDX_QUIET = {"BUILDX_GIT_INFO": "false"}


def bake_env(config: Settings, matrix: matrix_logic.Matrix, commit: Commit | None = None) -> dict[str, str]:
    """The environment bake runs in: the matrix, git and Go variables, configured variables.
    ``commit``: the checkout's commit, when the caller read it already."""
    env = dict(os.environ)
    bake = config.bake
    commit = commit if commit is not None else read_commit(config.root)
    if bake.git_variables:
        env.update(_git_variables(config.root, commit))
    # Reproducible timestamps (image config, history, file mtimes with rewrite-timestamp): buildx
    # passes it to every build as an arg. The user's own value wins.
    if "SOURCE_DATE_EPOCH" not in os.environ and commit is not None and commit.epoch:
        env["SOURCE_DATE_EPOCH"] = commit.epoch
    configured = dict(bake.variables)
    env.update(
        {k: v for k, v in {**_go_variables(), **BUILDX_QUIET, **configured}.items() if k not in os.environ}
    )
    env.update(matrix_logic.as_bake_variables(matrix))
    return env


# Every build's bake, whether from the bake files or from a remembered plan's file.
BUILD_BAKE = Command("docker", "buildx", "bake", "--provenance=false")


def base_args(files: Sequence[str], sets: Sequence[str]) -> list[str]:
    """The bake command line every build starts with (its --set values checked in BakeSelection)."""
    return (
        BUILD_BAKE.option("--set", f"*.args.nprocs={os.cpu_count() or 1}", joined=True)
        .options("-f", files)
        .options("--set", sets, joined=True)
        .argv
    )


class BakeRejected(BakehouseError):
    """bake refused the definition (`--print`/`--list` failed): bad input. ``why`` is bake's own
    line, for callers that report it elsewhere (lint makes a finding of it)."""

    def __init__(self, result: Completed) -> None:
        self.why = result.reason()
        super().__init__(f"bake rejected the definition: {failure_reason(result.stderr)}", BAD_INPUT)


def print_plan(
    files: Sequence[str],
    targets: Sequence[str],
    env: dict[str, str],
    root: Path,
    sets: Sequence[str] = (),
    *,
    as_built: bool = True,
) -> dict[str, Any]:
    """The one `bake --print`: the resolved definition of ``targets``. ``as_built``: with the build's
    own arguments (provenance, core count), as a build resolves it; without, bake's plain view of
    a tree bakehouse doesn't build (lint's other trees)."""
    start = (
        base_args(files, sets) if as_built else Command("docker", "buildx", "bake").options("-f", files).argv
    )
    result = run([*start, "--print", *targets], check=False, env=env, cwd=root)
    if not result.ok:
        raise BakeRejected(result)
    try:
        plan: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        raise BakehouseError(f"bake --print did not print JSON: {exc}") from exc
    return plan


def list_names(files: Sequence[str], env: dict[str, str], root: Path) -> list[dict[str, Any]]:
    """The one `bake --list`: the tree's targets and groups (names before matrix expansion), one
    record each (name, description, ...)."""
    command = Command("docker", "buildx", "bake", "--list=type=targets,format=json").options("-f", files)
    result = run(command, check=False, env=env, cwd=root)
    if not result.ok:
        raise BakeRejected(result)
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def bake_print(config: Settings, selection: BakeSelection) -> dict[str, Any]:
    """The resolved bake definition (`--print`) of the selection, fresh from bake."""
    env = bake_env(config, resolve_matrix(config, selection.matrix_overrides))
    return print_plan(bake_files(config), selection.targets, env, config.root, selection.sets)


def list_targets(config: Settings, matrix_overrides: Sequence[str] = ()) -> list[tuple[str, str]]:
    """Targets and groups of the tree (names before matrix expansion, as bake --list shows them)."""
    env = bake_env(config, resolve_matrix(config, matrix_overrides))
    rows = list_names(bake_files(config), env, config.root)
    return [(str(r.get("name")), str(r.get("description") or "")) for r in rows]


def requested_targets(plan: dict[str, Any], targets: list[str]) -> list[str]:
    """Expand groups (and matrix targets) into the concrete target names bake will build."""
    groups = plan.get("group", {})
    concrete = plan.get("target", {})
    seen: list[str] = []

    def expand(name: str) -> None:
        if name in groups:
            for member in groups[name].get("targets", []):
                expand(member)
        elif name in concrete and name not in seen:
            seen.append(name)

    for t in targets:
        expand(t)
    return seen or sorted(concrete)


def needed_entitlements(config: Settings, plan: dict[str, Any], names: list[str]) -> list[str]:
    """The --allow flags the selected targets declare; refuse any the config doesn't permit."""
    allowed = set(config.bake.allow)
    wanted: list[str] = []
    for name in names:
        target = plan.get("target", {}).get(name, {})
        declared = list(target.get("entitlements") or [])
        if target.get("network") == "host":
            declared.append("network.host")
        for entitlement in declared:
            if entitlement not in allowed:
                raise bad_input(f"target {name} needs entitlement {entitlement!r}; add it to bake.allow")
            if entitlement not in wanted:
                wanted.append(entitlement)
    return wanted


@dataclass(frozen=True)
class ResolvedBake:
    """A build resolved once: the environment (git and Go variables), the plan, the concrete
    targets and their entitlements. Everything bad input is refused by; changes nothing."""

    selection: BakeSelection
    files: tuple[str, ...]
    env: dict[str, str]
    plan: dict[str, Any]
    # The concrete targets the requested targets and groups expand to, and their --allow flags.
    names: tuple[str, ...]
    allow: tuple[str, ...]
    # The plan cache's key, and the file of the plan when it came from there (no `bake --print`
    # this time): bake then builds from that file instead of evaluating the bake files again.
    plan_key: str
    plan_file: Path | None
    # Where bake runs: the project root its bake files are relative to.
    root: Path
    # With cache trust scopes: this run's cache refs (decided and checked with the plan, before any
    # builder is prepared); None without scopes.
    cache_scope: ScopedRefs | None = None

    @property
    def plan_remembered(self) -> bool:
        return self.plan_file is not None

    def store_plan(self) -> None:
        """Remember the plan a build succeeded with (the plan cache), unless it came from there."""
        if not self.plan_remembered:
            plan_cache.store(plan_cache.cache_dir(self.env), self.plan_key, self.plan)


@dataclass(frozen=True)
class BakeInvocation:
    """A resolved build on one builder: what the builder adds is its name and the command line."""

    resolved: ResolvedBake
    builder: str
    cmd: tuple[str, ...]


def remembered_plan(
    root: Path, files: Sequence[str], targets: Sequence[str], sets: Sequence[str], env: dict[str, str]
) -> tuple[str, dict[str, Any] | None]:
    """The plan cache's key for this build, and the plan stored under it by an earlier build."""
    contents = [(name, (root / name).read_bytes()) for name in files]
    key = plan_cache.plan_key(
        root=root, files=contents, env=env, targets=targets, sets=sets, cores=os.cpu_count() or 1,
        buildx=plan_cache.buildx_identity(env),
    )  # fmt: skip
    return key, plan_cache.load(plan_cache.cache_dir(env), key)


def resolve_bake(config: Settings, selection: BakeSelection, commit: Commit | None = None) -> ResolvedBake:
    """Environment, plan (remembered, else `bake --print`), concrete targets and entitlements of a
    build, each once. ``commit``: the checkout's commit, when read already."""
    env = bake_env(config, resolve_matrix(config, selection.matrix_overrides), commit)
    files = bake_files(config)
    key, remembered = remembered_plan(config.root, files, selection.targets, selection.sets, env)
    if remembered is not None:
        stored = plan_cache.plan_file(plan_cache.cache_dir(env), key)
        return resolved_plan(config, selection, files, env, remembered, key, plan_file=stored)
    plan = print_plan(files, selection.targets, env, config.root, selection.sets)
    return resolved_plan(config, selection, files, env, plan, key)


def resolved_plan(
    config: Settings,
    selection: BakeSelection,
    files: Sequence[str],
    env: dict[str, str],
    plan: dict[str, Any],
    plan_key: str = "",
    *,
    plan_file: Path | None = None,
) -> ResolvedBake:
    """A build resolved from its plan: the concrete targets and their entitlements (refused
    unless the config allows them). ``plan_file``: the plan cache's file holding ``plan``."""
    names = requested_targets(plan, list(selection.targets))
    allow = needed_entitlements(config, plan, names)
    # Bad cache settings, and a plan whose cache entries break the run's trust scope, are refused here.
    scoped = cache_scope(config, plan)
    return ResolvedBake(
        selection, tuple(files), env, plan, tuple(names), tuple(allow), plan_key, plan_file,
        config.root, scoped,
    )  # fmt: skip


def narrowed(config: Settings, resolved: ResolvedBake, names: Sequence[str]) -> ResolvedBake:
    """The resolved build limited to some of its concrete targets (and their entitlements)."""
    kept = [name for name in resolved.names if name in names]
    return replace(resolved, names=tuple(kept), allow=tuple(needed_entitlements(config, resolved.plan, kept)))


def builder_bake_command(resolved: ResolvedBake, builder_name: str) -> Command:
    """bake on one builder with the build's files, settings and entitlements; no cache export.

    A remembered plan is baked from its file: `bake --print` wrote it with this build's variables,
    matrix and `--set` values (the core count's too) applied, so bake reads the same targets without
    evaluating the bake files again (~25 ms wall, ~10 ms CPU here); the `--set` values are not given a
    second time. Contexts stay relative to the project root, where bake runs."""
    if resolved.plan_file is None:
        start = base_args(resolved.files, resolved.selection.sets)
    else:
        start = BUILD_BAKE.option("-f", str(resolved.plan_file)).argv
    return (
        Command(*start)
        .option("--builder", builder_name, joined=True)
        .options("--allow", resolved.allow, joined=True)
    )


def matrix_siblings(config: Settings, resolved: ResolvedBake) -> dict[str, list[str]]:
    """For a registry cache import: per target, the same layer in the other cells of the configured
    matrix (before --matrix/--cell and env narrowed it), whose exports hold steps the cells share.

    A runner building one cell imports what runners of other cells exported. Costs one more
    `bake --print` (remembered in the plan cache like the build's own) only when the build is narrowed.
    """
    cache = config.cache
    if cache.backend != "registry" or not cache.import_cache:
        return {}
    configured = matrix_logic.resolve(config.bake.matrix, {}, ())
    full_env = {**resolved.env, **matrix_logic.as_bake_variables(configured)}
    targets, sets = resolved.selection.targets, resolved.selection.sets
    if full_env == resolved.env:
        full_plan = resolved.plan
    else:
        key, remembered = remembered_plan(config.root, resolved.files, targets, sets, full_env)
        full_plan = (
            remembered
            if remembered is not None
            else print_plan(resolved.files, targets, full_env, config.root, sets)
        )
        if remembered is None:
            plan_cache.store(plan_cache.cache_dir(full_env), key, full_plan)
    return cache_export.matrix_siblings(resolved.plan.get("target", {}), full_plan.get("target", {}))


def plan_platforms(plan: dict[str, Any]) -> list[Platform]:
    """Every platform a target of the plan (dependencies included) builds for."""
    return all_platforms(plan, plan.get("target", {}))


def default_targets_platforms(config: Settings, matrix_options: Sequence[str]) -> list[Platform]:
    """The platforms the default targets of the cells ``matrix_options`` select build for. A tree
    that doesn't print is no platform's concern unless cells were asked for: [] then (a builder can
    be made before its tree resolves; the build says what is wrong)."""
    try:
        plan = bake_print(config, BakeSelection.of(config.bake.default_targets, matrix_options))
    except BakehouseError:
        if matrix_options:
            raise
        return []
    return plan_platforms(plan)


def bake_invocation(
    config: Settings, resolved: ResolvedBake, builder_name: str, driver: str | None = None
) -> BakeInvocation:
    """The bake command line (without targets and progress) of a resolved build on a builder that
    exists, with the configured cache export and import (settings checked by the build request).
    ``driver``: the builder's buildx driver, when known (else asked only if a cache is configured)."""
    command = builder_bake_command(resolved, builder_name)
    if builder_name != "default":
        # Every target of the plan, dependencies included: each exports only its own steps.
        plan_targets = sorted(resolved.plan.get("target", {}))
        siblings = matrix_siblings(config, resolved)
        command = command.args(
            *bake_cache_args(config, plan_targets, builder_name, siblings, resolved.cache_scope, driver)
        )
    return BakeInvocation(resolved, builder_name, tuple(command.argv))
