"""Checks of typed values: registry hosts, image references, suite packages, Go regexps."""

from __future__ import annotations

import pytest

from tasks.shared.errors import BAD_INPUT, BakehouseError
from tasks.shared.inputs import (
    MAX_HOSTNAME,
    TAG,
    check_host_port,
    check_image_reference,
    check_mirror,
    check_packages,
    go_regexp_problem,
    valid_hostname,
)

COMPILED = ("./tests", "./tests/csapi")


@pytest.mark.parametrize(
    "value", ["127.0.0.1:5000", "mirror.gcr.io", "localhost", "registry-1.docker.io:443", "[::1]:5000"]
)
def test_host_and_host_port_registry_addresses_pass_unchanged(value):
    assert check_host_port(value, "--mirror") == value


@pytest.mark.parametrize(
    "value", ["not a host", "http://mirror.gcr.io", "host:0", "host:99999", "-bad.example", "host:", ""]
)
def test_a_bad_registry_address_is_bad_input_with_examples(value):
    with pytest.raises(BakehouseError) as raised:
        check_host_port(value, "--mirror")
    assert raised.value.code == BAD_INPUT
    assert (
        str(raised.value) == f"--mirror {value!r}: expected host[:port], e.g. 127.0.0.1:5000 or mirror.gcr.io"
    )


def test_a_hostname_is_dns_labels_without_port_or_brackets():
    longest = ".".join(["a" * 63] * 3 + ["b" * 61])
    assert len(longest) == MAX_HOSTNAME
    for name in ["localhost", "buildkit-1.lan", "mirror.gcr.io", "10.0.0.5", longest]:
        assert valid_hostname(name), name
    for name in ["", "a b", "-lead", "trail-", "host_name", "a..b", "x" * 64, "host:5000", "[::1]",
                 longest + "b"]:  # fmt: skip
        assert not valid_hostname(name), name


def test_a_tag_alone_follows_the_references_tag_grammar():
    for tag in ["latest", "v1.2.3", "_x", "A-b.c_d", "t" * 128]:
        assert TAG.match(tag), tag
        assert check_image_reference(f"img:{tag}", "--image") == f"img:{tag}"
    for tag in ["", "-x", ".x", "feature/x", "a:b", "t" * 129]:
        assert not TAG.match(tag), tag


def test_mirrors_may_have_a_path_but_no_scheme():
    assert check_mirror("127.0.0.1:5000/dockerhub", "--mirror") == "127.0.0.1:5000/dockerhub"
    with pytest.raises(BakehouseError, match=r"expected host\[:port\]\[/path\]"):
        check_mirror("https://mirror.gcr.io", "--mirror")
    with pytest.raises(BakehouseError, match="the path after the host"):
        check_mirror("mirror.gcr.io/a b", "--mirror")


@pytest.mark.parametrize(
    "value",
    [
        "moby/buildkit:buildx-stable-1",
        "bakehouse/buildkit:v0.33.1",
        "127.0.0.1:5000/library/debian:trixie-slim",
        "debian",
        "ghcr.io/org/img@sha256:" + "a" * 64,
        "localhost/x_y__z.w-v:T_1",
    ],
)
def test_valid_image_references_pass_unchanged(value):
    assert check_image_reference(value, "--image") == value


@pytest.mark.parametrize(
    "value", ["Not//An:Image", "UPPER/case", "img:", "img:-tag", "img@sha256:xyz", "a b", "/abs", ""]
)
def test_a_malformed_image_reference_is_bad_input(value):
    with pytest.raises(BakehouseError, match=r"--image .*: not an image reference") as raised:
        check_image_reference(value, "--image")
    assert raised.value.code == BAD_INPUT


def test_packages_the_tester_compiled_by_path_or_short_name():
    assert check_packages(["./tests/csapi", "tests", "csapi/"], COMPILED, "--packages") == (
        "./tests/csapi",
        "tests",
        "csapi/",
    )


@pytest.mark.parametrize(
    ("package", "reason"),
    [
        ("../../etc", "can't contain '..'"),
        ("./tests/../etc", "can't contain '..'"),
        ("/tests", "not an absolute path"),
        ("./tests/*", "expected a package path like ./tests"),
        ("./tests/...", "expected a package path like ./tests"),
        ("./tests/nosuch", "the tester has no such package (compiled: ./tests ./tests/csapi)"),
    ],
)
def test_a_bad_or_uncompiled_package_is_bad_input_saying_why(package, reason):
    with pytest.raises(BakehouseError) as raised:
        check_packages([package], COMPILED, "--packages")
    assert raised.value.code == BAD_INPUT
    assert str(raised.value).startswith(f"--packages {package!r}: ")
    assert reason in str(raised.value)


def test_unknown_compiled_packages_check_the_form_only():
    assert check_packages(["./tests/anything"], (), "complement.packages") == ("./tests/anything",)


@pytest.mark.parametrize(
    "pattern",
    [
        "^(TestLogin|TestLogout)$",
        r"Test\(?=",  # an escaped paren, then an optional '=' : fine in Go
        "[(?=]",  # inside a class: literal characters
        "[]a](?:x)",  # ']' first in a class is a member; (?: is a plain group in Go too
        "a+?b*?",  # lazy quantifiers are RE2
        r"\d\0",
    ],
)
def test_patterns_go_accepts_have_no_problem(pattern):
    assert go_regexp_problem(pattern) is None


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("Test(?!Login)", "negative lookahead '(?!'"),
        ("(?=x)", "lookahead '(?='"),
        ("(?<=a)b", "lookbehind '(?<='"),
        ("(?<!a)b", "negative lookbehind '(?<!'"),
        ("(?>ab)", "atomic groups '(?>'"),
        (r"(a)\1", "backreferences '\\1'"),
        ("(?P<x>a)(?P=x)", "backreferences '(?P='"),
        ("a++", "possessive quantifiers '++'"),
        ("a{2}+", "possessive quantifiers '}+'"),
    ],
)
def test_python_only_regexp_syntax_is_named_as_what_go_lacks(pattern, problem):
    assert go_regexp_problem(pattern) == f"Go regexps (RE2) have no {problem}"
