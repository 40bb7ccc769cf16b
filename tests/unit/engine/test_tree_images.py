"""What a tree pulls (from its bake plan and Dockerfiles) and how registry-free mode makes each."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.engine.tree_images import (
    ImageUse,
    Supply,
    debian_suite,
    frontend_serves,
    images_needed,
    supply_for,
)
from tasks.shared.local_registry import HubImage, hub_image

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("debian:testing-slim", HubImage("library/debian", "testing-slim", "")),
        ("docker.io/library/debian:bookworm", HubImage("library/debian", "bookworm", "")),
        ("docker/dockerfile:1.11-labs", HubImage("docker/dockerfile", "1.11-labs", "")),
        ("docker.io/docker/dockerfile", HubImage("docker/dockerfile", "latest", "")),
        (f"docker/dockerfile:1@{DIGEST}", HubImage("docker/dockerfile", "1", DIGEST)),
        ("ghcr.io/owner/image:1", None),
        ("127.0.0.1:5000/library/debian:trixie-slim", None),
        ("localhost/debian:x", None),
    ],
)
def test_docker_hub_references_are_what_the_mirror_serves(reference, expected):
    assert hub_image(reference) == expected


def test_a_hub_image_is_asked_for_by_digest_when_pinned_and_named_as_users_write_it():
    assert HubImage("library/debian", "testing-slim", "").short_name == "debian:testing-slim"
    pinned = HubImage("docker/dockerfile", "1", DIGEST)
    assert (pinned.reference, pinned.short_name) == (DIGEST, f"docker/dockerfile:1@{DIGEST}")


@pytest.mark.parametrize(
    ("image", "suite"),
    [
        (HubImage("library/debian", "testing-slim", ""), "testing"),
        (HubImage("library/debian", "bookworm", ""), "bookworm"),
        (HubImage("library/debian", "forky-slim", ""), "forky"),
        (HubImage("library/ubuntu", "noble", ""), None),
        (HubImage("library/debian", "12.5", ""), None),
    ],
)
def test_debian_images_map_to_suites_the_way_base_images_do(image, suite):
    assert debian_suite(image) == suite


@pytest.mark.parametrize(
    ("tag", "served"),
    [
        ("1", True),
        ("1.11-labs", True),
        ("1.27", True),
        ("1.27.3", True),
        ("1-labs", True),
        ("latest", True),
        ("labs", True),
        ("1.28", False),
        ("2", False),
        ("master", False),
        ("1.11-rc", False),
    ],
)
def test_the_frontend_answers_1x_tags_up_to_its_syntax_version(tag, served):
    assert frontend_serves(tag, "1.27") is served


def write(root: Path, name: str, text: str) -> None:
    (root / name).parent.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text)


def test_a_plan_needs_its_syntax_frontends_and_its_resolved_base_images(tmp_path: Path):
    write(
        tmp_path,
        "docker/Dockerfile.system",
        "# syntax = docker/dockerfile:1.11-labs\nARG sys_name=debian\nARG sys_version=trixie-slim\n"
        "FROM ${sys_name}:${sys_version} AS system\nFROM system\nFROM scratch\n",
    )
    write(tmp_path, "docker/Dockerfile.base", "# syntax=docker/dockerfile:1\nFROM input\nRUN true\n")
    write(tmp_path, "docker/Dockerfile.tool", "FROM input\nFROM ${unknown}\n")
    plan = {
        "target": {
            "system--debian--testing-slim": {
                "context": ".",
                "dockerfile": "docker/Dockerfile.system",
                "args": {"sys_name": "debian", "sys_version": "testing-slim"},
            },
            "system--debian--bookworm-slim": {
                "context": ".",
                "dockerfile": "docker/Dockerfile.system",
                "args": {"sys_version": "bookworm-slim"},
            },
            "base--debian--testing-slim": {
                "context": ".",
                "dockerfile": "docker/Dockerfile.base",
                "contexts": {"input": "target:system--debian--testing-slim"},
            },
            "tool": {
                "context": "docker",
                "dockerfile": "Dockerfile.tool",
                "contexts": {"input": "docker-image://debian:sid-slim"},
            },
            "inline": {"dockerfile-inline": "FROM alpine\n"},
        }
    }
    assert images_needed(plan, tmp_path) == [
        ImageUse("docker/Dockerfile.base", 1, "# syntax=", "docker/dockerfile:1"),
        ImageUse("docker/Dockerfile.system", 1, "# syntax=", "docker/dockerfile:1.11-labs"),
        ImageUse("docker/Dockerfile.system", 4, "FROM", "debian:bookworm-slim"),
        ImageUse("docker/Dockerfile.system", 4, "FROM", "debian:testing-slim"),
        ImageUse("docker/Dockerfile.tool", 1, "context input", "debian:sid-slim"),
    ]


def test_buildkit_syntax_arg_replaces_the_syntax_line(tmp_path: Path):
    write(tmp_path, "Dockerfile", "# syntax=docker/dockerfile:1\nFROM scratch\n")
    plan = {"target": {"t": {"context": ".", "args": {"BUILDKIT_SYNTAX": "docker/dockerfile:1.10"}}}}
    assert images_needed(plan, tmp_path) == [
        ImageUse("Dockerfile", 1, "arg BUILDKIT_SYNTAX", "docker/dockerfile:1.10")
    ]


def test_debian_suites_and_dockerfile_frontends_can_be_made():
    debian = supply_for(ImageUse("D", 4, "FROM", "debian:testing-slim"))
    frontend = supply_for(ImageUse("D", 1, "# syntax=", "docker.io/docker/dockerfile:1.11-labs"))
    assert debian == Supply(HubImage("library/debian", "testing-slim", ""), suite="testing")
    assert frontend == Supply(HubImage("docker/dockerfile", "1.11-labs", ""), frontend=True)


@pytest.mark.parametrize(
    ("use", "reason"),
    [
        (ImageUse("D", 1, "FROM", "alpine:3.20"), "only debian:<suite>[-slim] base images are made here"),
        (ImageUse("D", 1, "# syntax=", "tonistiigi/dockerfile:x"), "only docker/dockerfile frontends"),
        (ImageUse("D", 1, "FROM", "ghcr.io/o/i:1"), "only Docker Hub images are served"),
        (ImageUse("D", 1, "FROM", f"debian:trixie@{DIGEST}"), "pinned to a digest the local registry"),
    ],
)
def test_what_cannot_be_made_says_why(use, reason):
    how = supply_for(use)
    assert isinstance(how, str)
    assert how.startswith(reason)


def test_a_use_names_its_dockerfile_line_directive_and_image():
    use = ImageUse("docker/Dockerfile.system", 1, "# syntax=", "docker/dockerfile:1.99")
    assert use.where() == "docker/Dockerfile.system:1: # syntax= docker/dockerfile:1.99"
