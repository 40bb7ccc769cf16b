"""tasks.publish.registry and .credentials against a real TLS + htpasswd registry (registrykit).

Every Presence class from a real answer, tagging a pushed image again, a buildx push authenticated
through buildx_auth on a builder made by `inv builder.create` with builder.registry_ca (and the
password found in none of the run's files, logs, builder state or image), the CA setting's drift
and its refusals.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from enginekit import docker, inv
from registrykit import TlsRegistry, make_certificates

from tasks.publish.credentials import Credentials, buildx_auth
from tasks.publish.registry import ImageRef, Presence, add_tags, probe
from tasks.shared.buildx import buildx_config_dir, docker_config_dir

pytestmark = pytest.mark.engine

DOCKERFILE = """\
FROM scratch
ARG marker
COPY hello /hello
LABEL marker=$marker
"""


def write_config(path: Path, registry: TlsRegistry, ca: Path | str | None = None) -> Path:
    """An invoke config file (for `inv -f`) making the builder trust ``ca`` (default: the registry's)."""
    path.write_text(
        json.dumps({"bakehouse": {"builder": {"registry_ca": {registry.address: str(ca or registry.ca)}}}})
    )
    return path


def push(builder: str, context: Path, ref: ImageRef, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "buildx", "build", "--builder", builder, "--progress", "plain", "--push",
         "--build-arg", f"marker={ref.tag}", "-t", str(ref), str(context)],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, env={**os.environ, **env},
    )  # fmt: skip


def files_containing(root: Path, needle: bytes, max_size: int = 50_000_000) -> list[str]:
    """Regular files under ``root`` (symlinks not followed) whose bytes contain ``needle``."""
    found = []
    for directory, _, names in os.walk(root):
        for name in names:
            path = Path(directory, name)
            try:
                if path.is_symlink() or not path.is_file() or path.stat().st_size > max_size:
                    continue
                if needle in path.read_bytes():
                    found.append(str(path))
            except OSError:
                continue
    return found


@dataclass
class Published:
    """What the module's one authenticated push left to look at."""

    builder: str
    ref: ImageRef
    create_output: str
    anonymous: subprocess.CompletedProcess[str]
    authenticated: subprocess.CompletedProcess[str]
    auth_env: dict[str, str]
    auth_files: dict[str, bytes]  # every file under the temporary DOCKER_CONFIG's parent, during the run


@pytest.fixture(scope="module")
def published(tls_registry: TlsRegistry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Published]:
    work = tmp_path_factory.mktemp("registry-push")
    builder = f"bh-test-{uuid.uuid4().hex[:8]}"
    try:
        config = write_config(work / "invoke.yaml", tls_registry)
        # The host network: the registry listens on the host's 127.0.0.1.
        created = inv("-f", str(config), "builder.create", "--name", builder, "--network", "host")
        context = work / "context"
        context.mkdir()
        (context / "Dockerfile").write_text(DOCKERFILE)
        (context / "hello").write_text("hello\n")
        ref = ImageRef(tls_registry.address, f"bakehouse-test/push-{uuid.uuid4().hex[:8]}", "v1")
        anonymous = push(builder, context, ref, {})
        credentials = Credentials(tls_registry.user, tls_registry.password)
        with buildx_auth(tls_registry.address, credentials) as env:
            authenticated = push(builder, context, ref, env)
            temporary = Path(env["DOCKER_CONFIG"]).parent
            auth_files = {
                str(path.relative_to(temporary)): path.read_bytes()
                for path in temporary.rglob("*")
                if path.is_file() and not path.is_symlink()
            }
        yield Published(
            builder, ref, created.stdout + created.stderr, anonymous, authenticated, env, auth_files
        )
    finally:
        docker("buildx", "rm", builder, check=False)


