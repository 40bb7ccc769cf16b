"""Which buildkitd.toml a builder starts from: the project's, else the one shipped in the package."""

from __future__ import annotations

import dataclasses

import pytest

from tasks.builder.lifecycle import PACKAGED_CONFIG_FILE, config_source
from tasks.shared.errors import BAD_INPUT, BakehouseError


def test_the_projects_buildkitd_toml_wins_over_the_packaged_one(make_settings, tmp_path):
    config = dataclasses.replace(make_settings(), root=tmp_path)
    assert config_source(config) == PACKAGED_CONFIG_FILE
    assert PACKAGED_CONFIG_FILE.is_file()
    (tmp_path / "buildkitd.toml").write_text("debug = false\n")
    assert config_source(config) == tmp_path / "buildkitd.toml"


def test_a_file_the_project_names_must_exist(make_settings, tmp_path):
    config = dataclasses.replace(make_settings(builder={"config_file": "ci/buildkitd.toml"}), root=tmp_path)
    with pytest.raises(BakehouseError) as caught:
        config_source(config)
    assert caught.value.code == BAD_INPUT
    assert str(caught.value) == f"{tmp_path}/ci/buildkitd.toml: no such file (builder.config_file)"
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "buildkitd.toml").write_text("debug = false\n")
    assert config_source(config) == tmp_path / "ci" / "buildkitd.toml"


def test_this_checkouts_buildkitd_toml_is_the_packaged_default(repo_root):
    """Our checkout keeps its buildkitd.toml at the root (the project's file, as in any project) and
    it is the default a project without one gets: the two must not drift apart."""
    assert (repo_root / "buildkitd.toml").read_bytes() == PACKAGED_CONFIG_FILE.read_bytes()
