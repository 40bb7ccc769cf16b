"""`inv publish` against a registry that misbehaves (a local http server): no answer but present or
absent is ever read as absent, and nothing is built or pushed when any cell gets one. No engine:
these runs never get as far as a builder."""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

INV = str(Path(sys.executable).with_name("inv"))
TWO_SYSTEMS = 'sys_versions=["trixie-slim","bookworm-slim"]'


@dataclass
class FakeRegistry:
    """Answers per repository word: the test decides what each cell's probe sees."""

    address: str = ""
    answers: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def answer(self, path: str) -> tuple[int, str, bytes]:
        for word, answer in self.answers.items():
            if word in path:
                return answer
        body = {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}
        return 404, "application/json", json.dumps(body).encode()


@pytest.fixture
def fake_registry() -> Iterator[FakeRegistry]:
    registry = FakeRegistry()

    class Handler(http.server.BaseHTTPRequestHandler):
        def _reply(self, with_body: bool) -> None:
            registry.requests.append(f"{self.command} {self.path}")
            status, content_type, body = registry.answer(self.path)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if with_body:
                self.wfile.write(body)

        def do_HEAD(self):
            self._reply(False)

        def do_GET(self):
            self._reply(True)

        def do_PUT(self):
            self._reply(True)

        def do_POST(self):
            self._reply(True)

        def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    registry.address = f"127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield registry
    server.shutdown()
    server.server_close()


def publish(
    repo_root: Path, tmp_path: Path, registry: FakeRegistry, *args: str
) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "publish.yaml"
    settings = {
        "publish": {"registry": registry.address, "namespace": "cli-test"},
        # Plain http for this address, as the builder would be told too.
        "builder": {"insecure_registries": [registry.address]},
    }
    config.write_text(json.dumps({"bakehouse": settings}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAKEHOUSE_REGISTRY_")}
    return subprocess.run(
        [INV, "-f", str(config), "publish", "--target", "system", "--matrix", TWO_SYSTEMS, *args],
        cwd=repo_root, capture_output=True, text=True, env=env,
    )  # fmt: skip


def reads_only(registry: FakeRegistry) -> bool:
    return all(request.split()[0] in ("HEAD", "GET") for request in registry.requests)


def test_dry_run_prints_every_cell_absent_and_asks_only(repo_root, tmp_path, fake_registry):
    result = publish(repo_root, tmp_path, fake_registry, "--dry-run")
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()
    assert rows[0].split() == ["CELL", "REPOSITORY", "CONTENT", "TAG", "REGISTRY", "HUMAN", "TAGS"]
    for system in ("trixie-slim", "bookworm-slim"):
        row = next(line for line in rows if line.startswith(f"system--debian--{system}--amd64 "))
        assert f"{fake_registry.address}/cli-test/system--debian--{system}--amd64" in row
        assert " absent " in row
    assert reads_only(fake_registry) and fake_registry.requests


def test_a_server_error_on_one_cell_stops_all_with_the_registry_s_words(repo_root, tmp_path, fake_registry):
    body = {"errors": [{"code": "UNKNOWN", "message": "storage backend exploded"}]}
    fake_registry.answers["bookworm"] = (500, "application/json", json.dumps(body).encode())
    result = publish(repo_root, tmp_path, fake_registry)
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last == (
        f"bakehouse: registry {fake_registry.address} did not say what is published: "
        "error (HTTP 500: UNKNOWN: storage backend exploded) for system--debian--bookworm-slim--amd64; "
        "nothing built or pushed"
    )
    assert "building" not in result.stderr
    assert reads_only(fake_registry)


def test_a_404_that_is_not_the_registry_s_manifest_unknown_is_an_error_not_absent(
    repo_root, tmp_path, fake_registry
):
    # What a proxy or a wrong path answers: it says nothing about the tag.
    fake_registry.answers["trixie"] = (404, "text/plain", b"404 page not found\n")
    result = publish(repo_root, tmp_path, fake_registry, "--dry-run")
    assert result.returncode == 1, result.stderr
    assert "for system--debian--trixie-slim--amd64; nothing built or pushed" in result.stderr
    assert "error (HTTP 404" in result.stderr
    assert reads_only(fake_registry)


TWO_ARCHES = 'sys_archs=["amd64","arm64"]'


def test_dry_run_with_two_platforms_lists_one_index_per_image_and_asks_only(
    repo_root, tmp_path, fake_registry
):
    result = publish(repo_root, tmp_path, fake_registry, "--matrix", TWO_ARCHES, "--dry-run")
    assert result.returncode == 0, result.stderr
    cells, _, indexes = result.stdout.partition("\n\n")
    assert len(cells.splitlines()) == 1 + 4  # two systems x two architectures
    rows = indexes.splitlines()
    assert rows[0].split()[:2] == ["MULTI-PLATFORM", "IMAGE"]
    for system in ("trixie-slim", "bookworm-slim"):
        row = next(line for line in rows if line.startswith(f"system--debian--{system} ")).split()
        assert row[1] == f"{fake_registry.address}/cli-test/system--debian--{system}"
        assert re.fullmatch(r"c-[0-9a-f]{16}(-wip)?", row[2])
        assert row[3:5] == ["absent", "linux/amd64,linux/arm64"]
    index_probes = [
        r for r in fake_registry.requests if re.search(r"/system--debian--[a-z-]+-slim/manifests/", r)
    ]
    assert len(index_probes) >= 2  # each index's content tag was asked for
    assert reads_only(fake_registry)


def test_one_platform_writes_no_index(repo_root, tmp_path, fake_registry):
    result = publish(repo_root, tmp_path, fake_registry, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "MULTI-PLATFORM" not in result.stdout
    assert not [r for r in fake_registry.requests if "-slim/manifests/" in r]


def test_an_index_repository_the_registry_refuses_stops_everything(repo_root, tmp_path, fake_registry):
    body = {"errors": [{"code": "DENIED", "message": "no push to this repository"}]}
    fake_registry.answers["trixie-slim/manifests/"] = (403, "application/json", json.dumps(body).encode())
    result = publish(repo_root, tmp_path, fake_registry, "--matrix", TWO_ARCHES)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"bakehouse: registry {fake_registry.address} did not say what is published: "
        "unauthorized (HTTP 403: DENIED: no push to this repository) for index system--debian--trixie-slim; "
        "nothing built or pushed"
    )
    assert "building" not in result.stderr
    assert reads_only(fake_registry)


def test_cell_selects_exactly_that_cell(repo_root, tmp_path, fake_registry):
    result = publish(
        repo_root, tmp_path, fake_registry, "--cell", "debian--bookworm-slim--default--arm64", "--dry-run"
    )
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()
    assert [row.split()[0] for row in rows[1:]] == ["system--debian--bookworm-slim--arm64"]


def test_merge_without_the_records_directory_is_bad_input_before_the_registry_is_asked(
    repo_root, tmp_path, fake_registry
):
    config = tmp_path / "merge.yaml"
    config.write_text(json.dumps({"bakehouse": {"publish": {"registry": fake_registry.address}}}))
    missing = tmp_path / "no-records"
    result = subprocess.run(
        [INV, "-f", str(config), "publish.merge", str(missing)], cwd=repo_root, capture_output=True, text=True
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == f"bakehouse: {missing}: no such directory (the cells' digest records)"
    assert fake_registry.requests == []