def test_a_pushed_tag_is_present_and_unknown_tags_or_repositories_are_absent(published, tls_registry):
    credentials = Credentials(tls_registry.user, tls_registry.password)
    present = probe(published.ref, credentials, [tls_registry.ca])
    assert present.presence is Presence.PRESENT, present
    assert present.status == 200
    assert present.message.startswith("sha256:")  # the manifest's digest

    missing_tag = probe(published.ref.with_tag("never-pushed"), credentials, [tls_registry.ca])
    assert (missing_tag.presence, missing_tag.status) == (Presence.ABSENT, 404)
    assert missing_tag.message == "MANIFEST_UNKNOWN: manifest unknown"

    missing_repository = probe(
        ImageRef(tls_registry.address, "bakehouse-test/never-pushed", "v1"), credentials, [tls_registry.ca]
    )
    assert missing_repository.presence is Presence.ABSENT, missing_repository
    assert missing_repository.message.split(":")[0] in ("NAME_UNKNOWN", "MANIFEST_UNKNOWN")


@pytest.mark.parametrize("password", ["wrong-password", None])
def test_a_wrong_or_missing_password_is_unauthorized_in_the_registrys_words(
    published, tls_registry, password
):
    credentials = Credentials(tls_registry.user, password) if password else None
    answer = probe(published.ref, credentials, [tls_registry.ca])
    assert (answer.presence, answer.status) == (Presence.UNAUTHORIZED, 401)
    assert answer.message == "UNAUTHORIZED: authentication required"


def test_a_stopped_registry_is_unreachable(published, tls_registry):
    credentials = Credentials(tls_registry.user, tls_registry.password)
    with tls_registry.stopped():
        answer = probe(published.ref, credentials, [tls_registry.ca])
    assert (answer.presence, answer.status) == (Presence.UNREACHABLE, None)
    assert answer.message == f"https://{tls_registry.address}: connection refused"
    # Up again: the same tag is found as before.
    assert probe(published.ref, credentials, [tls_registry.ca]).presence is Presence.PRESENT


def test_an_untrusted_certificate_is_unreachable_naming_the_problem(published, tls_registry, tmp_path):
    credentials = Credentials(tls_registry.user, tls_registry.password)
    untrusted = probe(published.ref, credentials, [])
    assert (untrusted.presence, untrusted.status) == (Presence.UNREACHABLE, None)
    assert untrusted.message == (
        f"https://{tls_registry.address}: "
        "TLS certificate verification failed: unable to get local issuer certificate"
    )
    other_ca, _, _ = make_certificates(tmp_path / "other")
    assert probe(published.ref, credentials, [other_ca]).message == untrusted.message


def test_add_tags_puts_the_same_manifest_under_more_tags(published, tls_registry):
    credentials = Credentials(tls_registry.user, tls_registry.password)
    repository = published.ref.repository
    before = tls_registry.manifest(repository, published.ref.tag)
    add_tags(published.ref, ["main", "latest"], credentials, [tls_registry.ca])
    assert tls_registry.tags(repository) == ["latest", "main", "v1"]
    for tag in ("main", "latest"):
        assert tls_registry.manifest(repository, tag) == before
        answer = probe(published.ref.with_tag(tag), credentials, [tls_registry.ca])
        assert answer.presence is Presence.PRESENT
        assert answer.message == probe(published.ref, credentials, [tls_registry.ca]).message


def test_buildx_pushes_only_through_buildx_auth(published, tls_registry):
    assert "created" in published.create_output
    # Without the helper the registry refuses the push: the credentials below are what authenticated.
    assert published.anonymous.returncode != 0
    assert "401 Unauthorized" in published.anonymous.stderr
    assert published.authenticated.returncode == 0, published.authenticated.stderr[-3000:]
    assert tls_registry.tags(published.ref.repository)[-1] == "v1"
    # The temporary docker config names the helper for this registry, and all of it is gone.
    config = json.loads(published.auth_files["docker/config.json"])
    assert config["credHelpers"] == {tls_registry.address: "bakehouse"}
    assert "auths" not in config or tls_registry.address not in config["auths"]
    assert not Path(published.auth_env["DOCKER_CONFIG"]).parent.exists()


