"""The docker side of a Complement run: daemon lock, per-run testee image, tester, sweep.

Everything a run creates carries its run id: the tester container by name and label, every
homeserver container and blueprint image through the per-run testee image's label (see
tasks/complement/isolation.py). Complement's networks can't carry it, so they are matched
by Complement's own labels and limited to networks this run created (or, before a run, to
unused leftovers of the packages about to run, which Complement would remove itself).

Docker is called through its CLI here, not python-on-whales: the tester's environment is passed as
`-e NAME` (the value read from the CLI's own environment), which python-on-whales' `envs` can't
express, and its log stream yields (source, bytes) chunks where `go test -json` needs lines.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import IO

from ..shared.command import Command
from ..shared.engine import DEFAULT_SOCKET, engine_answers, unix_socket_path
from ..shared.errors import BakehouseError
from ..shared.process import Stream, docker, run, say, stream
from .events import EventParser, RunEvents, parse_listing, short_package
from .isolation import (
    COMPLEMENT_CONTEXT_LABEL,
    COMPLEMENT_PACKAGE_LABEL,
    RUN_LABEL,
    docker_endpoint,
    lock_path,
    run_container_name,
    run_image_reference,
)
from .results import (
    DURATIONS_FILE,
    LISTING_FILE,
    LogsWriter,
    render_durations,
    render_listing,
    write_atomically,
    write_results,
)
from .run_cells import ComplementCell, SuiteSettings, tester_environment
from .select import package_matches
from .shards import ShardRecord, write_shard_record
from .watch import Crash, HomeserverWatch


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived during a run (BaseException, like KeyboardInterrupt)."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name

    @property
    def exit_code(self) -> int:
        return 128 + int(getattr(signal, self.signal_name))


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into Interrupted so one code path cleans up after both."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise Interrupted(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """Cleanup must finish: a second Ctrl-C must not leave half of the run behind."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


# ---------------------------------------------------------------------------------------------
# The daemon lock
# ---------------------------------------------------------------------------------------------


def current_endpoint() -> str:
    """The daemon this client talks to (DOCKER_HOST, the current context, or the default socket)."""
    context_host = None
    if not os.environ.get("DOCKER_HOST"):
        result = docker("context", "inspect", "--format", "{{.Endpoints.docker.Host}}", check=False)
        if result.returncode == 0 and result.stdout.strip():
            context_host = result.stdout.strip()
    return docker_endpoint(os.environ, context_host)


def usable_lock_dir(configured: str) -> Path:
    candidate = Path(configured)
    if candidate.is_dir() and os.access(candidate, os.W_OK):
        return candidate
    return Path(tempfile.gettempdir())


def busy_error(holder: str, path: Path) -> BakehouseError:
    return BakehouseError(
        f"the daemon is busy with a Complement run ({holder}); lock {path}; "
        "run again without --no-wait to queue"
    )


