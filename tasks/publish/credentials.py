"""Registry credentials: read from the environment, handed to buildx without touching a file.

The secret lives in this process's memory and in the environment of the buildx process that needs
it, nowhere else: buildx asks a credential helper for it, and the helper bakehouse installs for the
run is a program that answers from its environment (it holds no secret itself). The docker config
buildx reads is a temporary copy of the user's that names that helper for the one registry; the
copy, the helper and their directory are removed when the run ends.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..shared.buildx import buildx_config_dir, docker_config_dir
from ..shared.errors import BakehouseError, bad_input

USER_VARIABLE = "BAKEHOUSE_REGISTRY_USER"
PASSWORD_VARIABLE = "BAKEHOUSE_REGISTRY_PASSWORD"
TOKEN_VARIABLE = "BAKEHOUSE_REGISTRY_TOKEN"
# Registries that take a token as the password mostly ignore the user name (ghcr.io, GitLab, Harbor
# robot tokens); one is still needed for Basic auth. Docker Hub wants the real one: set the variable.
TOKEN_USER = "token"

# The credential helper buildx runs: docker-credential-<HELPER_NAME>, found on PATH.
HELPER_NAME = "bakehouse"
# Where the helper reads what it answers: set only in the buildx process's environment.
HELPER_USER_VARIABLE = "BAKEHOUSE_CREDENTIAL_HELPER_USER"
HELPER_SECRET_VARIABLE = "BAKEHOUSE_CREDENTIAL_HELPER_SECRET"
# Docker's word for "no credentials for this server": the CLI then goes on without any.
_NOT_FOUND = "credentials not found in native keychain"


@dataclass(frozen=True, repr=False)
class Credentials:
    """A user and password (or token) for one registry. Printing one never shows the password."""

    user: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(user={self.user!r}, password=<hidden>)"

    def __str__(self) -> str:
        return f"{self.user} (password hidden)"

    def basic_authorization(self) -> str:
        """The value of an ``Authorization`` header for HTTP Basic auth."""
        pair = f"{self.user}:{self.password}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> Credentials | None:
        """The credentials the environment gives; None when it gives none (anonymous access).

        A user with a password, or a token (with an optional user, else ``TOKEN_USER``). Anything
        partial or ambiguous is bad input: pushing anonymously by mistake would only fail later,
        after the build. Empty variables count as unset.
        """
        source = os.environ if env is None else env
        user = source.get(USER_VARIABLE, "")
        password = source.get(PASSWORD_VARIABLE, "")
        token = source.get(TOKEN_VARIABLE, "")
        if password and token:
            raise bad_input(f"{PASSWORD_VARIABLE} and {TOKEN_VARIABLE} are both set: set only one")
        if token:
            return cls(user or TOKEN_USER, token)
        if user and not password:
            raise bad_input(f"{USER_VARIABLE} is set without {PASSWORD_VARIABLE} (or {TOKEN_VARIABLE})")
        if password and not user:
            raise bad_input(f"{PASSWORD_VARIABLE} is set without {USER_VARIABLE}")
        return cls(user, password) if user else None


# --- handing the credentials to buildx ----------------------------------------------------------


def _server_host(key: str) -> str:
    """The host[:port] of an ``auths`` key, which may be a URL (``https://host/v1/``)."""
    return key.split("://", 1)[-1].split("/", 1)[0]


def config_for_helper(user_config: Mapping[str, Any], registry: str) -> dict[str, Any]:
    """The user's docker config with ``registry``'s stored auths dropped and our helper named for it
    (credHelpers win over credsStore for their host, so other registries keep working as before)."""
    config = dict(user_config)
    auths = user_config.get("auths")
    if isinstance(auths, Mapping):
        config["auths"] = {key: value for key, value in auths.items() if _server_host(key) != registry}
    helpers = user_config.get("credHelpers")
    config["credHelpers"] = {**(helpers if isinstance(helpers, Mapping) else {}), registry: HELPER_NAME}
    return config


def _read_user_config(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BakehouseError(f"{path}: can't read the docker config ({exc})") from None
    if not isinstance(document, dict):
        raise BakehouseError(f"{path}: the docker config is not a JSON object")
    return document


# The helper's program (docker's credential-helper protocol: the action as the argument, the
# server on stdin, JSON on stdout). It answers for the one registry, from its environment.
_HELPER_PROGRAM = """\
import json, os, sys
action = sys.argv[1] if len(sys.argv) > 1 else ""
server = sys.stdin.read().strip() if action in ("get", "erase", "store") else ""
host = server.split("://", 1)[-1].split("/", 1)[0]
if action == "get" and host == REGISTRY:
    print(json.dumps({"ServerURL": server, "Username": os.environ[USER], "Secret": os.environ[SECRET]}))
elif action == "list":
    print(json.dumps({REGISTRY: os.environ[USER]}))
else:
    print(NOT_FOUND if action == "get" else "bakehouse's credential helper stores nothing")
    sys.exit(1)
"""


def helper_script(registry: str) -> str:
    """The docker-credential-<name> program: a shell wrapper running the helper with this Python
    (isolated mode: no PYTHON* variables or user site). It holds names, never the secret."""
    constants = (
        f"REGISTRY = {registry!r}\nUSER = {HELPER_USER_VARIABLE!r}\n"
        f"SECRET = {HELPER_SECRET_VARIABLE!r}\nNOT_FOUND = {_NOT_FOUND!r}\n"
    )
    program = constants + _HELPER_PROGRAM
    return f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -I -c {shlex.quote(program)} "$@"\n'


@contextmanager
def buildx_auth(registry: str, credentials: Credentials | None) -> Iterator[dict[str, str]]:
    """The environment to run bake/buildx with so that it authenticates to ``registry``.

    A temporary DOCKER_CONFIG: the user's config.json naming our helper for the registry, every
    other entry of the user's directory (contexts, cli-plugins...) linked in so docker works as
    before; BUILDX_CONFIG at the user's buildx state so builders are found; PATH starting with the
    helper's directory; and the credentials in the helper's two variables. All of it is removed at
    the end. Without credentials: no change (an empty environment).
    """
    if credentials is None:
        yield {}
        return
    user_dir = docker_config_dir()
    user_config = _read_user_config(user_dir / "config.json")
    temporary = Path(tempfile.mkdtemp(prefix="bakehouse-auth-"))
    try:
        config_dir = temporary / "docker"
        bin_dir = temporary / "bin"
        config_dir.mkdir()
        bin_dir.mkdir()
        if user_dir.is_dir():
            for entry in user_dir.iterdir():
                if entry.name not in ("config.json", "buildx"):
                    (config_dir / entry.name).symlink_to(entry)
        (config_dir / "config.json").write_text(
            json.dumps(config_for_helper(user_config, registry), indent=2)
        )
        helper = bin_dir / f"docker-credential-{HELPER_NAME}"
        helper.write_text(helper_script(registry))
        helper.chmod(0o700)
        yield {
            "DOCKER_CONFIG": str(config_dir),
            "BUILDX_CONFIG": str(buildx_config_dir()),
            "PATH": os.pathsep.join([str(bin_dir), os.environ.get("PATH", os.defpath)]),
            HELPER_USER_VARIABLE: credentials.user,
            HELPER_SECRET_VARIABLE: credentials.password,
        }
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
