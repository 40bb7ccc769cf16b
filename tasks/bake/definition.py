"""The bake plan of a build: bake files, environment, `--print`, requested targets, entitlements,
and the exact bake command line.

bake is called through the docker CLI: python-on-whales' `buildx.bake` has no `--allow`, no
rawjson progress, and evaluates `--print` a second time after every build.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..builder.lifecycle import (
    builder_recorded,
    current_state,
    ensure_builder,
    require_builder,
    resolve_builder_name,
)
from ..cache import export as cache_export
from ..cache.maintenance import bake_cache_args, cache_scope
from ..shared.command import Command
from ..shared.errors import BakehouseError, bad_input
from ..shared.process import failure_reason, git_output, run, say
from ..shared.settings import Settings
from . import matrix as matrix_logic
from . import plan_cache

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


def _git_variables(root: Path) -> dict[str, str]:
    return {
        "git_version": git_output("describe", "--tags", "--always", "--dirty", cwd=root) or "unknown",
        "git_revision": git_output("rev-parse", "HEAD", cwd=root) or "unknown",
        "git_created": git_output("log", "-1", "--format=%cI", cwd=root) or "1970-01-01T00:00:00Z",
    }


def _go_variables() -> dict[str, str]:
    """The host's Go settings, so builds reach the same module proxy the host does."""
    names = ["GOPROXY", "GOSUMDB", "GONOSUMDB", "GOFLAGS"]
    result = run(["go", "env", *names], check=False) if shutil.which("go") else None
    if result is None or result.returncode != 0:
        return {}
    return {name: value for name, value in zip(names, result.stdout.splitlines(), strict=False) if value}


def source_date_epoch(root: Path) -> str:
    """The commit's time in seconds, for SOURCE_DATE_EPOCH; empty outside a git checkout."""
    return git_output("log", "-1", "--format=%ct", cwd=root)


def bake_env(config: Settings, matrix: matrix_logic.Matrix) -> dict[str, str]:
    env = dict(os.environ)
    bake = config.bake
    if bake.git_variables:
        env.update(_git_variables(config.root))
    # Reproducible timestamps (image config, history, file mtimes with rewrite-timestamp): buildx
    # passes it to every build as an arg. The user's own value wins.
    if "SOURCE_DATE_EPOCH" not in os.environ and (epoch := source_date_epoch(config.root)):
        env["SOURCE_DATE_EPOCH"] = epoch
    configured = dict(bake.variables)
    env.update({k: v for k, v in {**_go_variables(), **configured}.items() if k not in os.environ})
    env.update(matrix_logic.as_bake_variables(matrix))
    return env


def check_sets(sets: Sequence[str]) -> None:
    for s in sets:
        if "=" not in s or "." not in s.split("=", 1)[0]:
            raise bad_input(f"--set {s!r}: expected pattern.key=value")


def _base_args(config: Settings, files: Sequence[str], sets: Sequence[str]) -> list[str]:
    check_sets(sets)
    return (
        Command("docker", "buildx", "bake", "--provenance=false")
        .option("--set", f"*.args.nprocs={os.cpu_count() or 1}", joined=True)
        .options("-f", files)
        .options("--set", sets, joined=True)
        .argv
    )


def bake_print(
    config: Settings,
    targets: list[str],
    matrix_overrides: Sequence[str] = (),
    sets: Sequence[str] = (),
    root: Path | None = None,
) -> dict[str, Any]:
    """The resolved bake definition (`--print`) for targets under the resolved matrix."""
    env = bake_env(config, resolve_matrix(config, matrix_overrides))
    return _print_plan(config, targets, sets, env, root or config.root)


def _print_plan(
    config: Settings, targets: list[str], sets: Sequence[str], env: dict[str, str], root: Path
) -> dict[str, Any]:
    cmd = [*_base_args(config, bake_files(config, root), sets), "--print", *targets]
    result = run(cmd, check=False, env=env, cwd=root)
    if not result.ok:
        raise bad_input(f"bake rejected the definition: {failure_reason(result.stderr)}")
    try:
        plan: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        raise BakehouseError(f"bake --print did not print JSON: {exc}") from exc
    return plan


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


def check_named_builder(config: Settings, builder: str | None) -> str:
    """The name of the builder to build on; one named explicitly (not 'default', not the
    configured one) must exist: a typo must not quietly make a new, empty builder. Only reads."""
    name = resolve_builder_name(config, builder)
    if builder and name not in ("default", resolve_builder_name(config, None)) and not builder_recorded(name):
        require_builder(name)
    return name


def prepare_builder(config: Settings, builder: str | None) -> str:
    """The builder to build on: 'default', one that exists, or the configured one (made on first use)."""
    name = check_named_builder(config, builder)
    if name == "default" or builder_recorded(name):
        return name
    if builder and name != resolve_builder_name(config, None):
        return name  # named explicitly: check_named_builder found it
    if current_state(name) is None:
        say(f"builder {name} doesn't exist yet: creating it")
        ensure_builder(config, name)
    return name


@dataclass
class ResolvedBake:
    """What a bake call needs before a builder is chosen: everything bad input is refused by."""

    files: list[str]
    env: dict[str, str]
    plan: dict[str, Any]
    # The concrete targets the requested targets and groups expand to, and their --allow flags.
    names: list[str]
    allow: list[str]
    # The plan cache's key, and whether the plan came from it (no `bake --print` this time).
    plan_key: str
    plan_remembered: bool
    # The targets and groups as requested (before expansion).
    requested: list[str] = field(default_factory=list)
    # Where bake runs: the project root its bake files are relative to.
    root: Path = field(default_factory=Path.cwd)