def refuse_if_busy(lock_dir: str) -> None:
    """For --no-wait: fail before building anything when another run holds the daemon."""
    path = lock_for_current_daemon(lock_dir)
    if not path.exists():
        return
    with path.open("r", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy_error(handle.read().strip() or "another run", path) from None
        fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def daemon_lock(path: Path, owner: str, *, wait: bool) -> Iterator[None]:
    """Hold an exclusive lock for the daemon; the kernel drops it if this process dies."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    with contextlib.suppress(PermissionError):
        os.chmod(path, 0o666)  # other users' runs on this daemon must be able to queue too
    handle = os.fdopen(descriptor, "r+", encoding="utf-8")
    held = False
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another run"
            if not wait:
                raise busy_error(holder, path) from None
            say(f"waiting for the daemon: a Complement run is in progress ({holder}); lock {path}")
            started = time.monotonic()
            fcntl.flock(handle, fcntl.LOCK_EX)
            say(f"got the daemon lock after {time.monotonic() - started:.0f}s")
        held = True
        handle.seek(0)
        handle.truncate()
        handle.write(owner)
        handle.flush()
        yield
    finally:
        # Only the holder empties the file: a run refused (or interrupted while queued) must not
        # erase the name of the run that holds the daemon.
        if held:
            with contextlib.suppress(OSError):
                handle.seek(0)
                handle.truncate()
        handle.close()  # closing releases the lock


@contextlib.contextmanager
def daemon_held(lock_dir: str, run_id: str, *, wait: bool) -> Iterator[None]:
    """The daemon lock for this run, owned under a name that tells waiting runs which run they wait for."""
    lock = lock_for_current_daemon(lock_dir)
    owner = f"run {run_id}, pid {os.getpid()} on {socket.gethostname()}, since {time.strftime('%H:%M:%S')}"
    with daemon_lock(lock, owner, wait=wait):
        yield


def lock_for_current_daemon(lock_dir: str) -> Path:
    return lock_path(usable_lock_dir(lock_dir), current_endpoint())


# ---------------------------------------------------------------------------------------------
# Sweeping
# ---------------------------------------------------------------------------------------------


@dataclass
class Swept:
    containers: int = 0
    networks: int = 0
    images: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.containers} container(s), {self.networks} network(s), {self.images} image(s)"


def _ids(*args: str) -> list[str]:
    result = docker(*args, what=f"docker {' '.join(args[:2])}")
    return list(dict.fromkeys(line.strip() for line in result.stdout.splitlines() if line.strip()))


def complement_networks(namespaces: Sequence[str]) -> dict[str, int]:
    """Complement's networks of these namespaces: id -> number of attached containers."""
    ids = _ids("network", "ls", "-q", "--no-trunc", "--filter", f"label={COMPLEMENT_CONTEXT_LABEL}")
    if not ids:
        return {}
    result = docker("network", "inspect", *ids, check=False)
    networks: dict[str, int] = {}
    for network in json.loads(result.stdout or "[]"):
        labels = network.get("Labels") or {}
        if labels.get(COMPLEMENT_PACKAGE_LABEL) in namespaces:
            networks[network["Id"]] = len(network.get("Containers") or {})
    return networks


def sweep(
    run_id: str | None, namespaces: Sequence[str], *, keep_networks: Sequence[str] | None = None
) -> Swept:
    """Remove the run's containers and images (any run's with None), then Complement's unused
    networks of these namespaces, except `keep_networks` (those that existed before this run)."""
    swept = Swept()
    label = f"label={RUN_LABEL}={run_id}" if run_id is not None else f"label={RUN_LABEL}"
    containers = _ids("ps", "-aq", "--no-trunc", "--filter", label)
    if containers:
        result = docker("rm", "-f", "-v", *containers, check=False)
        swept.containers = len(containers)
        if not result.ok:
            swept.errors.append(result.reason())
    keep = set(keep_networks or ())
    for network_id, attached in complement_networks(namespaces).items():
        if network_id in keep or attached:
            continue
        result = docker("network", "rm", network_id, check=False)
        if result.ok:
            swept.networks += 1
        else:
            swept.errors.append(result.reason())
    # Blueprint images are children of the run image: remove what can go, repeat while progressing.
    images = _ids("images", "-aq", "--no-trunc", "--filter", label)
    while images:
        remaining = [i for i in images if not docker("image", "rm", "-f", i, check=False).ok]
        swept.images += len(images) - len(remaining)
        if len(remaining) == len(images):
            swept.errors.append(f"could not remove image(s) {', '.join(i[7:19] for i in remaining)}")
            break
        images = remaining
    return swept


# ---------------------------------------------------------------------------------------------
# The run image and the tester
# ---------------------------------------------------------------------------------------------


def make_run_image(testee_image: str, reference: str, run_id: str, container_name: str) -> None:
    """A copy of the testee image with the run label: every container Complement starts from it,
    and every blueprint it commits, inherits the label."""
    if not docker("image", "inspect", testee_image, check=False).ok:
        raise BakehouseError(f"testee image {testee_image} is not in the engine (was the build loaded?)")
    docker(
        "create", "--name", container_name, "--label", f"{RUN_LABEL}={run_id}", testee_image,
        what="creating the per-run testee container",
    )  # fmt: skip
    try:
        docker(
            "commit", "--change", f"LABEL {RUN_LABEL}={run_id}", container_name, reference,
            what="committing the per-run testee image",
        )  # fmt: skip
    finally:
        docker("rm", "-f", container_name, check=False)


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


def print_stderr(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


# ---------------------------------------------------------------------------------------------
# One cell, end to end (without the gate, which needs no docker)
# ---------------------------------------------------------------------------------------------


RUN_STATUS_FILE = "run.json"


def write_run_status(
    directory: Path,
    run_id: str,
    state: str,
    problems: Sequence[str] = (),
    *,
    packages: Mapping[str, str] | None = None,
    seconds: float | None = None,
) -> None:
    """The results directory says whether its run finished: "running" left behind means the run
    died (engine or process killed), so its results are incomplete. A finished run adds the
    packages' own outcomes and the tester's seconds (a merge of shards needs both)."""
    status: dict[str, object] = {"run_id": run_id, "state": state, "problems": list(problems)}
    if packages is not None:
        status["packages"] = dict(sorted(packages.items()))
    if seconds is not None:
        status["seconds"] = round(seconds, 1)
    status["time"] = time.time()
    temporary = directory / f".{RUN_STATUS_FILE}.tmp"
    temporary.write_text(json.dumps(status) + "\n", encoding="utf-8")
    os.replace(temporary, directory / RUN_STATUS_FILE)


@dataclass
class CellRun:
    label: str
    run_id: str
    state: RunEvents
    outcome: TesterOutcome
    directory: Path
    complete: bool
    problems: list[str]
    listing: Mapping[str, frozenset[str]] | None
    # Top-level tests whose run was lost (a merge's missing or incomplete shards): see gate.classify.
    lost: frozenset[str] = frozenset()


def _progress(package: str, test: str, action: str, elapsed: float | None) -> None:
    if not test or "/" in test:
        return  # one line per top-level test; subtests are in the results and logs
    took = f" ({elapsed:.1f}s)" if elapsed is not None else ""
    word = action.upper() if action == "fail" else action
    print_stderr(f"  {word:<4}  {short_package(package)} {test}{took}\n")


@dataclass(frozen=True)
class CellJob:
    """One cell's run: what the tester runs, under which run id and names, and where results go."""

    cell: ComplementCell
    settings: SuiteSettings
    testee_env: Mapping[str, str]
    run_id: str
    name_prefix: str
    # Complement's network namespaces of the selected packages (the sweep's scope).
    namespaces: Sequence[str]
    stop_timeout: int
    directory: Path
    # Listed already (a shard is planned from the listing); None: the run lists the tests itself.
    listing: Mapping[str, frozenset[str]] | None = None
    # The shard this run is, recorded in its results directory for the merge.
    shard: ShardRecord | None = None


def run_cell(job: CellJob) -> CellRun:
    """Sweep leftovers, run the tester, sweep again, always. The caller holds the daemon
    (`daemon_held`)."""
    endpoint = current_endpoint()
    with signals_interrupt():
        # Only under the lock: a queued run must not empty the directory of the run it waits for.
        start_results_directory(job.directory, job.run_id, job.shard)
        sweep_leftovers(job.namespaces)
        existing_networks = list(complement_networks(job.namespaces))
        try:
            outcome, parser, listing = run_suite(job, endpoint)
        finally:
            clean_up_run(job.run_id, job.namespaces, existing_networks)
    state = parser.finish()
    write_results(job.directory / "results.jsonl", state.results)
    write_atomically(job.directory / DURATIONS_FILE, render_durations(state.durations))
    if listing is not None:
        write_atomically(job.directory / LISTING_FILE, render_listing(listing))
    problems = run_problems(job.settings, state, outcome)
    write_run_status(
        job.directory, job.run_id, "incomplete" if problems else "complete", problems,
        packages=state.packages, seconds=outcome.seconds,
    )  # fmt: skip
    return CellRun(job.cell.label, job.run_id, state, outcome, job.directory, not problems, problems, listing)


def record_shard_without_tests(job: CellJob) -> None:
    """A shard that got no test (more shards than tests): its directory says so, complete, so a
    merge counts it as present; no tester runs."""
    start_results_directory(job.directory, job.run_id, job.shard)
    write_results(job.directory / "results.jsonl", {})
    if job.listing is not None:
        write_atomically(job.directory / LISTING_FILE, render_listing(job.listing))
    write_run_status(job.directory, job.run_id, "complete", packages={}, seconds=0.0)


def start_results_directory(directory: Path, run_id: str, shard: ShardRecord | None = None) -> None:
    """An empty results directory whose status says a run is in progress (and, for a shard, which
    shard of which plan it is: a merge then knows its tests even if the run dies)."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    if shard is not None:
        write_shard_record(directory, shard)
    write_run_status(directory, run_id, "running")


def sweep_leftovers(namespaces: Sequence[str]) -> None:
    # Holding the lock, no other run of this host is alive: whatever carries a run label is left
    # over from a run that died (engine killed, process killed), whatever its id.
    swept = sweep(None, namespaces)
    if swept.containers or swept.networks or swept.images:
        say(f"removed leftovers of earlier runs: {swept}")


def run_suite(
    job: CellJob, endpoint: str
) -> tuple[TesterOutcome, EventParser, Mapping[str, frozenset[str]] | None]:
    """The per-run testee image, the suite's test listing, then the tester, its output parsed and
    logged into the results directory."""
    cell, run_id, name_prefix = job.cell, job.run_id, job.name_prefix
    run_image = run_image_reference(name_prefix, run_id)
    marker = run_container_name(name_prefix, run_id, "mark")
    make_run_image(cell.testee_image, run_image, run_id, marker)
    env = tester_environment(replace(job.settings, base_image=run_image), job.testee_env)
    say(f"complement run {run_id} ({cell.label}): {cell.testee_image} tested by {cell.tester_image}")
    listing = job.listing
    if listing is None:
        listing = list_tests(
            cell.tester_image, job.settings, run_container_name(name_prefix, run_id, "list"), run_id
        )
    with (
        (job.directory / "logs.jsonl").open("w", encoding="utf-8") as logs_handle,
        (job.directory / "tester-stderr.log").open("w", encoding="utf-8") as stderr_handle,
    ):
        parser = EventParser(LogsWriter(logs_handle), on_result=_progress)
        outcome = run_tester(
            name=run_container_name(name_prefix, run_id, "tester"),
            image=cell.tester_image,
            run_id=run_id,
            env=env,
            parser=parser,
            stderr_log=stderr_handle,
            tester_log=job.directory / "tester.log",
            stop_timeout=job.stop_timeout,
            endpoint=endpoint,
        )
    return outcome, parser, listing


def clean_up_run(run_id: str, namespaces: Sequence[str], existing_networks: Sequence[str]) -> None:
    """Remove what the run made, whatever happened to it (a second signal can't stop this)."""
    with signals_ignored():
        if engine_answers():
            swept = sweep(run_id, namespaces, keep_networks=existing_networks)
            say(f"cleaned up run {run_id}: {swept}")
            for error in swept.errors:
                say(f"cleanup: {error}")
        else:
            say(f"the engine is gone: run {run_id}'s leftovers are swept by the next run")


def run_problems(settings: SuiteSettings, state: RunEvents, outcome: TesterOutcome) -> list[str]:
    """Why the run's results are incomplete, the gravest first; none when it is complete."""
    problems: list[str] = []
    if outcome.interrupted is not None:
        problems.append(f"interrupted by {outcome.interrupted.signal_name}")
    if outcome.exit_code not in (0, 1):
        problems.append(f"tester exited with status {outcome.exit_code}")
    for package in settings.packages:
        if not any(package_matches(done, package) for done in state.packages):
            problems.append(f"package {package} did not finish")
    if state.events == 0:
        problems.append("the tester printed no test events")
    if outcome.crash is not None:
        problems.insert(0, f"stopped: {outcome.crash.describe()}")
    if not engine_answers():
        problems.insert(0, "the Docker engine stopped answering")
    return problems
