"""Cache poisoning, tried for real: a trusted cache namespace only a promoter may write, untrusted
actors with scopes of their own, and a step whose cache key a secret's value doesn't change.

Registries (all started here, TLS + htpasswd, see registrykit):
- trusted, read-write: one htpasswd user, the promoter (trusted runs' credentials);
- trusted, read-only: the same storage directory served with `storage.maintenance.readonly`, for the
  actors (Debian's docker-registry has no per-user permissions: the split is two processes);
- scratch: the actors' scopes (alice and mallory may write it).
The tree is written here: one RUN step copies a secret into the image, a second step builds on it.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from enginekit import docker, inv
from registrykit import TlsRegistry, ensure_registry_program, htpasswd_line

from tasks.bake.progress import RawJsonReader
from tasks.shared.buildx import buildx_config_dir

pytestmark = pytest.mark.engine

TRUSTED_VALUE = "trusted-value"
POISON = "poison-value"
REPOSITORY = "team/tiny"

DOCKERFILE = """\
FROM debian:trixie-slim AS work
# The secret's value is not part of this step's cache key: equal keys, different layers.
RUN --mount=type=secret,id=value cp /run/secrets/value /value
RUN cat /value /value > /twice
FROM scratch
COPY --from=work /value /twice /
"""

BAKE_FILE = """\
variable "OUT_DIR" {{ default = "" }}
group "default" {{ targets = ["tiny"] }}
target "tiny" {{
  context = "{context}"
  dockerfile = "Dockerfile"
  secret = ["id=value,env=TINY_SECRET"]
  output = ["type=local,dest=${{OUT_DIR}}"]
}}
"""


@dataclass
class Actor:
    """One user of the registries: credentials in a docker config of their own, CI variables."""

    name: str
    password: str
    docker_config: Path
    ci: dict[str, str]
    builders: list[str] = field(default_factory=list)

    def env(self, secret: str, out_dir: Path) -> dict[str, str]:
        return {
            **self.ci,
            "DOCKER_CONFIG": str(self.docker_config),
            # Builders are found where the user's buildx keeps them, whatever DOCKER_CONFIG says.
            "BUILDX_CONFIG": str(buildx_config_dir()),
            "TINY_SECRET": secret,
            "OUT_DIR": str(out_dir),
        }


@dataclass
class World:
    tmp: Path
    trusted_rw: TlsRegistry
    trusted_ro: TlsRegistry
    scratch: TlsRegistry
    bake_file: Path
    promoter: Actor
    alice: Actor
    mallory: Actor
    made_builders: list[str] = field(default_factory=list)

    def config(self, trusted_address: str, name: str, scope_registry: str = "") -> Path:
        """The bakehouse config of a run: the tiny tree, the scopes, the registries' CAs."""
        document = {
            "bakehouse": {
                "bake": {
                    "files": [str(self.bake_file)],
                    "default_targets": ["default"],
                    "git_variables": False,
                },
                "builder": {
                    "registry_ca": {
                        registry.address: str(registry.ca)
                        for registry in (self.trusted_rw, self.trusted_ro, self.scratch)
                    }
                },
                "cache": {
                    "backend": "registry",
                    "trusted_ref": f"{trusted_address}/cache/trusted",
                    "scope_ref": f"{scope_registry or self.scratch.address}/scopes/{{scope}}",
                    "trusted_repository": REPOSITORY,
                },
            }
        }
        path = self.tmp / f"{name}.yaml"
        path.write_text(json.dumps(document))  # JSON is YAML
        return path

    def builder(self, config: Path) -> str:
        name = f"bh-trust-{uuid.uuid4().hex[:8]}"
        self.made_builders.append(name)
        inv("-f", str(config), "builder.create", "--name", name)
        return name


def _docker_config(directory: Path, logins: dict[str, tuple[str, str]]) -> Path:
    directory.mkdir(parents=True)
    auths = {
        address: {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}
        for address, (user, password) in logins.items()
    }
    (directory / "config.json").write_text(json.dumps({"auths": auths}))
    return directory


def _registry(directory: Path, users: dict[str, str], storage: Path, *, read_only: bool) -> TlsRegistry:
    """A TlsRegistry whose users and storage are ours: htpasswd rewritten, config pointed at ``storage``."""
    registry = TlsRegistry.create(directory)
    (directory / "htpasswd").write_text("".join(htpasswd_line(user, pw) for user, pw in users.items()))
    config = json.loads((directory / "config.yml").read_text())
    config["storage"]["filesystem"]["rootdirectory"] = str(storage)
    if read_only:
        config["storage"]["maintenance"] = {"readonly": {"enabled": True}}
    (directory / "config.yml").write_text(json.dumps(config))
    # The reading helpers (tags, manifest) log in as the first user.
    registry.user, registry.password = next(iter(users.items()))
    return registry


