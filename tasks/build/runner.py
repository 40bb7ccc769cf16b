"""Running a build: one or more `docker buildx bake` calls with their progress shown, then the
summary table and the verdict."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from invoke import Context

from tasks.build.plan import bake_command
from tasks.build.progress import RawJsonReader, TargetOutcome
from tasks.build.summary import print_summary
from tasks.builder.service import builder_stopped
from tasks.cache.service import collect_exported_garbage
from tasks.shared.engine import engine_lost, require_engine
from tasks.shared.errors import BakehouseError, bad_input
from tasks.shared.process import REPO_ROOT, failure_reason, run, say, stream
from tasks.shared.settings import settings

PROGRESS_MODES = ("auto", "plain", "tty", "quiet", "rawjson")


@dataclass
class BakeCall:
    targets: list[str]
    ok: bool
    seconds: float
    reader: RawJsonReader | None
    error: str | None


def progress_mode(requested: str | None, c: Context) -> str:
    mode = requested or settings(c).bake.progress
    if mode not in PROGRESS_MODES:
        raise bad_input(f"--progress {mode!r}: choose one of {', '.join(PROGRESS_MODES)}")
    if os.environ.get("CI", "").lower() == "true" and mode == "auto":
        return "plain"
    if mode == "auto":
        return "tty" if sys.stderr.isatty() else "plain"
    return mode


def _run_bake(cmd: list[str], env: dict[str, str], mode: str, targets: list[str]) -> BakeCall:
    """One bake invocation; rawjson is parsed (and rendered) unless the user asked for buildx's tty."""
    # The runner closes stdin: bake without --allow would otherwise prompt on a terminal.
    started = time.monotonic()
    if mode == "tty":
        # Let buildx draw its own display; the summary then knows only success or failure.
        shown = run([*cmd, "--progress=tty"], check=False, capture=False, env=env, cwd=REPO_ROOT)
        return BakeCall(targets, shown.ok, time.monotonic() - started, None, None)
    reader = RawJsonReader(single_target=targets[0] if len(targets) == 1 else None)
    tail: list[str] = []
    with stream([*cmd, "--progress=rawjson"], read="stderr", env=env, cwd=REPO_ROOT) as bake:
        for line in bake.lines():
            if mode == "rawjson":
                print(line, end="", file=sys.stderr)
            rows = reader.feed(line)
            if not line.lstrip().startswith("{"):
                tail = [*tail, line.strip()][-20:]
            if mode == "plain":
                for row in rows:
                    print(row, file=sys.stderr, flush=True)
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
    mode = progress_mode(progress, c)
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
