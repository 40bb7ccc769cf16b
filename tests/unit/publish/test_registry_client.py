"""tasks.publish.registry: classifying answers, and the client against small local HTTP servers
that answer as registries and token servers do (the TLS + auth registry is in tests/engine)."""

from __future__ import annotations

import base64
import http.server
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tasks.builder import certs
from tasks.publish.credentials import Credentials
from tasks.publish.registry import (
    ImageRef,
    Presence,
    RegistryAnswer,
    add_tags,
    ca_files_for,
    classify,
    is_loopback,
    parse_challenge,
    plain_http_for,
    probe,
)
from tasks.shared.errors import BAD_INPUT, FAILED, BakehouseError
from tasks.shared.process import REPO_ROOT
from tasks.shared.settings import BuilderSettings

CREDENTIALS = Credentials("alice", 'se"cret')
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"


def errors_body(*pairs: tuple[str, str]) -> bytes:
    return json.dumps({"errors": [{"code": code, "message": message} for code, message in pairs]}).encode()


# --- classify, pure ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "presence", "message"),
    [
        (200, b"", Presence.PRESENT, "sha256:abc"),
        (404, errors_body(("MANIFEST_UNKNOWN", "manifest unknown")), Presence.ABSENT,
         "MANIFEST_UNKNOWN: manifest unknown"),
        (404, errors_body(("NAME_UNKNOWN", "repository name not known to registry")), Presence.ABSENT,
         "NAME_UNKNOWN: repository name not known to registry"),
        # A 404 that doesn't say "unknown manifest/repository" is not absence: a wrong path, a proxy.
        (404, b"", Presence.ERROR, "Not Found (no body)"),
        (404, b"<html><body>nginx</body></html>", Presence.ERROR,
         "Not Found: <html><body>nginx</body></html>"),
        (404, errors_body(("MANIFEST_UNKNOWN", "x"), ("DENIED", "y")), Presence.ERROR,
         "MANIFEST_UNKNOWN: x; DENIED: y"),
        (404, errors_body(("NOT_FOUND", "route not found")), Presence.ERROR, "NOT_FOUND: route not found"),
        (401, errors_body(("UNAUTHORIZED", "authentication required")), Presence.UNAUTHORIZED,
         "UNAUTHORIZED: authentication required"),
        (403, errors_body(("DENIED", "requested access to the resource is denied")), Presence.UNAUTHORIZED,
         "DENIED: requested access to the resource is denied"),
        (500, errors_body(("UNKNOWN", "unknown error")), Presence.ERROR, "UNKNOWN: unknown error"),
        (429, errors_body(("TOOMANYREQUESTS", "slow down")), Presence.ERROR, "TOOMANYREQUESTS: slow down"),
        (302, b"", Presence.ERROR, "Found (no body)"),
    ],
)  # fmt: skip
def test_only_a_404_naming_an_unknown_manifest_or_repository_is_absent(status, body, presence, message):
    reasons = {200: "OK", 302: "Found", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}
    answer = classify(status, reasons.get(status, "Whatever"), body, "sha256:abc")
    assert answer == RegistryAnswer(presence, status, message)


def test_challenges_are_parsed_with_quoted_and_bare_values():
    assert parse_challenge('Bearer realm="https://auth.example/token",service="registry.example",'
                           'scope="repository:a/b:pull,push"') == (
        "bearer",
        {"realm": "https://auth.example/token", "service": "registry.example",
         "scope": "repository:a/b:pull,push"},
    )  # fmt: skip
    assert parse_challenge('Basic realm="a \\"quoted\\" realm", charset=UTF-8') == (
        "basic",
        {"realm": 'a "quoted" realm', "charset": "UTF-8"},
    )


