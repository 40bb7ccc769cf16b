"""tasks.publish.credentials: reading them, never showing them, and the buildx environment: the
temporary docker config, the helper program (run for real), and the clean-up."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tasks.publish.credentials import (
    HELPER_SECRET_VARIABLE,
    HELPER_USER_VARIABLE,
    TOKEN_USER,
    Credentials,
    buildx_auth,
    config_for_helper,
)
from tasks.shared.errors import BAD_INPUT, BakehouseError

SECRET = "s3cr3t-\"quote'-\\back-$dollar"
REGISTRY = "registry.example:5443"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"BAKEHOUSE_REGISTRY_USER": "", "BAKEHOUSE_REGISTRY_PASSWORD": ""}, None),
        (
            {"BAKEHOUSE_REGISTRY_USER": "alice", "BAKEHOUSE_REGISTRY_PASSWORD": "pw"},
            Credentials("alice", "pw"),
        ),
        ({"BAKEHOUSE_REGISTRY_TOKEN": "tok"}, Credentials(TOKEN_USER, "tok")),
        ({"BAKEHOUSE_REGISTRY_USER": "bob", "BAKEHOUSE_REGISTRY_TOKEN": "tok"}, Credentials("bob", "tok")),
    ],
)
def test_credentials_come_from_the_environment(env, expected):
    assert Credentials.from_environment(env) == expected


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BAKEHOUSE_REGISTRY_USER": "alice"},
         "BAKEHOUSE_REGISTRY_USER is set without BAKEHOUSE_REGISTRY_PASSWORD (or BAKEHOUSE_REGISTRY_TOKEN)"),
        ({"BAKEHOUSE_REGISTRY_PASSWORD": "pw"},
         "BAKEHOUSE_REGISTRY_PASSWORD is set without BAKEHOUSE_REGISTRY_USER"),
        ({"BAKEHOUSE_REGISTRY_USER": "a", "BAKEHOUSE_REGISTRY_PASSWORD": "pw",
          "BAKEHOUSE_REGISTRY_TOKEN": "t"},
         "BAKEHOUSE_REGISTRY_PASSWORD and BAKEHOUSE_REGISTRY_TOKEN are both set: set only one"),
    ],
)  # fmt: skip
def test_half_given_or_ambiguous_credentials_are_bad_input(env, message):
    with pytest.raises(BakehouseError) as caught:
        Credentials.from_environment(env)
    assert caught.value.code == BAD_INPUT
    assert str(caught.value) == message


def test_the_process_environment_is_read_by_default(monkeypatch):
    monkeypatch.setenv("BAKEHOUSE_REGISTRY_USER", "carol")
    monkeypatch.setenv("BAKEHOUSE_REGISTRY_PASSWORD", "pw")
    monkeypatch.delenv("BAKEHOUSE_REGISTRY_TOKEN", raising=False)
    assert Credentials.from_environment() == Credentials("carol", "pw")


def test_printing_credentials_never_shows_the_password():
    credentials = Credentials("alice", SECRET)
    for shown in (
        repr(credentials),
        str(credentials),
        f"{credentials}",
        f"{credentials!r}",
        str([credentials]),
    ):
        assert SECRET not in shown
        assert "alice" in shown


def test_the_helper_config_drops_stored_auths_for_the_registry_and_keeps_the_rest():
    user_config = {
        "auths": {
            REGISTRY: {"auth": "c3RvcmVk"},
            f"https://{REGISTRY}/v1/": {"auth": "b2xk"},
            "other.example": {"auth": "a2VlcA=="},
        },
        "credsStore": "desktop",
        "credHelpers": {"gcr.io": "gcloud"},
        "currentContext": "remote",
        "proxies": {"default": {"httpProxy": "http://proxy:3128"}},
    }
    assert config_for_helper(user_config, REGISTRY) == {
        "auths": {"other.example": {"auth": "a2VlcA=="}},
        "credsStore": "desktop",
        "credHelpers": {"gcr.io": "gcloud", REGISTRY: "bakehouse"},
        "currentContext": "remote",
        "proxies": {"default": {"httpProxy": "http://proxy:3128"}},
    }
    assert config_for_helper({}, REGISTRY) == {"credHelpers": {REGISTRY: "bakehouse"}}


@pytest.fixture
def user_docker_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user's docker config directory with a stored login, contexts and a CLI plugin."""
    directory = tmp_path / "dot-docker"
    (directory / "contexts" / "meta").mkdir(parents=True)
    (directory / "cli-plugins").mkdir()
    (directory / "cli-plugins" / "docker-compose").write_text("#!/bin/sh\n")
    (directory / "buildx" / "instances").mkdir(parents=True)
    (directory / "config.json").write_text(json.dumps({"auths": {REGISTRY: {"auth": "c3RvcmVk"}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(directory))
    monkeypatch.delenv("BUILDX_CONFIG", raising=False)
    return directory


def helper(env: dict[str, str], action: str, stdin: str) -> subprocess.CompletedProcess[str]:
    """The helper as the docker CLI runs it: found on PATH, the action as its argument."""
    return subprocess.run(
        ["docker-credential-bakehouse", action], input=stdin, capture_output=True, text=True,
        env={**os.environ, **env},
    )  # fmt: skip


def test_buildx_auth_gives_buildx_a_temporary_config_and_a_helper_that_answers(user_docker_dir):
    with buildx_auth(REGISTRY, Credentials("alice", SECRET)) as env:
        config_dir = Path(env["DOCKER_CONFIG"])
        assert config_dir != user_docker_dir
        assert env["BUILDX_CONFIG"] == str(user_docker_dir / "buildx")
        assert (env[HELPER_USER_VARIABLE], env[HELPER_SECRET_VARIABLE]) == ("alice", SECRET)
        config = json.loads((config_dir / "config.json").read_text())
        assert config == {"auths": {}, "credHelpers": {REGISTRY: "bakehouse"}}
        # Contexts and plugins stay where docker looks for them; buildx state is reached by BUILDX_CONFIG.
        assert (config_dir / "contexts").resolve() == user_docker_dir / "contexts"
        assert (config_dir / "cli-plugins" / "docker-compose").is_file()
        assert not (config_dir / "buildx").exists()

        got = helper(env, "get", REGISTRY)
        assert got.returncode == 0, got.stderr
        assert json.loads(got.stdout) == {"ServerURL": REGISTRY, "Username": "alice", "Secret": SECRET}
        assert json.loads(helper(env, "get", f"https://{REGISTRY}/v2/").stdout)["Secret"] == SECRET
        assert json.loads(helper(env, "list", "").stdout) == {REGISTRY: "alice"}
        other = helper(env, "get", "other.example")
        assert (other.returncode, other.stdout.strip()) == (1, "credentials not found in native keychain")
        assert helper(env, "store", '{"ServerURL":"x"}').returncode == 1

        # Nothing written holds the secret: it lives in the environment only.
        temporary = config_dir.parent
        written = [p for p in temporary.rglob("*") if p.is_file() and not p.is_symlink()]
        assert sorted(p.name for p in written) == ["config.json", "docker-credential-bakehouse"]
        assert not [p for p in written if "s3cr3t" in p.read_text()]
    assert not temporary.exists()
    # The user's own directory is as it was.
    assert json.loads((user_docker_dir / "config.json").read_text()) == {
        "auths": {REGISTRY: {"auth": "c3RvcmVk"}}
    }
    assert (user_docker_dir / "cli-plugins" / "docker-compose").is_file()


def test_buildx_auth_cleans_up_when_the_run_fails(user_docker_dir):
    with pytest.raises(RuntimeError), buildx_auth(REGISTRY, Credentials("alice", SECRET)) as env:
        temporary = Path(env["DOCKER_CONFIG"]).parent
        raise RuntimeError("bake failed")
    assert not temporary.exists()


def test_buildx_auth_without_credentials_changes_nothing(user_docker_dir):
    with buildx_auth(REGISTRY, None) as env:
        assert env == {}


def test_buildx_auth_works_without_a_user_docker_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "absent"))
    monkeypatch.setenv("BUILDX_CONFIG", str(tmp_path / "buildx-state"))
    with buildx_auth(REGISTRY, Credentials("alice", SECRET)) as env:
        assert env["BUILDX_CONFIG"] == str(tmp_path / "buildx-state")
        assert json.loads((Path(env["DOCKER_CONFIG"]) / "config.json").read_text()) == {
            "credHelpers": {REGISTRY: "bakehouse"}
        }
    assert not (tmp_path / "absent").exists()


def test_an_unreadable_user_config_is_an_error_naming_it(user_docker_dir):
    (user_docker_dir / "config.json").write_text("{not json")
    with pytest.raises(BakehouseError) as caught, buildx_auth(REGISTRY, Credentials("alice", SECRET)):
        pass
    assert str(caught.value).startswith(f"{user_docker_dir / 'config.json'}: can't read the docker config")