def _github(actor: str, event: str, ref: str, payload: Path) -> dict[str, str]:
    return {
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_ACTOR": actor,
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_EVENT_NAME": event,
        "GITHUB_REF": ref,
        "GITHUB_REF_NAME": ref.rsplit("/", 1)[-1]
        if ref.startswith("refs/heads/")
        else ref.removeprefix("refs/"),
        "GITHUB_EVENT_PATH": str(payload),
    }


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    ensure_registry_program()
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "Dockerfile").write_text(DOCKERFILE)
    bake_file = tree / "bake.hcl"
    bake_file.write_text(BAKE_FILE.format(context=tree))
    payload = tmp_path / "event.json"
    payload.write_text(json.dumps({"repository": {"full_name": REPOSITORY, "default_branch": "main"}}))
    password = {name: f"{name}-{uuid.uuid4().hex[:12]}" for name in ("promoter", "alice", "mallory")}
    storage = tmp_path / "trusted-storage"
    trusted_rw = _registry(
        tmp_path / "trusted-rw", {"promoter": password["promoter"]}, storage, read_only=False
    )
    readers = {name: password[name] for name in ("alice", "mallory", "promoter")}
    trusted_ro = _registry(tmp_path / "trusted-ro", readers, storage, read_only=True)
    scratch_users = {name: password[name] for name in ("alice", "mallory")}
    scratch = _registry(tmp_path / "scratch", scratch_users, tmp_path / "scratch-storage", read_only=False)

    def actor(name: str, ci: dict[str, str]) -> Actor:
        logins = {trusted_ro.address: (name, password[name])}
        if name == "promoter":
            logins[trusted_rw.address] = (name, password[name])
        else:
            logins[scratch.address] = (name, password[name])
        return Actor(name, password[name], _docker_config(tmp_path / f"docker-{name}", logins), ci)

    world = World(
        tmp_path, trusted_rw, trusted_ro, scratch, bake_file,
        promoter=actor("promoter", _github("promoter", "push", "refs/heads/main", payload)),
        alice=actor("alice", _github("alice", "pull_request", "refs/pull/8/merge", payload)),
        mallory=actor("mallory", _github("mallory", "pull_request", "refs/pull/7/merge", payload)),
    )  # fmt: skip
    for registry in (trusted_rw, trusted_ro, scratch):
        registry.start()
    try:
        yield world
    finally:
        for name in world.made_builders:
            docker("buildx", "rm", name, check=False)
        for registry in (trusted_rw, trusted_ro, scratch):
            registry.stop()


def _bake(
    actor: Actor, config: Path, builder: str, secret: str, out: Path, *options: str, **env: str
) -> tuple[subprocess.CompletedProcess[str], RawJsonReader]:
    """`inv -f CONFIG build` as the actor; the result and its parsed rawjson progress."""
    args = ["-f", str(config), "build", "--builder", builder, "--progress", "rawjson", *options]
    result = inv(*args, env={**actor.env(secret, out), **env}, check=False)
    reader = RawJsonReader(single_target="tiny")
    for line in result.stderr.splitlines():
        if line.startswith("{"):
            reader.feed(line)
    return result, reader


