"""Faults on the user's path, each with its figure (printed; collected in docs/errors.md, "Failure modes").

Run with `pytest -s tests/engine/test_faults.py` to see the figures. The tests that kill the engine
only run against the private engine `inv engine.up` started (they would kill a system's dockerd).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from enginekit import INV, REPO_ROOT, docker, inv

from tasks.bake.progress import RawJsonReader
from tasks.complement.isolation import RUN_LABEL

pytestmark = pytest.mark.engine

ENGINE_PID = Path("/var/lib/bakehouse/engine/dockerd.pid")
BASELINE = REPO_ROOT / "tests" / "complement" / "results.jsonl"
CELL_RESULTS = REPO_ROOT / "build" / "complement" / "debian--trixie-slim--default--amd64"
QUICK = ["--packages", "./tests/csapi", "--progress", "quiet"]
ENGINE_LOST = "bakehouse: the Docker engine at unix:///var/run/docker.sock stopped answering"


def figure(text: str) -> None:
    print(f"\nFIGURE: {text}")


def private_engine_pid() -> int:
    try:
        pid = int(ENGINE_PID.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        pytest.skip("the engine is not the private one `inv engine.up` started: not killing it")
    return pid


class Running:
    """An `inv` process whose stderr is collected line by line while it runs."""

    def __init__(self, *args: str) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [INV, *args], cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.stdout = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, found: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not found():
            assert self.process.poll() is None, f"exited before {what}:\n" + "\n".join(self.lines)
            assert time.monotonic() < deadline, f"no {what} after {timeout}s:\n" + "\n".join(self.lines)
            time.sleep(0.2)

    def finish(self, timeout: float) -> int:
        # Not communicate(): it would read stderr too, racing the reader thread for its lines.
        try:
            self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
        assert self.process.stdout is not None
        self.stdout = self.process.stdout.read()
        self._reader.join(timeout=5)
        return self.process.returncode

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    def last_line(self) -> str:
        return [line for line in self.lines if line.strip()][-1]


def tree_steps(stderr: str) -> tuple[int, int]:
    """Steps executed and steps taken from cache over the whole tree, from `--progress rawjson`."""
    reader = RawJsonReader()
    for line in stderr.splitlines():
        if line.startswith("{"):
            reader.feed(line)
    steps = reader.steps()
    return sum(1 for v in steps if v.executed), sum(1 for v in steps if v.cached)


def a_step_runs(run: Running) -> Callable[[], bool]:
    """True once the smoke step is under way: plain progress shows its log lines as `[target step] …`."""
    return lambda: any(line.startswith("[tests-smoke") for line in run.lines)


@pytest.fixture
def engine_restored() -> Iterator[None]:
    """Whatever a test does to the engine, the next test finds it up."""
    yield
    inv("engine.up")


def test_engine_killed_mid_build_fails_fast_and_recovers_with_its_cache(engine_restored: None) -> None:
    inv("build", "--target", "tests-smoke", "--progress", "quiet")  # the tree cached on the user's builder
    pid = private_engine_pid()
    # A new nonce re-runs the smoke step (it starts the server: seconds of work to interrupt).
    nonce = f"tests-smoke*.args.smoke_nonce={uuid.uuid4().hex}"
    build = Running("build", "--target", "tests-smoke", "--progress", "plain", "--set", nonce)
    build.wait_for(a_step_runs(build), 120, "smoke step")
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    code = build.finish(timeout=60)
    took = time.monotonic() - killed
    assert code == 1, build.stderr
    last = build.last_line()
    assert last.startswith(ENGINE_LOST), last
    assert "run `inv engine.up`" in last
    assert sum(line.startswith("bakehouse:") for line in build.lines[-3:]) == 1
    assert "Traceback" not in build.stderr
    figure(f"engine killed mid-build: inv build exited 1 after {took:.1f}s")
    assert took < 10

    started = time.monotonic()
    inv("engine.up")
    figure(f"engine killed mid-build: inv engine.up recovered in {time.monotonic() - started:.1f}s")
    # The interrupted build again: its smoke step must run, everything under it come from cache.
    again = inv("build", "--target", "tests-smoke", "--progress", "rawjson", "--set", nonce)
    run, cached = tree_steps(again.stderr)
    figure(f"engine killed mid-build: next build ran {run} step(s), took {cached} from the builder's cache")
    # The builder's container outlives dockerd for a moment: the smoke step may have finished there.
    assert run <= 1 and cached >= 8, again.stderr


def _builder_name() -> str:
    status = inv("builder.status").stdout
    match = re.search(r"^builder:\s+(\S+)$", status, re.MULTILINE)
    assert match, status
    return match[1]


def test_builder_killed_mid_build_fails_cleanly_and_comes_back_with_its_cache() -> None:
    inv("build", "--target", "tests-smoke", "--progress", "quiet")
    name = _builder_name()
    container, volume = f"buildx_buildkit_{name}0", f"buildx_buildkit_{name}0_state"
    volume_before = docker("volume", "inspect", "--format", "{{.CreatedAt}}", volume).stdout
    nonce = f"tests-smoke*.args.smoke_nonce={uuid.uuid4().hex}"
    build = Running("build", "--target", "tests-smoke", "--progress", "plain", "--set", nonce)
    build.wait_for(a_step_runs(build), 120, "smoke step")
    docker("kill", container)
    killed = time.monotonic()
    code = build.finish(timeout=60)
    took = time.monotonic() - killed
    assert code == 1, build.stderr
    assert "Traceback" not in build.stderr
    assert build.last_line() == (
        f"bakehouse: builder {name}'s container {container} stopped during the build (exit 137); "
        "the next `inv build` starts it again with its cache"
    )
    figure(f"builder killed mid-build: inv build exited 1 after {took:.1f}s")

    started = time.monotonic()
    # The interrupted build again: its smoke step must run, everything under it come from cache.
    again = inv("build", "--target", "tests-smoke", "--progress", "rawjson", "--set", nonce)
    run, cached = tree_steps(again.stderr)
    figure(
        f"builder killed mid-build: next build took {time.monotonic() - started:.1f}s, ran {run} step(s), "
        f"{cached} cached"
    )
    assert run == 1 and cached >= 8, again.stderr
    assert docker("volume", "inspect", "--format", "{{.CreatedAt}}", volume).stdout == volume_before


def _labelled(run_id: str) -> list[str]:
    return docker("ps", "-aq", "--filter", f"label={RUN_LABEL}={run_id}").stdout.split()


def test_engine_killed_during_complement_leaves_the_baseline_and_marks_the_run_incomplete(
    engine_restored: None,
) -> None:
    inv("build", "--target", "complement", "--progress", "quiet")
    pid = private_engine_pid()
    before = BASELINE.read_bytes()
    run_id = f"fault-{uuid.uuid4().hex[:8]}"
    running = Running("complement", *QUICK, "--run", "^(TestLogin|TestRegistration|TestRoomsInvite)$",
                      "--run-id", run_id)  # fmt: skip
    # Homeservers of the run are up: the tester is in the middle of the suite.
    running.wait_for(lambda: len(_labelled(run_id)) >= 2, 240, "homeserver containers")
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    code = running.finish(timeout=120)
    took = time.monotonic() - killed
    assert code == 1, running.stderr
    last = running.last_line()
    assert last.startswith("bakehouse: the Docker engine at unix:///var/run/docker.sock stopped answering"), (
        last
    )
    assert "are incomplete and the baseline is unchanged" in last
    assert "Traceback" not in running.stderr
    assert BASELINE.read_bytes() == before
    status = json.loads((CELL_RESULTS / "run.json").read_text())
    assert status["run_id"] == run_id and status["state"] == "incomplete", status
    figure(f"engine killed during Complement: inv complement exited 1 after {took:.1f}s")

    inv("engine.up")
    assert _labelled(run_id), "the killed run left nothing behind to sweep (test proves nothing)"
    next_run = inv("complement", *QUICK, "--run", "^TestVersionStructure$")
    assert "removed leftovers of earlier runs:" in next_run.stderr
    assert _labelled(run_id) == []
    assert docker("images", "-q", "--filter", f"label={RUN_LABEL}={run_id}").stdout.split() == []
    assert json.loads((CELL_RESULTS / "run.json").read_text())["state"] == "complete"
    assert BASELINE.read_bytes() == before


def test_two_complement_runs_on_one_daemon_are_serialized_with_their_own_results() -> None:
    inv("build", "--target", "complement", "--progress", "quiet")
    first_id, second_id = (f"pair-{uuid.uuid4().hex[:8]}" for _ in range(2))
    first = Running("complement", *QUICK, "--run", "^TestVersionStructure$", "--run-id", first_id)
    first.wait_for(lambda: bool(_labelled(first_id)), 120, "the first run's containers")
    second = Running("complement", *QUICK, "--run", "^TestServerCapabilities$", "--run-id", second_id)

    started = time.monotonic()
    refused = inv("complement", *QUICK, "--run", "^TestJson$", "--no-wait", check=False)
    figure(f"--no-wait while a run holds the daemon: refused after {time.monotonic() - started:.1f}s")
    assert refused.returncode == 1
    assert f"the daemon is busy with a Complement run (run {first_id}," in refused.stderr.splitlines()[-1]

    assert first.finish(timeout=300) == 0, first.stderr
    assert second.finish(timeout=300) == 0, second.stderr
    assert "waiting for the daemon" in second.stderr
    # Each run ran and gated its own selection (its progress lines), not the other's.
    assert "pass  tests/csapi TestVersionStructure" in first.stderr
    assert "TestServerCapabilities" not in first.stderr
    assert "pass  tests/csapi TestServerCapabilities" in second.stderr
    assert "TestVersionStructure" not in second.stderr
    assert "gate: PASS" in first.stdout and "gate: PASS" in second.stdout
    # The later run owns the results directory, written only once it held the daemon.
    status = json.loads((CELL_RESULTS / "run.json").read_text())
    assert status == {**status, "run_id": second_id, "state": "complete"}
    results = (CELL_RESULTS / "results.jsonl").read_text()
    assert "TestServerCapabilities" in results and "TestVersionStructure" not in results


@pytest.fixture
def fresh_builder() -> Iterator[str]:
    name = f"bh-load-{uuid.uuid4().hex[:8]}"
    inv("builder.create", "--name", name)
    yield name
    docker("buildx", "rm", name, check=False)


def _concurrent_builds(builder: str, count: int) -> tuple[float, list[subprocess.CompletedProcess[str]]]:
    started = time.monotonic()
    processes = [
        subprocess.Popen(
            [INV, "build", "--target", "tests-smoke", "--builder", builder, "--progress", "quiet"],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    results = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=1200)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr))
    return time.monotonic() - started, results


def test_four_concurrent_builds_on_one_builder_all_succeed_cold_and_cached(fresh_builder: str) -> None:
    cold, results = _concurrent_builds(fresh_builder, 4)
    for result in results:
        assert result.returncode == 0, result.stderr
    cached, results = _concurrent_builds(fresh_builder, 4)
    for result in results:
        assert result.returncode == 0, result.stderr
        assert "ACCEPT" in result.stderr
    figure(f"4 concurrent builds of tests-smoke on one fresh builder: cold {cold:.1f}s, cached {cached:.1f}s")
