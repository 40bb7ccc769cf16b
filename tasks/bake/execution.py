"""Running a build: one or more `docker buildx bake` calls with their progress shown, then the
summary table and the verdict. `run_build` is the one lifecycle of every build, serial or pooled:
engine → builder(s) → bakes → summary → remembered plan → cache GC → verdict."""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..builder.emulation import check_host_can_provide, ready_for_platforms
from ..builder.lifecycle import builder_stopped, prepare_builder
from ..cache.bake_cache import collect_exported_garbage
from ..shared.buildx import list_builders
from ..shared.engine import engine_lost, require_engine
from ..shared.errors import BakehouseError, bad_input
from ..shared.process import failure_reason, run, say, stream
from ..shared.settings import Settings
from . import engine_load
from .definition import BakeInvocation, ResolvedBake, bake_invocation, plan_platforms
from .platforms import platforms_by_target
from .progress import RawJsonReader, TargetOutcome
from .request import BuildRequest
from .summary import print_summary

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


def with_progress(cmd: Sequence[str], mode: str) -> list[str]:
    """The bake command as run in a progress mode: buildx's own tty display, else rawjson, which
    bakehouse reads (and renders plain, passes through, or keeps quiet)."""
    return [*cmd, "--progress=tty" if mode == "tty" else "--progress=rawjson"]


def batch_command(
    invocation: BakeInvocation,
    batch: Sequence[str],
    *,
    extra_args: Sequence[str] = (),
    export: Sequence[str] = (),
) -> list[str]:
    """One bake of a build, before its progress option: the invocation's command, the caller's
    extra arguments, the image export arguments of targets meant for the engine, the targets."""
    return [*invocation.cmd, *extra_args, *export, *batch]


def run_bake(
    cmd: list[str], env: dict[str, str], mode: str, targets: list[str], cwd: Path, label: str = ""
) -> BakeCall:
    """One bake invocation; rawjson is parsed (and rendered) unless the user asked for buildx's tty.
    ``label`` starts each plain progress row (parallel bakes share one terminal)."""
    # The runner closes stdin: bake without --allow would otherwise prompt on a terminal.
    started = time.monotonic()
    if mode == "tty":
        # Let buildx draw its own display; the summary then knows only success or failure.
        shown = run(with_progress(cmd, mode), check=False, capture=False, env=env, cwd=cwd)
        return BakeCall(targets, shown.ok, time.monotonic() - started, None, None)
    reader = RawJsonReader(single_target=targets[0] if len(targets) == 1 else None)
    tail: list[str] = []
    with stream(with_progress(cmd, mode), read="stderr", env=env, cwd=cwd) as bake:
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
    resolved = invocation.resolved
    cmd = [*invocation.cmd, *extra_args]
    env = {**resolved.env, **(extra_env or {})}
    names = [name for batch in batches for name in batch]
    loads = engine_load.engine_loads(resolved.plan, names) if invocation.builder != "default" else {}
    calls: list[BakeCall] = []
    metadata: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bakehouse-bake-") as scratch:
        for number, batch in enumerate(batches):
            batch_loads = {name: loads[name] for name in batch if name in loads}
            metadata_file = Path(scratch) / f"metadata-{number}.json"
            export = (
                engine_load.image_export_args(batch_loads, metadata_file, resolved.plan)
                if batch_loads
                else []
            )
            command = batch_command(invocation, batch, extra_args=extra_args, export=export)
            calls.append(run_bake(command, env, mode, batch, resolved.root, label=label))
            metadata.update(engine_load.read_metadata(metadata_file))
    built = {name: loads[name] for call in calls if call.ok for name in call.targets if name in loads}
    loaded = not built or load_changed(
        built, metadata, cmd, env, "quiet" if quiet_load else mode, resolved.root
    )
    # buildx sees only a dropped connection (EOF, reset): the builder's container says why.
    lost = builder_stopped(invocation.builder, wait=3.0) if connection_lost(calls) else None
    return BakeRun(calls, loaded, lost)


@dataclass
class Baked:
    """What the bakes of a build came to, for the summary and the verdict."""

    outcomes: list[TargetOutcome]
    ok: bool
    # The one line a failed build ends with.
    failure: str = ""
    # The builder of each summary row (a pool's); None: one builder, no column.
    builders: list[str] | None = None


