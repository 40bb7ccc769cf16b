"""`inv build`: drive `docker buildx bake` over the configured tree and matrix.

bake is called through the docker CLI: python-on-whales' `buildx.bake` has no `--allow`, no
rawjson progress, and evaluates `--print` a second time after every build.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from invoke import Context, task

from tasks.builder.service import (
    builder_recorded,
    current_state,
    ensure_builder,
    require_builder,
    resolve_builder_name,
)
from tasks.cache import export as cache_export
from tasks.build import matrix as matrix_logic
from tasks.build.progress import RawJsonReader, TargetOutcome
from tasks.cache.service import bake_cache_args
from tasks.builder.service import builder_stopped
from tasks.shared.engine import engine_lost, require_engine
from tasks.cache.service import collect_exported_garbage
from tasks.shared.errors import BakehouseError, bad_input
from tasks.shared.process import REPO_ROOT, git_output, last_line, run, say

PROGRESS_MODES = ("auto", "plain", "tty", "quiet", "rawjson")


def bake_files(c: Context, root: Path = REPO_ROOT) -> list[str]:
    files = [str(f) for f in c.config.bakehouse.bake.files]
    for f in files:
        if not (root / f).exists():
            raise bad_input(f"bake file {f} not found (bake.files in invoke.yaml)")
    return files


def resolve_matrix(c: Context, matrix_overrides: Sequence[str] = ()) -> matrix_logic.Matrix:
    defaults = {str(k): list(v) for k, v in dict(c.config.bakehouse.bake.matrix).items()}
    return matrix_logic.resolve(defaults, os.environ, matrix_overrides)


def _git_variables() -> dict[str, str]:
    return {
        "git_version": git_output("describe", "--tags", "--always", "--dirty") or "unknown",
        "git_revision": git_output("rev-parse", "HEAD") or "unknown",
        "git_created": git_output("log", "-1", "--format=%cI") or "1970-01-01T00:00:00Z",
    }


def _go_variables() -> dict[str, str]:
    """The host's Go settings, so builds reach the same module proxy the host does."""
    names = ["GOPROXY", "GOSUMDB", "GONOSUMDB", "GOFLAGS"]
    result = run(["go", "env", *names], check=False) if shutil.which("go") else None
    if result is None or result.returncode != 0:
        return {}
    return {name: value for name, value in zip(names, result.stdout.splitlines(), strict=False) if value}


def bake_env(c: Context, matrix: matrix_logic.Matrix) -> dict[str, str]:
    env = dict(os.environ)
    if c.config.bakehouse.bake.git_variables:
        env.update(_git_variables())
    configured = {str(k): str(v) for k, v in dict(c.config.bakehouse.bake.get("variables") or {}).items()}
    env.update({k: v for k, v in {**_go_variables(), **configured}.items() if k not in os.environ})
    env.update(matrix_logic.as_bake_variables(matrix))
    return env


def _base_args(c: Context, files: Sequence[str], sets: Sequence[str]) -> list[str]:
    args = ["docker", "buildx", "bake", "--provenance=false", f"--set=*.args.nprocs={os.cpu_count() or 1}"]
    for f in files:
        args += ["-f", f]
    for s in sets:
        if "=" not in s or "." not in s.split("=", 1)[0]:
            raise bad_input(f"--set {s!r}: expected pattern.key=value")
        args.append(f"--set={s}")
    return args


def bake_print(
    c: Context,
    targets: list[str],
    matrix_overrides: Sequence[str] = (),
    sets: Sequence[str] = (),
    root: Path = REPO_ROOT,
) -> dict[str, Any]:
    """The resolved bake definition (`--print`) for targets under the resolved matrix."""
    env = bake_env(c, resolve_matrix(c, matrix_overrides))
    return _print_plan(c, targets, sets, env, root)


def _print_plan(
    c: Context, targets: list[str], sets: Sequence[str], env: dict[str, str], root: Path
) -> dict[str, Any]:
    cmd = [*_base_args(c, bake_files(c, root), sets), "--print", *targets]
    result = run(cmd, check=False, env=env, cwd=root)
    if result.returncode != 0:
        raise bad_input(f"bake rejected the definition: {_bake_error(result.stderr)}")
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        raise BakehouseError(f"bake --print did not print JSON: {exc}") from exc


