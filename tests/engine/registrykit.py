"""A real registry for publish tests: Debian's docker-registry with TLS and htpasswd auth.

Its own CA and a server certificate for IP 127.0.0.1 (tasks.builder.certs: the set a remote BuildKit
daemon gets, so the registry tests also check those certificates against Go's TLS), a bcrypt htpasswd
file, a free port and a data directory, all under one temporary directory. The registry runs as a
child process of the tests; stop() and start() take it down and up again on the same address
(the "registry down" case). catalog() and tags() read it with Basic auth, independently of
tasks.publish.registry (the code under test).
"""

from __future__ import annotations

import base64
import json
import secrets
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt

from tasks.builder import certs
from tasks.shared.host import apt_install_host
from tasks.shared.oci_layout import MANIFEST_TYPES

REGISTRY_PROGRAM = "docker-registry"
START_TIMEOUT = 20.0
# The server certificate's IP SAN: builders on the host network reach the registry there.
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def make_certificates(directory: Path, host: str = HOST) -> tuple[Path, Path, Path]:
    """A fresh CA, and a server certificate + key it signed for ``host``: (ca.pem, cert.pem, key.pem),
    under ``directory``. The daemon half of tasks.builder.certs' set; its client half goes unused."""
    dirs = certs.dirs_for(directory, host)
    certs.write(dirs, certs.issue(host, days=2))
    return dirs.daemon / certs.CA_FILE, dirs.daemon / certs.CERT_FILE, dirs.daemon / certs.KEY_FILE


def htpasswd_line(user: str, password: str) -> str:
    """An htpasswd entry the registry accepts (it takes bcrypt hashes only)."""
    return f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()}\n"


def ensure_registry_program() -> None:
    """docker-registry on PATH: `inv engine.up` installs it in registry-free mode; elsewhere install it
    from the host's Debian suite here (the tests need it in any mode)."""
    if shutil.which(REGISTRY_PROGRAM) is None:
        apt_install_host(["docker-registry"])


@dataclass
class TlsRegistry:
    """A running docker-registry on ``address`` (https, Basic auth as ``user``/``password``)."""

    directory: Path
    address: str
    ca: Path
    user: str
    password: str
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @classmethod
    def create(cls, directory: Path) -> TlsRegistry:
        """Certificates, htpasswd and config under ``directory``; not started yet."""
        ca, certificate, key = make_certificates(directory / "certs")
        user = "publisher"
        # Characters a careless JSON or shell quoting would break on, around a distinctive core
        # that the leak tests grep for.
        password = f"pw-{secrets.token_hex(12)}-\"q'\\$"
        (directory / "htpasswd").write_text(htpasswd_line(user, password))
        address = f"{HOST}:{free_port()}"
        config = {
            "version": 0.1,
            "log": {"level": "info"},
            "storage": {
                "filesystem": {"rootdirectory": str(directory / "data")},
                "delete": {"enabled": True},
            },
            "http": {"addr": address, "tls": {"certificate": str(certificate), "key": str(key)}},
            "auth": {"htpasswd": {"realm": "bakehouse-test", "path": str(directory / "htpasswd")}},
        }
        # JSON is YAML: the registry reads it as its config file.
        (directory / "config.yml").write_text(json.dumps(config, indent=2))
        return cls(directory, address, ca, user, password)

    @property
    def secret_core(self) -> str:
        """The distinctive part of the password, to search files and logs for."""
        return self.password.split("-")[1]

    @property
    def log(self) -> Path:
        return self.directory / "registry.log"

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start it (if not running) and wait until it answers on /v2/."""
        if self.running():
            return
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [REGISTRY_PROGRAM, "serve", str(self.directory / "config.yml")],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            if self._answers():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"the test registry did not start on {self.address}:\n{self.log.read_text()[-2000:]}"
        )

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    @contextmanager
    def stopped(self) -> Iterator[None]:
        """Down for the block, up again after it (whatever happens in the block)."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def invoke_settings(self) -> dict[str, Any]:
        """The ``bakehouse`` config that makes a builder trust this registry's CA (for `inv -f FILE`)."""
        return {"builder": {"registry_ca": {self.address: str(self.ca)}}}

    # --- reading it, independently of the code under test --------------------------------------

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))

    def _answers(self) -> bool:
        try:
            urllib.request.urlopen(f"https://{self.address}/v2/", context=self._context(), timeout=2)
        except urllib.error.HTTPError as exc:
            return exc.code == 401  # up, and asking for credentials
        except OSError:
            return False
        return True

    def _read(self, path: str, headers: dict[str, str] | None = None) -> bytes:
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        request = urllib.request.Request(
            f"https://{self.address}{path}", headers={"Authorization": f"Basic {token}", **(headers or {})}
        )
        with urllib.request.urlopen(request, context=self._context(), timeout=30) as response:
            return bytes(response.read())

    def catalog(self) -> list[str]:
        return sorted(json.loads(self._read("/v2/_catalog")).get("repositories") or [])

    def tags(self, repository: str) -> list[str]:
        """The repository's tags; empty when it doesn't exist."""
        try:
            return sorted(json.loads(self._read(f"/v2/{repository}/tags/list")).get("tags") or [])
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return []
            raise

    def manifest(self, repository: str, reference: str) -> dict[str, Any]:
        accept = ", ".join(MANIFEST_TYPES)
        return dict(json.loads(self._read(f"/v2/{repository}/manifests/{reference}", {"Accept": accept})))

    def blob(self, repository: str, digest: str) -> bytes:
        return self._read(f"/v2/{repository}/blobs/{digest}")


@contextmanager
def running_registry(directory: Path) -> Iterator[TlsRegistry]:
    """A TlsRegistry under ``directory``, started, and stopped at the end."""
    ensure_registry_program()
    registry = TlsRegistry.create(directory)
    registry.start()
    try:
        yield registry
    finally:
        registry.stop()
