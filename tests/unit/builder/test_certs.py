"""Certificates for remote daemons: hosts, what each certificate says, files and their modes."""

from __future__ import annotations

import datetime
import socket
import ssl
import stat
import subprocess
import threading

import pytest

from tasks.builder import certs
from tasks.shared.errors import BAD_INPUT, BakehouseError


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("fd00::5", "fd00::5"),
        ("BuildKit-1.LAN", "buildkit-1.lan"),
        ("localhost", "localhost"),
    ],
)
def test_hosts_are_ip_addresses_or_dns_names(given, expected):
    assert certs.check_host(given) == expected


@pytest.mark.parametrize("host", ["", "a b", "-lead", "host_name", "999.1.1.1", "tcp://x", "x" * 64])
def test_other_hosts_are_bad_input(host):
    with pytest.raises(BakehouseError) as caught:
        certs.check_host(host)
    assert caught.value.code == BAD_INPUT
    assert "expected an IP address or a DNS name" in str(caught.value)


def openssl(*args, stdin=None):
    result = subprocess.run(["openssl", *args], input=stdin, capture_output=True, check=False)
    return result.returncode, (result.stdout + result.stderr).decode()


@pytest.fixture
def issued(tmp_path):
    """A set for 127.0.0.1 written under tmp_path/ip, one for a DNS name under tmp_path/dns."""
    made = {}
    for label, host in (("ip", "127.0.0.1"), ("dns", "buildkit-1.lan")):
        dirs = certs.dirs_for(tmp_path / label, host)
        certs.write(dirs, certs.issue(host, days=30))
        made[label] = dirs
    return made


def extension(cert, name):
    return openssl("x509", "-in", str(cert), "-noout", "-ext", name)[1]


def test_the_daemon_certificate_names_an_ip_host_as_an_ip_and_serves_only(issued):
    dirs = issued["ip"]
    daemon, client, ca = dirs.daemon / "cert.pem", dirs.client / "cert.pem", dirs.client / "ca.pem"
    assert "IP Address:127.0.0.1" in extension(daemon, "subjectAltName")
    assert "DNS:" not in extension(daemon, "subjectAltName")
    assert "TLS Web Server Authentication" in extension(daemon, "extendedKeyUsage")
    assert "TLS Web Client Authentication" in extension(client, "extendedKeyUsage")
    assert openssl("verify", "-CAfile", str(ca), "-purpose", "sslserver", str(daemon))[0] == 0
    assert openssl("verify", "-CAfile", str(ca), "-purpose", "sslclient", str(client))[0] == 0
    # A daemon certificate is no client certificate, and no certificate here can sign another.
    assert openssl("verify", "-CAfile", str(ca), "-purpose", "sslclient", str(daemon))[0] != 0
    assert "CA:FALSE" in extension(daemon, "basicConstraints")
    assert "CA:TRUE, pathlen:0" in extension(ca, "basicConstraints")


def test_each_leaf_names_its_own_key_and_its_issuer_s(issued):
    dirs = issued["ip"]
    ca_key_id = extension(dirs.client / "ca.pem", "subjectKeyIdentifier").splitlines()[-1].strip()
    for leaf in (dirs.daemon / "cert.pem", dirs.client / "cert.pem"):
        assert "Subject Key Identifier" in extension(leaf, "subjectKeyIdentifier")
        assert ca_key_id in extension(leaf, "authorityKeyIdentifier")


