"""Checks of values users type: registry hosts, image references, Complement packages, Go regexps.

Pure functions. Each refuses a bad value with one bad-input line naming where it came from, so it
never reaches buildx, bake or the tester, where it would fail late (after builds) or be used as is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .errors import bad_input

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = rf"{_LABEL}(?:\.{_LABEL})*"
_IPV6 = r"\[[0-9A-Fa-f:.]+\]"
_HOST_PORT = re.compile(rf"^(?:{_HOSTNAME}|{_IPV6})(?::(?P<port>\d{{1,5}}))?$")
_HOSTNAME_ALONE = re.compile(rf"^{_HOSTNAME}$")
MAX_HOSTNAME = 253  # DNS's limit on a whole name
# BuildKit mirrors may carry a path after the host (it splits them itself); no scheme.
_MIRROR_PATH = re.compile(r"^(/[A-Za-z0-9._-]+)+/?$")

# The docker reference grammar (distribution/reference): [domain/]path[:tag][@digest]. The first
# element is a domain only when it looks like one (a dot, a port, or localhost).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}"
_DOMAIN = re.compile(rf"^(?:{_HOSTNAME}|{_IPV6})(?::\d{{1,5}})?$")
_REPOSITORY = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*(?::{_TAG})?(?:@{_DIGEST})?$")
# A tag on its own, as a registry takes it in a manifest's URL.
TAG = re.compile(rf"^{_TAG}$")
MAX_IMAGE_NAME = 255

_PACKAGE = re.compile(r"^(?:\./)?[A-Za-z0-9_][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.-]*)*/?$")


def valid_hostname(value: str) -> bool:
    """A DNS name: dot-separated labels of letters, digits and inner hyphens (no port, no address
    in brackets)."""
    return len(value) <= MAX_HOSTNAME and _HOSTNAME_ALONE.match(value) is not None


def valid_host_port(value: str) -> bool:
    match = _HOST_PORT.match(value)
    return match is not None and 0 < int(match["port"] or 1) < 65536


def check_host_port(value: str, label: str) -> str:
    """A registry address as buildkitd.toml takes it: host or host:port (IPv6 in brackets)."""
    if not valid_host_port(value):
        raise bad_input(f"{label} {value!r}: expected host[:port], e.g. 127.0.0.1:5000 or mirror.gcr.io")
    return value


def check_mirror(value: str, label: str) -> str:
    """A docker.io mirror: host[:port], optionally with a path (no http:// — BuildKit adds it)."""
    host, slash, path = value.partition("/")
    if not valid_host_port(host):
        raise bad_input(
            f"{label} {value!r}: expected host[:port][/path], e.g. 127.0.0.1:5000 or mirror.gcr.io"
        )
    if slash and not _MIRROR_PATH.match(slash + path):
        raise bad_input(f"{label} {value!r}: the path after the host has characters a registry won't take")
    return value


def check_image_reference(value: str, label: str) -> str:
    """An image reference docker accepts: lower-case repository, optional registry, tag and digest."""
    first, slash, rest = value.partition("/")
    has_domain = bool(slash) and (first == "localhost" or any(mark in first for mark in ".:["))
    repository = rest if has_domain else value
    valid = (not has_domain or _DOMAIN.match(first)) and _REPOSITORY.match(repository)
    if not valid or len(value.split("@", 1)[0]) > MAX_IMAGE_NAME:
        raise bad_input(
            f"{label} {value!r}: not an image reference "
            "(e.g. moby/buildkit:v0.17.0 or 127.0.0.1:5000/bakehouse/buildkit:v0.33.1)"
        )
    return value


def normalize_package(package: str) -> str:
    """`./tests/csapi/` -> `tests/csapi`: how package paths are compared."""
    return package.removeprefix("./").rstrip("/")


def check_packages(requested: Sequence[str], compiled: Sequence[str], label: str) -> tuple[str, ...]:
    """Suite packages as paths relative to the suite (./tests, ./tests/csapi), each one the tester
    has compiled (by path or by its last element, as the tester resolves them). An empty
    ``compiled`` (unknown) checks the form only."""
    known = {normalize_package(p) for p in compiled}
    for package in requested:
        if package.startswith("/"):
            raise bad_input(
                f"{label} {package!r}: expected a package path relative to the suite, "
                "like ./tests or ./tests/csapi (not an absolute path)"
            )
        if ".." in package.split("/"):
            raise bad_input(f"{label} {package!r}: a suite package path can't contain '..'")
        if not _PACKAGE.match(package):
            raise bad_input(f"{label} {package!r}: expected a package path like ./tests or ./tests/csapi")
        wanted = normalize_package(package)
        if known and not any(wanted in (path, path.rsplit("/", 1)[-1]) for path in known):
            listed = " ".join(f"./{path}" for path in sorted(known))
            raise bad_input(f"{label} {package!r}: the tester has no such package (compiled: {listed})")
    return tuple(requested)


def _group_problem(pattern: str, index: int) -> str | None:
    """What Go lacks in the group starting at pattern[index] == '('."""
    rest = pattern[index + 1 :]
    for prefix, what in (
        ("?<=", "lookbehind"),
        ("?<!", "negative lookbehind"),
        ("?=", "lookahead"),
        ("?!", "negative lookahead"),
        ("?>", "atomic groups"),
        ("?P=", "backreferences"),
        ("?#", "comments"),
    ):
        if rest.startswith(prefix):
            return f"Go regexps (RE2) have no {what} '({prefix}'"
    return None


def go_regexp_problem(pattern: str) -> str | None:
    """None when Go's regexp syntax takes what Python's re took; else what it lacks.

    `go test -run` compiles with RE2, which has no lookaround, backreferences or possessive
    quantifiers; Python accepts them, so they would only fail inside the tester, after the builds.
    """
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            following = pattern[index + 1 : index + 2]
            if not in_class and following.isdigit() and following != "0":
                return f"Go regexps (RE2) have no backreferences '\\{following}'"
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            # A ']' right after '[' or '[^' is a literal member, not the end of the class.
            if pattern[index + 1 : index + 2] == "^":
                index += 1
            if pattern[index + 1 : index + 2] == "]":
                index += 1
        elif char == "(":
            problem = _group_problem(pattern, index)
            if problem:
                return problem
        elif char in "*+?}" and pattern[index + 1 : index + 2] == "+":
            return f"Go regexps (RE2) have no possessive quantifiers '{char}+'"
        index += 1
    return None
