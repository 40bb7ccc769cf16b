"""Remote BuildKit nodes over mutual TLS, and the builder pool, on the real engine.

Two BuildKit daemons run from our BuildKit image as containers on the host network, each listening
on a loopback TCP port with the certificates `inv builder.certs` made and the config
`inv builder.daemon-config` prints (the docker-container builders' config: in registry-free mode,
the local registry as docker.io's mirror). They are removed with their state afterwards, as are
the builders the tests create.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from enginekit import docker, inv

from tasks.shared.settings import SupplySettings

pytestmark = pytest.mark.engine

BUILDKIT_IMAGE = SupplySettings().buildkit_image
SMOKE = "tests-smoke--debian--trixie-slim--default--amd64"
TWO_CELLS = '["default","sentry"]'


@dataclass(frozen=True)
class TLSFiles:
    good: Path  # the certs dir whose CA the daemons trust
    other: Path  # a second set for the same host, from another CA
    daemon_flags: list[str]  # as `inv builder.certs` printed them
    config: Path


@pytest.fixture(scope="module")
def tls(tmp_path_factory) -> TLSFiles:
    root = tmp_path_factory.mktemp("remote-tls")
    made = inv("builder.certs", "--host", "127.0.0.1", "--dir", str(root / "good")).stdout
    inv("builder.certs", "--host", "127.0.0.1", "--dir", str(root / "other"))
    command = made.strip().splitlines()[-1].split()
    assert command[0] == "buildkitd", made
    config = root / "buildkitd.toml"
    config.write_text(inv("builder.daemon-config").stdout)
    return TLSFiles(root / "good", root / "other", command[1:], config)


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


def wait_for_listener(container: str, port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if docker("inspect", "--format", "{{.State.Running}}", container).stdout.strip() != "true":
                break
            time.sleep(0.2)
    pytest.fail(f"buildkitd in {container} is not listening on {port}:\n{docker('logs', container).stderr}")


@pytest.fixture(scope="module")
def daemons(tls) -> Iterator[list[str]]:
    """Two daemons' endpoints (tcp://127.0.0.1:PORT)."""
    tag = uuid.uuid4().hex[:8]
    started: list[str] = []
    endpoints = []
    try:
        for number in (1, 2):
            port = free_port()
            name = f"bh-test-buildkitd-{tag}-{number}"
            # The printed flags listen on every interface; these daemons listen on loopback only.
            flags = [f for f in tls.daemon_flags if not f.startswith("--addr=")]
            docker(
                "run", "-d", "--name", name, "--privileged", "--network", "host",
                "-v", f"{tls.good}:{tls.good}:ro", "-v", f"{tls.config}:/etc/buildkit/buildkitd.toml:ro",
                BUILDKIT_IMAGE, "--config", "/etc/buildkit/buildkitd.toml",
                f"--addr=tcp://127.0.0.1:{port}", *flags,
            )  # fmt: skip
            started.append(name)
            wait_for_listener(name, port)
            endpoints.append(f"tcp://127.0.0.1:{port}")
        yield endpoints
    finally:
        for name in started:
            docker("rm", "--force", "--volumes", name, check=False)


def builder_names() -> list[str]:
    return sorted(
        json.loads(line)["Name"] for line in docker("buildx", "ls", "--format", "json").stdout.splitlines()
    )


def builder_record(name: str) -> dict[str, Any]:
    for line in docker("buildx", "ls", "--format", "json").stdout.splitlines():
        record: dict[str, Any] = json.loads(line)
        if record["Name"] == name:
            return record
    raise AssertionError(f"no builder {name}")


def summary(stderr: str) -> dict[str, tuple[str, str]]:
    """TARGET -> (BUILDER, STATUS) from a pool build's summary table."""
    lines = stderr.splitlines()
    start = max(i for i, line in enumerate(lines) if line.split()[:2] == ["TARGET", "BUILDER"])
    rows = {}
    for line in lines[start + 1 :]:
        if line.startswith(("ACCEPT", "ERROR")):
            break
        words = line.split()
        if len(words) >= 3 and not words[0].endswith(":"):  # not a failure's reason under the table
            rows[words[0]] = (words[1], words[2])
    return rows