def handshake(server_dir, client_ca) -> str:
    """A TLS handshake with a local server holding server_dir's certificate and key, by a client
    that trusts only ``client_ca`` and verifies as strictly as Python 3.13 does by default: the
    TLS version agreed on, or why the client refused."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(server_dir / "cert.pem", server_dir / "key.pem")
    client = ssl.create_default_context(cafile=str(client_ca))
    client.verify_flags |= ssl.VERIFY_X509_STRICT
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(30)  # only against a hang: a broken client must not stall the suite

        def serve() -> None:
            conn, _ = listener.accept()
            try:
                with server.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass  # the client refused us: its side says why

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            with (
                socket.create_connection(listener.getsockname(), timeout=30) as raw,
                client.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
            ):
                tls.sendall(b"x")
                return str(tls.version())
        except ssl.SSLCertVerificationError as exc:
            return f"refused: {exc.verify_message}"
        finally:
            thread.join(30)


def test_a_strict_python_client_trusting_the_ca_verifies_the_daemon(issued):
    dirs = issued["ip"]
    assert handshake(dirs.daemon, dirs.daemon / "ca.pem").startswith("TLSv1")
    # Another set's CA, or a certificate for another host, is refused.
    assert handshake(dirs.daemon, issued["dns"].daemon / "ca.pem").startswith("refused")
    assert handshake(issued["dns"].daemon, issued["dns"].daemon / "ca.pem") == (
        "refused: IP address mismatch, certificate is not valid for '127.0.0.1'."
    )


def test_a_dns_host_gets_a_dns_name_and_the_validity_asked_for(issued):
    daemon = issued["dns"].daemon / "cert.pem"
    assert "DNS:buildkit-1.lan" in extension(daemon, "subjectAltName")
    _, dates = openssl("x509", "-in", str(daemon), "-noout", "-startdate", "-enddate")
    start, end = (
        datetime.datetime.strptime(line.split("=", 1)[1], "%b %d %H:%M:%S %Y %Z")
        for line in dates.splitlines()
    )
    assert end - start == datetime.timedelta(days=30)


def test_each_set_has_its_own_ca(issued):
    other_ca = issued["dns"].client / "ca.pem"
    assert openssl("verify", "-CAfile", str(other_ca), str(issued["ip"].client / "cert.pem"))[0] != 0


def test_the_key_in_each_folder_belongs_to_its_certificate(issued):
    for folder in (issued["ip"].daemon, issued["ip"].client):
        public_from_key = openssl("pkey", "-in", str(folder / "key.pem"), "-pubout")[1]
        public_from_cert = openssl("x509", "-in", str(folder / "cert.pem"), "-noout", "-pubkey")[1]
        assert public_from_key == public_from_cert


def test_zero_days_is_bad_input():
    with pytest.raises(BakehouseError) as caught:
        certs.issue("127.0.0.1", days=0)
    assert caught.value.code == BAD_INPUT


def test_files_keys_private_certificates_readable(tmp_path):
    dirs = certs.dirs_for(tmp_path, "127.0.0.1")
    certs.write(dirs, certs.issue("127.0.0.1"))
    assert dirs.host_dir == tmp_path / "127.0.0.1"
    modes = {str(path.relative_to(dirs.host_dir)): stat.S_IMODE(path.stat().st_mode) for path in dirs.files()}
    assert modes == {
        "daemon/ca.pem": 0o644, "daemon/cert.pem": 0o644, "daemon/key.pem": 0o600,
        "client/ca.pem": 0o644, "client/cert.pem": 0o644, "client/key.pem": 0o600,
    }  # fmt: skip
    assert (dirs.daemon / "ca.pem").read_bytes() == (dirs.client / "ca.pem").read_bytes()
    assert sorted(p.name for p in dirs.daemon.iterdir()) == ["ca.pem", "cert.pem", "key.pem"]


def test_existing_certificates_are_kept_unless_forced(tmp_path):
    dirs = certs.dirs_for(tmp_path, "10.0.0.5")
    certs.refuse_overwrite(dirs, force=False)  # nothing there yet
    certs.write(dirs, certs.issue("10.0.0.5"))
    with pytest.raises(BakehouseError) as caught:
        certs.refuse_overwrite(dirs, force=False)
    assert caught.value.code == BAD_INPUT
    assert "already holds certificates (daemon/ca.pem" in str(caught.value)
    certs.refuse_overwrite(dirs, force=True)


def test_daemon_flags_name_the_daemon_files_and_entitlements(tmp_path):
    dirs = certs.dirs_for(tmp_path, "10.0.0.5")
    assert certs.daemon_flags(dirs, 1234, ("network.host",)) == [
        "--addr=tcp://0.0.0.0:1234",
        f"--tlscacert={tmp_path}/10.0.0.5/daemon/ca.pem",
        f"--tlscert={tmp_path}/10.0.0.5/daemon/cert.pem",
        f"--tlskey={tmp_path}/10.0.0.5/daemon/key.pem",
        "--allow-insecure-entitlement=network.host",
    ]
