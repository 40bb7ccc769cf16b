"""Finding another tree's bake files (`inv lint --path DIR` without --bake-file)."""

from __future__ import annotations

import json

import pytest

from tasks.lint.files import bake_blocks, bake_file_order, find_bake_files, walk_tree
from tasks.lint.findings import ToolResult

BAKE = 'group "default" {\n  targets = ["app"]\n}\n\ntarget "app" {\n  dockerfile = "Dockerfile"\n}\n'
JSON_BAKE = json.dumps({"target": {"app": {"context": "."}}})


def found(root, exclude=()):
    return find_bake_files(root, walk_tree(root, exclude))


def test_docker_bake_hcl_at_the_root_is_found(tmp_path, write_tree):
    write_tree(tmp_path, {"docker-bake.hcl": BAKE, "Dockerfile": "FROM scratch\n", "README.md": "hi\n"})
    assert found(tmp_path).files == ("docker-bake.hcl",)


def test_bake_files_in_a_docker_subfolder_with_their_variables(tmp_path, write_tree):
    # The homeserver layout: docker/bake.hcl, with variables and functions in a file of their own.
    write_tree(
        tmp_path,
        {
            "docker/bake.hcl": BAKE,
            "docker/variables.hcl": 'variable "tag" {\n  default = "latest"\n}\n',
            "docker/Dockerfile": "FROM scratch\n",
            "config/settings.hcl": 'variable "unrelated" {\n  default = "1"\n}\n',
        },
    )
    # Variables only belong to a definition in their own directory.
    assert found(tmp_path).files == ("docker/bake.hcl", "docker/variables.hcl")


def test_terraform_and_other_hcl_are_not_bake_files(tmp_path, write_tree, terraform_hcl):
    write_tree(
        tmp_path,
        {
            "infra/main.hcl": terraform_hcl,
            "infra/vars.hcl": 'variable "region" {\n  default = "x"\n}\n',
            "docker/mixed.hcl": BAKE + terraform_hcl,
            "packer/image.pkr.hcl": 'source "docker" "debian" {\n  image = "debian"\n}\n',
            ".terraform.lock.hcl": 'provider "registry.terraform.io/hashicorp/aws" {\n}\n',
        },
    )
    assert found(tmp_path).files == ()
    assert bake_blocks("infra/main.hcl", terraform_hcl) is None
    assert bake_blocks("x.hcl", BAKE) == [("group", "default"), ("target", "app")]


def test_nested_blocks_are_skipped_and_bare_labels_are_read(tmp_path):
    text = (
        'variable "v" {\n  default = "a"\n  validation {\n    condition = true\n  }\n}\n'
        'target app {\n  matrix = {\n    x = ["1"]\n  }\n}\n'
    )
    assert bake_blocks("bake.hcl", text) == [("variable", "v"), ("target", "app")]


def test_excluded_skipped_and_vendored_directories(tmp_path, write_tree):
    write_tree(
        tmp_path,
        {
            "node_modules/pkg/docker-bake.hcl": BAKE,
            ".git/docker-bake.hcl": BAKE,
            "vendor/github.com/x/y/docker-bake.hcl": BAKE,
            "third_party/z/docker-bake.hcl": BAKE,
            "pkg/testdata/docker-bake.hcl": BAKE,
            "build/generated/docker-bake.hcl": BAKE,
            "images/bake.hcl": BAKE,
        },
    )
    assert found(tmp_path, exclude=["build"]).files == ("images/bake.hcl",)


def test_only_json_files_defining_targets_are_bake_files(tmp_path, write_tree):
    write_tree(
        tmp_path,
        {
            "docker-bake.json": JSON_BAKE,
            "package.json": json.dumps({"name": "x", "version": "1.0.0"}),
            "tsconfig.json": json.dumps({"compilerOptions": {"target": "es2020"}}),
            "broken.json": '{"target": ',
        },
    )
    assert found(tmp_path).files == ("docker-bake.json",)


def test_bake_order_base_files_then_others_then_overrides(tmp_path, write_tree):
    write_tree(
        tmp_path,
        {
            name: JSON_BAKE if name.endswith(".json") else BAKE
            for name in (
                "docker-bake.override.hcl",
                "docker-bake.hcl",
                "zz.hcl",
                "docker-bake.json",
                "ci.override.hcl",
                "docker-bake.override.json",
                "aa.hcl",
            )
        },
    )
    assert found(tmp_path).files == (
        "docker-bake.json",
        "docker-bake.hcl",
        "aa.hcl",
        "zz.hcl",
        "docker-bake.override.json",
        "docker-bake.override.hcl",
        "ci.override.hcl",
    )


def test_directories_are_combined_when_their_names_differ(tmp_path, write_tree):
    write_tree(
        tmp_path,
        {
            "docker-bake.hcl": BAKE,
            "extra/more.hcl": 'target "tool" {\n  inherits = ["app"]\n}\n',
        },
    )
    assert found(tmp_path).files == ("docker-bake.hcl", "extra/more.hcl")


def test_unrelated_trees_defining_the_same_names_clash(tmp_path, write_tree):
    # bake would merge them silently (the later "app" and "default" win), so nothing is picked.
    write_tree(
        tmp_path,
        {
            "a/docker-bake.hcl": BAKE,
            "b/docker-bake.hcl": BAKE.replace("Dockerfile", "Dockerfile.b"),
            "c/docker-bake.hcl": 'target "other" {\n}\n',
        },
    )
    result = found(tmp_path)
    assert result.files == ()
    assert result.clashes == (
        ("app", ("a/docker-bake.hcl", "b/docker-bake.hcl")),
        ("default", ("a/docker-bake.hcl", "b/docker-bake.hcl")),
    )


def test_a_tree_without_bake_files_has_none_and_no_clash(tmp_path, write_tree):
    write_tree(tmp_path, {"Dockerfile": "FROM scratch\n", "compose.yaml": "services: {}\n"})
    assert found(tmp_path).files == ()
    assert found(tmp_path).clashes == ()


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        ("docker-bake.hcl", "docker-bake.override.hcl"),
        ("docker-bake.json", "docker-bake.hcl"),
        ("docker-bake.override.hcl", "docker/bake.hcl"),
    ],
)
def test_bake_file_order_puts_json_before_hcl_and_the_root_before_overrides_and_subfolders(earlier, later):
    assert bake_file_order(earlier) < bake_file_order(later)


def test_the_summary_line_names_the_files_found():
    result = ToolResult("bake", files_checked=1, note="found docker/bake.hcl")
    assert result.summary() == "bake: 1 file checked, 0 findings (found docker/bake.hcl)"
