"""`bakehouse init`'s logic: dimensions from bake's variable listing, the default targets, the file it
writes (valid settings), and its refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml

from tasks.bake.matrix import resolve
from tasks.init.discover import (
    Dimension,
    TreeFindings,
    as_dimension,
    bake_files,
    config_target,
    defined_blocks,
    in_declared_order,
    render_config,
    summary_lines,
)
from tasks.shared import config_files
from tasks.shared.errors import BAD_INPUT, BakehouseError
from tasks.shared.settings import DEFAULTS, Settings

FINDINGS = TreeFindings(
    files=("docker/bake.hcl", "docker/extra.hcl"),
    dimensions=(
        Dimension("distros", ("trixie-slim", "bookworm-slim"), "Debian images"),
        Dimension("flavors", ("plain",)),
    ),
    groups=("default", "suite"),
    targets=("app", "base", "smoke"),
    entitlements=("network.host", "security.insecure"),
)


@pytest.mark.parametrize(
    ("value", "values"),
    [
        ('["a", "b"]', ("a", "b")),
        (' ["x"]', ("x",)),
        ("[]", None),  # bakehouse refuses an empty dimension: not one
        ('["a", 1]', None),
        ('["a", ""]', None),
        ("[not json", None),
        ("a,b", None),
        ('{"a": 1}', None),
        (None, None),
    ],
)
def test_a_variable_is_a_dimension_when_its_default_is_a_json_array_of_strings(value, values):
    found = as_dimension({"name": "dims", "description": "d", "value": value})
    assert (found.values if found else None) == values


def test_default_targets_are_bakes_default_else_the_groups_else_the_targets():
    assert FINDINGS.default_targets == ("default",)
    no_default = TreeFindings(("b.hcl",), (), ("suite", "all"), ("app",), ())
    assert no_default.default_targets == ("suite", "all")
    assert TreeFindings(("b.hcl",), (), (), ("app", "smoke"), ()).default_targets == ("app", "smoke")
    assert TreeFindings(("b.hcl",), (), (), ("default", "x"), ()).default_targets == ("default",)


def test_the_written_config_holds_valid_settings_with_what_was_found():
    text = render_config(FINDINGS, datetime(2026, 12, 5, tzinfo=UTC))
    document = yaml.safe_load(text)
    config_files.check_settings(DEFAULTS, document["bakehouse"], "bakehouse.yaml")
    settings = Settings.from_mapping(document["bakehouse"])
    assert settings.bake.files == ("docker/bake.hcl", "docker/extra.hcl")
    assert settings.bake.default_targets == ("default",)
    assert dict(settings.bake.matrix) == {"distros": ("trixie-slim", "bookworm-slim"), "flavors": ("plain",)}
    assert settings.bake.allow == ("network.host", "security.insecure")
    assert settings.builder.entitlements == ("network.host", "security.insecure")
    assert resolve(settings.bake.matrix, {"distro": "bookworm-slim"}) == {
        "distros": ["bookworm-slim"],
        "flavors": ["plain"],
    }
    assert "written by `bakehouse init` on 2026-12-05" in text
    assert 'distros: ["trixie-slim", "bookworm-slim"]  # Debian images' in text
    assert "# Groups the tree defines: default, suite." in text


def test_a_tree_without_dimensions_gets_an_empty_matrix_not_ours():
    text = render_config(TreeFindings(("b.hcl",), (), (), ("app",), ()))
    settings = Settings.from_mapping(yaml.safe_load(text)["bakehouse"])
    assert dict(settings.bake.matrix) == {}
    assert settings.bake.allow == ()
    assert settings.builder.entitlements == ()


def test_summary_names_each_finding():
    assert summary_lines(FINDINGS) == [
        "bake files: docker/bake.hcl, docker/extra.hcl",
        'matrix dimensions: distros=["trixie-slim", "bookworm-slim"]; flavors=["plain"]',
        "groups: default, suite",
        "default targets: default",
        "entitlements: network.host, security.insecure",
    ]


def test_an_existing_config_is_refused_without_force(tmp_path):
    assert config_target(tmp_path, force=False) == tmp_path / "bakehouse.yaml"
    (tmp_path / "bakehouse.yaml").write_text("bakehouse: {}\n")
    with pytest.raises(BakehouseError) as caught:
        config_target(tmp_path, force=False)
    assert caught.value.code == BAD_INPUT
    assert str(caught.value) == f"{tmp_path}/bakehouse.yaml exists; --force replaces it"
    assert config_target(tmp_path, force=True) == tmp_path / "bakehouse.yaml"


def test_bake_files_are_the_given_ones_or_those_found_in_the_tree(tmp_path, write_tree, terraform_hcl):
    write_tree(
        tmp_path,
        {
            "docker/bake.hcl": (
                'target "app" {\n  dockerfile = "Dockerfile"\n}\ngroup "default" {\n  targets = ["app"]\n}\n'
            ),
            "docker/vars.hcl": 'variable "distros" {\n  default = "[\\"a\\"]"\n}\n',
            "infra/main.tf.hcl": terraform_hcl,
        },
    )
    assert bake_files(tmp_path, []) == ("docker/bake.hcl", "docker/vars.hcl")
    assert bake_files(tmp_path, ["docker/bake.hcl"]) == ("docker/bake.hcl",)
    with pytest.raises(BakehouseError) as caught:
        bake_files(tmp_path, ["docker/gone.hcl"])
    assert str(caught.value) == f"--bake-file docker/gone.hcl: no such file in {tmp_path}"
    assert defined_blocks(tmp_path, ["docker/bake.hcl", "docker/vars.hcl"], "group") == ("default",)
    assert defined_blocks(tmp_path, ["docker/bake.hcl", "docker/vars.hcl"], "variable") == ("distros",)


def test_dimensions_keep_the_order_the_files_declare_them_in():
    listed = [
        Dimension("cargo_profiles", ("release",)),
        Dimension("sys_names", ("debian",)),
        Dimension("x", ("1",)),
    ]
    ordered = in_declared_order(listed, ["sys_names", "plain", "cargo_profiles"])
    assert [d.name for d in ordered] == ["sys_names", "cargo_profiles", "x"]


def test_a_tree_without_bake_files_is_refused_naming_the_option(tmp_path, write_tree, terraform_hcl):
    write_tree(tmp_path, {"infra/main.hcl": terraform_hcl, "README": "no bake here\n"})
    with pytest.raises(BakehouseError) as caught:
        bake_files(tmp_path, [])
    assert caught.value.code == BAD_INPUT
    assert str(caught.value) == (
        f"no bake file (*.hcl or *.json defining a target) under {tmp_path}; name one with --bake-file"
    )
