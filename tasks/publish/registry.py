"""Asking a registry whether a tag is published, and tagging a published image again.

Docker Registry HTTP API v2 over http.client: a manifest HEAD (then a GET, for the registry's own
words when the answer is not "here it is"), and manifest GET + PUT to copy a manifest to more tags.
Both Basic and Bearer (token server) challenges are answered.

The answer is classified strictly: only a 404 whose body names an unknown manifest or repository
means "absent". Refusals, unreachable hosts, TLS failures, server errors and anything unexpected
are their own classes, each with the registry's (or the OS's) words, so a caller never builds and
pushes over a tag it merely failed to see.

Scheme: https, trusting the system CAs plus the CA files the caller names (the builder's
``builder.registry_ca`` for that host). Plain http only where the caller says so: the hosts in
``builder.insecure_registries``, which the builder also reaches over plain http (``http = true``
in buildkitd.toml), and a loopback host without a CA that doesn't speak TLS (as Docker and BuildKit
treat localhost registries: `inv engine.up`'s, a user's localhost:5000), so the probe and the push
speak to the same endpoint. Elsewhere never a fallback from https to http; a loopback host that does
speak TLS is held to its certificate like any other.
"""

from __future__ import annotations

import enum
import functools
import http.client
import ipaddress
import json
import re
import socket
import ssl
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..shared.errors import BakehouseError, bad_input
from ..shared.inputs import TAG
from ..shared.oci_layout import MANIFEST_TYPES
from ..shared.settings import BuilderSettings
from ..shared.text_clean import one_line
from .credentials import Credentials

# The error codes (distribution spec) of a 404 that really means "no such tag/repository".
ABSENT_CODES = frozenset({"MANIFEST_UNKNOWN", "NAME_UNKNOWN"})
# Harbor's code for a missing tag; absent only when its message names the very repository:tag.
_NOT_FOUND_CODE = "NOT_FOUND"
TIMEOUT = 20.0
# One auth-param of a WWW-Authenticate challenge: key="quoted value" or key=token.
_AUTH_PARAM = re.compile(r'([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')
# How much of an answer that isn't the registry's JSON goes into a message.
_TEXT_EXCERPT = 200


class Presence(enum.Enum):
    """What a registry said about a tag."""

    PRESENT = "present"
    ABSENT = "absent"
    UNAUTHORIZED = "unauthorized"
    UNREACHABLE = "unreachable"
    ERROR = "error"


@dataclass(frozen=True)
class ImageRef:
    """``registry/repository:tag`` in its three parts."""

    registry: str
    repository: str
    tag: str

    def __str__(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}"

    def with_tag(self, tag: str) -> ImageRef:
        return ImageRef(self.registry, self.repository, tag)


@dataclass(frozen=True)
class RegistryAnswer:
    """A classified answer: the HTTP status when there was one, and the registry's own words
    (its errors' code and message, or the OS/TLS error; the manifest digest when present)."""

    presence: Presence
    status: int | None
    message: str
    # The manifest's digest (Docker-Content-Digest) when the registry said PRESENT and named it; the
    # message shows it already, so answers compare by the three fields above.
    digest: str = field(default="", compare=False)

    def __str__(self) -> str:
        status = f"HTTP {self.status}: " if self.status is not None else ""
        return f"{self.presence.value} ({status}{self.message})"


def ca_files_for(registry: str, builder: BuilderSettings, root: Path) -> tuple[Path, ...]:
    """The CA file the builder is told to trust for ``registry`` (relative paths: from the project root)."""
    configured = builder.registry_ca.get(registry)
    return (root / configured,) if configured else ()


def plain_http_for(registry: str, builder: BuilderSettings) -> bool:
    """Whether the builder reaches ``registry`` over plain http: ``builder.insecure_registries``, or a
    loopback host (localhost, 127.0.0.0/8, ::1) with no CA configured for it, which BuildKit (like
    Docker) reaches over plain http without being told: `inv engine.up`'s registry, a user's
    localhost:5000."""
    if registry in builder.insecure_registries:
        return True
    return is_loopback(registry) and registry not in builder.registry_ca and not speaks_tls(registry)


