"""Running a build: one or more `docker buildx bake` calls with their progress shown, then the
summary table and the verdict."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..builder.lifecycle import builder_stopped
from ..cache.maintenance import collect_exported_garbage
from ..shared.engine import engine_lost, require_engine
from ..shared.errors import BakehouseError, bad_input
from ..shared.process import failure_reason, run, say, stream
from ..shared.settings import Settings
from . import engine_load, plan_cache
from .definition import BakeInvocation, bake_command
from .progress import RawJsonReader, TargetOutcome
from .summary import print_summary

PROGRESS_MODES = ("auto", "plain", "tty", "quiet", "rawjson")
# gRPC's words for a dropped connection: the builder may be what went away.
CONNECTION_LOST = ("code = Unavailable", "EOF", "connection reset")


@dataclass
class BakeCall:
    targets: list[str]
    ok: bool
    seconds: float
    reader: RawJsonReader | None
    error: str | None


@dataclass
class BakeRun:
    """The bakes of a build on one builder, and whether their images meant for the engine got there."""

    calls: list[BakeCall]
    # False when loading the changed images into the engine failed (True when there was none).
    loaded: bool
    # Why the bakes failed when the builder's container stopped under them; None otherwise.
    builder_lost: str | None

    @property
    def ok(self) -> bool:
        return self.loaded and all(call.ok for call in self.calls)


def progress_mode(requested: str | None, config: Settings) -> str:
    mode = requested or config.bake.progress
    if mode not in PROGRESS_MODES:
        raise bad_input(f"--progress {mode!r}: choose one of {', '.join(PROGRESS_MODES)}")
    if os.environ.get("CI", "").lower() == "true" and mode == "auto":
        return "plain"
    if mode == "auto":
        return "tty" if sys.stderr.isatty() else "plain"
    return mode


def run_bake(
    cmd: list[str], env: dict[str, str], mode: str, targets: list[str], cwd: Path, label: str = ""
) -> BakeCall:
    """One bake invocation; rawjson is parsed (and rendered) unless the user asked for buildx's tty.
    ``label`` starts each plain progress row (parallel bakes share one terminal)."""
    # The runner closes stdin: bake without --allow would otherwise prompt on a terminal.
    started = time.monotonic()
    if mode == "tty":
        # Let buildx draw its own display; the summary then knows only success or failure.
        shown = run([*cmd, "--progress=tty"], check=False, capture=False, env=env, cwd=cwd)
        return BakeCall(targets, shown.ok, time.monotonic() - started, None, None)
    reader = RawJsonReader(single_target=targets[0] if len(targets) == 1 else None)
    tail: list[str] = []
    with stream([*cmd, "--progress=rawjson"], read="stderr", env=env, cwd=cwd) as bake:
        for line in bake.lines():
            if mode == "rawjson":
                print(line, end="", file=sys.stderr)
            rows = reader.feed(line)
            if not line.lstrip().startswith("{"):
                tail = [*tail, line.strip()][-20:]
            if mode == "plain":
                for row in rows:
                    print(f"{label}{row}", file=sys.stderr, flush=True)
        ok = bake.wait() == 0
    error = None
    if not ok:
        errors = reader.errors()
        error = errors[-1].error if errors else failure_reason("\n".join(tail))
        if mode == "quiet":
            for vertex in errors:
                for chunk in vertex.logs[-20:]:
                    print(chunk, end="", file=sys.stderr)
    return BakeCall(targets, ok, time.monotonic() - started, reader, error)


def load_changed(
    loads: dict[str, list[str]],
    metadata: dict[str, dict[str, Any]],
    cmd: list[str],
    env: dict[str, str],
    mode: str,
    cwd: Path,
) -> bool:
    """Load the images the engine doesn't have yet (a cached bake with their own outputs)."""
    stale = engine_load.stale_loads(loads, metadata, engine_load.engine_image_ids())
    if not stale:
        say(f"{len(loads)} image(s) already in the engine, unchanged: nothing to load")
        return True
    say(f"loading {len(stale)} changed image(s) into the engine: {', '.join(stale)}")
    call = run_bake([*cmd, *stale], env, "quiet" if mode == "tty" else mode, stale, cwd)
    if not call.ok:
        say(f"loading into the engine failed: {call.error}")
    return call.ok