def test_a_remote_builder_of_two_tls_daemons_builds_the_smoke_test(tls, daemons, builder_name):
    first, second = daemons
    args = ["builder.create", "--name", builder_name, "--certs-dir", str(tls.good)]
    created = inv(*args, "--endpoint", first, "--append-endpoint", second)
    assert created.stdout.splitlines() == [
        f"builder {builder_name}: {first} created",
        f"builder {builder_name}: {second} appended",
    ]
    again = inv(*args, "--endpoint", first, "--append-endpoint", second)
    assert again.stdout.strip() == f"builder {builder_name}: up to date"

    record = builder_record(builder_name)
    assert record["Driver"] == "remote"
    assert [(n["Endpoint"], n["Status"]) for n in record["Nodes"]] == [
        (first, "running"),
        (second, "running"),
    ]
    assert record["Nodes"][0]["DriverOpts"] == {
        "cacert": f"{tls.good}/127.0.0.1/client/ca.pem",
        "cert": f"{tls.good}/127.0.0.1/client/cert.pem",
        "key": f"{tls.good}/127.0.0.1/client/key.pem",
    }

    built = inv("build", "--target", "tests-smoke", "--builder", builder_name, "--progress", "plain")
    assert "smoke: PASS" in built.stderr
    assert f"{SMOKE}  built" in built.stderr
    assert "ACCEPT" in built.stderr
    # The build ran on the daemons: buildx keeps its records there, by node.
    history = docker("buildx", "history", "ls", "--builder", builder_name, "--format", "json").stdout
    refs = [json.loads(line)["ref"] for line in history.splitlines()]
    assert refs and all(ref.startswith(f"{builder_name}/{builder_name}0/") for ref in refs)


