"""Remote builders: endpoints, TLS files, the handshake probe (against a real TLS server) and the
buildx changes planned for a wanted builder."""

from __future__ import annotations

import socket
import ssl
import threading
from pathlib import Path

import pytest

from tasks.builder import certs, remote
from tasks.shared.buildx import BuilderRecord, NodeRecord
from tasks.shared.errors import BAD_INPUT, BakehouseError
from tasks.shared.process import REPO_ROOT

# What a gRPC server sends first: an empty SETTINGS frame.
SETTINGS_FRAME = bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("tcp://127.0.0.1:1234", "127.0.0.1", 1234),
        ("tcp://[::1]:9", "[::1]", 9),
        ("tcp://bk.lan:65535", "bk.lan", 65535),
    ],
)
def test_endpoints(text, host, port):
    endpoint = remote.parse_endpoint(text, "--endpoint")
    assert (endpoint.host, endpoint.port, endpoint.url) == (host, port, text)


@pytest.mark.parametrize(
    "text",
    ["http://127.0.0.1:1234", "tcp://127.0.0.1", "tcp://127.0.0.1:0", "tcp://127.0.0.1:70000",
     "tcp://127.0.0.1:1234/x", "tcp://a b:1", "127.0.0.1:1234", "unix:///run/buildkit.sock"],
)  # fmt: skip
def test_other_endpoints_are_bad_input(text):
    with pytest.raises(BakehouseError) as caught:
        remote.parse_endpoint(text, "--endpoint")
    assert caught.value.code == BAD_INPUT
    assert text in str(caught.value)


