"""One multi-arch image out of `inv publish`: each platform's cell under its content tag, then one
index (manifest list / OCI index) over them, under the index's content tag and the human tags.

Two trees:
- a tiny two-platform tree written here (`FROM debian:trixie-slim` + a COPY: no step runs under
  QEMU, so it builds in seconds), published to the tests' TLS + htpasswd registry on a builder made
  for it that trusts the registry's CA: the mechanics, the skip, `--by-digest` and `publish.merge`;
- the sample tree's `install` for amd64 and arm64 (the acceptance run), on the user's default builder,
  which tests/engine/test_platforms_built.py (sorted before this file) filled with the arm64 layers,
  to a plain-http registry on loopback started here (fresh, so the first publish pushes).

Registry-free, the arm64 base comes from the local registry's `debian:trixie-slim` list, which
the build's supply makes when it is missing (as for `inv build`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from enginekit import INV, REPO_ROOT, docker
from platform_tree import per_arch_bake
from registrykit import REGISTRY_PROGRAM, START_TIMEOUT, TlsRegistry, ensure_registry_program, free_port

from tasks.shared.oci_layout import MANIFEST_TYPES

pytestmark = pytest.mark.engine

GIT = ["git", "-c", "user.name=bakehouse tests", "-c", "user.email=tests@bakehouse.invalid"]
TWO_ARCHES = '["amd64","arm64"]'
LISTS = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)

BAKE_HCL = per_arch_bake("app", "archs")


def figure(text: str) -> None:
    print(f"FIGURE: {text}")


def git(root: Path, *args: str) -> None:
    subprocess.run([*GIT, "-C", str(root), *args], check=True, capture_output=True)


def summary_line(stderr: str, word: str) -> str:
    return next(line for line in reversed(stderr.splitlines()) if line.startswith(f"{word}: "))


@dataclass
class SmallTree:
    """The two-platform tree in a git repository, its builder and the registry it publishes to."""

    root: Path
    builder: str
    registry: TlsRegistry
    namespace: str

    def env(self, archs: str = TWO_ARCHES) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("INVOKE_", "BAKEHOUSE_REGISTRY_"))}
        return {
            **base,
            "archs": archs,
            "INVOKE_BAKEHOUSE_BUILDER_NAME": self.builder,
            "BAKEHOUSE_REGISTRY_USER": self.registry.user,
            "BAKEHOUSE_REGISTRY_PASSWORD": self.registry.password,
        }

    def inv(self, *args: str, archs: str = TWO_ARCHES) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [INV, *args], cwd=self.root, capture_output=True, text=True, env=self.env(archs)
        )

    def ok(self, *args: str, archs: str = TWO_ARCHES) -> subprocess.CompletedProcess[str]:
        result = self.inv(*args, archs=archs)
        assert result.returncode == 0, f"inv {' '.join(args)}:\n{result.stdout}\n{result.stderr[-4000:]}"
        return result

    def commit_hello(self, text: str) -> None:
        (self.root / "hello.txt").write_text(text)
        git(self.root, "commit", "-q", "-am", f"hello: {text}")


@pytest.fixture(scope="module")
def small_tree(tls_registry: TlsRegistry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmallTree]:
    root = tmp_path_factory.mktemp("multi-platform") / "tree"
    root.mkdir()
    (root / "bake.hcl").write_text(BAKE_HCL)
    (root / "Dockerfile").write_text("FROM debian:trixie-slim\nCOPY hello.txt /hello.txt\n")
    (root / "hello.txt").write_text("hello\n")
    (root / "tasks.py").symlink_to(REPO_ROOT / "tasks.py")
    (root / "tasks").symlink_to(REPO_ROOT / "tasks")
    namespace = f"mp-{uuid.uuid4().hex[:8]}"
    config = {
        "bakehouse": {
            "bake": {"files": ["bake.hcl"], "matrix": {"archs": ["amd64"]}},
            "builder": {"network": "host", "registry_ca": {tls_registry.address: str(tls_registry.ca)}},
            "publish": {"registry": tls_registry.address, "namespace": namespace, "targets": ["app"]},
        }
    }
    (root / "invoke.yaml").write_text(json.dumps(config, indent=2) + "\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "tree")
    builder = f"bh-test-mp-{uuid.uuid4().hex[:8]}"
    try:
        yield SmallTree(root, builder, tls_registry, namespace)
    finally:
        docker("buildx", "rm", builder, check=False)


def check_index(registry: Any, repository: str, tag: str, cells: dict[str, str]) -> dict[str, Any]:
    """The index at repository:tag lists exactly the cells' images (repository -> content tag), one
    per platform, each member's config naming its architecture. ``registry`` reads manifests and blobs."""
    index = registry.manifest(repository, tag)
    assert index["mediaType"] in LISTS, index
    by_arch = {entry["platform"]["architecture"]: entry for entry in index["manifests"]}
    assert sorted(by_arch) == ["amd64", "arm64"] and len(index["manifests"]) == 2
    for arch, entry in by_arch.items():
        assert entry["platform"]["os"] == "linux"
        member = registry.manifest(repository, entry["digest"])
        config = json.loads(registry.blob(repository, member["config"]["digest"]))
        assert (config["os"], config["architecture"]) == ("linux", arch)
        (cell_repository,) = [name for name in cells if name.endswith(f"--{arch}")]
        # The member is the cell's image: its manifest, copied into the index's repository.
        assert member == registry.manifest(cell_repository, cells[cell_repository])
    return by_arch