def _bake_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    return (errors[-1] if errors else last_line(stderr)).removeprefix("ERROR: ") or "unknown error"


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


def needed_entitlements(c: Context, plan: dict[str, Any], names: list[str]) -> list[str]:
    """The --allow flags the selected targets declare; refuse any the config doesn't permit."""
    allowed = {str(a) for a in c.config.bakehouse.bake.allow}
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


@dataclass
class BakeCall:
    targets: list[str]
    ok: bool
    seconds: float
    reader: RawJsonReader | None
    error: str | None


def _progress_mode(requested: str | None, c: Context) -> str:
    mode = requested or str(c.config.bakehouse.bake.progress)
    if mode not in PROGRESS_MODES:
        raise bad_input(f"--progress {mode!r}: choose one of {', '.join(PROGRESS_MODES)}")
    if os.environ.get("CI", "").lower() == "true" and mode == "auto":
        return "plain"
    if mode == "auto":
        return "tty" if sys.stderr.isatty() else "plain"
    return mode


def _run_bake(cmd: list[str], env: dict[str, str], mode: str, targets: list[str]) -> BakeCall:
    """One bake invocation; rawjson is parsed (and rendered) unless the user asked for buildx's tty."""
    started = time.monotonic()
    if mode == "tty":
        # Let buildx draw its own display; the summary then knows only success or failure.
        proc = subprocess.run([*cmd, "--progress=tty"], env=env, cwd=REPO_ROOT, stdin=subprocess.DEVNULL)
        return BakeCall(targets, proc.returncode == 0, time.monotonic() - started, None, None)
    reader = RawJsonReader(single_target=targets[0] if len(targets) == 1 else None)
    proc = subprocess.Popen(
        [*cmd, "--progress=rawjson"],
        env=env,
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,  # never prompt: bake without --allow would ask on a terminal
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None and proc.stdout is not None
    tail: list[str] = []
    for line in proc.stderr:
        if mode == "rawjson":
            print(line, end="", file=sys.stderr)
        shown = reader.feed(line)
        if not line.lstrip().startswith("{"):
            tail = [*tail, line.strip()][-20:]
        if mode == "plain":
            for row in shown:
                print(row, file=sys.stderr, flush=True)
    proc.wait()
    error = None
    if proc.returncode != 0:
        errors = reader.errors()
        error = errors[-1].error if errors else _bake_error("\n".join(tail))
        if mode == "quiet":
            for vertex in errors:
                for chunk in vertex.logs[-20:]:
                    print(chunk, end="", file=sys.stderr)
    return BakeCall(targets, proc.returncode == 0, time.monotonic() - started, reader, error)


def summarize(calls: list[BakeCall]) -> list[TargetOutcome]:
    outcomes: list[TargetOutcome] = []
    for call in calls:
        for target in call.targets:
            if call.reader is None:
                outcomes.append(
                    TargetOutcome(target, "done" if call.ok else "failed", call.seconds, 0, 0, call.error)
                )
            else:
                outcomes.append(call.reader.outcome(target, call.ok))
    return outcomes


def print_summary(outcomes: list[TargetOutcome], total_seconds: float, exit_status: int) -> None:
    rows = [("TARGET", "STATUS", "TIME", "STEPS RUN/CACHED")]
    for o in outcomes:
        rows.append((o.name, o.status, f"{o.seconds:.1f}s", f"{o.steps_executed}/{o.steps_cached}"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    print(file=sys.stderr)
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip(), file=sys.stderr)
    for o in outcomes:
        if o.status == "failed" and o.error:
            print(f"{o.name}: {o.error.strip().splitlines()[-1]}", file=sys.stderr)
    verdict = "ACCEPT" if exit_status == 0 else "ERROR"
    print(
        f"{verdict}: {len(outcomes)} target(s) in {total_seconds:.1f}s, exit status {exit_status}",
        file=sys.stderr,
    )


def prepare_builder(c: Context, builder: str | None) -> str:
    """The builder to build on: 'default', one that exists, or the configured one (made on first use)."""
    name = resolve_builder_name(c, builder)
    if name == "default" or builder_recorded(name):
        return name
    if builder and name != resolve_builder_name(c, None):
        # Named explicitly: a typo must not quietly make a new, empty builder.
        require_builder(name)
        return name
    if current_state(name) is None:
        say(f"builder {name} doesn't exist yet: creating it")
        ensure_builder(c, name)
    return name


@dataclass
class BakeInvocation:
    names: list[str]
    cmd: list[str]
    env: dict[str, str]
    builder: str


def bake_command(
    c: Context,
    targets: list[str],
    *,
    matrix_overrides: Sequence[str] = (),
    sets: Sequence[str] = (),
    builder: str | None = None,
) -> BakeInvocation:
    """The exact bake command line (without targets and progress) and environment for a build."""
    # One environment (git and Go variables cost subprocesses) for the plan and the build.
    env = bake_env(c, resolve_matrix(c, matrix_overrides))
    plan = _print_plan(c, targets, sets, env, REPO_ROOT)
    names = requested_targets(plan, targets)
    allow = needed_entitlements(c, plan, names)
    # Checked before the builder may be created: bad cache settings change nothing.
    cache_export.CacheSettings.from_config(c.config.bakehouse.get("cache") or {})
    builder_name = prepare_builder(c, builder)
    cmd = [*_base_args(c, bake_files(c), sets), f"--builder={builder_name}"]
    cmd += [f"--allow={a}" for a in allow]
    if builder_name != "default":
        # Every target of the plan, dependencies included: each exports only its own steps.
        cmd += bake_cache_args(c, sorted(plan.get("target", {})), builder_name)
    return BakeInvocation(names, cmd, env, builder_name)


def bake_build(
    c: Context,
    targets: list[str],
    *,
    matrix_overrides: Sequence[str] = (),
    sets: Sequence[str] = (),
    builder: str | None = None,
    keep_going: bool = False,
    progress: str | None = None,
    extra_args: Sequence[str] = (),
) -> list[TargetOutcome]:
    """Build targets; print a summary table; raise BakehouseError if any target failed."""
    mode = _progress_mode(progress, c)
    require_engine()
    invocation = bake_command(c, targets, matrix_overrides=matrix_overrides, sets=sets, builder=builder)
    cmd = [*invocation.cmd, *extra_args]
    names, env = invocation.names, invocation.env
    say(f"building {', '.join(names)} on builder {invocation.builder}")
    started = time.monotonic()
    calls: list[BakeCall] = []
    if keep_going:
        # One bake per target so a failing cell can't cancel the others; shared layers are cached
        # by the first call that builds them.
        for name in names:
            calls.append(_run_bake([*cmd, name], env, mode, [name]))
    else:
        calls.append(_run_bake([*cmd, *names], env, mode, names))
    outcomes = summarize(calls)
    failed = [o for o in outcomes if o.status == "failed"]
    exit_status = 1 if failed or not all(call.ok for call in calls) else 0
    print_summary(outcomes, time.monotonic() - started, exit_status)
    if exit_status and (lost := engine_lost("the build")):
        # buildx's own message (EOF, connection reset) hides the cause and the fix.
        raise lost
    # gRPC's words for a dropped connection: the builder may be what went away.
    connection_lost = any(
        call.error and any(word in call.error for word in ("code = Unavailable", "EOF", "connection reset"))
        for call in calls
    )
    if connection_lost and (stopped := builder_stopped(invocation.builder, wait=3.0)):
        raise BakehouseError(stopped)
    if exit_status == 0:
        collect_exported_garbage(c)
    if exit_status:
        raise BakehouseError(f"{len(failed) or 'some'} of {len(outcomes)} target(s) failed")
    return outcomes


def list_targets(c: Context, matrix_overrides: Sequence[str] = ()) -> list[tuple[str, str]]:
    """Targets and groups of the tree (names before matrix expansion, as bake --list shows them)."""
    matrix = resolve_matrix(c, matrix_overrides)
    cmd = ["docker", "buildx", "bake", "--list=type=targets,format=json"]
    for f in bake_files(c):
        cmd += ["-f", f]
    result = run(cmd, check=False, env=bake_env(c, matrix), cwd=REPO_ROOT)
    if result.returncode != 0:
        raise bad_input(f"bake rejected the definition: {_bake_error(result.stderr)}")
    rows = json.loads(result.stdout)
    return [(str(r.get("name")), str(r.get("description") or "")) for r in rows]