@functools.cache
def speaks_tls(registry: str) -> bool:
    """Whether ``registry`` completes a TLS handshake (its certificate is judged later, by the probe).
    Nothing listening counts as TLS: the probe then says unreachable in its own words."""
    parts = urllib.parse.urlsplit(f"//{registry}")
    host = parts.hostname or ""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((host, parts.port or 443), timeout=TIMEOUT) as raw,
            context.wrap_socket(raw, server_hostname=host),
        ):
            return True
    except ssl.SSLError:
        return False  # a plain http server answers the client hello with http, not a handshake
    except OSError:
        return True


def is_loopback(registry: str) -> bool:
    host = urllib.parse.urlsplit(f"//{registry}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- classifying answers ----------------------------------------------------------------------


def _json_field(body: bytes, name: str) -> object:
    """A top-level field of a JSON object body; None when there is no such body or field."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return document.get(name) if isinstance(document, dict) else None


def registry_errors(body: bytes) -> list[tuple[str, str]] | None:
    """The (code, message) pairs of a registry's JSON error body; None when the body is not one."""
    errors = _json_field(body, "errors")
    if not isinstance(errors, list) or not all(isinstance(item, dict) for item in errors):
        return None
    return [(str(item.get("code", "")), str(item.get("message", ""))) for item in errors]


def _words(reason: str, body: bytes) -> str:
    """The registry's words: its errors as 'CODE: message', else an excerpt of its answer; on one
    line, without terminal escapes (they end up in an error message)."""
    errors = registry_errors(body)
    if errors:
        return one_line("; ".join(f"{code}: {message}" if message else code for code, message in errors))
    details = _json_field(body, "details")  # token servers often answer {"details": "..."}
    text = details if isinstance(details, str) else " ".join(body.decode("utf-8", "replace").split())
    text = text[:_TEXT_EXCERPT]
    return one_line((reason or "no reason given") + (f": {text}" if text else " (no body)"))


def _json_keys(body: bytes) -> str:
    """The top-level keys of a JSON object body, and nothing of its values: a token server's answer
    may hold a token under a name we don't know, and that must not reach an error message."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "not JSON"
    if not isinstance(document, dict):
        return f"a JSON {type(document).__name__}, not an object"
    if not document:
        return "an empty JSON object"
    return one_line("JSON keys: " + ", ".join(sorted(str(key) for key in document)))


def _says_absent(code: str, message: str, subject: str) -> bool:
    if code in ABSENT_CODES:
        return True
    return code == _NOT_FOUND_CODE and bool(subject) and message.endswith(f"{subject} not found")


def classify(status: int, reason: str, body: bytes, digest: str = "", subject: str = "") -> RegistryAnswer:
    """A manifest request's answer as a Presence. Only a 404 whose errors all say the manifest or
    repository is unknown is ABSENT (MANIFEST_UNKNOWN, NAME_UNKNOWN, or NOT_FOUND naming ``subject``,
    the ``repository:tag`` asked for); any other 404 (a proxy's page, a wrong path) is ERROR."""
    if 200 <= status < 300:
        named = one_line(digest)
        return RegistryAnswer(Presence.PRESENT, status, named or "present", named)
    message = _words(reason, body)
    if status in (401, 403):
        return RegistryAnswer(Presence.UNAUTHORIZED, status, message)
    if status == 404:
        errors = registry_errors(body)
        if errors and all(_says_absent(code, text, subject) for code, text in errors):
            return RegistryAnswer(Presence.ABSENT, status, message)
    return RegistryAnswer(Presence.ERROR, status, message)


def unreachable_words(exc: OSError) -> str:
    """What went wrong on the way to the server, naming the certificate problem for TLS."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed: {exc.verify_message or exc.reason}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed: {exc.reason or exc}"
    if isinstance(exc, socket.gaierror):
        return f"can't resolve the host name: {exc.strerror}"
    if isinstance(exc, TimeoutError):
        return f"no answer within {TIMEOUT:.0f}s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return exc.strerror or str(exc) or type(exc).__name__


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """A WWW-Authenticate header as (scheme in lower case, its parameters)."""
    scheme, _, rest = header.strip().partition(" ")
    params = {
        match[1].lower(): (match[2].replace('\\"', '"') if match[2] is not None else match[3])
        for match in _AUTH_PARAM.finditer(rest)
    }
    return scheme.lower(), params


# --- talking to the registry ------------------------------------------------------------------


class _Failed(Exception):
    """A request that got no usable answer: carries the classified answer."""

    def __init__(self, answer: RegistryAnswer) -> None:
        super().__init__(answer.message)
        self.answer = answer


@dataclass(frozen=True)
class _Response:
    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes


def tls_context(ca_files: Iterable[Path | str]) -> ssl.SSLContext:
    """The system's CAs plus ``ca_files``; a file that can't be loaded is bad input."""
    context = ssl.create_default_context()
    for path in ca_files:
        try:
            context.load_verify_locations(cafile=str(path))
        except (OSError, ssl.SSLError) as exc:
            raise bad_input(f"CA file {path}: can't load it ({exc})") from None
    return context


class _Session:
    """Requests to one registry, answering its auth challenge once and reusing the result."""

    def __init__(
        self,
        registry: str,
        credentials: Credentials | None,
        ca_files: Sequence[Path | str],
        plain_http: bool,
        scope: str,
    ) -> None:
        self.base = f"{'http' if plain_http else 'https'}://{registry}"
        self.credentials = credentials
        self.context = tls_context(ca_files)
        self.scope = scope
        self.authorization: str | None = None

    def send(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None = None) -> _Response:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(host, parts.port, timeout=TIMEOUT, context=self.context)
        else:
            connection = http.client.HTTPConnection(host, parts.port, timeout=TIMEOUT)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        origin = f"{parts.scheme}://{parts.netloc}"
        try:
            connection.request(method, target, body=body, headers=dict(headers))
            response = connection.getresponse()
            content = response.read()
            return _Response(response.status, response.reason, dict(response.headers.items()), content)
        except OSError as exc:
            raise _Failed(
                RegistryAnswer(Presence.UNREACHABLE, None, f"{origin}: {unreachable_words(exc)}")
            ) from exc
        except http.client.HTTPException as exc:
            answer = RegistryAnswer(Presence.ERROR, None, f"{origin}: malformed answer ({exc!r})")
            raise _Failed(answer) from exc
        finally:
            connection.close()

    def request(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | None = None
    ) -> _Response:
        """``method path`` on the registry, authenticating once if it asks for it."""
        url = self.base + path
        response = self.send(method, url, self._with_auth(headers), body)
        if response.status == 401 and self.authorization is None:
            challenge = _header(response.headers, "WWW-Authenticate")
            if challenge and self._answer(challenge):
                response = self.send(method, url, self._with_auth(headers), body)
        return response

    def _with_auth(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {**headers, "Authorization": self.authorization} if self.authorization else dict(headers)

    def _answer(self, challenge: str) -> bool:
        """Set the Authorization the challenge asks for; False when there is nothing to answer with."""
        scheme, params = parse_challenge(challenge)
        if scheme == "basic":
            if self.credentials is None:
                return False
            self.authorization = self.credentials.basic_authorization()
            return True
        if scheme == "bearer" and "realm" in params:
            self.authorization = f"Bearer {self._token(params)}"
            return True
        return False

    def _token(self, params: Mapping[str, str]) -> str:
        """A token from the challenge's token server (anonymous without credentials)."""
        realm = params["realm"]
        if not realm.startswith("https://") and not self.base.startswith("http://"):
            message = f"the token server {realm} is not https: credentials are not sent there"
            raise _Failed(RegistryAnswer(Presence.ERROR, None, message))
        query = {key: params[key] for key in ("service",) if key in params}
        query["scope"] = self.scope
        url = f"{realm}{'&' if '?' in realm else '?'}{urllib.parse.urlencode(query)}"
        headers = {"Authorization": self.credentials.basic_authorization()} if self.credentials else {}
        response = self.send("GET", url, headers)
        if response.status in (401, 403):
            words = _words(response.reason, response.body)
            raise _Failed(RegistryAnswer(Presence.UNAUTHORIZED, response.status, f"token server: {words}"))
        if not 200 <= response.status < 300:
            words = _words(response.reason, response.body)
            raise _Failed(RegistryAnswer(Presence.ERROR, response.status, f"token server: {words}"))
        token = _json_field(response.body, "token") or _json_field(response.body, "access_token")
        if response.status != 200 or not isinstance(token, str) or not token:
            # Its keys only, never the body: a 2xx body may carry the token under another name.
            found = _json_keys(response.body)
            message = f"token server: no token in its HTTP {response.status} answer ({found})"
            raise _Failed(RegistryAnswer(Presence.ERROR, response.status, message))
        return token


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), "")