def test_two_platforms_publish_one_index_and_a_second_run_skips_both_cells_and_the_index(
    small_tree: SmallTree,
) -> None:
    registry, namespace = small_tree.registry, small_tree.namespace
    started = time.monotonic()
    first = small_tree.ok("publish", "--progress", "plain")
    first_seconds = time.monotonic() - started
    assert summary_line(first.stderr, "PUBLISHED").startswith(
        "PUBLISHED: 2 pushed, 0 skipped (already published); "
        "indexes: 1 written, 0 skipped (already published) in "
    )
    cells = {f"{namespace}/app--{arch}": "" for arch in ("amd64", "arm64")}
    for repository in cells:
        (content,) = [tag for tag in registry.tags(repository) if tag.startswith("c-")]
        cells[repository] = content
    index_tags = registry.tags(f"{namespace}/app")
    (index_content,) = [tag for tag in index_tags if tag.startswith("c-")]
    assert "main" in index_tags and "latest" in index_tags and len(index_tags) == 4  # + git describe
    for tag in index_tags:
        check_index(registry, f"{namespace}/app", tag, cells)
    started = time.monotonic()
    second = small_tree.ok("publish")
    second_seconds = time.monotonic() - started
    assert summary_line(second.stderr, "PUBLISHED").startswith(
        "PUBLISHED: 0 pushed, 2 skipped (already published); "
        "indexes: 0 written, 1 skipped (already published) in "
    )
    assert f"app: index {registry.address}/{namespace}/app:{index_content} is published already: skipped" in (
        second.stderr
    )
    assert "building " not in second.stderr and "ACCEPT:" not in second.stderr
    assert registry.tags(f"{namespace}/app") == index_tags
    # One platform: the cell as before, no index.
    one = small_tree.ok("publish", archs='["amd64"]')
    assert summary_line(one.stderr, "PUBLISHED").startswith(
        "PUBLISHED: 0 pushed, 1 skipped (already published) in "
    )
    assert "index" not in one.stderr
    figure(
        f"two-platform tiny tree: first publish {first_seconds:.1f}s, "
        f"second (all skipped) {second_seconds:.1f}s"
    )


def test_by_digest_in_each_cell_then_one_merge_writes_the_index_over_the_recorded_digests(
    small_tree: SmallTree,
) -> None:
    registry, namespace = small_tree.registry, small_tree.namespace
    small_tree.commit_hello(f"by digest {uuid.uuid4().hex}")
    index_tags_before = registry.tags(f"{namespace}/app")
    latest_before = registry.manifest(f"{namespace}/app", "latest")
    records = small_tree.root / "build" / "publish-digests"
    shutil.rmtree(records, ignore_errors=True)
    for arch in ("amd64", "arm64"):
        pushed = small_tree.ok("publish", "--cell", arch, "--by-digest")
        assert "1 pushed, 0 skipped" in summary_line(pushed.stderr, "PUBLISHED")
    recorded = {path.name: json.loads(path.read_text()) for path in records.glob("*.json")}
    assert sorted(recorded) == ["app--amd64.json", "app--arm64.json"]
    # Content tags only: no human tag moved, no index written yet.
    assert registry.tags(f"{namespace}/app") == index_tags_before
    assert registry.manifest(f"{namespace}/app", "latest") == latest_before
    cells = {}
    for record in recorded.values():
        image = record["image"].split("/", 1)[1]
        repository, tag = image.rsplit(":", 1)
        cells[repository] = tag
        assert registry.manifest(repository, "latest") != registry.manifest(repository, tag)
    # A cell whose job recorded nothing: nothing tagged or written.
    missing = records / "app--arm64.json"
    kept = missing.read_text()
    missing.unlink()
    refused = small_tree.inv("publish.merge", str(records))
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr.strip().splitlines()[-1] == (
        "bakehouse: can't merge: app--arm64: no digest record (its job did not publish it); "
        "nothing tagged or written"
    )
    assert registry.tags(f"{namespace}/app") == index_tags_before
    missing.write_text(kept)
    merged = small_tree.ok("publish.merge", str(records))
    assert summary_line(merged.stderr, "MERGED").startswith(
        "MERGED: 2 cell(s) tagged; indexes: 1 written, 0 skipped (already published) in "
    )
    by_arch = check_index(registry, f"{namespace}/app", "latest", cells)
    assert {arch: entry["digest"] for arch, entry in by_arch.items()} == {
        record["target"].rsplit("--", 1)[1]: record["digest"] for record in recorded.values()
    }
    for repository, tag in cells.items():
        assert registry.manifest(repository, "latest") == registry.manifest(repository, tag)
    # The same merge again: the index is published already.
    again = small_tree.ok("publish.merge", str(records))
    assert summary_line(again.stderr, "MERGED").startswith(
        "MERGED: 2 cell(s) tagged; indexes: 0 written, 1 skipped (already published) in "
    )


