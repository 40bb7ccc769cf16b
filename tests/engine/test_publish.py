"""`inv publish` against a real TLS + htpasswd registry (registrykit) on a throwaway builder that trusts
its CA through buildkitd.toml.

Every run happens in a snapshot: a `git clone` of this repository with the current tasks/ copied over
and committed, so the run sees a clean tree that other work on this checkout can't change under it,
and the dirty-tree case edits a copy, never the shared work tree. Repositories are unique per test
(publish.namespace) where the target has no bake tags. `pytest -s` prints the FIGURE lines.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from enginekit import INV, REPO_ROOT, docker
from registrykit import TlsRegistry

from tasks.shared.buildx import buildx_config_dir, docker_config_dir

pytestmark = pytest.mark.engine

GIT = ["git", "-c", "user.name=bakehouse tests", "-c", "user.email=tests@bakehouse.invalid"]
# Copied from the work tree over the clone's HEAD: the code under test (the images stay HEAD's).
CODE = ("tasks", "tasks.py", "invoke.yaml")
TWO_SYSTEMS = 'sys_versions=["trixie-slim","bookworm-slim"]'
CONTENT_TAG = re.compile(r"^c-[0-9a-f]{16}(-wip)?$")


def snapshot(destination: Path) -> Path:
    """A clean clone of this repository whose tasks are the work tree's (committed there)."""
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(destination)], check=True)
    for name in CODE:
        target = destination / name
        if target.is_dir():
            shutil.rmtree(target)
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    subprocess.run([*GIT, "-C", str(destination), "add", "-A"], check=True)
    subprocess.run(
        [*GIT, "-C", str(destination), "commit", "-q", "--allow-empty", "-m", "snapshot"], check=True
    )
    return destination


