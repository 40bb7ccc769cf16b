"""`inv lint` against the real engine: the repository, bake checks on a real builder, lint.pin."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from enginekit import docker, inv

pytestmark = pytest.mark.engine

# A registry reachable here: bakehouse's registry-free mode serves the base images from it.
LOCAL_REGISTRY_IMAGE = "127.0.0.1:5000/library/debian:trixie-slim"


@pytest.fixture
def lint_builder() -> Iterator[str]:
    """A docker-container builder made the bakehouse way (in registry-free mode: local BuildKit image
    and the local registry as docker.io mirror), removed with its cache afterwards."""
    name = f"lc-lint-{uuid.uuid4().hex[:8]}"
    inv("builder.create", "--name", name)
    yield name
    docker("buildx", "rm", name, check=False)


def write_tree(tree: Path, dockerfile: str, tag: str) -> None:
    tree.mkdir(parents=True, exist_ok=True)
    (tree / "Dockerfile").write_text(dockerfile)
    (tree / "docker-bake.hcl").write_text(
        'group "default" {\n  targets = ["app"]\n}\n'
        'target "app" {\n  dockerfile = "Dockerfile"\n  output = ["type=docker"]\n'
        f'  tags = ["{tag}"]\n}}\n'
    )


def test_the_repository_is_clean():
    result = inv("lint", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "bake: 3 files checked, 0 findings" in result.stdout
    # ruff and mypy (strict) both ran over the whole Python tree and found nothing.
    for tool in ("ruff", "mypy"):
        summary = re.search(rf"^{tool}: (\d+) files checked, 0 findings$", result.stdout, re.MULTILINE)
        assert summary and int(summary[1]) > 50, result.stdout


def test_the_engine_builder_cannot_run_checks_and_that_is_not_a_failure():
    result = inv("lint", "--builder", "default", "--format", "json", check=False)
    tools = {row["tool"]: row for row in json.loads(result.stdout)["tools"]}
    assert (
        tools["bake-check"]["skipped"]
        == "builder default can't run checks (its Dockerfile frontend is too old)"
    )
    assert tools["bake-check"]["findings"] == 0


def test_bake_checks_report_findings_and_never_load_images(lint_builder, tmp_path):
    tag = f"lc-lint-probe-{uuid.uuid4().hex[:8]}:latest"
    write_tree(tmp_path, "FROM debian:trixie-slim as build\nRUN true\n", tag)
    result = inv(
        "lint", "--path", str(tmp_path), "--bake-file", "docker-bake.hcl", "--builder", lint_builder,
        "--format", "json", check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert [(f["path"], f["line"], f["tool"], f["rule"]) for f in findings] == [
        ("Dockerfile", 1, "bake-check", "FromAsCasing")
    ]
    # With --call check buildx still runs a target's exporter; bakehouse turns outputs into cacheonly.
    assert docker("image", "inspect", tag, check=False).returncode != 0


def test_another_trees_bake_files_are_found_printed_and_checked(lint_builder, tmp_path):
    # The homeserver layout: docker/bake.hcl with contexts relative to the tree's root, next to a
    # Terraform .hcl that is not a bake file; no --bake-file.
    tag = f"lc-lint-probe-{uuid.uuid4().hex[:8]}:latest"
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "Dockerfile").write_text("FROM debian:trixie-slim as build\nRUN true\n")
    (tmp_path / "docker" / "bake.hcl").write_text(
        'group "default" {\n  targets = ["app"]\n}\n'
        'target "app" {\n  context = "docker"\n  output = ["type=docker"]\n'
        f'  tags = ["{tag}"]\n}}\n'
    )
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "main.hcl").write_text('resource "null_resource" "x" {\n}\n')
    result = inv("lint", "--path", str(tmp_path), "--builder", lint_builder, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    # bake --print resolved the found file: the check ran on the Dockerfile its target builds.
    assert [line for line in lines if "[bake" in line] == [
        "docker/Dockerfile:1: warning: 'as' and 'FROM' keywords' casing do not match"
        " [bake-check FromAsCasing]"
    ]
    assert "bake: 1 file checked, 0 findings (found docker/bake.hcl)" in lines
    assert "bake-check: 1 file checked, 1 finding" in lines
    assert docker("image", "inspect", tag, check=False).returncode != 0


def test_an_invalid_matrix_value_is_a_bake_finding_with_file_and_line(tmp_path):
    tag = f"lc-lint-probe-{uuid.uuid4().hex[:8]}:latest"
    write_tree(tmp_path, "FROM debian:trixie-slim\n", tag)
    bake = tmp_path / "docker-bake.hcl"
    # Valid for the default vector, invalid for the full matrix (which adds bookworm-slim).
    bake.write_text(
        'variable "sys_versions" {\n  default = "[\\"trixie-slim\\"]"\n  validation {\n'
        '    condition = !contains(jsondecode(sys_versions), "bookworm-slim")\n'
        '    error_message = "bookworm-slim is not supported"\n  }\n}\n' + bake.read_text()
    )
    result = inv("lint", "--path", str(tmp_path), "--bake-file", "docker-bake.hcl", check=False)
    assert result.returncode == 1
    [finding] = [line for line in result.stdout.splitlines() if "[bake " in line]
    assert finding.startswith("docker-bake.hcl:4:")
    assert "bookworm-slim is not supported" in finding
    assert "print-full-matrix" in finding


def test_pin_writes_digests_from_a_reachable_registry_and_says_when_none_is(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(f"FROM {LOCAL_REGISTRY_IMAGE} AS base\nFROM alpine:3.20\n")
    result = inv("lint.pin", "--path", str(tmp_path), check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == "bakehouse: 1 image(s) could not be resolved; 1 line(s) pinned"
    assert "unresolved: alpine:3.20:" in result.stdout
    first, second = dockerfile.read_text().splitlines()
    assert first.startswith(f"FROM {LOCAL_REGISTRY_IMAGE}@sha256:") and first.endswith(" AS base")
    assert second == "FROM alpine:3.20"

    dockerfile.write_text("FROM alpine:3.20\n")
    nothing = inv("lint.pin", "--path", str(tmp_path), check=False)
    assert nothing.returncode == 1
    assert nothing.stderr.startswith("bakehouse: no registry reachable for 1 image(s); nothing written")
    assert dockerfile.read_text() == "FROM alpine:3.20\n"