def _manifest_path(ref: ImageRef, reference: str | None = None) -> str:
    quoted = urllib.parse.quote(reference or ref.tag, safe="")
    return f"/v2/{ref.repository}/manifests/{quoted}"


_ACCEPT = {"Accept": ", ".join(MANIFEST_TYPES)}


def probe(
    ref: ImageRef,
    credentials: Credentials | None,
    ca_files: Sequence[Path | str] = (),
    *,
    plain_http: bool = False,
) -> RegistryAnswer:
    """Whether ``ref`` is published, classified (see Presence); never raises for a registry's answer.

    A HEAD first (no pull counted, no body); on anything but 2xx the same GET, whose body carries
    the registry's words and, for a 404, whether the tag or repository is really unknown.
    """
    session = _Session(ref.registry, credentials, ca_files, plain_http, f"repository:{ref.repository}:pull")
    try:
        response = session.request("HEAD", _manifest_path(ref), _ACCEPT)
        if not 200 <= response.status < 300:
            response = session.request("GET", _manifest_path(ref), _ACCEPT)
    except _Failed as failed:
        return failed.answer
    digest = _header(response.headers, "Docker-Content-Digest")
    return classify(response.status, response.reason, response.body, digest, f"{ref.repository}:{ref.tag}")


def add_tags(
    ref: ImageRef,
    new_tags: Iterable[str],
    credentials: Credentials | None,
    ca_files: Sequence[Path | str] = (),
    *,
    plain_http: bool = False,
) -> None:
    """Put ``ref``'s manifest under each of ``new_tags`` too (GET it, PUT the same bytes): no build,
    no blob copied. A failure raises BakehouseError with the registry's words."""
    tags = list(new_tags)
    for tag in tags:
        if not TAG.match(tag):
            raise bad_input(f"tag {tag!r}: not a valid tag (letters, digits, _ . -; at most 128)")
    if not tags:
        return
    session = _Session(
        ref.registry, credentials, ca_files, plain_http, f"repository:{ref.repository}:pull,push"
    )
    try:
        got = session.request("GET", _manifest_path(ref), _ACCEPT)
        source = classify(got.status, got.reason, got.body, subject=f"{ref.repository}:{ref.tag}")
        if source.presence is not Presence.PRESENT:
            raise BakehouseError(f"can't read {ref} to tag it: {source}")
        media_type = _header(got.headers, "Content-Type")
        digest = _header(got.headers, "Docker-Content-Digest")
        for tag in tags:
            put = session.request("PUT", _manifest_path(ref, tag), {"Content-Type": media_type}, got.body)
            if put.status != 201:
                answer = classify(put.status, put.reason, put.body)
                raise BakehouseError(
                    f"tagging {ref} as {tag} failed: {answer.presence.value}, {answer.message}"
                )
            stored = _header(put.headers, "Docker-Content-Digest")
            if digest and stored and stored != digest:
                raise BakehouseError(f"tagging {ref} as {tag}: the registry stored {stored}, not {digest}")
    except _Failed as failed:
        raise BakehouseError(f"tagging {ref} failed: {failed.answer}") from None
