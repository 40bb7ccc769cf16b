"""Builders on remote BuildKit daemons (buildx's `remote` driver) reached over mutual TLS.

A remote builder holds no state of its own (the cache lives in the daemons), so changing one never
costs a cache: a node whose endpoint or TLS files changed is updated in place, a new endpoint is
appended as a node.

Before anything changes, each daemon is asked for a TLS handshake with the very files buildx will
use: buildx itself, when a daemon refuses them, waits 20 s and reports only "context deadline
exceeded", leaving a broken builder behind.
"""

from __future__ import annotations

import os
import re
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from ..shared.buildx import BuilderRecord, NodeRecord, list_builders
from ..shared.command import Command
from ..shared.errors import BakehouseError, bad_input
from ..shared.process import run
from ..shared.settings import Settings
from . import certs
from .lifecycle import desired_spec, remove_builder, resolve_builder_name

REMOTE_DRIVER = "remote"
_ENDPOINT = re.compile(r"^tcp://(?P<host>\[[0-9A-Fa-f:.]+\]|[^:/\[\]]+):(?P<port>\d{1,5})$")
# The HTTP/2 client preface and an empty SETTINGS frame: a gRPC server answers with its SETTINGS.
_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
PROBE_TIMEOUT = 10.0


def certs_root(config: Settings, override: str | None = None) -> Path:
    """Where the TLS files of remote daemons live, one folder per host."""
    configured = override or config.builder.certs_dir
    if configured:
        path = Path(configured).expanduser()
        return path if path.is_absolute() else config.root / path
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "bakehouse" / "certs"


