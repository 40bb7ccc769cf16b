"""`inv complement` against the real engine: the testee's contract, the gate, isolation, the lock."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import signal
import socket
import ssl
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import html5lib
import pytest
from enginekit import INV, REPO_ROOT, docker, inv
from junitparser import JUnitXml

from tasks.complement.isolation import RUN_LABEL

pytestmark = pytest.mark.engine

TESTEE = "bakehouse/complement-testee--debian--trixie-slim--default--amd64:latest"
BASELINE = REPO_ROOT / "tests" / "complement" / "results.jsonl"
# The user's path: no --builder, so the configured docker-container builder on our BuildKit image
# (created on first use, as `inv builder.create` makes it).
QUICK = ["--packages", "./tests/csapi", "--progress", "quiet"]


def run_id() -> str:
    return f"complement-test-{uuid.uuid4().hex[:8]}"


def left_behind(run: str) -> tuple[list[str], list[str]]:
    containers = docker("ps", "-aq", "--filter", f"label={RUN_LABEL}={run}").stdout.split()
    images = docker("images", "-aq", "--filter", f"label={RUN_LABEL}={run}").stdout.split()
    return containers, images


def complement_networks(namespace: str) -> set[str]:
    out = docker("network", "ls", "-q", "--filter", f"label=complement_pkg={namespace}").stdout
    return set(out.split())


# ---------------------------------------------------------------------------------------------
# The testee image on its own
# ---------------------------------------------------------------------------------------------


def _get(url: str, context: ssl.SSLContext | None = None, data: bytes | None = None) -> dict[str, Any]:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5, context=context) as response:
        answer: dict[str, Any] = json.load(response)
    return answer


def _wait_versions(port: str, timeout: float = 60) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            _get(f"http://127.0.0.1:{port}/_matrix/client/versions")
            return time.monotonic() - started
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"/versions not answering on {port} after {timeout}s")


def _port(container: str, port: int) -> str:
    return docker("port", container, str(port)).stdout.split()[0].rsplit(":", 1)[1]


def _register(port: str, user: str) -> dict[str, Any]:
    base = f"http://127.0.0.1:{port}/_synapse/admin/v1/register"
    nonce = _get(base)["nonce"]
    mac = hmac.new(b"complement", digestmod=hashlib.sha1)
    mac.update(f"{nonce}\0{user}\0password-{user}\0notadmin".encode())
    body = {"nonce": nonce, "username": user, "password": f"password-{user}", "mac": mac.hexdigest()}
    return _get(base, data=json.dumps(body).encode())


def _login(port: str, user: str) -> dict[str, Any]:
    body = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user}}
    body["password"] = f"password-{user}"
    return _get(f"http://127.0.0.1:{port}/_matrix/client/v3/login", data=json.dumps(body).encode())


def _start_like_complement(name: str, image: str, complement_dir: Path) -> None:
    """What Complement does: create with SERVER_NAME, copy /complement in, start."""
    docker(
        "create",
        "--name",
        name,
        "-e",
        "SERVER_NAME=hs1",
        "-p",
        "127.0.0.1::8008",
        "-p",
        "127.0.0.1::8448",
        image,
    )
    docker("cp", f"{complement_dir}/.", f"{name}:/")
    docker("start", name)


@pytest.fixture
def complement_files(tmp_path: Path) -> Path:
    """A fresh CA and one application service registration, laid out as Complement copies them."""
    root = tmp_path / "copy"
    ca = root / "complement" / "ca"
    ca.mkdir(parents=True)
    new_ca = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=CA"]
    subprocess.run(
        [*new_ca, "-keyout", ca / "ca.key", "-out", ca / "ca.crt"], check=True, capture_output=True
    )
    for f in ca.iterdir():
        f.chmod(0o777)  # Complement copies with mode 0777
    services = root / "complement" / "appservice"
    services.mkdir()
    (services / "bridge.yaml").write_text(
        "id: bridge\nurl: http://host.docker.internal:9\nas_token: as-secret\nhs_token: hs-secret\n"
        "sender_localpart: bridge\nnamespaces:\n  users: [{exclusive: true, regex: '@bridge_.*'}]\n"
        "  rooms: []\n  aliases: []\n"
    )
    return root


# Both builders: BuildKit v0.33 (the user's) and the engine's 0.13 differ in how COPY --chmod treats
# the directories it creates; the contract must hold for each.
@pytest.mark.parametrize("builder", [None, "default"], ids=["users-builder", "engine-builder"])
def test_testee_meets_complements_contract(complement_files: Path, builder: str | None) -> None:
    chosen = ["--builder", builder] if builder else []
    inv("build", "--target", "complement-testee", *chosen, "--progress", "quiet")
    # The server's user can read its configuration (parent directories traversable).
    config = "/usr/local/share/complement-testee/homeserver.yaml"
    read = docker("run", "--rm", "--entrypoint", "cat", TESTEE, config, check=False)
    assert read.returncode == 0, read.stderr
    config = json.loads(docker("image", "inspect", TESTEE).stdout)[0]["Config"]
    assert set(config["ExposedPorts"]) == {"8008/tcp", "8448/tcp"}
    assert config["Healthcheck"]["Test"][0] == "CMD"
    assert not config.get("Volumes")

    name, copy_name = f"complement-test-hs-{uuid.uuid4().hex[:8]}", ""
    committed = f"complement-test-blueprint:{uuid.uuid4().hex[:8]}"
    try:
        _start_like_complement(name, TESTEE, complement_files)
        port = _port(name, 8008)
        _wait_versions(port)
        # Federation port: TLS with a certificate for hs1 signed by the run's CA.
        context = ssl.create_default_context(cafile=str(complement_files / "complement" / "ca" / "ca.crt"))
        tls_port = _port(name, 8448)
        with (
            socket.create_connection(("127.0.0.1", int(tls_port)), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname="hs1") as tls,
        ):
            certificate = tls.getpeercert()
            assert certificate is not None
            assert certificate["subject"] == ((("commonName", "hs1"),),)
        assert _register(port, "alice")["user_id"] == "@alice:hs1"
        logs = docker("logs", name).stderr
        assert "Loaded application service" in logs and "bridge" in logs

        deadline = time.monotonic() + 60
        while docker("inspect", "--format", "{{.State.Health.Status}}", name).stdout.strip() != "healthy":
            assert time.monotonic() < deadline, "never became healthy"
            time.sleep(0.5)

        # SIGTERM reaches the server: it stops at once and cleanly.
        started = time.monotonic()
        docker("stop", "-t", "30", name)
        assert time.monotonic() - started < 10
        assert docker("inspect", "--format", "{{.State.ExitCode}}", name).stdout.strip() == "0"

        # The entrypoint survives a restart of the same container; state stays.
        docker("cp", f"{complement_files}/.", f"{name}:/")
        docker("start", name)
        port = _port(name, 8008)
        _wait_versions(port)
        assert _login(port, "alice")["user_id"] == "@alice:hs1"
        docker("stop", name)

        # Blueprints: committed and started as a new container.
        docker("commit", name, committed)
        copy_name = f"{name}-copy"
        _start_like_complement(copy_name, committed, complement_files)
        port = _port(copy_name, 8008)
        _wait_versions(port)
        assert _login(port, "alice")["user_id"] == "@alice:hs1"
    finally:
        docker("rm", "-f", name, *([copy_name] if copy_name else []), check=False)
        docker("rmi", committed, check=False)


# ---------------------------------------------------------------------------------------------
# Runs of the suite
# ---------------------------------------------------------------------------------------------


def test_default_run_passes_against_the_committed_baseline() -> None:
    before = BASELINE.read_bytes()
    result = inv("complement", "--progress", "quiet", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "gate: PASS (no regressions)" in result.stdout
    first = result.stdout.splitlines()[0]
    assert "tests: pass " in first and ", fail " in first and ", skip " in first
    assert BASELINE.read_bytes() == before
    # What a CI and a person read agrees with that line: junit.xml through junitparser, report.html
    # through a strict HTML parser, every failing test folded under its name.
    cell = REPO_ROOT / "build" / "complement" / "debian--trixie-slim--default--amd64"
    counts = re.search(r"(\d+) tests: pass \d+, fail (\d+), skip (\d+)", first)
    assert counts is not None, first
    cases = [case for suite in JUnitXml.fromfile(str(cell / "junit.xml")) for case in suite]
    read_back = (len(cases), sum(c.is_failure for c in cases), sum(c.is_skipped for c in cases))
    assert read_back == tuple(map(int, counts.groups())), first
    page = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(
        (cell / "report.html").read_text(encoding="utf-8")
    )
    folded = ["".join(summary.itertext()) for summary in page.iter("summary")]
    assert all(any(f" {c.name} — " in s for s in folded) for c in cases if c.is_failure), folded


def test_broken_testee_is_reported_as_regressions_and_the_baseline_stays() -> None:
    before = BASELINE.read_bytes()
    run = run_id()
    result = inv(
        "complement", *QUICK, "--run", "^(TestLogin|TestRegistration)$", "--run-id", run, "--update-baseline",
        "--testee-env", "SYNAPSE_CONFIG_EXTRA=enable_registration: false",
        check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "gate: FAIL" in result.stdout
    assert "tests/csapi TestLogin  (pass → fail)" in result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert "regression(s)" in last and "TestLogin" in last
    assert "baseline not updated" in result.stderr
    assert BASELINE.read_bytes() == before
    assert left_behind(run) == ([], [])
    junit = (
        REPO_ROOT / "build" / "complement" / "debian--trixie-slim--default--amd64" / "junit.xml"
    ).read_text()
    assert 'message="regression (pass → fail)"' in junit


@pytest.mark.parametrize(
    ("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"]
)
def test_interrupted_run_leaves_no_containers_networks_or_images(sig: signal.Signals, code: int) -> None:
    run = run_id()
    networks_before = complement_networks("csapi")
    process = subprocess.Popen(
        [INV, "complement", *QUICK, "--run", "^(TestRoomsInvite|TestTyping)$", "--run-id", run],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        # Wait until Complement has committed a blueprint from the per-run image and runs a
        # homeserver from it: both carry the run label, which is what the sweep relies on.
        deadline = time.monotonic() + 180
        while True:
            labelled = f"label={RUN_LABEL}={run}"
            names = docker("ps", "--filter", labelled, "--format", "{{.Names}}").stdout.split()
            images = docker("images", "--filter", labelled, "--format", "{{.Repository}}").stdout.split()
            if "localhost/complement" in images and any(n.startswith("complement_") for n in names):
                break
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no homeserver from a blueprint appeared"
            time.sleep(0.3)
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == code, stderr
    assert f"interrupted by {sig.name}" in stderr.strip().splitlines()[-1]
    assert left_behind(run) == ([], [])
    assert complement_networks("csapi") <= networks_before
    assert (
        REPO_ROOT / "build" / "complement" / "debian--trixie-slim--default--amd64" / "tester.log"
    ).exists()


def test_a_homeserver_that_cannot_start_stops_the_run_in_seconds() -> None:
    """The crash guard: the first homeserver that exits before it is healthy ends the run (exit 1)
    with its last log lines, instead of each test waiting out the spawn timeout (120 s)."""
    run = run_id()
    started = time.monotonic()
    result = inv(
        "complement", *QUICK, "--run", "^(TestLogin|TestRegistration)$", "--run-id", run,
        "--testee-env", "SYNAPSE_CONFIG_EXTRA=listeners: not-a-list",
        check=False,
    )  # fmt: skip
    took = time.monotonic() - started
    assert result.returncode == 1, result.stdout + result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("bakehouse: debian--trixie-slim--default--amd64: homeserver container "), last
    assert "before it was healthy" in last
    assert "--- last lines of " in result.stderr
    assert "listeners" in result.stderr  # Synapse's own complaint about the configuration
    assert left_behind(run) == ([], [])
    stopped = re.search(r"stopped after (\d+)s", last)
    assert stopped, last
    stopped_after = int(stopped[1])
    print(f"FIGURE: crash guard: run stopped {stopped_after}s after it started ({took:.1f}s with the build)")
    assert stopped_after < 30, f"the run went on for {stopped_after}s: the guard did not fire"
