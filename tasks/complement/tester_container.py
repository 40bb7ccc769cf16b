"""The tester container: listing the suite, running it with its output streamed, the crash guard.

Docker is called through its CLI here, not python-on-whales: the tester's environment is passed as
`-e NAME` (the value read from the CLI's own environment), which python-on-whales' `envs` can't
express, and its log stream yields (source, bytes) chunks where `go test -json` needs lines.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from ..shared.command import Command
from ..shared.engine import DEFAULT_SOCKET, unix_socket_path
from ..shared.process import Stream, docker, run, say, stream
from .events import EventParser, parse_listing
from .isolation import RUN_LABEL
from .run_cells import SuiteSettings, tester_environment
from .signals import Interrupted, signals_ignored, signals_interrupt
from .watch import Crash, HomeserverWatch


@dataclass
class TesterOutcome:
    exit_code: int | None
    interrupted: Interrupted | None
    seconds: float
    # A homeserver that died before it was healthy: the run was stopped at once (see below).
    crash: Crash | None = None
    crash_log: str = ""


class CrashGuard:
    """Watches the run's homeserver containers while the tester runs; on the first one that dies
    before it is healthy, keeps its last log lines and stops the tester, so the run fails in
    seconds instead of every test waiting out the spawn timeout for a server that is gone."""

    def __init__(self, run_id: str, tester_name: str, stop_timeout: int, log_lines: int = 40) -> None:
        self.watch = HomeserverWatch(ignore_names=frozenset({tester_name}))
        self.tester_name = tester_name
        self.stop_timeout = stop_timeout
        self.log_lines = log_lines
        self.log = ""
        # python-on-whales streams events too, but without the label filter we need before start.
        events = Command("docker", "events", "--format", "{{json .}}").options(
            "--filter", ["type=container", f"label={RUN_LABEL}={run_id}"]
        )
        self._events = stream(events, own_session=True)
        self._thread = threading.Thread(target=self._follow, name="complement-crash-guard", daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        for line in self._events.lines():
            crash = self.watch.feed(line)
            if crash is None:
                continue
            logs = docker("logs", "--tail", str(self.log_lines), crash.container_id, check=False)
            self.log = (logs.stdout + logs.stderr).rstrip()
            docker("stop", "-t", str(self.stop_timeout), self.tester_name, check=False)
            return

    def close(self) -> Crash | None:
        self._events.stop(grace=5)
        self._thread.join(timeout=30)
        self._events.close()
        return self.watch.crash


def _socket_path(endpoint: str) -> str:
    """The socket to mount into the tester: the daemon's own, or the default one."""
    return unix_socket_path(endpoint) or DEFAULT_SOCKET


def run_tester(
    *,
    name: str,
    image: str,
    run_id: str,
    env: Mapping[str, str],
    parser: EventParser,
    stderr_log: IO[str],
    tester_log: Path,
    stop_timeout: int,
    endpoint: str,
) -> TesterOutcome:
    """Start the tester, stream its stdout (go test -json) into `parser`, wait for it.

    SIGINT/SIGTERM stop the tester (Complement's homeservers die with it or are swept by the
    caller), copy its log out and report the interruption instead of raising.
    """
    create_tester(name, image, run_id, env, endpoint)
    started = time.monotonic()
    guard = CrashGuard(run_id, name, stop_timeout)
    try:
        interrupted = follow_tester(name, parser, stderr_log, run_id=run_id, stop_timeout=stop_timeout)
    finally:
        crash = guard.close()
    exit_code = tester_exit_code(name)
    copy_log(name, tester_log)
    return TesterOutcome(exit_code, interrupted, time.monotonic() - started, crash, guard.log)


def create_tester(name: str, image: str, run_id: str, env: Mapping[str, str], endpoint: str) -> None:
    """The tester container, on the host network, with the engine's socket mounted."""
    socket_path = _socket_path(endpoint)
    create = (
        # --init: the entrypoint is a shell script; as PID 1 it would ignore SIGTERM from `docker stop`.
        Command("docker", "create", "--init")
        .option("--name", name)
        .option("--label", f"{RUN_LABEL}={run_id}")
        .option("--network", "host")
        .option("-v", f"{socket_path}:/var/run/docker.sock")
        # Names only: each value comes from this process's environment, so newlines survive.
        .options("-e", env.keys())
        .args(image)
    )
    run(create, env=env, what="creating the tester container")


def follow_tester(
    name: str, parser: EventParser, stderr_log: IO[str], *, run_id: str, stop_timeout: int
) -> Interrupted | None:
    """Start the tester and feed its output to `parser` until it ends, or until a signal stops it."""
    interrupted: Interrupted | None = None
    logs: Stream | None = None
    try:
        with signals_interrupt():
            docker("start", name, what="starting the tester")
            # Its own session: a terminal's Ctrl-C must not end the stream before the tester stops.
            logs = stream(["docker", "logs", "--follow", name], other_output=stderr_log, own_session=True)
            for line in logs.lines():
                parser.feed(line)
            logs.wait()
    except Interrupted as signal_received:
        interrupted = signal_received
    if interrupted is not None:
        stop_tester(name, interrupted, logs, parser, run_id=run_id, stop_timeout=stop_timeout)
    if logs is not None:
        logs.close(grace=0)
    return interrupted


def stop_tester(
    name: str,
    interrupted: Interrupted,
    logs: Stream | None,
    parser: EventParser,
    *,
    run_id: str,
    stop_timeout: int,
) -> None:
    """After a signal: stop the tester and keep the rest of its output; a second signal is ignored
    so it can't cut this short."""
    with signals_ignored():
        say(f"{interrupted.signal_name}: stopping the tester and cleaning up run {run_id} …")
        docker("stop", "-t", str(stop_timeout), name, check=False)
        if logs is not None:
            # The rest of the output, up to the tester's end (a pipe the signal broke is done).
            with contextlib.suppress(ValueError, OSError):
                for line in logs.lines():
                    parser.feed(line)
            logs.wait(timeout=30)


def tester_exit_code(name: str) -> int | None:
    """The stopped tester's exit code; None when the engine can't say."""
    status = docker("inspect", "--format", "{{.State.ExitCode}}", name, check=False)
    return int(status.stdout.strip()) if status.ok and status.stdout.strip() else None


def list_tests(
    image: str, settings: SuiteSettings, name: str, run_id: str
) -> dict[str, frozenset[str]] | None:
    """Top-level tests of each selected package (`-test.list`), so the gate can tell a test that
    was removed from the suite from one that went missing. None when the tester can't list."""
    env = tester_environment(replace(settings, base_image="none", run="", skip=""), {})
    listing_run = (
        Command("docker", "run", "--rm", "--init")
        .option("--name", name)
        .option("--label", f"{RUN_LABEL}={run_id}")
        .option("--network", "none")
        .options("-e", env.keys())
        .args(image, "-test.list", ".*")
    )
    result = run(listing_run, env=env, check=False)
    listing = parse_listing(result.stdout.splitlines())
    if not result.ok or not listing:
        say(f"could not list the suite's tests (exit {result.returncode}); removed tests show as missing")
        return None
    return listing


def copy_log(name: str, destination: Path) -> None:
    """The tester's full output (stdout and stderr, in order) next to the results."""
    with destination.open("w", encoding="utf-8") as handle:
        run(["docker", "logs", name], check=False, output=handle)