@dataclass
class Publisher:
    """A snapshot, a config trusting the registry's CA, a builder made from it, and the registry."""

    clone: Path
    config: Path
    builder: str
    registry: TlsRegistry
    scratch: Path

    def env(self, namespace: str | None = None, **variables: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("BAKEHOUSE_REGISTRY_")}
        credentials = {
            "BAKEHOUSE_REGISTRY_USER": self.registry.user,
            "BAKEHOUSE_REGISTRY_PASSWORD": self.registry.password,
        }
        extra = {"INVOKE_BAKEHOUSE_PUBLISH_NAMESPACE": namespace} if namespace else {}
        return {**base, **credentials, **extra, **variables}

    def publish(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        config: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        command = [INV, "-f", str(config or self.config), "publish", "--builder", self.builder, *args]
        return subprocess.run(
            command, cwd=cwd or self.clone, capture_output=True, text=True, env=env or self.env()
        )


@pytest.fixture(scope="module")
def publisher(tls_registry: TlsRegistry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Publisher]:
    root = tmp_path_factory.mktemp("publish")
    clone = snapshot(root / "clone")
    config = root / "publish.yaml"
    settings = {**tls_registry.invoke_settings(), "publish": {"registry": tls_registry.address}}
    config.write_text(json.dumps({"bakehouse": settings}))
    builder = f"bh-test-pub-{uuid.uuid4().hex[:8]}"
    try:
        created = subprocess.run(
            [INV, "-f", str(config), "builder.create", "--name", builder, "--network", "host"],
            cwd=clone, capture_output=True, text=True,
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
        yield Publisher(clone, config, builder, tls_registry, root)
    finally:
        docker("buildx", "rm", builder, check=False)


@dataclass(frozen=True)
class Row:
    repository: str
    tag: str
    answer: str
    human: list[str]


def plan_table(stdout: str) -> dict[str, Row]:
    """The --dry-run table by cell (for cells whose answer is one word: present or absent)."""
    rows = {}
    for line in stdout.splitlines()[1:]:
        cell, repository, tag, answer, *human = line.split()
        rows[cell] = Row(repository, tag, answer, [h for h in human if h != "-"])
    return rows


def figure(text: str) -> None:
    print(f"FIGURE: {text}")


def timed(call, *args, **kwargs):
    started = time.monotonic()
    result = call(*args, **kwargs)
    return result, time.monotonic() - started


@dataclass
class FirstPublish:
    """The default publish (publish.targets = install, default cell) run twice, with what it left."""

    cell: str
    repository: str
    tags: list[str]
    first: subprocess.CompletedProcess[str]
    second: subprocess.CompletedProcess[str]
    manifest_after_first: dict[str, Any]
    manifest_after_second: dict[str, Any]
    tags_after_second: list[str]
    run_tmp: Path


@pytest.fixture(scope="module")
def first_publish(publisher: Publisher) -> FirstPublish:
    # The run's temporary files (buildx_auth's DOCKER_CONFIG among them) go here, to be searched.
    run_tmp = publisher.scratch / "run-tmp"
    run_tmp.mkdir()
    env = publisher.env(TMPDIR=str(run_tmp))
    planned = publisher.publish("--dry-run", env=env)
    assert planned.returncode == 0, planned.stderr
    ((cell, row),) = plan_table(planned.stdout).items()
    repository = row.repository.split("/", 1)[1]
    assert row.answer == "absent", f"{repository} was published before this test: {planned.stdout}"
    first, first_seconds = timed(publisher.publish, "--progress", "plain", env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    manifest_after_first = publisher.registry.manifest(repository, row.tag)
    second, second_seconds = timed(publisher.publish, "--progress", "plain", env=env)
    assert second.returncode == 0, second.stderr[-3000:]
    figure(f"first publish of {cell} (cold builder): {first_seconds:.1f}s")
    figure(f"second publish (everything skipped): {second_seconds:.1f}s")
    return FirstPublish(
        cell, repository, [row.tag, *row.human], first, second, manifest_after_first,
        publisher.registry.manifest(repository, row.tag), publisher.registry.tags(repository),
        run_tmp,
    )  # fmt: skip


def test_publish_pushes_the_content_tag_and_human_tags_and_a_second_run_skips_everything(
    first_publish: FirstPublish,
) -> None:
    content, *human = first_publish.tags
    assert CONTENT_TAG.match(content) and not content.endswith("-wip")
    # The snapshot is on `main` (the default branch), described by its commit.
    assert "main" in human and "latest" in human
    assert sorted(first_publish.tags_after_second) == sorted(first_publish.tags)
    assert "1 pushed, 0 skipped" in first_publish.first.stderr
    second = first_publish.second.stderr
    assert "0 pushed, 1 skipped" in second
    assert f"{first_publish.cell}: " in second and "is published already: skipped" in second
    # Nothing built: the build runner never started, and the image is the same manifest.
    assert "building " not in second and "ACCEPT:" not in second
    assert first_publish.manifest_after_second == first_publish.manifest_after_first


def test_the_password_is_in_no_file_log_or_image_of_the_run(
    publisher: Publisher, first_publish: FirstPublish
) -> None:
    secret = publisher.registry.secret_core
    registry = publisher.registry
    assert secret and secret in registry.password
    for name, text in (("first run", first_publish.first), ("second run", first_publish.second)):
        assert secret not in text.stdout + text.stderr, name
    # Files: the run's temporary directory (nothing left there), the user's docker and buildx
    # configuration, bakehouse's plan cache, the snapshot.
    assert list(first_publish.run_tmp.iterdir()) == []
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bakehouse"
    for directory in (docker_config_dir(), buildx_config_dir(), cache, publisher.clone, publisher.scratch):
        leaking = subprocess.run(["grep", "-rlF", secret, str(directory)], capture_output=True, text=True)
        assert leaking.stdout == "", f"the password is in {leaking.stdout}"
    # The builder: its state databases and configuration, and buildx's build records and logs.
    container = f"buildx_buildkit_{publisher.builder}0"
    search = (
        "set -- $(find /var/lib/buildkit /etc/buildkit \\( -name '*.db' -o -name '*.toml' \\)); "
        f"[ $# -gt 2 ] || exit 3; grep -lF '{secret}' \"$@\""
    )
    inside = docker("exec", container, "sh", "-c", search, check=False)
    # grep's 1: the files were read and nothing matched (0 would be a match, 3 no files at all).
    assert inside.returncode == 1, inside.stdout + inside.stderr
    records = docker(
        "buildx", "history", "ls", "--builder", publisher.builder, "--format", "{{.Ref}}"
    ).stdout.split()
    assert records
    for record in records:
        shown = docker("buildx", "history", "inspect", "--builder", publisher.builder, record).stdout
        logs = docker("buildx", "history", "logs", "--builder", publisher.builder, record, check=False).stdout
        assert secret not in shown + logs, record
    # The image: manifest, config (history, env, labels) and every layer, decompressed.
    manifest = registry.manifest(first_publish.repository, first_publish.tags[0])
    assert secret not in json.dumps(manifest)
    config_blob = registry.blob(first_publish.repository, manifest["config"]["digest"])
    assert b"history" in config_blob and secret.encode() not in config_blob
    for layer in manifest["layers"]:
        assert not blob_contains(registry.blob(first_publish.repository, layer["digest"]), secret.encode()), (
            layer
        )


def blob_contains(blob: bytes, needle: bytes) -> bool:
    """Whether a layer (gzip, zstd or a plain tar) holds the bytes once decompressed."""
    if blob.startswith(b"\x1f\x8b"):
        return needle in gzip.decompress(blob)
    if blob.startswith(b"\x28\xb5\x2f\xfd"):
        assert shutil.which("zstd"), "a zstd layer: the zstd CLI is needed to look inside it"
        return needle in subprocess.run(["zstd", "-dc"], input=blob, capture_output=True, check=True).stdout
    return needle in blob


def test_a_wrong_password_fails_with_the_registry_s_words_and_pushes_nothing(publisher: Publisher) -> None:
    namespace = f"wrong-{uuid.uuid4().hex[:6]}"
    before = publisher.registry.catalog()
    env = publisher.env(namespace, BAKEHOUSE_REGISTRY_PASSWORD="not-the-password")
    result, seconds = timed(publisher.publish, "--target", "system", "--matrix", TWO_SYSTEMS, env=env)
    last = result.stderr.strip().splitlines()[-1]
    figure(f"wrong password: exit {result.returncode} in {seconds:.1f}s: {last}")
    assert result.returncode == 1, result.stderr
    assert last.startswith(
        f"bakehouse: registry {publisher.registry.address} did not say what is published: "
    )
    assert "unauthorized (HTTP 401: UNAUTHORIZED: authentication required) for " in last
    assert "system--debian--trixie-slim--amd64, system--debian--bookworm-slim--amd64" in last
    assert last.endswith("nothing built or pushed")
    assert "building " not in result.stderr
    assert publisher.registry.catalog() == before
    # No credentials at all: the same refusal, never "absent".
    anonymous = {k: v for k, v in env.items() if not k.startswith("BAKEHOUSE_REGISTRY_")}
    result = publisher.publish("--target", "system", env=anonymous)
    assert result.returncode == 1 and "unauthorized (HTTP 401" in result.stderr, result.stderr
    assert publisher.registry.catalog() == before


def test_a_registry_that_is_down_fails_and_nothing_is_pushed(publisher: Publisher) -> None:
    namespace = f"down-{uuid.uuid4().hex[:6]}"
    before = publisher.registry.catalog()
    with publisher.registry.stopped():
        result, seconds = timed(
            publisher.publish, "--target", "system", "--matrix", TWO_SYSTEMS, env=publisher.env(namespace)
        )
    figure(
        f"registry down: exit {result.returncode} in {seconds:.1f}s: {result.stderr.strip().splitlines()[-1]}"
    )
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert f"unreachable (https://{publisher.registry.address}: connection refused) for " in last
    assert last.endswith("nothing built or pushed")
    assert "building " not in result.stderr
    assert publisher.registry.catalog() == before


def test_a_registry_whose_ca_is_not_trusted_is_unreachable_naming_the_certificate(
    publisher: Publisher,
) -> None:
    untrusted = publisher.scratch / "untrusted.yaml"
    untrusted.write_text(json.dumps({"bakehouse": {"publish": {"registry": publisher.registry.address}}}))
    before = publisher.registry.catalog()
    result = publisher.publish(
        "--target", "system", env=publisher.env(f"ca-{uuid.uuid4().hex[:6]}"), config=untrusted
    )
    last = result.stderr.strip().splitlines()[-1]
    figure(f"CA not trusted: exit {result.returncode}: {last}")
    assert result.returncode == 1, result.stderr
    assert "unreachable (" in last and "TLS certificate verification failed" in last
    assert publisher.registry.catalog() == before


def builder_records(builder: str) -> list[tuple[str, str]]:
    """The builder's cache records (id, size), without their last-used times."""
    lines = docker("buildx", "du", "--builder", builder).stdout.splitlines()
    return sorted(
        (line.split()[0], line.split()[2]) for line in lines if line.split() and len(line.split()) >= 3
    )


def test_dry_run_prints_the_plan_and_changes_nothing(publisher: Publisher) -> None:
    namespace = f"dry-{uuid.uuid4().hex[:6]}"
    before = (publisher.registry.catalog(), builder_records(publisher.builder))
    status = subprocess.run(
        ["git", "-C", str(publisher.clone), "status", "--porcelain"], capture_output=True, text=True
    )
    result = publisher.publish(
        "--dry-run", "--target", "system", "--matrix", TWO_SYSTEMS, env=publisher.env(namespace)
    )
    assert result.returncode == 0, result.stderr
    rows = plan_table(result.stdout)
    assert sorted(rows) == ["system--debian--bookworm-slim--amd64", "system--debian--trixie-slim--amd64"]
    for cell, row in rows.items():
        assert row.repository == f"{publisher.registry.address}/{namespace}/{cell}"
        assert CONTENT_TAG.match(row.tag) and row.answer == "absent"
    after = (publisher.registry.catalog(), builder_records(publisher.builder))
    assert after == before
    assert (
        subprocess.run(
            ["git", "-C", str(publisher.clone), "status", "--porcelain"], capture_output=True, text=True
        ).stdout
        == status.stdout
    )


def test_the_same_tree_elsewhere_with_another_core_count_gets_the_same_tags(publisher: Publisher) -> None:
    elsewhere = snapshot(publisher.scratch / "another" / "place")
    # Another machine's core count, for the inv run there (nprocs is a build arg of every target).
    site = publisher.scratch / "cores"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import os\nos.cpu_count = lambda: 64\n")
    env = publisher.env("same", PYTHONPATH=str(site))
    printed = subprocess.run(
        [INV, "build", "--print", "--target", "system"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env=env,
    )
    assert (
        json.loads(printed.stdout)["target"]["system--debian--trixie-slim--amd64"]["args"]["nprocs"] == "64"
    )
    args = ("--dry-run", "--target", "install", "--target", "system", "--matrix", TWO_SYSTEMS)
    here = publisher.publish(*args, env=publisher.env("same"))
    there = publisher.publish(*args, env=env, cwd=elsewhere)
    assert here.returncode == 0 and there.returncode == 0, here.stderr + there.stderr
    tags_here = {cell: row.tag for cell, row in plan_table(here.stdout).items()}
    assert len(tags_here) == 4
    assert {cell: row.tag for cell, row in plan_table(there.stdout).items()} == tags_here


def test_a_dirty_tree_publishes_wip_tags_only(publisher: Publisher) -> None:
    dirty = snapshot(publisher.scratch / "dirty")
    namespace = f"wip-{uuid.uuid4().hex[:6]}"
    args = ("--target", "system", "--matrix", "sys_version=trixie-slim")
    clean = plan_table(publisher.publish("--dry-run", *args, env=publisher.env(namespace), cwd=dirty).stdout)
    dockerfile = dirty / "images" / "Dockerfile.system"
    dockerfile.write_text(dockerfile.read_text() + "# an uncommitted edit\n")
    # A file no Dockerfile reads doesn't make anything work in progress; the edit above does.
    (dirty / "images" / "notes.txt").write_text("untracked, unread\n")
    result = publisher.publish("--progress", "plain", *args, env=publisher.env(namespace), cwd=dirty)
    assert result.returncode == 0, result.stderr[-3000:]
    repository = f"{namespace}/system--debian--trixie-slim--amd64"
    (tag,) = publisher.registry.tags(repository)
    assert CONTENT_TAG.match(tag) and tag.endswith("-wip")
    assert tag.removesuffix("-wip") != clean["system--debian--trixie-slim--amd64"].tag
    assert "1 pushed, 0 skipped" in result.stderr