def test_certs_root_default_setting_and_option(make_settings, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert remote.certs_root(make_settings()) == tmp_path / "bakehouse" / "certs"
    assert remote.certs_root(make_settings(builder={"certs_dir": "tls"})) == REPO_ROOT / "tls"
    assert remote.certs_root(make_settings(builder={"certs_dir": "tls"}), "/x/y") == Path("/x/y")


@pytest.fixture
def sets(tmp_path):
    """Two certificate sets for 127.0.0.1 made by two CAs: `good` (the daemon's) and `other`."""
    made = {}
    for name in ("good", "other"):
        dirs = certs.dirs_for(tmp_path / name, "127.0.0.1")
        certs.write(dirs, certs.issue("127.0.0.1"))
        made[name] = dirs
    return made


ENDPOINT = remote.Endpoint("127.0.0.1", 1234)


def test_client_files_come_from_the_host_folder_or_the_options(sets, tmp_path):
    tls = remote.client_tls(ENDPOINT, tmp_path / "good", remote.ExplicitTLS())
    assert tls.driver_opts() == {
        "cacert": str(sets["good"].client / "ca.pem"),
        "cert": str(sets["good"].client / "cert.pem"),
        "key": str(sets["good"].client / "key.pem"),
    }
    other = sets["other"].client
    mixed = remote.client_tls(
        ENDPOINT,
        tmp_path / "good",
        remote.ExplicitTLS(cert=str(other / "cert.pem"), key=str(other / "key.pem")),
    )
    assert (mixed.cacert, mixed.cert, mixed.key) == (
        sets["good"].client / "ca.pem",
        other / "cert.pem",
        other / "key.pem",
    )


def test_missing_files_are_bad_input_with_the_fix(sets, tmp_path):
    with pytest.raises(BakehouseError) as caught:
        remote.client_tls(ENDPOINT, tmp_path / "none", remote.ExplicitTLS())
    assert caught.value.code == BAD_INPUT
    assert str(caught.value) == (
        f"tcp://127.0.0.1:1234: TLS file missing: {tmp_path}/none/127.0.0.1/client/ca.pem "
        "(from `inv builder.certs --host 127.0.0.1`, or give --cacert)"
    )
    with pytest.raises(BakehouseError) as caught:
        remote.client_tls(ENDPOINT, tmp_path / "good", remote.ExplicitTLS(key=str(tmp_path / "nokey.pem")))
    assert str(caught.value) == f"tcp://127.0.0.1:1234: TLS file missing: --key {tmp_path}/nokey.pem"


def test_a_key_of_another_certificate_is_bad_input(sets, tmp_path):
    with pytest.raises(BakehouseError) as caught:
        remote.client_tls(
            ENDPOINT, tmp_path / "good", remote.ExplicitTLS(key=str(sets["other"].client / "key.pem"))
        )
    assert caught.value.code == BAD_INPUT
    assert "don't load as a CA, a certificate and its key" in str(caught.value)


class DaemonStandIn:
    """A TLS server like buildkitd with --tlscacert: it demands a client certificate its CA signed
    and answers an HTTP/2 preface with a SETTINGS frame."""

    def __init__(self, dirs: certs.CertDirs) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(dirs.daemon / "cert.pem", dirs.daemon / "key.pem")
        self.context.load_verify_locations(dirs.daemon / "ca.pem")
        self.context.verify_mode = ssl.CERT_REQUIRED
        self.context.set_alpn_protocols(["h2"])
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return  # closed
            with connection:
                try:
                    with self.context.wrap_socket(connection, server_side=True) as tls:
                        tls.recv(24)
                        tls.sendall(SETTINGS_FRAME)
                except (ssl.SSLError, OSError):
                    pass  # refused: the client sees the alert or the closed connection

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def daemon(sets):
    stand_in = DaemonStandIn(sets["good"])
    yield stand_in
    stand_in.close()


def client(dirs, **replaced):
    files = {
        "cacert": dirs.client / "ca.pem",
        "cert": dirs.client / "cert.pem",
        "key": dirs.client / "key.pem",
    }
    return remote.ClientTLS(**{**files, **replaced})


def test_the_daemon_accepts_its_own_client(daemon, sets):
    assert remote.probe(remote.Endpoint("127.0.0.1", daemon.port), client(sets["good"])) is None


def test_a_client_certificate_of_another_ca_is_refused(daemon, sets):
    other = sets["other"].client
    tls = client(sets["good"], cert=other / "cert.pem", key=other / "key.pem")
    refusal = remote.probe(remote.Endpoint("127.0.0.1", daemon.port), tls)
    assert refusal is not None
    assert refusal.startswith(
        f"the daemon at tcp://127.0.0.1:{daemon.port} refused our client certificate {other / 'cert.pem'} ("
    )


def test_a_daemon_certificate_our_ca_did_not_sign_is_reported(daemon, sets):
    tls = client(sets["good"], cacert=sets["other"].client / "ca.pem")
    refusal = remote.probe(remote.Endpoint("127.0.0.1", daemon.port), tls)
    assert refusal is not None
    assert refusal.startswith(f"the daemon at tcp://127.0.0.1:{daemon.port} presented a certificate ")
    assert f"{sets['other'].client / 'ca.pem'} does not vouch for (" in refusal


def test_a_daemon_certificate_for_another_host_is_reported(tmp_path):
    dirs = certs.dirs_for(tmp_path, "10.0.0.5")
    certs.write(dirs, certs.issue("10.0.0.5"))
    stand_in = DaemonStandIn(dirs)
    try:
        refusal = remote.probe(remote.Endpoint("127.0.0.1", stand_in.port), client(dirs))
    finally:
        stand_in.close()
    assert refusal is not None
    assert "presented a certificate" in refusal
    assert "mismatch" in refusal


def test_nothing_listening_is_reported():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
    refusal = remote.probe(remote.Endpoint("127.0.0.1", port), remote.ClientTLS(*(REPO_ROOT,) * 3))
    assert refusal == f"no daemon answers at tcp://127.0.0.1:{port} (Connection refused)"


# --- the changes planned ----------------------------------------------------------------------


def tls_at(folder):
    return remote.ClientTLS(
        Path(f"/c/{folder}/ca.pem"),
        Path(f"/c/{folder}/cert.pem"),
        Path(f"/c/{folder}/key.pem"),
    )


A, B = remote.Endpoint("10.0.0.1", 1234), remote.Endpoint("10.0.0.2", 1234)


def node(name, endpoint, folder):
    return NodeRecord(name=name, endpoint=endpoint.url, driver_opts=tls_at(folder).driver_opts())


def remote_builder(*nodes):
    return BuilderRecord("rb", "remote", tuple(nodes))


def actions(changes):
    return [(change.endpoint.url, change.action, change.node) for change in changes]


def test_a_new_builder_gets_its_first_node_then_the_appended_ones():
    remove, changes = remote.plan_changes("rb", None, (A, tls_at("a")), [(B, tls_at("b"))], force=False)
    assert not remove
    assert actions(changes) == [(A.url, "created", None), (B.url, "appended", None)]


def test_the_same_builder_again_changes_nothing():
    existing = remote_builder(node("rb0", A, "a"), node("rb1", B, "b"))
    assert remote.plan_changes("rb", existing, (A, tls_at("a")), [(B, tls_at("b"))], force=False) == (
        False,
        [],
    )


def test_changed_files_or_endpoints_update_nodes_in_place():
    existing = remote_builder(node("rb0", A, "a"), node("rb1", B, "b"))
    moved = remote.Endpoint("10.0.0.3", 1234)
    _, changes = remote.plan_changes("rb", existing, (moved, tls_at("a")), [(B, tls_at("new"))], force=False)
    assert actions(changes) == [(moved.url, "updated", "rb0"), (B.url, "updated", "rb1")]


def test_appending_alone_needs_the_builder():
    existing = remote_builder(node("rb0", A, "a"))
    assert actions(remote.plan_changes("rb", existing, None, [(B, tls_at("b"))], force=False)[1]) == [
        (B.url, "appended", None)
    ]
    for missing in (None, BuilderRecord("rb", "docker-container", (NodeRecord("rb0"),))):
        with pytest.raises(BakehouseError) as caught:
            remote.plan_changes("rb", missing, None, [(B, tls_at("b"))], force=False)
        assert caught.value.code == BAD_INPUT
        assert "no remote builder named rb: create it with --endpoint first" in str(caught.value)
    with pytest.raises(BakehouseError) as caught:
        remote.plan_changes("rb", existing, None, [(B, tls_at("b"))], force=True)
    assert "--force makes the builder anew: give its --endpoint too" in str(caught.value)


def test_a_docker_container_builder_is_replaced_only_with_force():
    existing = BuilderRecord("rb", "docker-container", (NodeRecord("rb0"),))
    with pytest.raises(BakehouseError) as caught:
        remote.plan_changes("rb", existing, (A, tls_at("a")), [], force=False)
    assert caught.value.code == BAD_INPUT
    assert "exists with the docker-container driver" in str(caught.value)
    remove, changes = remote.plan_changes("rb", existing, (A, tls_at("a")), [], force=True)
    assert remove
    assert actions(changes) == [(A.url, "created", None)]


def test_buildx_command_lines():
    created = remote.NodeChange(A, tls_at("a"), "created")
    updated = remote.NodeChange(B, tls_at("b"), "updated", "rb1")
    opts = "--driver-opt=cacert=/c/{0}/ca.pem,cert=/c/{0}/cert.pem,key=/c/{0}/key.pem"
    assert remote.node_command("rb", created).argv == [
        "docker", "buildx", "create", "--name=rb", "--driver=remote", opts.format("a"), A.url,
    ]  # fmt: skip
    assert remote.node_command("rb", updated).argv == [
        "docker", "buildx", "create", "--name=rb", "--append", "--node=rb1", opts.format("b"), B.url,
    ]  # fmt: skip