def test_the_ca_and_plain_http_come_from_the_builder_settings():
    builder = BuilderSettings(
        registry_ca={"reg.example:5000": "certs/ca.pem", "other:1": "/abs/ca.pem"},
        insecure_registries=("plain.example:5000",),
    )
    assert ca_files_for("reg.example:5000", builder, REPO_ROOT) == (REPO_ROOT / "certs/ca.pem",)
    assert [str(p) for p in ca_files_for("other:1", builder, REPO_ROOT)] == ["/abs/ca.pem"]
    assert ca_files_for("plain.example:5000", builder, REPO_ROOT) == ()
    assert plain_http_for("plain.example:5000", builder)
    assert not plain_http_for("reg.example:5000", builder)


@pytest.mark.parametrize(
    "registry", ["127.0.0.1:5000", "localhost:5000", "[::1]:5000", "127.0.0.2", "localhost"]
)
def test_loopback_hosts_are_known_by_name_and_address(registry):
    assert is_loopback(registry)


@pytest.mark.parametrize("registry", ["10.0.0.1:5000", "localhost.example:5000", "registry:5000"])
def test_other_hosts_are_https(registry):
    assert not is_loopback(registry)
    assert not plain_http_for(registry, BuilderSettings())


def test_an_image_ref_prints_as_docker_writes_it():
    ref = ImageRef("127.0.0.1:5000", "team/app", "c-0123")
    assert str(ref) == "127.0.0.1:5000/team/app:c-0123"
    assert ref.with_tag("latest") == ImageRef("127.0.0.1:5000", "team/app", "latest")


# --- the client against local servers ------------------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Reply = tuple[int, dict[str, str], bytes]


@dataclass
class FakeRegistry:
    """An HTTP server answering each request with ``answer(seen)``; every request is recorded."""

    answer: Callable[[Seen], Reply]
    address: str = ""
    seen: list[Seen] = field(default_factory=list)


