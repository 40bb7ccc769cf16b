"""`inv lint`'s task-layer helpers that need neither an engine nor a tool run: the tree, its bake
files and why they can't be used, the full-matrix overrides, bake findings, pinning with the
configured allow-list, and how a tool's exit status is read."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tasks.cli.context import settings
from tasks.lint.bake_tree import (
    BakeTree,
    _bake_error_finding,
    _builder_for_checks,
    _unusable_reason,
    full_matrix_overrides,
    run_bake_checks,
    run_bake_definition,
)
from tasks.lint.files import BakeFiles
from tasks.lint.findings import Finding
from tasks.lint.pin_fix import pin_allowed, resolved_plan, run_pins, unpinned_references, write_pins
from tasks.lint.tools import _tool_output, venv_tool
from tasks.lint.tree import excluded_patterns, tree_root
from tasks.shared.errors import BAD_INPUT, BakehouseError
from tasks.shared.process import REPO_ROOT, Completed

DIGEST = "sha256:" + "a" * 64


def test_tree_root_is_the_repository_or_an_existing_directory(tmp_path):
    assert tree_root(None, REPO_ROOT) == REPO_ROOT
    assert tree_root(str(tmp_path), REPO_ROOT) == tmp_path.resolve()
    with pytest.raises(BakehouseError) as caught:
        tree_root(str(tmp_path / "missing"), REPO_ROOT)
    assert caught.value.code == BAD_INPUT
    assert str(caught.value) == f"--path {tmp_path / 'missing'}: not a directory"


def test_configured_excludes_apply_to_this_repository_only(make_settings, tmp_path):
    c = make_settings(lint={"exclude": ["tests/fixtures", "build"]})
    assert excluded_patterns(c, REPO_ROOT) == ["tests/fixtures", "build"]
    assert excluded_patterns(c, tmp_path) == []


def test_the_lint_settings_are_the_lint_section(make_settings):
    assert make_settings(lint={"check_builder": "checker"}).lint.check_builder == "checker"


def test_full_matrix_overrides_select_every_allowed_value(make_settings):
    assert full_matrix_overrides(make_settings()) == [
        'sys_names=["debian"]',
        'sys_versions=["trixie-slim", "bookworm-slim"]',
        'feat_sets=["default", "postgres", "sentry"]',
        'sys_archs=["amd64", "arm64"]',
    ]


def test_without_a_full_matrix_the_bake_matrix_is_used(make_context):
    context = make_context(bake={"matrix": {"sys_names": ["debian", "ubuntu"]}})
    del context.config.bakehouse.lint["full_matrix"]
    c = settings(context)
    assert full_matrix_overrides(c) == [
        'sys_names=["debian", "ubuntu"]',
        'sys_versions=["trixie-slim"]',
        'feat_sets=["default"]',
        'sys_archs=["amd64"]',
    ]


def test_named_bake_files_are_split_into_present_and_missing(make_settings, tmp_path):
    (tmp_path / "docker-bake.hcl").write_text("")
    tree = BakeTree.of(make_settings(), tmp_path, ["docker-bake.hcl", "extra.hcl"])
    assert tree == BakeTree(tmp_path, ("docker-bake.hcl",), ("extra.hcl",), configured=False)


def test_this_repository_uses_the_configured_bake_files(make_settings, make_context):
    tree = BakeTree.of(make_settings(), REPO_ROOT, [])
    assert tree.configured and not tree.found and tree.missing == ()
    assert tree.files == tuple(make_context().config.bakehouse.bake.files)


def test_another_tree_with_every_configured_file_is_linted_like_this_one(make_settings, tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "bake.hcl").write_text("")
    tree = BakeTree.of(make_settings(bake={"files": ["images/bake.hcl"]}), tmp_path, [])
    assert tree == BakeTree(tmp_path, ("images/bake.hcl",), (), configured=True)


def test_the_bake_command_names_each_file(tmp_path):
    tree = BakeTree(tmp_path, ("a.hcl", "b.hcl"), (), configured=False)
    assert list(tree.command("--print", "app")) == [
        "docker", "buildx", "bake", "--print", "app", "-f", "a.hcl", "-f", "b.hcl",
    ]  # fmt: skip


def test_no_bake_files_found_says_where_it_looked(tmp_path):
    reason = _unusable_reason(tmp_path, BakeFiles((), ()))
    assert reason == (
        f"no bake files found under {tmp_path} (looked for docker-bake.* and any *.hcl or *.json defining"
        " a target, outside testdata/, third_party/, vendor/); pass --bake-file"
    )


def test_clashing_bake_files_are_named_in_bake_order(tmp_path):
    found = BakeFiles((), (("app", ("b/docker-bake.override.hcl", "a/docker-bake.hcl")),))
    assert _unusable_reason(tmp_path, found) == (
        "bake files in different directories define the same target/group names (app):"
        " a/docker-bake.hcl, b/docker-bake.override.hcl; bake would merge them into one definition,"
        " so pass --bake-file (repeatable) to choose"
    )


def test_usable_bake_files_have_no_reason(tmp_path):
    assert _unusable_reason(tmp_path, BakeFiles(("docker-bake.hcl",), ())) == ""


def test_a_bake_error_with_a_position_in_a_linted_file_points_there():
    message = "images/bake.hcl:12,5-18: Invalid value; sys_version must be one of …"
    finding = _bake_error_finding(message, ("images/bake.hcl",), "print-default")
    assert finding == Finding("images/bake.hcl", 12, 5, "bake", "print-default", "error", message)


def test_a_bake_error_without_a_known_position_points_at_the_first_file():
    message = "other.hcl:3,1-2: Unsupported block"
    assert _bake_error_finding(message, ("a.hcl", "b.hcl"), "check") == (
        Finding("a.hcl", 1, 0, "bake", "check", "error", message)
    )
    assert _bake_error_finding("failed to solve", ("a.hcl",), "check").line == 1


def test_missing_bake_files_are_findings_and_nothing_is_resolved(make_settings, tmp_path):
    tree = BakeTree(tmp_path, ("a.hcl",), ("gone.hcl",), configured=False)
    result, default_plan, printed = run_bake_definition(make_settings(), tree)
    assert (default_plan, printed) == ({}, {})
    assert result.files_checked == 1
    assert result.findings == [
        Finding(
            "gone.hcl",
            1,
            0,
            "bake",
            "missing-file",
            "error",
            "gone.hcl is a bake file of this tree but missing",
        )
    ]


def test_bake_checks_are_skipped_when_the_default_targets_do_not_resolve(make_settings, tmp_path):
    result = run_bake_checks(make_settings(), BakeTree(tmp_path, ("a.hcl",), (), False), {}, None)
    assert result.skipped == "the default targets don't resolve (see bake)"
    assert result.findings == []


def test_the_check_builder_is_the_option_else_lint_check_builder_else_the_builder(make_settings):
    c = make_settings(lint={"check_builder": "checker"}, builder={"name": "bakehouse-ci"})
    assert _builder_for_checks(c, "mine") == "mine"
    assert _builder_for_checks(c, None) == "checker"
    assert _builder_for_checks(make_settings(builder={"name": "bakehouse-ci"}), None) == "bakehouse-ci"


# --- digest pinning ---------------------------------------------------------------------------

DOCKERFILE = (
    f"ARG BASE=alpine:3.20\nFROM ${{BASE}}\nFROM debian:trixie-slim AS d\nFROM alpine:3.20@{DIGEST}\n"
)


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "Dockerfile.app").write_text(DOCKERFILE)
    return tmp_path


def test_pin_allowed_is_the_configured_list(make_settings):
    assert pin_allowed(make_settings()) == ["debian:*", "input"]
    # A list setting can't be null (config_sources refuses such a file before invoke reads it).
    with pytest.raises(BakehouseError) as caught:
        pin_allowed(make_settings(lint={"pin_allowed": None}))
    assert str(caught.value) == "bakehouse.lint.pin_allowed: expected a list, got nothing (null)"


def test_unpinned_references_skip_allowed_and_pinned_images(make_settings, tree):
    [issue] = unpinned_references(make_settings(), tree, ["images/Dockerfile.app"], {})
    assert (issue.line, issue.reference, issue.literal, issue.detail) == (
        2, "alpine:3.20", False, "expanded from ${BASE}",
    )  # fmt: skip


def test_without_an_allow_list_every_unpinned_image_is_reported(make_settings, tree):
    issues = unpinned_references(make_settings(lint={"pin_allowed": []}), tree, ["images/Dockerfile.app"], {})
    assert [(issue.line, issue.reference) for issue in issues] == [
        (2, "alpine:3.20"),
        (3, "debian:trixie-slim"),
    ]


def test_the_build_args_bake_passes_are_what_is_checked(make_settings, tree):
    printed = {
        "target": {
            "app": {
                "context": ".",
                "dockerfile": "images/Dockerfile.app",
                "args": {"BASE": "debian:bookworm"},
            },
            "tool": {"context": ".", "dockerfile": "images/Dockerfile.app", "args": {"BASE": "busybox:1"}},
        }
    }
    result = run_pins(make_settings(), tree, ["images/Dockerfile.app"], printed)
    assert result.files_checked == 1
    assert [finding.message for finding in result.findings] == [
        "FROM image busybox:1 is not pinned by digest (@sha256:…) (from build args of bake target tool)"
    ]


# --- the tools ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [0, 1])
def test_a_tool_exiting_0_or_1_has_output_to_parse(status):
    assert _tool_output(Completed(("shellcheck",), status, "[]", ""), "shellcheck") == "[]"


def test_a_tool_that_failed_to_run_is_an_error_with_its_reason():
    with pytest.raises(BakehouseError) as caught:
        _tool_output(Completed(("hadolint",), 2, "", "hadolint: invalid config\n"), "hadolint")
    assert str(caught.value) == "hadolint failed to run: hadolint: invalid config"


def test_tools_come_from_the_running_venv():
    assert venv_tool("ruff") == str(Path(sys.executable).parent / "ruff")
    with pytest.raises(BakehouseError) as caught:
        venv_tool("no-such-linter")
    assert (
        str(caught.value) == f"no-such-linter not found next to {sys.executable}; install it into that venv"
    )


def test_pins_are_written_where_the_reference_is_literal(make_settings, tmp_path, capsys):
    (tmp_path / "Dockerfile").write_text(
        "ARG BASE_IMAGE=busybox:1\nFROM alpine:3.20\nFROM ${BASE_IMAGE}\nFROM nginx:1\n"
    )
    issues = unpinned_references(make_settings(), tmp_path, ["Dockerfile"], {})
    digests = {"alpine:3.20": DIGEST, "busybox:1": DIGEST}  # no digest found for nginx:1
    assert write_pins(tmp_path, issues, digests, dry_run=False) == 2
    assert (tmp_path / "Dockerfile").read_text() == (
        f"ARG BASE_IMAGE=busybox:1@{DIGEST}\nFROM alpine:3.20@{DIGEST}\nFROM ${{BASE_IMAGE}}\nFROM nginx:1\n"
    )
    out = capsys.readouterr().out.splitlines()
    assert f"Dockerfile:1: busybox:1 -> busybox:1@{DIGEST}" in out
    assert f"Dockerfile:2: alpine:3.20 -> alpine:3.20@{DIGEST}" in out
    assert not any(line.startswith("Dockerfile:4") for line in out)


def test_a_pin_lands_on_the_line_the_reader_counted(make_settings, tmp_path):
    # A form feed is no line break for BuildKit (nor for the reader), though str.splitlines breaks there.
    (tmp_path / "Dockerfile").write_text("FROM input\nLABEL note=a\x0cb\nFROM alpine:3.20\n")
    issues = unpinned_references(make_settings(), tmp_path, ["Dockerfile"], {})
    assert write_pins(tmp_path, issues, {"alpine:3.20": DIGEST}, dry_run=False) == 1
    pinned = f"FROM input\nLABEL note=a\x0cb\nFROM alpine:3.20@{DIGEST}\n"
    assert (tmp_path / "Dockerfile").read_text() == pinned


def test_a_dry_run_says_what_it_would_pin_and_changes_nothing(make_settings, tmp_path, capsys):
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.20\n")
    issues = unpinned_references(make_settings(), tmp_path, ["Dockerfile"], {})
    assert write_pins(tmp_path, issues, {"alpine:3.20": DIGEST}, dry_run=True) == 1
    assert (tmp_path / "Dockerfile").read_text() == "FROM alpine:3.20\n"
    assert capsys.readouterr().out == f"Dockerfile:1: alpine:3.20 -> alpine:3.20@{DIGEST} (dry run)\n"


def test_a_reference_from_build_args_is_left_to_where_its_value_is_set(make_settings, tree, capsys):
    printed = {
        "target": {"tool": {"context": ".", "dockerfile": "images/Dockerfile.app", "args": {"BASE": "x:1"}}}
    }
    issues = unpinned_references(make_settings(), tree, ["images/Dockerfile.app"], printed)
    assert write_pins(tree, issues, {"x:1": DIGEST}, dry_run=False) == 0
    assert (tree / "images" / "Dockerfile.app").read_text() == DOCKERFILE
    assert capsys.readouterr().out == (
        "images/Dockerfile.app:2: FROM image x:1 is not pinned by digest (@sha256:…) (from build args of bake"
        " target tool): pin it where the value is set\n"
    )


def test_pinning_without_usable_bake_files_reads_the_dockerfiles_alone(make_settings, tmp_path):
    c = make_settings()
    assert resolved_plan(c, BakeTree(tmp_path, (), (), configured=False)) == {}
    assert resolved_plan(c, BakeTree(tmp_path, ("a.hcl",), ("b.hcl",), configured=False)) == {}