def _raw_bake(
    actor: Actor, builder: str, world: World, secret: str, out: Path, *sets: str
) -> subprocess.CompletedProcess[str]:
    """Plain `docker buildx bake` with the actor's credentials: no bakehouse check in the way."""
    command = [
        "docker",
        "buildx",
        "bake",
        "--builder",
        builder,
        "-f",
        str(world.bake_file),
        "--progress",
        "plain",
    ]
    for value in sets:
        command += ["--set", value]
    return subprocess.run(
        [*command, "tiny"], capture_output=True, text=True, env={**os.environ, **actor.env(secret, out)},
        cwd=world.tmp, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _scope(actor: str, number: int) -> str:
    # tasks.builder.naming.isolation_key of (actor, team/tiny, "pull/N/merge").
    return f"bakehouse-{actor}-tiny-pull-{number}-merge"


def _steps(reader: RawJsonReader) -> dict[str, bool]:
    """RUN steps of the work stage: name -> taken from a cache (True) or executed."""
    return {vertex.rest: vertex.cached for vertex in reader.steps() if vertex.rest.startswith("RUN")}


def test_an_untrusted_scope_cannot_poison_the_trusted_cache(world: World) -> None:
    promoter_config = world.config(world.trusted_rw.address, "promoter")
    actor_config = world.config(world.trusted_ro.address, "actor")
    trusted_tags = world.trusted_rw.tags("cache/trusted")
    assert trusted_tags == []

    # 1. A trusted build (push to main of the trusted repository) exports to the trusted ref.
    out = world.tmp / "out-promoter"
    result, reader = _bake(
        world.promoter, promoter_config, world.builder(promoter_config), TRUSTED_VALUE, out
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (
        "cache: trusted run (github: push of refs/heads/main in team/tiny: the default branch)"
        in result.stderr
    )
    assert not any(_steps(reader).values()), "a fresh builder with an empty cache ran no step"
    assert (out / "value").read_text() == TRUSTED_VALUE
    assert world.trusted_rw.tags("cache/trusted") == ["tiny"]
    trusted_manifest = world.trusted_rw.manifest("cache/trusted", "tiny")

    # 2. Mallory (a pull request) turns import off so her step runs with her secret, and exports
    #    to her scope: equal cache key, poisoned layer.
    mallory_builder = world.builder(actor_config)
    out = world.tmp / "out-mallory"
    result, reader = _bake(
        world.mallory, actor_config, mallory_builder, POISON, out, INVOKE_BAKEHOUSE_CACHE_IMPORT="0"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "cache: untrusted run (github: pull_request of refs/pull/7/merge" in result.stderr
    assert (out / "value").read_text() == POISON
    mallory_scope = f"scopes/{_scope('mallory', 7)}"
    assert world.scratch.tags(mallory_scope) == ["tiny"]

    # 3. bakehouse refuses her plan that exports to the trusted ref, before anything runs.
    refused, _ = _bake(
        world.mallory, actor_config, mallory_builder, POISON, world.tmp / "out-refused",
        "--set", f"tiny.cache-to=type=registry,ref={world.trusted_ro.address}/cache/trusted:tiny",
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    trusted_ro_ref = f"{world.trusted_ro.address}/cache/trusted"
    assert (
        f"cache trust: tiny: an untrusted run would export to the trusted ref {trusted_ro_ref}"
        in refused.stderr
    )
    assert '"vertexes"' not in refused.stderr  # no bake ran
    # Claiming local trust from inside a CI changes nothing.
    claimed = {
        **world.mallory.env(POISON, world.tmp / "out-claimed"),
        "INVOKE_BAKEHOUSE_CACHE_TRUST_LOCAL": "1",
    }
    claim = inv(
        "-f", str(actor_config), "build", "--builder", mallory_builder, "--set",
        f"tiny.cache-to=type=registry,ref={trusted_ro_ref}:tiny", env=claimed, check=False,
    )  # fmt: skip
    assert claim.returncode == 2 and "an untrusted run would export to the trusted ref" in claim.stderr

    # 4. Raw buildx with her credentials: the registries refuse, and say so (no ignore-error).
    for address, words in (
        (world.trusted_ro.address, "405 Method Not Allowed"),
        (world.trusted_rw.address, "401 Unauthorized"),
    ):
        raw = _raw_bake(
            world.mallory, mallory_builder, world, POISON, world.tmp / "out-raw",
            f"tiny.cache-to=type=registry,ref={address}/cache/trusted:tiny,mode=max",
        )  # fmt: skip
        assert raw.returncode != 0, raw.stderr[-2000:]
        assert words in raw.stderr, raw.stderr[-2000:]
    assert world.trusted_rw.manifest("cache/trusted", "tiny") == trusted_manifest

    # 4b. Through bakehouse, a refused cache export fails the run with the registry's words (a scope
    #     on a registry she has no login for): no ignore-error hides it.
    no_login = world.config(world.trusted_ro.address, "no-login", scope_registry=world.trusted_rw.address)
    failed, _ = _bake(world.mallory, no_login, mallory_builder, POISON, world.tmp / "out-401")
    summary = "\n".join(line for line in failed.stderr.splitlines() if not line.startswith("{"))
    assert failed.returncode == 1, summary
    # The summary's per-target error line, in the registry's words.
    assert any(line.startswith("tiny: ") and "401 Unauthorized" in line for line in summary.splitlines()), (
        summary
    )

    # 5. The control: another actor's fresh builder importing mallory's scope gets the poison.
    #    (bakehouse refuses that import for an untrusted run: only its own scope and the trusted ref.)
    cross = f"tiny.cache-from=type=registry,ref={world.scratch.address}/{mallory_scope}:tiny"
    refused, _ = _bake(
        world.alice, actor_config, mallory_builder, "alice-value", world.tmp / "out-x", "--set", cross
    )
    assert refused.returncode == 2 and "an untrusted run imports only" in refused.stderr, refused.stderr
    out = world.tmp / "out-control"
    control = _raw_bake(world.alice, world.builder(actor_config), world, "alice-value", out, cross)
    assert control.returncode == 0, control.stderr[-3000:]
    assert (out / "value").read_text() == POISON

    # 6. Alice's own untrusted build on a fresh builder imports her scope (empty) then the trusted
    #    ref: every step comes from the trusted cache, with the trusted value.
    out = world.tmp / "out-alice"
    result, reader = _bake(world.alice, actor_config, world.builder(actor_config), "alice-value", out)
    assert result.returncode == 0, result.stderr[-3000:]
    steps = _steps(reader)
    print(
        f"trusted->untrusted sharing: {sum(steps.values())} of {len(steps)} RUN steps from the trusted cache"
    )
    assert steps and all(steps.values()), steps
    assert (out / "value").read_text() == TRUSTED_VALUE
    assert world.scratch.tags(f"scopes/{_scope('alice', 8)}") == ["tiny"]

    # 7. A trusted rebuild on a fresh builder comes from the trusted cache, with the trusted value.
    out = world.tmp / "out-rebuild"
    result, reader = _bake(
        world.promoter, promoter_config, world.builder(promoter_config), "ignored-value", out
    )
    assert result.returncode == 0, result.stderr[-3000:]
    steps = _steps(reader)
    assert steps and all(steps.values()), steps
    assert (out / "value").read_text() == TRUSTED_VALUE