@dataclass
class BakeInvocation:
    names: list[str]
    cmd: list[str]
    env: dict[str, str]
    builder: str
    plan: dict[str, Any]
    # The plan cache's key, and whether the plan came from it (no `bake --print` this time).
    plan_key: str
    plan_remembered: bool
    # Where bake runs: the project root its bake files are relative to.
    root: Path = field(default_factory=Path.cwd)


def remembered_plan(
    root: Path, files: Sequence[str], targets: list[str], sets: Sequence[str], env: dict[str, str]
) -> tuple[str, dict[str, Any] | None]:
    """The plan cache's key for this build, and the plan stored under it by an earlier build."""
    contents = [(name, (root / name).read_bytes()) for name in files]
    key = plan_cache.plan_key(
        root=root, files=contents, env=env, targets=targets, sets=sets, cores=os.cpu_count() or 1,
        buildx=plan_cache.buildx_identity(env),
    )  # fmt: skip
    return key, plan_cache.load(plan_cache.cache_dir(env), key)


def resolve_bake(
    config: Settings, targets: list[str], *, matrix_overrides: Sequence[str] = (), sets: Sequence[str] = ()
) -> ResolvedBake:
    """Environment, plan, concrete targets and entitlements of a build; changes nothing."""
    # One environment (git and Go variables cost subprocesses) for the plan and the build.
    env = bake_env(config, resolve_matrix(config, matrix_overrides))
    check_sets(sets)  # before the plan cache: a remembered plan must not skip the check
    files = bake_files(config)
    key, remembered = remembered_plan(config.root, files, targets, sets, env)
    plan = remembered if remembered is not None else _print_plan(config, targets, sets, env, config.root)
    names = requested_targets(plan, targets)
    allow = needed_entitlements(config, plan, names)
    return ResolvedBake(
        files, env, plan, names, allow, key, remembered is not None, list(targets), config.root
    )


def builder_bake_command(
    config: Settings, resolved: ResolvedBake, sets: Sequence[str], builder_name: str
) -> Command:
    """bake on one builder with the build's files, settings and entitlements; no cache export."""
    return (
        Command(*_base_args(config, resolved.files, sets))
        .option("--builder", builder_name, joined=True)
        .options("--allow", resolved.allow, joined=True)
    )


def bake_command(
    config: Settings,
    targets: list[str],
    *,
    matrix_overrides: Sequence[str] = (),
    sets: Sequence[str] = (),
    builder: str | None = None,
) -> BakeInvocation:
    """The exact bake command line (without targets and progress) and environment for a build."""
    resolved = resolve_bake(config, targets, matrix_overrides=matrix_overrides, sets=sets)
    return bake_invocation(config, resolved, sets, builder)


def matrix_siblings(config: Settings, resolved: ResolvedBake, sets: Sequence[str]) -> dict[str, list[str]]:
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
    if full_env == resolved.env:
        full_plan = resolved.plan
    else:
        key, remembered = remembered_plan(config.root, resolved.files, resolved.requested, sets, full_env)
        full_plan = (
            remembered
            if remembered is not None
            else _print_plan(config, resolved.requested, sets, full_env, config.root)
        )
        if remembered is None:
            plan_cache.store(plan_cache.cache_dir(full_env), key, full_plan)
    return cache_export.matrix_siblings(resolved.plan.get("target", {}), full_plan.get("target", {}))


def bake_invocation(
    config: Settings, resolved: ResolvedBake, sets: Sequence[str], builder: str | None
) -> BakeInvocation:
    """The bake command line for a resolved build on ``builder`` (created when it is the configured
    one and missing), with the configured cache export and import."""
    # Checked before the builder may be created: bad cache settings (and a plan whose cache entries
    # break the run's trust scope) change nothing.
    scoped = cache_scope(config, resolved.plan)
    builder_name = prepare_builder(config, builder)
    command = builder_bake_command(config, resolved, sets, builder_name)
    if builder_name != "default":
        # Every target of the plan, dependencies included: each exports only its own steps.
        plan_targets = sorted(resolved.plan.get("target", {}))
        siblings = matrix_siblings(config, resolved, sets)
        command = command.args(*bake_cache_args(config, plan_targets, builder_name, siblings, scoped))
    return BakeInvocation(
        resolved.names, command.argv, resolved.env, builder_name, resolved.plan, resolved.plan_key,
        resolved.plan_remembered, resolved.root,
    )  # fmt: skip


def list_targets(config: Settings, matrix_overrides: Sequence[str] = ()) -> list[tuple[str, str]]:
    """Targets and groups of the tree (names before matrix expansion, as bake --list shows them)."""
    matrix = resolve_matrix(config, matrix_overrides)
    listing = Command("docker", "buildx", "bake", "--list=type=targets,format=json")
    command = listing.options("-f", bake_files(config))
    result = run(command, check=False, env=bake_env(config, matrix), cwd=config.root)
    if not result.ok:
        raise bad_input(f"bake rejected the definition: {failure_reason(result.stderr)}")
    rows = json.loads(result.stdout)
    return [(str(r.get("name")), str(r.get("description") or "")) for r in rows]
