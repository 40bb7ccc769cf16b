"""Mutual-TLS certificates for a remote BuildKit daemon: a CA, the daemon's certificate and a client's.

Made with the openssl CLI (OpenSSL >= 1.1.1; Debian's `openssl` package, installed on first use like
the other host tools): Python's `cryptography` would cost every `inv` call ~0.1 s of imports for a
task run once per daemon host. Each certificate's extensions come from a small config file written
here, so no system openssl.cnf adds to them.

Layout (BuildKit's own example uses the same two folders), one directory per daemon host:

    <certs dir>/<host>/daemon/{ca,cert,key}.pem   copy these to the daemon host
    <certs dir>/<host>/client/{ca,cert,key}.pem   buildx's remote driver reads these

The CA's private key is not kept: nothing else is ever signed with it, so it can't leak. A new
daemon or client certificate means a new set (`--force`), and the daemon host gets the new files.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..shared.command import Command
from ..shared.errors import bad_input
from ..shared.host import apt_install_host
from ..shared.inputs import valid_hostname
from ..shared.process import run

DEFAULT_DAYS = 365
DEFAULT_PORT = 1234  # BuildKit's documented TCP port for remote daemons
CLIENT_NAME = "bakehouse client"

PRIVATE_MODE = 0o600
PUBLIC_MODE = 0o644


def check_host(host: str, label: str = "--host") -> str:
    """A daemon host as its certificate names it: an IP address (v4, or v6 with or without
    brackets) or a DNS name; returned without brackets."""
    bare = host.removeprefix("[").removesuffix("]")
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        pass
    if valid_hostname(host) and not host.replace(".", "").isdigit():
        return host.lower()
    raise bad_input(
        f"{label} {host!r}: expected an IP address or a DNS name, e.g. 10.0.0.5 or buildkit-1.lan"
    )


def subject_alternative_name(host: str) -> str:
    """The SAN a client checks for ``host`` (openssl's notation): IP for an address, DNS otherwise."""
    try:
        return f"IP:{ipaddress.ip_address(host)}"
    except ValueError:
        return f"DNS:{host}"


@dataclass(frozen=True)
class CertDirs:
    """Where one daemon host's files are."""

    host_dir: Path

    @property
    def daemon(self) -> Path:
        return self.host_dir / "daemon"

    @property
    def client(self) -> Path:
        return self.host_dir / "client"

    def files(self) -> list[Path]:
        return [folder / name for folder in (self.daemon, self.client) for name in FILE_NAMES]


# In each folder: the CA certificate, the certificate and its private key.
CA_FILE, CERT_FILE, KEY_FILE = "ca.pem", "cert.pem", "key.pem"
FILE_NAMES = (CA_FILE, CERT_FILE, KEY_FILE)


def dirs_for(root: Path, host: str) -> CertDirs:
    return CertDirs(root / check_host(host))


@dataclass(frozen=True)
class CertificateSet:
    """PEM bytes of a CA and the two certificates it signed, with their keys."""

    ca_cert: bytes
    daemon_cert: bytes
    daemon_key: bytes
    client_cert: bytes
    client_key: bytes

    def contents(self, dirs: CertDirs) -> dict[Path, tuple[bytes, int]]:
        """Every file to write: path -> (bytes, mode)."""
        return {
            dirs.daemon / CA_FILE: (self.ca_cert, PUBLIC_MODE),
            dirs.daemon / CERT_FILE: (self.daemon_cert, PUBLIC_MODE),
            dirs.daemon / KEY_FILE: (self.daemon_key, PRIVATE_MODE),
            dirs.client / CA_FILE: (self.ca_cert, PUBLIC_MODE),
            dirs.client / CERT_FILE: (self.client_cert, PUBLIC_MODE),
            dirs.client / KEY_FILE: (self.client_key, PRIVATE_MODE),
        }


# The CA's own certificate: it signs certificates and nothing else.
_CA_CONFIG = """\
[req]
prompt = no
distinguished_name = subject
x509_extensions = extensions
[subject]
CN = {name}
[extensions]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
"""
# A certificate request names only its subject: the signing step adds the extensions.
_REQUEST_CONFIG = """\
[req]
prompt = no
distinguished_name = subject
[subject]
CN = {name}
"""
# A leaf's extensions (`x509 -req -extfile`): a TLS key that serves (the daemon) or a client. Strict
# verifiers (Python 3.13's default VERIFY_X509_STRICT) demand the authority key identifier; RFC 5280
# asks for the subject's too. Named here: OpenSSL 3 adds both by itself, 1.1.1 doesn't.
_LEAF_EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = {usage}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def openssl() -> str:
    """The openssl binary; on a Debian host without it, installed from the host's suite."""
    found = shutil.which("openssl")
    if found is None:
        apt_install_host(["openssl"])
        found = shutil.which("openssl") or "openssl"
    return found


def _new_key(binary: str, path: Path) -> None:
    # ECDSA P-256: small, fast, and what Go's TLS (buildkitd, buildx) prefers.
    generate = Command(binary, "genpkey", "-algorithm", "EC").options("-pkeyopt", ["ec_paramgen_curve:P-256"])
    run(generate.option("-out", str(path)), what="openssl genpkey")


def _leaf(binary: str, work: Path, role: str, name: str, usage: str, san: str | None, days: int) -> None:
    """work/<role>-key.pem and work/<role>.pem, signed by work/ca.pem."""
    key, request, config, extensions = (
        work / f"{role}{suffix}" for suffix in ("-key.pem", ".csr", ".cnf", ".ext")
    )
    _new_key(binary, key)
    config.write_text(_REQUEST_CONFIG.format(name=name))
    ask = Command(binary, "req", "-new").option("-config", str(config)).option("-key", str(key))
    run(ask.option("-out", str(request)), what=f"openssl req ({role})")
    extensions.write_text(_LEAF_EXTENSIONS.format(usage=usage) + (f"subjectAltName = {san}\n" if san else ""))
    sign = (
        Command(binary, "x509", "-req", "-sha256")
        .option("-in", str(request))
        .option("-CA", str(work / "ca.pem"))
        .option("-CAkey", str(work / "ca-key.pem"))
        # Random: two sets for one host never share a serial.
        .option("-set_serial", f"0x{secrets.randbits(120):x}")
        .option("-days", days)
        .option("-extfile", str(extensions))
        .option("-out", str(work / f"{role}.pem"))
    )
    run(sign, what=f"openssl x509 ({role})")


def issue(host: str, days: int = DEFAULT_DAYS) -> CertificateSet:
    """A fresh CA (its key is dropped after signing), a daemon certificate naming ``host`` and a
    client certificate, each valid ``days`` days."""
    host = check_host(host)
    if days < 1:
        raise bad_input(f"--days {days}: certificates must be valid for at least one day")
    binary = openssl()
    # mkdtemp's folder is the user's alone (0700): the CA's key lives and dies there.
    with tempfile.TemporaryDirectory(prefix="bakehouse-certs-") as scratch:
        work = Path(scratch)
        _new_key(binary, work / "ca-key.pem")
        (work / "ca.cnf").write_text(_CA_CONFIG.format(name=f"bakehouse CA for {host}"))
        self_signed = (
            Command(binary, "req", "-x509", "-new", "-sha256")
            .option("-config", str(work / "ca.cnf"))
            .option("-key", str(work / "ca-key.pem"))
            .option("-days", days)
            .option("-out", str(work / "ca.pem"))
        )
        run(self_signed, what="openssl req (CA)")
        _leaf(binary, work, "daemon", host, "serverAuth", subject_alternative_name(host), days)
        _leaf(binary, work, "client", CLIENT_NAME, "clientAuth", None, days)
        return CertificateSet(
            ca_cert=(work / "ca.pem").read_bytes(),
            daemon_cert=(work / "daemon.pem").read_bytes(),
            daemon_key=(work / "daemon-key.pem").read_bytes(),
            client_cert=(work / "client.pem").read_bytes(),
            client_key=(work / "client-key.pem").read_bytes(),
        )


def existing_files(dirs: CertDirs) -> list[Path]:
    return [path for path in dirs.files() if path.exists()]


def refuse_overwrite(dirs: CertDirs, force: bool) -> None:
    """Bad input when any file of the set is there already and --force wasn't given."""
    present = existing_files(dirs)
    if present and not force:
        listed = ", ".join(str(path.relative_to(dirs.host_dir)) for path in present)
        raise bad_input(
            f"{dirs.host_dir} already holds certificates ({listed}); "
            "--force makes a new set (the daemon host then needs the new daemon/ files)"
        )


def write(dirs: CertDirs, certificates: CertificateSet) -> None:
    """Write every file atomically (a temporary file in the same folder, then a rename), keys 0600.

    The temporary file gets its mode before any byte is written, so a key is never readable by others.
    """
    for folder in (dirs.host_dir, dirs.daemon, dirs.client):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for path, (content, mode) in certificates.contents(dirs).items():
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            os.fchmod(descriptor, mode)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(content)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def daemon_flags(dirs: CertDirs, port: int, entitlements: tuple[str, ...]) -> list[str]:
    """The buildkitd flags of a daemon serving these certificates on ``port`` (all interfaces),
    demanding a client certificate signed by the CA (BuildKit does when --tlscacert is given)."""
    flags = [
        f"--addr=tcp://0.0.0.0:{port}",
        f"--tlscacert={dirs.daemon / CA_FILE}",
        f"--tlscert={dirs.daemon / CERT_FILE}",
        f"--tlskey={dirs.daemon / KEY_FILE}",
    ]
    return flags + [f"--allow-insecure-entitlement={entitlement}" for entitlement in entitlements]