def connection_lost(calls: Sequence[BakeCall]) -> bool:
    """Whether a bake failed the way a dropped builder connection looks."""
    return any(call.error and any(words in call.error for words in CONNECTION_LOST) for call in calls)


def bake_and_load(
    invocation: BakeInvocation,
    batches: Sequence[list[str]],
    mode: str,
    *,
    extra_args: Sequence[str] = (),
    extra_env: Mapping[str, str] | None = None,
    label: str = "",
    quiet_load: bool = False,
) -> BakeRun:
    """One bake per batch of targets on the invocation's builder, then the engine's images changed
    by the batches that succeeded loaded into it; why, if the builder stopped under the bakes.

    Images for the engine go to the builder's store first (see engine_load). ``label`` starts each
    plain progress row; ``quiet_load`` hides the load's progress (a cached bake that says nothing new).
    """
    cmd = [*invocation.cmd, *extra_args]
    env = {**invocation.env, **(extra_env or {})}
    names = [name for batch in batches for name in batch]
    loads = engine_load.engine_loads(invocation.plan, names) if invocation.builder != "default" else {}
    calls: list[BakeCall] = []
    metadata: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bakehouse-bake-") as scratch:
        for number, batch in enumerate(batches):
            batch_loads = {name: loads[name] for name in batch if name in loads}
            metadata_file = Path(scratch) / f"metadata-{number}.json"
            export = (
                engine_load.image_export_args(batch_loads, metadata_file, invocation.plan)
                if batch_loads
                else []
            )
            calls.append(run_bake([*cmd, *export, *batch], env, mode, batch, invocation.root, label=label))
            metadata.update(engine_load.read_metadata(metadata_file))
    built = {name: loads[name] for call in calls if call.ok for name in call.targets if name in loads}
    loaded = not built or load_changed(
        built, metadata, cmd, env, "quiet" if quiet_load else mode, invocation.root
    )
    # buildx sees only a dropped connection (EOF, reset): the builder's container says why.
    lost = builder_stopped(invocation.builder, wait=3.0) if connection_lost(calls) else None
    return BakeRun(calls, loaded, lost)


def bake_build(
    config: Settings,
    targets: list[str],
    *,
    matrix_overrides: Sequence[str] = (),
    sets: Sequence[str] = (),
    builder: str | None = None,
    keep_going: bool = False,
    progress: str | None = None,
    extra_args: Sequence[str] = (),
    extra_env: Mapping[str, str] | None = None,
    before_bake: Callable[[BakeInvocation], None] | None = None,
) -> list[TargetOutcome]:
    """Build targets; print a summary table; raise BakehouseError if any target failed.

    ``extra_env`` reaches the bake processes only, not the plan or its cache key (registry
    credentials for a push: a temporary DOCKER_CONFIG must not make a new plan). ``before_bake``
    sees the resolved build before the first bake (the task layer supplies images with it)."""
    mode = progress_mode(progress, config)
    require_engine()
    invocation = bake_command(config, targets, matrix_overrides=matrix_overrides, sets=sets, builder=builder)
    if before_bake is not None:
        before_bake(invocation)
    names = invocation.names
    remembered = " (plan remembered)" if invocation.plan_remembered else ""
    say(f"building {', '.join(names)} on builder {invocation.builder}{remembered}")
    started = time.monotonic()
    # One bake per target with --keep-going, so a failing cell can't cancel the others; shared
    # layers are cached by the first call that builds them.
    batches = [[name] for name in names] if keep_going else [names]
    baked = bake_and_load(invocation, batches, mode, extra_args=extra_args, extra_env=extra_env)
    outcomes = summarize(baked.calls)
    failed = [o for o in outcomes if o.status == "failed"]
    exit_status = 1 if failed or not baked.ok else 0
    print_summary(outcomes, time.monotonic() - started, exit_status)
    if exit_status and (lost := engine_lost("the build")):
        # buildx's own message (EOF, connection reset) hides the cause and the fix.
        raise lost
    if baked.builder_lost:
        raise BakehouseError(baked.builder_lost)
    if exit_status == 0:
        if not invocation.plan_remembered:
            plan_cache.store(plan_cache.cache_dir(invocation.env), invocation.plan_key, invocation.plan)
        collect_exported_garbage(config)
    if exit_status:
        raise BakehouseError(f"{len(failed) or 'some'} of {len(outcomes)} target(s) failed")
    return outcomes


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
