"""The bake definition check's pure parts: bindings from --print, --call check findings, overrides."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tasks.lint.bake_checks import (
    bindings_from_print,
    check_overrides,
    checks_unsupported,
    findings_from_check,
    full_matrix_variables,
    unpulled_frontend,
)
from tasks.lint.pin_rule import BuildBinding

# Shaped like `docker buildx bake --print` of this repository's tree (trimmed).
PRINTED: dict[str, Any] = {
    "group": {"default": {"targets": ["install"]}},
    "target": {
        "system--debian--trixie-slim": {
            "context": "images",
            "dockerfile": "Dockerfile.system",
            "args": {"sys_name": "debian", "sys_version": "trixie-slim"},
            "output": [{"type": "cacheonly"}],
        },
        "install--debian--trixie-slim--default": {
            "context": "images",
            "dockerfile": "Dockerfile.install",
            "contexts": {
                "input": "target:base--debian--trixie-slim",
                "deps": "target:deps--debian--trixie-slim",
            },
            "tags": ["bakehouse/install--debian--trixie-slim--default:latest"],
            "output": [{"type": "docker", "compression": "zstd"}],
        },
        "remote": {"context": "https://github.com/o/r.git", "dockerfile": "Dockerfile"},
        "inline": {"context": ".", "dockerfile-inline": "FROM scratch\n"},
    },
}


def test_bindings_group_targets_by_dockerfile(tmp_path):
    bindings = bindings_from_print(PRINTED, tmp_path)
    assert set(bindings) == {"images/Dockerfile.system", "images/Dockerfile.install"}
    assert bindings["images/Dockerfile.system"] == [
        BuildBinding("system--debian--trixie-slim", {"sys_name": "debian", "sys_version": "trixie-slim"}, {})
    ]
    assert bindings["images/Dockerfile.install"][0].contexts["deps"] == "target:deps--debian--trixie-slim"


def test_full_matrix_overrides_are_plural_json_arrays():
    overrides = full_matrix_variables(
        {"sys_versions": ["trixie-slim", "bookworm-slim"], "feat_sets": ["default"]}
    )
    assert overrides == ['sys_versions=["trixie-slim", "bookworm-slim"]', 'feat_sets=["default"]']


def test_check_overrides_neutralise_outputs_and_target_contexts():
    assert check_overrides(PRINTED) == [
        "--set=*.output=type=cacheonly",
        "--set=install--debian--trixie-slim--default.contexts.deps=images",
        "--set=install--debian--trixie-slim--default.contexts.input=images",
    ]


# What buildx 0.29 prints for `--call check,format=json` (BuildKit 0.33 frontend), trimmed.
PARSE_ERROR = "dockerfile parse error on line 2: unknown instruction: RUNN (did you mean RUN?)"
CHECK_OUTPUT = {
    "group": {"default": {"targets": ["app", "broken"]}},
    "target": {
        "app": {
            "build": {"context": ".", "dockerfile": "Dockerfile"},
            "check": {
                "sources": [{"filename": "Dockerfile", "data": "...", "language": "Dockerfile"}],
                "warnings": [
                    {
                        "ruleName": "FromAsCasing",
                        "description": "The 'as' keyword should match the case of the 'from' keyword",
                        "url": "https://docs.docker.com/go/dockerfile/rule/from-as-casing/",
                        "detail": "'as' and 'FROM' keywords' casing do not match",
                        "location": {"ranges": [{"start": {"line": 1}, "end": {"line": 1}}]},
                    }
                ],
            },
        },
        "broken": {
            "build": {"context": "sub", "dockerfile": "Dockerfile.broken"},
            "check": {
                "buildError": {
                    "message": PARSE_ERROR,
                    "location": {"ranges": [{"start": {"line": 2}, "end": {"line": 2}}]},
                },
                "error": PARSE_ERROR + "\nDockerfile:2\n--------------------\n...",
                "warnings": None,
            },
        },
    },
}


def test_check_warnings_and_build_errors_become_findings(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM debian:trixie-slim as build\n")
    findings = findings_from_check(json.dumps(CHECK_OUTPUT), tmp_path, {})
    assert [(f.path, f.line, f.rule, f.severity) for f in findings] == [
        ("Dockerfile", 1, "FromAsCasing", "warning"),
        ("sub/Dockerfile.broken", 2, "error", "error"),
    ]
    assert findings[0].message == "'as' and 'FROM' keywords' casing do not match"
    assert findings[1].message.endswith("(did you mean RUN?) (target broken)")


def test_no_targets_checked_means_no_findings(tmp_path):
    assert findings_from_check("", tmp_path, {}) == []


def test_an_old_frontend_is_recognised_as_unable_to_check():
    # The engine's own builder (Docker 26.1) with --call check, as seen here.
    stderr = (
        "#3 resolve image config for docker-image://docker.io/docker/dockerfile:1.8.1@sha256:e87c...\n"
        "ERROR: failed to solve: unsupported request frontend.lint: unsupported request frontend.lint\n"
    )
    assert checks_unsupported(stderr)
    assert not checks_unsupported("ERROR: failed to solve: dockerfile parse error on line 2")


# What BuildKit v0.33.1 printed here for `--call check` of a Dockerfile whose frontend it can't pull.
UNPULLED = (
    "#2 resolve image config for docker-image://docker.io/docker/dockerfile:1.99\n"
    "#2 ERROR: docker.io/docker/dockerfile:1.99: not found\n"
    "ERROR: failed to build: failed to solve: failed to resolve source metadata for "
    "docker.io/docker/dockerfile:1.99: docker.io/docker/dockerfile:1.99: not found\n"
)


def test_an_unpullable_syntax_frontend_is_named_with_its_line(tmp_path: Path):
    (tmp_path / "docker").mkdir()
    dockerfile = tmp_path / "docker" / "Dockerfile.system"
    dockerfile.write_text("# syntax = docker/dockerfile:1.99\nFROM scratch\n")
    plan = {"target": {"system": {"context": ".", "dockerfile": "docker/Dockerfile.system"}}}
    named = unpulled_frontend(UNPULLED, plan, tmp_path)
    assert named == "docker/Dockerfile.system:1 (# syntax=docker/dockerfile:1.99)"
    # Another frontend failing (the builder's own, for checks) is not the tree's syntax line.
    other = UNPULLED.replace("1.99", "1.7")
    assert unpulled_frontend(other, plan, tmp_path) == ""
    assert checks_unsupported(other)