@dataclass(frozen=True)
class Endpoint:
    """A daemon's address as buildx takes it: tcp://host:port."""

    host: str
    port: int

    @property
    def url(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    @property
    def cert_host(self) -> str:
        """The host as its certificate names it (IPv6 without brackets)."""
        return certs.check_host(self.host)


def parse_endpoint(text: str, label: str) -> Endpoint:
    match = _ENDPOINT.match(text)
    port = int(match["port"]) if match else 0
    if match is None or not 0 < port < 65536:
        raise bad_input(f"{label} {text!r}: expected tcp://HOST:PORT, e.g. tcp://10.0.0.5:1234")
    certs.check_host(match["host"], f"{label} {text!r}: host")
    return Endpoint(match["host"], port)


@dataclass(frozen=True)
class ClientTLS:
    """The client side of mutual TLS: the CA that signed the daemon's certificate, our certificate
    and its key (absolute paths: buildx reads them at every connection, from any directory)."""

    cacert: Path
    cert: Path
    key: Path

    def driver_opts(self) -> dict[str, str]:
        return {"cacert": str(self.cacert), "cert": str(self.cert), "key": str(self.key)}

    def context(self) -> ssl.SSLContext:
        """A client context with these files; ssl.SSLError or OSError when one won't load."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(cafile=str(self.cacert))
        context.load_cert_chain(str(self.cert), str(self.key))
        # gRPC servers insist on ALPN h2.
        context.set_alpn_protocols(["h2"])
        return context


@dataclass(frozen=True)
class ExplicitTLS:
    """TLS files given as options; each replaces the one from the host's folder."""

    cacert: str | None = None
    cert: str | None = None
    key: str | None = None


def client_tls(endpoint: Endpoint, root: Path, explicit: ExplicitTLS) -> ClientTLS:
    """The files for ``endpoint``: explicit ones, else <root>/<host>/client/; each must exist and
    the set must load (a key that doesn't match its certificate is refused here, not at a build)."""
    folder = certs.dirs_for(root, endpoint.cert_host).client
    chosen = {}
    for option, given, default in (
        ("--cacert", explicit.cacert, folder / certs.CA_FILE),
        ("--cert", explicit.cert, folder / certs.CERT_FILE),
        ("--key", explicit.key, folder / certs.KEY_FILE),
    ):
        path = Path(given).expanduser().absolute() if given else default
        if not path.is_file():
            origin = (
                f"{option} {given}"
                if given
                else f"{path} (from `inv builder.certs --host {endpoint.cert_host}`, or give {option})"
            )
            raise bad_input(f"{endpoint.url}: TLS file missing: {origin}")
        chosen[option] = path
    tls = ClientTLS(chosen["--cacert"], chosen["--cert"], chosen["--key"])
    try:
        tls.context()
    except (ssl.SSLError, OSError) as exc:
        raise bad_input(
            f"{endpoint.url}: the TLS files don't load as a CA, a certificate and its key "
            f"({tls.cacert}, {tls.cert}, {tls.key}): {exc}"
        ) from exc
    return tls


def probe(endpoint: Endpoint, tls: ClientTLS, timeout: float = PROBE_TIMEOUT) -> str | None:
    """None when the daemon accepts us over mutual TLS; else why not, in a few words."""
    address = f"the daemon at {endpoint.url}"
    try:
        raw = socket.create_connection((endpoint.cert_host, endpoint.port), timeout=timeout)
    except OSError as exc:
        return f"no daemon answers at {endpoint.url} ({exc.strerror or exc})"
    with raw:
        try:
            tls_socket = tls.context().wrap_socket(raw, server_hostname=endpoint.cert_host)
        except ssl.SSLCertVerificationError as exc:
            return (
                f"{address} presented a certificate {tls.cacert} does not vouch for "
                f"({exc.verify_message}): wrong --cacert, or the daemon's certificate names another host"
            )
        except ssl.SSLError as exc:
            if "CERTIFICATE" in (exc.reason or "") or "UNKNOWN_CA" in (exc.reason or ""):
                return f"{address} refused our client certificate {tls.cert} ({exc.reason})"
            return f"{address} did not complete a TLS handshake ({exc.reason or exc}): is it a TLS endpoint?"
        except TimeoutError:
            return f"{address} accepted the connection but no TLS handshake within {timeout:.0f}s"
        except OSError as exc:
            return f"{address} closed the connection during the TLS handshake ({exc})"
        with tls_socket:
            # In TLS 1.3 the daemon checks our certificate after the handshake: its verdict comes
            # with the first read.
            refused = f"{address} refused our client certificate {tls.cert}"
            try:
                tls_socket.sendall(_HTTP2_PREFACE)
                answer = tls_socket.recv(9)
            except ssl.SSLEOFError:
                answer = b""
            except ssl.SSLError as exc:
                return f"{refused} ({exc.reason or exc})"
            except TimeoutError:
                return f"{address} accepted TLS but did not answer within {timeout:.0f}s"
            except OSError as exc:
                return f"{refused} (connection closed: {exc.strerror or exc})"
            if not answer:
                return f"{refused} (it closed the connection after the TLS handshake)"
    return None


@dataclass(frozen=True)
class NodeChange:
    """One node to create, append or update (``node`` names the node an update replaces)."""

    endpoint: Endpoint
    tls: ClientTLS
    action: str  # created | appended | updated
    node: str | None = None


def _find(builders: list[BuilderRecord], name: str) -> BuilderRecord | None:
    return next((builder for builder in builders if builder.name == name), None)


def _node_at(builder: BuilderRecord, url: str) -> NodeRecord | None:
    return next((node for node in builder.nodes if node.endpoint == url), None)


def plan_changes(
    name: str,
    existing: BuilderRecord | None,
    first: tuple[Endpoint, ClientTLS] | None,
    appended: list[tuple[Endpoint, ClientTLS]],
    force: bool,
) -> tuple[bool, list[NodeChange]]:
    """What to do: (remove the builder first?, node changes in order). Pure; bad input when the
    builder is of another driver (without --force) or missing for --append-endpoint alone."""
    if first is None:
        if force:
            raise bad_input("--force makes the builder anew: give its --endpoint too")
        if existing is None or existing.driver != REMOTE_DRIVER:
            raise bad_input(
                f"no remote builder named {name}: create it with --endpoint first, then append nodes"
            )
    if existing is not None and existing.driver != REMOTE_DRIVER and not force:
        raise bad_input(
            f"builder {name} exists with the {existing.driver} driver; choose another --name, or "
            "--force to replace it (its cache is dropped)"
        )
    remove = existing is not None and force
    current = None if remove else existing
    changes: list[NodeChange] = []
    if first is not None:
        endpoint, tls = first
        if current is None:
            changes.append(NodeChange(endpoint, tls, "created"))
        else:
            node = current.node
            if node.endpoint != endpoint.url or node.driver_opts != tls.driver_opts():
                changes.append(NodeChange(endpoint, tls, "updated", node.name))
    for endpoint, tls in appended:
        same_endpoint = _node_at(current, endpoint.url) if current is not None else None
        if same_endpoint is None:
            changes.append(NodeChange(endpoint, tls, "appended"))
        elif same_endpoint.driver_opts != tls.driver_opts():
            changes.append(NodeChange(endpoint, tls, "updated", same_endpoint.name))
    return remove, changes


def node_command(name: str, change: NodeChange) -> Command:
    """The buildx call for one change. The CLI: python-on-whales' buildx.create has no --node."""
    command = Command("docker", "buildx", "create", f"--name={name}")
    if change.action == "created":
        command = command.args(f"--driver={REMOTE_DRIVER}")
    else:
        command = command.flag("--append").option("--node", change.node, joined=True)
    opts = ",".join(f"{key}={value}" for key, value in change.tls.driver_opts().items())
    return command.option("--driver-opt", opts, joined=True).args(change.endpoint.url)


def ensure_remote_builder(
    config: Settings,
    name: str | None,
    endpoint: str | None,
    append_endpoints: tuple[str, ...],
    explicit: ExplicitTLS,
    certs_dir: str | None = None,
    force: bool = False,
) -> list[str]:
    """Create or update a remote builder; one line per change (or "up to date")."""
    resolved = resolve_builder_name(config, name)
    if resolved == "default":
        raise bad_input("'default' is the engine's own builder; bakehouse doesn't create or change it")
    first_endpoint = parse_endpoint(endpoint, "--endpoint") if endpoint else None
    appended_endpoints = [parse_endpoint(text, "--append-endpoint") for text in append_endpoints]
    urls = [e.url for e in ([first_endpoint] if first_endpoint else []) + appended_endpoints]
    duplicates = sorted({url for url in urls if urls.count(url) > 1})
    if duplicates:
        raise bad_input(f"endpoint given twice: {', '.join(duplicates)}")
    root = certs_root(config, certs_dir)
    first = (first_endpoint, client_tls(first_endpoint, root, explicit)) if first_endpoint else None
    appended = [(e, client_tls(e, root, explicit)) for e in appended_endpoints]
    remove, changes = plan_changes(resolved, _find(list_builders(), resolved), first, appended, force)
    # Every daemon named is asked, also those already configured: a builder that can't reach one
    # of its nodes is reported now, not at the next build.
    for target, tls in ([first] if first else []) + appended:
        refusal = probe(target, tls)
        if refusal:
            raise BakehouseError(f"builder {resolved}: {refusal}")
    if remove:
        remove_builder(resolved, keep_state=False)
    for change in changes:
        run(node_command(resolved, change), what=f"adding {change.endpoint.url} to builder {resolved}")
    if changes:
        # Reads each node's BuildKit version and GC policies now, so `builder.status` shows them.
        run(["docker", "buildx", "inspect", "--bootstrap", resolved], what=f"booting builder {resolved}")
    lines = [f"{change.endpoint.url} {change.action}" for change in changes]
    if remove:
        lines.insert(0, "removed (--force)")
    return lines or ["up to date"]


def daemon_config_text(config: Settings) -> str:
    """The buildkitd.toml a daemon host should run with: what this machine's docker-container
    builders get (the repository's file, the config overrides, registry-free mode's mirror)."""
    return desired_spec(config, "remote-daemon", None, (), None).config_text
