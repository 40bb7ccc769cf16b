from __future__ import annotations

import json

import pytest

from tasks.bake import matrix
from tasks.shared.errors import BAD_INPUT, BakehouseError

DEFAULTS = {"sys_names": ["debian"], "sys_versions": ["trixie-slim"], "feat_sets": ["default"]}


def test_defaults_when_nothing_is_set():
    assert matrix.resolve(DEFAULTS, {}) == DEFAULTS


def test_singular_env_narrows_to_one_value():
    resolved = matrix.resolve(DEFAULTS, {"sys_version": "bookworm-slim"})
    assert resolved["sys_versions"] == ["bookworm-slim"]


def test_plural_env_wins_over_defaults():
    resolved = matrix.resolve(DEFAULTS, {"sys_versions": '["trixie-slim","bookworm-slim"]'})
    assert resolved["sys_versions"] == ["trixie-slim", "bookworm-slim"]


def test_option_wins_over_env():
    resolved = matrix.resolve(DEFAULTS, {"sys_versions": '["a","b"]'}, ["sys_version=c"])
    assert resolved["sys_versions"] == ["c"]
    resolved = matrix.resolve(DEFAULTS, {"feat_set": "x"}, ['feat_sets=["y","z"]'])
    assert resolved["feat_sets"] == ["y", "z"]


def test_duplicates_are_dropped_in_order():
    assert matrix.resolve(DEFAULTS, {}, ['feat_sets=["b","a","b"]'])["feat_sets"] == ["b", "a"]


@pytest.mark.parametrize(
    ("env", "options", "message"),
    [
        ({"sys_versions": "trixie-slim"}, [], "not a JSON array"),
        ({"sys_versions": "[]"}, [], "non-empty JSON array"),
        ({"sys_versions": "[1]"}, [], "non-empty JSON array"),
        ({"sys_version": "a", "sys_versions": '["b"]'}, [], "both sys_version and sys_versions"),
        ({}, ["rust_toolchain=stable"], "unknown matrix dimension 'rust_toolchain'"),
        ({}, ["sys_version"], "expected NAME=VALUE"),
        ({}, ["sys_version="], "empty value"),
    ],
)
def test_bad_input(env, options, message):
    with pytest.raises(BakehouseError, match=message) as err:
        matrix.resolve(DEFAULTS, env, options)
    assert err.value.code == BAD_INPUT


def test_unrelated_env_is_ignored():
    assert matrix.resolve(DEFAULTS, {"PATH": "/bin", "sys_namez": "x"}) == DEFAULTS


def test_bake_variables_are_json_strings():
    variables = matrix.as_bake_variables({"sys_versions": ["a", "b"]})
    assert json.loads(variables["sys_versions"]) == ["a", "b"]


def test_another_trees_seven_dimensions_resolve_from_the_environment():
    other = {
        name: ["x"]
        for name in [
            "cargo_profiles", "feat_sets", "rust_toolchains", "rust_targets", "sys_names", "sys_versions",
            "sys_targets",
        ]
    }  # fmt: skip
    resolved = matrix.resolve(other, {"rust_toolchain": "nightly", "cargo_profiles": '["release","dev"]'})
    assert resolved["rust_toolchains"] == ["nightly"]
    assert resolved["cargo_profiles"] == ["release", "dev"]


def test_option_vectors_are_what_the_options_set_and_nothing_else():
    options = ["sys_version=bookworm-slim", 'feat_sets=["a","b"]', "feat_set=c"]
    assert matrix.option_vectors(DEFAULTS, options) == {"sys_versions": ["bookworm-slim"], "feat_sets": ["c"]}
    assert matrix.option_vectors(DEFAULTS, []) == {}