def test_the_password_is_in_no_file_log_builder_state_or_image(published, tls_registry, tmp_path):
    secret = tls_registry.secret_core
    assert secret in tls_registry.password
    needle = secret.encode()
    # The searches below find it where it is.
    canary = tmp_path / "canary"
    canary.write_text(f"x{secret}x")
    assert files_containing(tmp_path, needle) == [str(canary)]
    container = f"buildx_buildkit_{published.builder}0"
    assert docker("exec", container, "grep", "-rlF", "BEGIN CERTIFICATE", "/etc/buildkit").returncode == 0
    # The temporary config and the helper program, as they were during the push.
    assert [name for name, content in published.auth_files.items() if needle in content] == []
    # The run's logs.
    for output in (published.create_output, published.authenticated.stdout, published.authenticated.stderr):
        assert secret not in output
    # The user's docker and buildx state (builders, refs, activity).
    assert files_containing(docker_config_dir(), needle) == []
    assert files_containing(buildx_config_dir(), needle) == []
    # The builder's own state (cache, build history), inside its container.
    grep = docker(
        "exec", container, "grep", "-rlF", secret, "/var/lib/buildkit", "/etc/buildkit", check=False
    )
    assert grep.returncode == 1, f"found in the builder: {grep.stdout}{grep.stderr}"
    # The image: its index, manifests and configs (the history is in the config).
    repository = published.ref.repository
    index = tls_registry.manifest(repository, published.ref.tag)
    documents = [json.dumps(index).encode()]
    for entry in index.get("manifests", []):
        manifest = tls_registry.manifest(repository, entry["digest"])
        documents.append(json.dumps(manifest).encode())
        documents.append(tls_registry.blob(repository, manifest["config"]["digest"]))
    assert len(documents) >= 3
    assert b'"history"' in b"".join(documents)  # the configs were really read
    assert not any(needle in document for document in documents)
    # The registry's own files and log (htpasswd holds a bcrypt hash).
    assert files_containing(tls_registry.directory, needle) == []


def test_the_builder_trusts_the_configured_ca_and_a_new_ca_is_drift(tls_registry, builder_name, tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_bytes(tls_registry.ca.read_bytes())
    config = write_config(tmp_path / "invoke.yaml", tls_registry, ca)
    create = ("-f", str(config), "builder.create", "--name", builder_name, "--network", "host")
    assert "created" in inv(*create).stdout
    # buildx stores the CA under another path: the same content is no drift.
    assert inv(*create).stdout.strip() == f"builder {builder_name}: up to date"
    stored = next(
        json.loads(line)
        for line in docker("buildx", "ls", "--format", "json").stdout.splitlines()
        if json.loads(line)["Name"] == builder_name
    )
    assert any(name.startswith("certs/") for name in stored["Nodes"][0]["Files"])

    other_ca, _, _ = make_certificates(tmp_path / "other")
    ca.write_bytes(other_ca.read_bytes())
    drifted = inv(*create)
    assert f"builder {builder_name} drifted: buildkitd.toml" in drifted.stderr
    assert "recreated (cache kept)" in drifted.stdout
    assert inv(*create).stdout.strip() == f"builder {builder_name}: up to date"


@pytest.mark.parametrize(
    ("host", "ca", "message"),
    [
        ("127.0.0.1:5999", "/nonexistent/ca.pem",
         "builder.registry_ca 127.0.0.1:5999: /nonexistent/ca.pem: no such file"),
        ("127.0.0.1:5999", "pyproject.toml", "not a PEM certificate"),
        ("https://127.0.0.1:5999", "/nonexistent/ca.pem",
         "builder.registry_ca 'https://127.0.0.1:5999': expected host[:port]"),
    ],
)  # fmt: skip
def test_a_bad_registry_ca_is_refused_before_any_builder_change(builder_name, tmp_path, host, ca, message):
    config = tmp_path / "invoke.yaml"
    config.write_text(json.dumps({"bakehouse": {"builder": {"registry_ca": {host: ca}}}}))
    result = inv("-f", str(config), "builder.create", "--name", builder_name, check=False)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert builder_name not in docker("buildx", "ls").stdout