def run_build(
    config: Settings,
    request: BuildRequest,
    resolved: ResolvedBake,
    bake: Callable[[list[BakeInvocation]], Baked],
) -> Baked:
    """The lifecycle of every build: engine, builder(s) and their bake commands, the bakes
    (``bake``, given one invocation per builder), summary table, then on success the plan
    remembered and the exported cache collected; on failure BakehouseError (the engine's or the
    builder's loss named first)."""
    require_engine()
    needed = plan_platforms(resolved.plan)
    if request.pool:
        require_builders(request.pool)
        builders = list(request.pool)
        for name in builders:
            check_host_can_provide(needed, name)
    else:
        assert request.builder is not None  # a serial request always has its builder
        # A platform no builder here could run is refused before the builder is made.
        check_host_can_provide(needed, request.builder.name)
        builders = [prepare_builder(config, request.builder)]
    for name in builders:
        ready_for_platforms(name, needed)
    # Each builder's bake command, made here, one after the other: what that costs (a `bake --print`
    # for the cache's matrix siblings, the cache directories) is done once per build, and what
    # fails stops the build before any builder has started.
    invocations = [bake_invocation(config, resolved, builder) for builder in builders]
    started = time.monotonic()
    baked = bake(invocations)
    exit_status = 0 if baked.ok else 1
    platforms = platforms_by_target(resolved.plan, [outcome.name for outcome in baked.outcomes])
    print_summary(
        baked.outcomes, time.monotonic() - started, exit_status, builders=baked.builders, platforms=platforms
    )
    if baked.ok:
        resolved.store_plan()
        collect_exported_garbage(config)
        return baked
    if lost := engine_lost("the build"):
        # buildx's own message (EOF, connection reset) hides the cause and the fix.
        raise lost
    raise BakehouseError(baked.failure)


def require_builders(names: Sequence[str]) -> None:
    """Every builder of a pool must exist: a pool never creates one (a typo would build on an
    empty builder)."""
    existing = {builder.name for builder in list_builders()}
    missing = [name for name in names if name not in existing]
    if missing:
        raise bad_input(
            f"--builders: no builder named {', '.join(missing)} (builders: {', '.join(sorted(existing))}); "
            "`inv builder.create --name NAME` makes one"
        )


def serial_bakes(
    request: BuildRequest,
    names: Sequence[str],
    *,
    extra_args: Sequence[str] = (),
    extra_env: Mapping[str, str] | None = None,
) -> Callable[[list[BakeInvocation]], Baked]:
    """The bakes of a serial build of ``names`` on its one builder: all in one bake, or with
    --keep-going one per target, so a failing cell can't cancel the others (shared layers are
    cached by the first call that builds them).

    ``extra_env`` reaches the bake processes only, not the plan or its cache key (registry
    credentials for a push: a temporary DOCKER_CONFIG must not make a new plan)."""

    def bake(invocations: list[BakeInvocation]) -> Baked:
        (invocation,) = invocations
        remembered = " (plan remembered)" if invocation.resolved.plan_remembered else ""
        say(f"building {', '.join(names)} on builder {invocation.builder}{remembered}")
        batches = [[name] for name in names] if request.keep_going else [list(names)]
        run = bake_and_load(invocation, batches, request.progress, extra_args=extra_args, extra_env=extra_env)
        outcomes = summarize(run.calls)
        failed = [o for o in outcomes if o.status == "failed"]
        ok = not failed and run.ok
        failure = run.builder_lost or f"{len(failed) or 'some'} of {len(outcomes)} target(s) failed"
        return Baked(outcomes, ok, failure)

    return bake


def bake_build(
    config: Settings,
    request: BuildRequest,
    resolved: ResolvedBake,
    *,
    extra_args: Sequence[str] = (),
    extra_env: Mapping[str, str] | None = None,
) -> list[TargetOutcome]:
    """Build the resolved targets on the request's builder; print a summary table; raise
    BakehouseError if any target failed."""
    bakes = serial_bakes(request, resolved.names, extra_args=extra_args, extra_env=extra_env)
    return run_build(config, request, resolved, bakes).outcomes


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
