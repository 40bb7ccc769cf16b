"""The digest-pinning rule over Dockerfile text, with and without what bake passes to it."""

from __future__ import annotations

import pytest

from tasks.lint.findings import Finding
from tasks.lint.pin_rule import (
    BuildBinding,
    check_dockerfile,
    check_syntax,
    is_allowed,
    pinned_line,
)

DIGEST = "sha256:" + "ab" * 32
ALLOWED = ["debian:*", "input"]


def test_allowed_patterns_also_match_docker_hub_long_forms():
    assert is_allowed("debian:trixie-slim", ALLOWED)
    assert is_allowed("docker.io/library/debian:bookworm-slim", ALLOWED)
    assert not is_allowed("debian", ALLOWED)
    assert not is_allowed("ghcr.io/x/debian:1", ALLOWED)


def findings(text: str, bindings: list[BuildBinding] | None = None) -> list[tuple[int, str, str]]:
    issues = check_dockerfile("Dockerfile", text, ALLOWED, bindings or [])
    return [(issue.line, issue.reference, issue.finding().rule) for issue in issues]


def test_pinned_allowed_stage_and_scratch_references_pass():
    text = (
        f"FROM alpine:3.20@{DIGEST} AS tool\n"
        "FROM debian:trixie-slim AS base\n"
        "FROM input\n"
        "FROM base\n"
        "FROM scratch\n"
        "COPY --from=tool /bin/x /x\n"
        "COPY --from=0 /bin/x /y\n"
    )
    assert findings(text) == []


def test_unpinned_from_and_copy_from_images_are_reported_by_line():
    text = "FROM alpine:3.20\nFROM input\nCOPY --from=ghcr.io/org/tool:1 /t /t\n"
    assert findings(text) == [(1, "alpine:3.20", "pin-digest"), (3, "ghcr.io/org/tool:1", "pin-digest")]


def test_heredoc_bodies_are_not_checked_and_continued_lines_report_their_first_line():
    text = "FROM input\nRUN <<EOF\nFROM alpine:3.20\nEOF\nFROM \\\n  alpine:3.21 \\\n  AS x\n"
    assert findings(text) == [(5, "alpine:3.21", "pin-digest")]


def test_image_arg_defaults_are_reported_once_on_the_arg_line():
    text = "ARG BASE_IMAGE=alpine:3.20\nFROM ${BASE_IMAGE}\n"
    issues = check_dockerfile("Dockerfile", text, ALLOWED)
    assert [(issue.line, issue.instruction, issue.literal) for issue in issues] == [
        (1, "ARG BASE_IMAGE", True)
    ]
    pinned = f"ARG BASE_IMAGE=alpine:3.20@{DIGEST}\nFROM ${{BASE_IMAGE}}\n"
    assert findings(pinned) == []


def test_from_without_any_value_for_its_variables_is_unresolved():
    assert findings("ARG sys_name\nFROM ${sys_name}:1\n") == [(2, "${sys_name}:1", "pin-unresolved")]


def test_bake_args_resolve_variables_per_target():
    text = "ARG sys_name\nARG sys_version\nFROM ${sys_name}:${sys_version}\n"
    allowed = [BuildBinding("system--debian--trixie", {"sys_name": "debian", "sys_version": "trixie-slim"})]
    assert findings(text, allowed) == []
    other = BuildBinding("system--ubuntu", {"sys_name": "ubuntu", "sys_version": "24.04"})
    issues = check_dockerfile("Dockerfile", text, ALLOWED, [*allowed, other])
    assert [(issue.reference, issue.literal) for issue in issues] == [("ubuntu:24.04", False)]
    assert "system--ubuntu" in issues[0].finding().message


