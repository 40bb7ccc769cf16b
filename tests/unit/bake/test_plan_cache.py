"""The plan cache: every input of a bake plan is in its key, so a stale plan can't be used."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tasks.bake import plan_cache

HCL = b'variable "sys_versions" {\n  default = "[]"\n}\nvariable "git_revision" {}\ntarget "system" {}\n'
ENV = {"sys_versions": '["trixie-slim"]', "git_revision": "abc", "HOME": "/root", "PWD": "/repo"}
BASE: dict[str, Any] = {
    "root": Path("/repo"),
    "files": [("images/bake.hcl", HCL)],
    "env": ENV,
    "targets": ["tests-smoke"],
    "sets": [],
    "cores": 2,
    "buildx": "/usr/libexec/docker/cli-plugins/docker-buildx:1:2",
}


def key(**changes):
    return plan_cache.plan_key(**{**BASE, **changes})


@pytest.mark.parametrize(
    "change",
    [
        {"files": [("images/bake.hcl", HCL + b"# edited\n")]},
        {"files": [("images/other.hcl", HCL)]},
        {"files": [("images/bake.hcl", HCL), ("images/more.hcl", b'target "x" {}\n')]},
        {"env": {**ENV, "sys_versions": '["bookworm-slim"]'}},  # a matrix vector
        {"env": {**ENV, "git_revision": "def"}},  # a git variable (labels)
        {"env": {**ENV, "BUILDX_BAKE_ENTITLEMENTS_FS": "0"}},  # buildx's own settings
        {"env": {**ENV, "BAKE_LOCAL_PLATFORM": "linux/arm64"}},
        {"env": {**ENV, "SOURCE_DATE_EPOCH": "1700000000"}},  # buildx writes it into every target's args
        {"targets": ["complement"]},
        {"targets": ["tests-smoke", "complement"]},
        {"sets": ["tests-smoke*.args.smoke_nonce=1"]},
        {"cores": 4},
        {"buildx": "/usr/libexec/docker/cli-plugins/docker-buildx:1:3"},
        {"root": Path("/elsewhere")},
    ],
    ids=lambda change: next(iter(change)),
)
def test_changing_any_input_of_the_plan_changes_its_key(change):
    assert key(**change) != key()


def test_variables_the_files_do_not_declare_do_not_change_the_key():
    assert key(env={**ENV, "PWD": "/tmp", "OLDPWD": "/x", "SHLVL": "3"}) == key()


def test_the_key_is_the_same_for_the_same_inputs():
    assert key() == key(env=dict(reversed(list(ENV.items()))))


def test_declared_variables_come_from_hcl_and_json_and_compose_files_declare_everything():
    json_file = json.dumps({"variable": {"tag": {"default": "x"}}, "target": {}}).encode()
    assert plan_cache.declared_variables([("a.hcl", HCL), ("b.json", json_file)]) == {
        "sys_versions", "git_revision", "tag",
    }  # fmt: skip
    assert plan_cache.declared_variables([("compose.yaml", b"services: {}\n")]) is None
    assert plan_cache.declared_variables([("broken.json", b"{")]) is None


def test_with_a_compose_file_every_variable_is_in_the_key():
    files = [("compose.yaml", b"services: {}\n")]
    assert key(files=files, env={**ENV, "ANYTHING": "1"}) != key(files=files)


def test_stored_plans_load_back_and_only_the_newest_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(plan_cache, "KEEP", 3)
    for number in range(5):
        plan_cache.store(tmp_path, f"k{number}", {"target": {"t": {"n": number}}})
        path = tmp_path / f"k{number}.json"
        os.utime(path, (number, number))  # the write order, whatever the clock's resolution
    plan_cache.store(tmp_path, "k5", {"target": {}})
    assert sorted(p.name for p in tmp_path.glob("*.json")) == ["k3.json", "k4.json", "k5.json"]
    assert plan_cache.load(tmp_path, "k4") == {"target": {"t": {"n": 4}}}
    assert plan_cache.load(tmp_path, "k0") is None
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_loaded_plan_is_kept_as_the_newest_its_build_bakes_its_file(tmp_path, monkeypatch):
    monkeypatch.setattr(plan_cache, "KEEP", 2)
    plan_cache.store(tmp_path, "old", {"target": {}})
    plan_cache.store(tmp_path, "newer", {"target": {}})
    os.utime(tmp_path / "old.json", (1, 1))
    os.utime(tmp_path / "newer.json", (2, 2))
    assert plan_cache.load(tmp_path, "old") == {"target": {}}
    plan_cache.store(tmp_path, "newest", {"target": {}})  # a concurrent build's clean-up
    assert sorted(p.name for p in tmp_path.glob("*.json")) == ["newest.json", "old.json"]
    assert plan_cache.plan_file(tmp_path, "old") == tmp_path / "old.json"


def test_an_unreadable_or_foreign_cache_file_is_a_miss(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "list.json").write_text("[1, 2]")
    assert plan_cache.load(tmp_path, "bad") is None
    assert plan_cache.load(tmp_path, "list") is None


def test_a_cache_directory_that_cannot_be_written_is_no_error(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")
    plan_cache.store(blocked / "plans", "k", {"target": {}})  # a file where the directory should be


def test_buildx_identity_follows_the_plugin_file(tmp_path):
    plugins = tmp_path / "cli-plugins"
    plugins.mkdir()
    env = {"DOCKER_CONFIG": str(tmp_path)}
    without = plan_cache.buildx_identity(env)
    (plugins / "docker-buildx").write_bytes(b"v1")
    first = plan_cache.buildx_identity(env)
    (plugins / "docker-buildx").write_bytes(b"v2 longer")
    assert len({without, first, plan_cache.buildx_identity(env)}) == 3