# --- the sample tree: `install` for amd64 and arm64 ---------------------------------------------


@dataclass
class PlainRegistry:
    """Debian's docker-registry on a free loopback port, plain http and no auth (as a user's
    localhost:5000): reached with no config file, by the builder and by `imagetools create`."""

    directory: Path
    address: str = field(default_factory=lambda: f"127.0.0.1:{free_port()}")
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        config = {
            "version": 0.1,
            "storage": {"filesystem": {"rootdirectory": str(self.directory / "data")}},
            "http": {"addr": self.address},
        }
        (self.directory / "config.yml").write_text(json.dumps(config))
        with (self.directory / "registry.log").open("ab") as log:
            self.process = subprocess.Popen(
                [REGISTRY_PROGRAM, "serve", str(self.directory / "config.yml")],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://{self.address}/v2/", timeout=2)
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"the plain registry did not start on {self.address}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)

    def _read(self, path: str, accept: str = "") -> bytes:
        headers = {"Accept": accept} if accept else {}
        request = urllib.request.Request(f"http://{self.address}{path}", headers=headers)
        with urllib.request.urlopen(request, timeout=30) as answer:
            return bytes(answer.read())

    def tags(self, repository: str) -> list[str]:
        return sorted(json.loads(self._read(f"/v2/{repository}/tags/list")).get("tags") or [])

    def manifest(self, repository: str, reference: str) -> dict[str, Any]:
        return dict(
            json.loads(self._read(f"/v2/{repository}/manifests/{reference}", ", ".join(MANIFEST_TYPES)))
        )

    def blob(self, repository: str, digest: str) -> bytes:
        return self._read(f"/v2/{repository}/blobs/{digest}")


@pytest.fixture(scope="module")
def plain_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlainRegistry]:
    ensure_registry_program()
    registry = PlainRegistry(tmp_path_factory.mktemp("plain-registry"))
    registry.start()
    try:
        yield registry
    finally:
        registry.stop()


INSTALL = "install--debian--trixie-slim--default"


def test_the_sample_tree_s_install_for_amd64_and_arm64_is_one_index_and_a_second_publish_skips_it(
    plain_registry: PlainRegistry,
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BAKEHOUSE_REGISTRY_")},
        "sys_archs": TWO_ARCHES,
        "INVOKE_BAKEHOUSE_PUBLISH_REGISTRY": plain_registry.address,
    }

    def publish() -> tuple[subprocess.CompletedProcess[str], float]:
        started = time.monotonic()
        result = subprocess.run(
            [INV, "publish", "--target", "install", "--progress", "plain"],
            cwd=REPO_ROOT, capture_output=True, text=True, env=env,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-4000:]
        return result, time.monotonic() - started

    first, first_seconds = publish()
    assert summary_line(first.stderr, "PUBLISHED").startswith(
        "PUBLISHED: 2 pushed, 0 skipped (already published); "
        "indexes: 1 written, 0 skipped (already published) in "
    )
    cells = {}
    for arch in ("amd64", "arm64"):
        repository = f"bakehouse/{INSTALL}--{arch}"
        (content,) = [tag for tag in plain_registry.tags(repository) if tag.startswith("c-")]
        cells[repository] = content
    (index_content,) = [tag for tag in plain_registry.tags(f"bakehouse/{INSTALL}") if tag.startswith("c-")]
    check_index(plain_registry, f"bakehouse/{INSTALL}", index_content, cells)
    second, second_seconds = publish()
    assert summary_line(second.stderr, "PUBLISHED").startswith(
        "PUBLISHED: 0 pushed, 2 skipped (already published); "
        "indexes: 0 written, 1 skipped (already published) in "
    )
    assert (
        f"{INSTALL}: index {plain_registry.address}/bakehouse/{INSTALL}:{index_content} is published already"
        in (second.stderr)
    )
    assert "building " not in second.stderr
    figure(f"sample install amd64+arm64: first publish {first_seconds:.1f}s, second {second_seconds:.1f}s")