@pytest.fixture
def fake() -> Iterator[FakeRegistry]:
    registry = FakeRegistry(lambda seen: (500, {}, b""))

    class Handler(http.server.BaseHTTPRequestHandler):
        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            seen = Seen(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
            registry.seen.append(seen)
            status, headers, body = registry.answer(seen)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_HEAD = do_PUT = _serve

        def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    registry.address = f"127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield registry
    server.shutdown()
    server.server_close()


def ref_on(fake: FakeRegistry, tag: str = "v1") -> ImageRef:
    return ImageRef(fake.address, "team/app", tag)


def test_a_server_error_is_an_error_in_the_registrys_words(fake):
    fake.answer = lambda seen: (
        500,
        {"Content-Type": "application/json"},
        errors_body(("UNKNOWN", "disk full")),
    )
    answer = probe(ref_on(fake), None, plain_http=True)
    assert answer == RegistryAnswer(Presence.ERROR, 500, "UNKNOWN: disk full")
    # HEAD has no body: the same GET is what carries the registry's words.
    assert [(s.method, s.path) for s in fake.seen] == [
        ("HEAD", "/v2/team/app/manifests/v1"),
        ("GET", "/v2/team/app/manifests/v1"),
    ]
    assert "application/vnd.oci.image.index.v1+json" in fake.seen[0].headers["Accept"]
    assert "application/vnd.docker.distribution.manifest.v2+json" in fake.seen[0].headers["Accept"]


def test_a_present_manifest_takes_one_head(fake):
    fake.answer = lambda seen: (200, {"Docker-Content-Digest": "sha256:feed"}, b"{}")
    assert probe(ref_on(fake), None, plain_http=True) == RegistryAnswer(Presence.PRESENT, 200, "sha256:feed")
    assert [s.method for s in fake.seen] == ["HEAD"]


def test_a_bodiless_404_is_absent_only_when_the_get_says_why(fake):
    fake.answer = lambda seen: (
        404,
        {},
        b"" if seen.method == "HEAD" else errors_body(("MANIFEST_UNKNOWN", "nope")),
    )
    assert probe(ref_on(fake), None, plain_http=True).presence is Presence.ABSENT
    fake.answer = lambda seen: (404, {}, b"")
    assert probe(ref_on(fake), None, plain_http=True) == RegistryAnswer(
        Presence.ERROR, 404, "Not Found (no body)"
    )


def basic_registry(seen: Seen) -> Reply:
    expected = "Basic " + base64.b64encode(b'alice:se"cret').decode()
    if seen.headers.get("Authorization") == expected:
        return 200, {"Docker-Content-Digest": "sha256:ok"}, b""
    challenge = {"WWW-Authenticate": 'Basic realm="test"', "Content-Type": "application/json"}
    return 401, challenge, errors_body(("UNAUTHORIZED", "authentication required"))


def test_a_basic_challenge_is_answered_with_the_credentials(fake):
    fake.answer = basic_registry
    assert probe(ref_on(fake), CREDENTIALS, plain_http=True).presence is Presence.PRESENT
    assert [s.method for s in fake.seen] == ["HEAD", "HEAD"]


def test_without_credentials_or_with_wrong_ones_a_basic_challenge_is_unauthorized(fake):
    fake.answer = basic_registry
    expected = RegistryAnswer(Presence.UNAUTHORIZED, 401, "UNAUTHORIZED: authentication required")
    assert probe(ref_on(fake), None, plain_http=True) == expected
    assert probe(ref_on(fake), Credentials("alice", "wrong"), plain_http=True) == expected


def bearer_registry(fake: FakeRegistry, token_reply: Reply) -> Callable[[Seen], Reply]:
    def answer(seen: Seen) -> Reply:
        if seen.path.startswith("/token"):
            return token_reply
        if seen.headers.get("Authorization") == "Bearer tok-123":
            return 200, {"Docker-Content-Digest": "sha256:ok"}, b""
        realm = f"http://{fake.address}/token"
        challenge = f'Bearer realm="{realm}",service="fake-registry",scope="repository:team/app:pull"'
        return 401, {"WWW-Authenticate": challenge}, errors_body(("UNAUTHORIZED", "authentication required"))

    return answer


def test_a_bearer_challenge_gets_a_token_from_the_realm_with_the_credentials(fake):
    fake.answer = bearer_registry(fake, (200, {}, json.dumps({"token": "tok-123"}).encode()))
    assert probe(ref_on(fake), CREDENTIALS, plain_http=True).presence is Presence.PRESENT
    token_request = fake.seen[1]
    assert token_request.path == "/token?service=fake-registry&scope=repository%3Ateam%2Fapp%3Apull"
    assert token_request.headers["Authorization"] == CREDENTIALS.basic_authorization()
    assert fake.seen[2].headers["Authorization"] == "Bearer tok-123"


def test_an_anonymous_bearer_token_is_asked_without_authorization(fake):
    fake.answer = bearer_registry(fake, (200, {}, json.dumps({"access_token": "tok-123"}).encode()))
    assert probe(ref_on(fake), None, plain_http=True).presence is Presence.PRESENT
    assert "Authorization" not in fake.seen[1].headers


def test_a_token_server_refusal_is_unauthorized_and_a_bad_token_answer_an_error(fake):
    refusal = (401, {"Content-Type": "application/json"}, b'{"details":"incorrect username or password"}')
    fake.answer = bearer_registry(fake, refusal)
    assert probe(ref_on(fake), CREDENTIALS, plain_http=True) == RegistryAnswer(
        Presence.UNAUTHORIZED, 401, "token server: Unauthorized: incorrect username or password"
    )
    fake.answer = bearer_registry(fake, (500, {}, b"token service down"))
    assert probe(ref_on(fake), CREDENTIALS, plain_http=True) == RegistryAnswer(
        Presence.ERROR, 500, "token server: Internal Server Error: token service down"
    )


@pytest.mark.parametrize(
    ("body", "found"),
    [
        (b'{"jwt": "secret-looking-value", "expires_in": 300}', "JSON keys: expires_in, jwt"),
        (b'{"token": ""}', "JSON keys: token"),
        (b"{}", "an empty JSON object"),
        (b'["secret-looking-value"]', "a JSON list, not an object"),
        (b"secret-looking-value", "not JSON"),
    ],
)
def test_a_token_answer_without_a_token_names_its_keys_never_its_values(fake, body, found):
    fake.answer = bearer_registry(fake, (200, {}, body))
    answer = probe(ref_on(fake), CREDENTIALS, plain_http=True)
    assert answer == RegistryAnswer(
        Presence.ERROR, 200, f"token server: no token in its HTTP 200 answer ({found})"
    )
    assert "secret-looking-value" not in str(answer)


def test_the_registrys_words_arrive_on_one_line_without_terminal_escapes(fake):
    hostile = "disk\nfull\x1b[31m red\x1b[0m\r\x00"
    fake.answer = lambda seen: (500, {}, errors_body(("UNKNOWN", hostile)))
    assert probe(ref_on(fake), None, plain_http=True) == RegistryAnswer(
        Presence.ERROR, 500, "UNKNOWN: disk\u240afull red\u240d\u2400"
    )
    refusal = json.dumps({"details": "bad\npassword\x1b]0;title\x07"}).encode()
    fake.answer = bearer_registry(fake, (401, {}, refusal))
    assert probe(ref_on(fake), CREDENTIALS, plain_http=True) == RegistryAnswer(
        Presence.UNAUTHORIZED, 401, "token server: Unauthorized: bad\u240apassword"
    )


def test_a_loopback_registry_speaking_plain_http_is_reached_over_it_without_config(fake):
    assert plain_http_for(fake.address, BuilderSettings())
    # A CA configured for it says it speaks TLS.
    assert not plain_http_for(fake.address, BuilderSettings(registry_ca={fake.address: "ca.pem"}))


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[str]:
    """A loopback server that completes TLS handshakes (a certificate of a CA nobody trusts)."""
    issued = certs.issue("127.0.0.1", days=1)
    (tmp_path / "cert.pem").write_bytes(issued.daemon_cert)
    (tmp_path / "key.pem").write_bytes(issued.daemon_key)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve():
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(connection, server_side=True) as secured:
                    secured.recv(1)
            except (OSError, ssl.SSLError):
                pass

    threading.Thread(target=serve, daemon=True).start()
    yield f"127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def test_a_loopback_registry_speaking_tls_is_held_to_https_and_its_certificate(tls_server):
    assert not plain_http_for(tls_server, BuilderSettings())
    answer = probe(ImageRef(tls_server, "team/app", "v1"), None)
    assert answer.presence is Presence.UNREACHABLE
    assert "TLS certificate verification failed" in answer.message


def test_nothing_listening_on_loopback_is_https_and_unreachable_in_the_probes_words():
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{placeholder.getsockname()[1]}"
    assert not plain_http_for(address, BuilderSettings())


def test_a_closed_port_is_unreachable():
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{placeholder.getsockname()[1]}"
    answer = probe(ImageRef(address, "team/app", "v1"), CREDENTIALS, plain_http=True)
    assert answer == RegistryAnswer(Presence.UNREACHABLE, None, f"http://{address}: connection refused")


@pytest.fixture
def raw_server() -> Iterator[Callable[[bytes], str]]:
    """A TCP server that answers every connection with the given bytes, then closes it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    reply = {"bytes": b""}

    def serve():
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                connection.recv(65536)
                connection.sendall(reply["bytes"])

    threading.Thread(target=serve, daemon=True).start()

    def answer_with(data: bytes) -> str:
        reply["bytes"] = data
        return f"127.0.0.1:{listener.getsockname()[1]}"

    yield answer_with
    listener.close()


def test_an_answer_that_is_not_http_is_an_error(raw_server):
    address = raw_server(b"SSH-2.0-OpenSSH_9.6\r\n")
    answer = probe(ImageRef(address, "team/app", "v1"), None, plain_http=True)
    assert (answer.presence, answer.status) == (Presence.ERROR, None)
    assert answer.message.startswith(f"http://{address}: malformed answer (BadStatusLine")


def test_plain_http_spoken_to_an_https_client_is_a_tls_failure(raw_server):
    address = raw_server(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    answer = probe(ImageRef(address, "team/app", "v1"), None)
    assert (answer.presence, answer.status) == (Presence.UNREACHABLE, None)
    assert answer.message.startswith(f"https://{address}: TLS handshake failed: ")


def test_an_unloadable_ca_file_is_bad_input(tmp_path):
    with pytest.raises(BakehouseError) as caught:
        probe(ImageRef("127.0.0.1:1", "team/app", "v1"), None, [tmp_path / "missing.pem"])
    assert caught.value.code == BAD_INPUT
    assert str(caught.value).startswith(f"CA file {tmp_path / 'missing.pem'}: can't load it")


# --- add_tags ----------------------------------------------------------------------------------------

MANIFEST = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}'


def tagging_registry(put_reply: Reply) -> Callable[[Seen], Reply]:
    def answer(seen: Seen) -> Reply:
        if seen.method == "GET" and seen.path == "/v2/team/app/manifests/v1":
            return 200, {"Content-Type": INDEX_TYPE, "Docker-Content-Digest": "sha256:d1"}, MANIFEST
        if seen.method == "PUT":
            return put_reply
        return 404, {}, errors_body(("MANIFEST_UNKNOWN", "manifest unknown"))

    return answer


def test_add_tags_puts_the_same_bytes_and_media_type_under_each_tag(fake):
    fake.answer = tagging_registry((201, {"Docker-Content-Digest": "sha256:d1"}, b""))
    add_tags(ref_on(fake), ["main", "latest"], None, plain_http=True)
    puts = [s for s in fake.seen if s.method == "PUT"]
    assert [s.path for s in puts] == ["/v2/team/app/manifests/main", "/v2/team/app/manifests/latest"]
    assert all(s.body == MANIFEST and s.headers["Content-Type"] == INDEX_TYPE for s in puts)


def test_add_tags_fails_with_the_registrys_words(fake):
    fake.answer = tagging_registry((403, {}, errors_body(("DENIED", "push access denied"))))
    with pytest.raises(BakehouseError) as caught:
        add_tags(ref_on(fake), ["main"], None, plain_http=True)
    assert caught.value.code == FAILED
    assert str(caught.value) == (
        f"tagging {fake.address}/team/app:v1 as main failed: unauthorized, DENIED: push access denied"
    )


def test_add_tags_refuses_a_registry_that_stores_another_digest(fake):
    fake.answer = tagging_registry((201, {"Docker-Content-Digest": "sha256:other"}, b""))
    with pytest.raises(BakehouseError, match="the registry stored sha256:other, not sha256:d1"):
        add_tags(ref_on(fake), ["main"], None, plain_http=True)


def test_add_tags_of_a_missing_image_says_so(fake):
    fake.answer = tagging_registry((201, {}, b""))
    with pytest.raises(BakehouseError) as caught:
        add_tags(ref_on(fake, "v2"), ["main"], None, plain_http=True)
    assert str(caught.value) == (
        f"can't read {fake.address}/team/app:v2 to tag it: "
        "absent (HTTP 404: MANIFEST_UNKNOWN: manifest unknown)"
    )
    assert not [s for s in fake.seen if s.method == "PUT"]


def test_add_tags_refuses_a_bad_tag_before_asking_anything(fake):
    with pytest.raises(BakehouseError) as caught:
        add_tags(ref_on(fake), ["ok", "feature/x"], None, plain_http=True)
    assert caught.value.code == BAD_INPUT
    assert "tag 'feature/x': not a valid tag" in str(caught.value)
    add_tags(ref_on(fake), [], None, plain_http=True)
    assert fake.seen == []


def test_harbors_not_found_is_absent_only_when_it_names_the_tag_asked_for():
    body = errors_body(("NOT_FOUND", "artifact team/app:c-0123 not found"))
    assert classify(404, "Not Found", body, subject="team/app:c-0123").presence is Presence.ABSENT
    assert classify(404, "Not Found", body, subject="team/app:c-9999").presence is Presence.ERROR
    assert classify(404, "Not Found", body).presence is Presence.ERROR