def test_named_contexts_from_bake_replace_the_image():
    text = "FROM input\nCOPY --from=deps /opt /opt\n"
    binding = BuildBinding("install", contexts={"input": "target:base", "deps": "target:deps"})
    assert findings(text, [binding]) == []
    image_context = BuildBinding("buildkit", contexts={"input": "docker-image://alpine:3.20"})
    assert findings("FROM input\n", [image_context]) == [(1, "alpine:3.20", "pin-digest")]
    local_base = BuildBinding("buildkit", contexts={"input": "docker-image://debian:trixie-slim"})
    assert findings("FROM input\n", [local_base]) == []


def test_bare_copy_from_names_need_bake_to_be_told_apart():
    # Without bake, `deps` could be a named context; with bake's contexts known, it is an image.
    assert findings("FROM input\nCOPY --from=deps /a /a\n") == []
    binding = BuildBinding("t", contexts={"input": "target:x"})
    assert findings("FROM input\nCOPY --from=busybox /bin/sh /sh\n", [binding]) == [
        (2, "busybox", "pin-digest")
    ]


def test_pinned_line_rewrites_only_the_whole_reference():
    line = "FROM alpine:3.20 AS tool  # alpine:3.20.1 is newer\n"
    assert (
        pinned_line(line, "alpine:3.20", DIGEST)
        == f"FROM alpine:3.20@{DIGEST} AS tool  # alpine:3.20.1 is newer\n"
    )
    assert (
        pinned_line("ARG X_IMAGE=alpine:3.20\n", "alpine:3.20", DIGEST)
        == f"ARG X_IMAGE=alpine:3.20@{DIGEST}\n"
    )


def test_syntax_lines_must_name_an_allowed_frontend_and_carry_a_digest():
    text = "# syntax = docker/dockerfile:1.11-labs\nFROM scratch\n"
    unpinned, outside = check_syntax("docker/Dockerfile.system", text, ["docker/dockerfile"])
    assert outside == []
    assert [issue.finding() for issue in unpinned] == [
        Finding(
            "docker/Dockerfile.system", 1, 0, "pins", "pin-digest", "error",
            "# syntax= image docker/dockerfile:1.11-labs is not pinned by digest (@sha256:…)",
        )
    ]  # fmt: skip
    assert unpinned[0].literal
    assert pinned_line("# syntax = docker/dockerfile:1.11-labs", "docker/dockerfile:1.11-labs", DIGEST) == (
        f"# syntax = docker/dockerfile:1.11-labs@{DIGEST}"
    )


def test_syntax_lines_outside_the_allowlist_are_findings_pinned_or_not():
    text = f"# syntax=docker.io/tonistiigi/dockerfile:x@{DIGEST}\nFROM scratch\n"
    unpinned, outside = check_syntax("Dockerfile", text, ["docker/dockerfile"])
    assert unpinned == []
    assert [issue.finding() for issue in outside] == [
        Finding(
            "Dockerfile", 1, 0, "pins", "syntax-allowlist", "error",
            f"# syntax= names the frontend docker.io/tonistiigi/dockerfile:x@{DIGEST}, not one "
            "lint.syntax_allowed lists (docker/dockerfile)",
        )
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("reference", "allowed", "ok"),
    [
        (f"docker.io/docker/dockerfile:1@{DIGEST}", ["docker/dockerfile"], True),
        (f"docker/dockerfile-upstream:master@{DIGEST}", ["docker/dockerfile"], False),
        (f"docker/dockerfile-upstream:master@{DIGEST}", ["docker/dockerfile*"], True),
        (f"registry.example:5000/fe/dockerfile:1@{DIGEST}", ["registry.example:5000/fe/*"], True),
        (f"docker/dockerfile:1@{DIGEST}", [], False),
    ],
)
def test_the_syntax_allowlist_holds_repositories(reference, allowed, ok):
    assert (check_syntax("Dockerfile", f"# syntax={reference}\n", allowed)[1] == []) is ok


def test_a_syntax_comment_after_the_first_instruction_is_no_directive():
    text = "FROM scratch\n# syntax=evil/frontend:1\n"
    assert check_syntax("Dockerfile", text, ["docker/dockerfile"]) == ([], [])