def test_the_daemons_refuse_a_client_certificate_of_another_ca(tls, daemons, builder_name):
    first = daemons[0]
    other = tls.other / "127.0.0.1" / "client"
    before = builder_names()
    result = inv(
        "builder.create", "--name", builder_name, "--endpoint", first, "--certs-dir", str(tls.good),
        "--cert", str(other / "cert.pem"), "--key", str(other / "key.pem"), check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(
        f"bakehouse: builder {builder_name}: the daemon at {first} refused our client certificate "
        f"{other / 'cert.pem'} ("
    )
    assert builder_names() == before

    # The daemon itself enforces it, whoever asks: BuildKit's own client, with each certificate.
    good = tls.good / "127.0.0.1" / "client"

    def buildctl(cert: Path, key: Path):
        return docker(
            "run", "--rm", "--network", "host",
            "-v", f"{tls.good}:{tls.good}:ro", "-v", f"{tls.other}:{tls.other}:ro",
            "--entrypoint", "buildctl", BUILDKIT_IMAGE, "--addr", first, "--tlscacert", str(good / "ca.pem"),
            "--tlscert", str(cert), "--tlskey", str(key), "--timeout", "10", "debug", "workers",
            check=False,
        )  # fmt: skip

    assert buildctl(good / "cert.pem", good / "key.pem").returncode == 0
    refused = buildctl(other / "cert.pem", other / "key.pem")
    assert refused.returncode != 0
    assert "failed to list workers: Unavailable" in refused.stderr


def test_a_daemon_certificate_our_ca_did_not_sign_is_one_line(tls, daemons, builder_name):
    result = inv(
        "builder.create", "--name", builder_name, "--endpoint", daemons[0], "--certs-dir", str(tls.good),
        "--cacert", str(tls.other / "127.0.0.1" / "client" / "ca.pem"), check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert f"the daemon at {daemons[0]} presented a certificate" in result.stderr
    assert builder_name not in builder_names()


def test_bad_endpoints_and_missing_files_are_refused_before_any_change(tls, tmp_path, builder_name):
    empty = tmp_path / "no-certs"
    before = builder_names()
    cases = [
        (["--endpoint", "http://127.0.0.1:1234"], "expected tcp://HOST:PORT"),
        (["--endpoint", "tcp://127.0.0.1"], "expected tcp://HOST:PORT"),
        (["--endpoint", "tcp://127.0.0.1:99999"], "expected tcp://HOST:PORT"),
        (["--endpoint", "tcp://127.0.0.1:1234", "--certs-dir", str(empty)], "TLS file missing"),
        (
            ["--append-endpoint", "tcp://127.0.0.1:1234", "--certs-dir", str(tls.good)],
            "create it with --endpoint first",
        ),
        (
            ["--endpoint", "tcp://127.0.0.1:1234", "--image", "moby/buildkit:v0.17.0"],
            "only for docker-container",
        ),
    ]
    for args, problem in cases:
        result = inv("builder.create", "--name", builder_name, *args, check=False)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.count("\n") == 1 and problem in result.stderr, (args, result.stderr)
    assert not empty.exists()
    assert builder_names() == before


@pytest.fixture
def two_builders() -> Iterator[list[str]]:
    tag = uuid.uuid4().hex[:8]
    names = [f"bh-test-pool-{tag}-a", f"bh-test-pool-{tag}-b"]
    try:
        for name in names:
            inv("builder.create", "--name", name)
        yield names
    finally:
        for name in names:
            docker("buildx", "rm", name, check=False)


def smoke_builds_on(builder: str) -> set[str]:
    """The cells whose smoke test this builder ran: buildx's records name each build's input target."""
    refs = docker("buildx", "history", "ls", "--builder", builder, "--format", "json").stdout.splitlines()
    cells: set[str] = set()
    for ref in refs:
        record_id = json.loads(ref)["ref"].rsplit("/", 1)[-1]
        inspected = docker(
            "buildx", "history", "inspect", "--builder", builder, record_id, "--format", "json"
        )
        record = json.loads(inspected.stdout)
        if record.get("Dockerfile") == "Dockerfile.tests-smoke":
            cells.update(
                context["Value"].rsplit("install--", 1)[-1] for context in record.get("NamedContexts") or []
            )
    return cells


def test_a_pool_of_two_builders_builds_the_cells_in_parallel_and_reports_where(two_builders):
    a, b = two_builders
    pool = [
        "build",
        "--builders",
        f"{a},{b}",
        "--target",
        "tests-smoke",
        "--matrix",
        f"feat_sets={TWO_CELLS}",
    ]
    built = inv(*pool, "--progress", "plain")
    rows = summary(built.stderr)
    cells = {
        f"tests-smoke--debian--trixie-slim--{feat}--amd64": f"debian--trixie-slim--{feat}--amd64"
        for feat in ("default", "sentry")
    }
    assert set(rows) == set(cells)
    assert all(status == "built" for _, status in rows.values())
    # One cell each, at the same time: neither builder was free while the other cell waited.
    assert {builder for builder, _ in rows.values()} == {a, b}
    for target, (builder, _) in rows.items():
        assert smoke_builds_on(builder) == {cells[target]}, f"{target} reported on {builder}"
    assert built.stderr.rstrip().endswith("exit status 0")

    # A failing cell: --keep-going builds the other and names the failure; exit 1.
    broken = "tests-smoke--debian--trixie-slim--sentry--amd64"
    failed = inv(
        *pool, "--keep-going", "--progress", "quiet", "--set", f"{broken}.args.smoke_imports=no_such_module",
        check=False,
    )  # fmt: skip
    assert failed.returncode == 1
    statuses = {target: status for target, (_, status) in summary(failed.stderr).items()}
    # Cached when the default cell went to the builder that built it before (the first thread
    # usually takes the first cell), built otherwise.
    assert statuses.pop("tests-smoke--debian--trixie-slim--default--amd64") in ("cached", "built")
    assert statuses == {broken: "failed"}
    sentry_builder = summary(failed.stderr)[broken][0]
    assert failed.stderr.strip().splitlines()[-1] == (
        f"bakehouse: 1 of 2 cell(s) failed: debian--trixie-slim--sentry--amd64 on {sentry_builder}"
    )


def test_unknown_pool_builders_are_refused_before_anything_starts(builder_name):
    before = builder_names()
    result = inv("build", "--builders", f"default,{builder_name}", "--target", "tests-smoke", check=False)
    assert result.returncode == 2
    assert result.stderr.startswith(f"bakehouse: --builders: no builder named {builder_name} (builders: ")
    assert result.stderr.count("\n") == 1
    assert builder_names() == before
