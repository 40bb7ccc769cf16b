"""The exact bake command `inv build` runs for given options, without an engine: the request, the
resolution from a plan and the builder's command line are the code the task runs."""

from __future__ import annotations

import os

import pytest

from tasks.bake.definition import bake_invocation, resolved_plan
from tasks.bake.execution import batch_command, with_progress
from tasks.bake.request import BakeSelection, build_request

# `bake --print` of a tiny tree: the leaf needs host networking, its parent is cache-only.
PLAN = {
    "group": {"default": {"targets": ["smoke"]}},
    "target": {
        "base": {"context": ".", "output": ["type=cacheonly"]},
        "smoke": {"context": ".", "network": "host", "output": ["type=cacheonly"]},
    },
}
FILES = ["images/bake.hcl", "images/extra.hcl"]
NPROCS = f"--set=*.args.nprocs={os.cpu_count() or 1}"


@pytest.fixture
def recorded_builder(tmp_path, monkeypatch):
    """A builder buildx knows (its file in buildx's config dir): nothing asks an engine about it."""
    state = tmp_path / "buildx"
    (state / "instances").mkdir(parents=True)
    (state / "instances" / "bh-team").write_text("{}")
    monkeypatch.setenv("BUILDX_CONFIG", str(state))
    return "bh-team"


def build_argv(config, selection, builder, progress, driver="docker-container"):
    request = build_request(config, selection, builder=builder, progress=progress)
    resolved = resolved_plan(config, selection, FILES, {}, PLAN)
    assert request.builder is not None
    invocation = bake_invocation(config, resolved, request.builder.name, driver)
    return with_progress(batch_command(invocation, resolved.names), request.progress)


def test_a_build_with_a_builder_a_set_and_a_local_cache_runs_this_exact_bake(
    make_settings, recorded_builder, tmp_path
):
    cache = tmp_path / "cache"
    config = make_settings(cache={"backend": "local", "dir": str(cache), "mode": "max"})
    selection = BakeSelection.of(["default"], sets=["smoke.args.x=1"])
    assert build_argv(config, selection, recorded_builder, "plain") == [
        "docker", "buildx", "bake", "--provenance=false", NPROCS,
        "-f", "images/bake.hcl", "-f", "images/extra.hcl",
        "--set=smoke.args.x=1",
        "--builder=bh-team",
        "--allow=network.host",
        f"--allow=fs.write={cache}",
        f"--set=base.cache-to=type=local,dest={cache}/base,mode=max,compression=zstd,ignore-error=true",
        f"--set=smoke.cache-to=type=local,dest={cache}/smoke,mode=max,compression=zstd,ignore-error=true",
        "smoke",
        "--progress=rawjson",
    ]  # fmt: skip


def test_the_engines_own_builder_gets_no_cache_arguments_and_tty_is_buildxs_display(make_settings, tmp_path):
    config = make_settings(cache={"backend": "local", "dir": str(tmp_path / "cache")})
    selection = BakeSelection.of(["smoke"])
    assert build_argv(config, selection, "default", "tty", driver="docker") == [
        "docker", "buildx", "bake", "--provenance=false", NPROCS,
        "-f", "images/bake.hcl", "-f", "images/extra.hcl",
        "--builder=default",
        "--allow=network.host",
        "smoke",
        "--progress=tty",
    ]  # fmt: skip


def test_a_remembered_plan_is_baked_from_its_file_without_the_bake_files_or_the_sets_again(
    make_settings, recorded_builder, tmp_path
):
    """The plan cache's file is bake's printed plan, with the --set values and core count applied."""
    cache = tmp_path / "cache"
    config = make_settings(cache={"backend": "local", "dir": str(cache), "mode": "max"})
    selection = BakeSelection.of(["smoke"], sets=["smoke.args.x=1"])
    request = build_request(config, selection, builder=recorded_builder, progress="quiet")
    stored = tmp_path / "plans" / "key.json"
    resolved = resolved_plan(config, selection, FILES, {}, PLAN, "key", plan_file=stored)
    assert resolved.plan_remembered
    invocation = bake_invocation(config, resolved, recorded_builder, "docker-container")
    assert with_progress(batch_command(invocation, resolved.names), request.progress) == [
        "docker", "buildx", "bake", "--provenance=false",
        "-f", str(stored),
        "--builder=bh-team",
        "--allow=network.host",
        f"--allow=fs.write={cache}",
        f"--set=base.cache-to=type=local,dest={cache}/base,mode=max,compression=zstd,ignore-error=true",
        f"--set=smoke.cache-to=type=local,dest={cache}/smoke,mode=max,compression=zstd,ignore-error=true",
        "smoke",
        "--progress=rawjson",
    ]  # fmt: skip
