"""The bake runner's pure steps: targets and entitlements from the plan, the command line, messages."""

from __future__ import annotations

import os

import pytest

from tasks.bake.definition import (
    bake_files,
    base_args,
    needed_entitlements,
    requested_targets,
    resolve_matrix,
)
from tasks.bake.execution import BakeCall, summarize
from tasks.bake.progress import RawJsonReader, TargetOutcome
from tasks.bake.request import BakeSelection, progress_mode
from tasks.bake.summary import print_summary
from tasks.builder.lifecycle import choose_builder
from tasks.shared.errors import BAD_INPUT, BakehouseError

# The shape of `bake --print`: groups name members (targets or groups), targets carry their settings.
PLAN = {
    "group": {
        "default": {"targets": ["smoke", "complement"]},
        "complement": {"targets": ["tester", "testee"]},
    },
    "target": {
        "smoke": {"context": "."},
        "tester": {"context": ".", "network": "host"},
        "testee": {"context": ".", "entitlements": ["network.host", "security.insecure"]},
        "base": {"context": "."},
    },
}


def check_named_builder(config, builder):
    """The builder a build would use (resolved and checked once, by the build request)."""
    return choose_builder(config, builder).name


@pytest.fixture
def buildx_state(tmp_path, monkeypatch):
    """buildx state with no builder of its own: `buildx ls` lists the engine's 'default' only, and
    needs no engine for that."""
    state = tmp_path / "buildx"
    monkeypatch.setenv("BUILDX_CONFIG", str(state))
    return state


def test_a_builder_named_explicitly_must_exist(make_settings, buildx_state):
    c = make_settings(builder={"name": "bh-configured"})
    with pytest.raises(BakehouseError) as caught:
        check_named_builder(c, "bh-typo")
    assert caught.value.code == BAD_INPUT
    assert str(caught.value).startswith("no builder named bh-typo (builders: default);")


def test_default_the_configured_and_recorded_builders_pass_the_check(make_settings, buildx_state):
    c = make_settings(builder={"name": "bh-configured"})
    # The configured builder is made by the first build that needs it: missing is no error here.
    assert check_named_builder(c, None) == "bh-configured"
    assert check_named_builder(c, "bh-configured") == "bh-configured"
    assert check_named_builder(c, "default") == "default"
    (buildx_state / "instances").mkdir(parents=True)
    (buildx_state / "instances" / "bh-other").write_text("{}")
    assert check_named_builder(c, "bh-other") == "bh-other"
    with pytest.raises(BakehouseError) as caught:
        check_named_builder(c, "Bad Name")
    assert caught.value.code == BAD_INPUT


def test_requested_targets_expands_nested_groups_in_order():
    assert requested_targets(PLAN, ["default"]) == ["smoke", "tester", "testee"]


def test_requested_targets_lists_a_target_named_twice_once():
    assert requested_targets(PLAN, ["testee", "complement", "testee"]) == ["testee", "tester"]


def test_requested_targets_without_a_match_is_every_target_sorted():
    # A matrix target's name is not in the plan (its cells are): the plan holds what was asked.
    assert requested_targets(PLAN, ["nothing-here"]) == ["base", "smoke", "testee", "tester"]
    assert requested_targets({"target": {"b": {}, "a": {}}}, []) == ["a", "b"]


def test_needed_entitlements_are_the_declared_ones_once_host_network_included(make_settings):
    c = make_settings(bake={"allow": ["network.host", "security.insecure"]})
    assert needed_entitlements(c, PLAN, ["smoke", "tester", "testee"]) == [
        "network.host",
        "security.insecure",
    ]
    assert needed_entitlements(c, PLAN, ["smoke", "base"]) == []


def test_needed_entitlements_ignore_names_the_plan_lacks(make_settings):
    assert needed_entitlements(make_settings(), PLAN, ["not-in-the-plan"]) == []


def test_an_entitlement_the_config_does_not_allow_is_refused_with_the_fix(make_settings):
    with pytest.raises(BakehouseError) as caught:
        needed_entitlements(make_settings(), PLAN, ["testee"])
    assert caught.value.code == BAD_INPUT
    assert str(caught.value) == "target testee needs entitlement 'security.insecure'; add it to bake.allow"


def test_host_network_needs_network_host_in_allow(make_settings):
    with pytest.raises(BakehouseError) as caught:
        needed_entitlements(make_settings(bake={"allow": []}), PLAN, ["tester"])
    assert str(caught.value) == "target tester needs entitlement 'network.host'; add it to bake.allow"


def test_base_args_are_the_exact_bake_command_line(make_settings):
    sets = BakeSelection.of(["app"], sets=["*.platform=linux/amd64", "app.args.x=1"]).sets
    args = base_args(["a.hcl", "b.hcl"], sets)
    assert args == [
        "docker", "buildx", "bake", "--provenance=false", f"--set=*.args.nprocs={os.cpu_count() or 1}",
        "-f", "a.hcl", "-f", "b.hcl", "--set=*.platform=linux/amd64", "--set=app.args.x=1",
    ]  # fmt: skip


@pytest.mark.parametrize("bad", ["nokey", "platform=linux/amd64", "=x"])
def test_a_set_without_pattern_key_and_value_is_refused(make_settings, bad):
    with pytest.raises(BakehouseError) as caught:
        BakeSelection.of(["app"], sets=[bad])
    assert caught.value.code == BAD_INPUT
    assert str(caught.value) == f"--set {bad!r}: expected pattern.key=value"


def test_progress_mode_from_option_config_and_ci(make_settings, monkeypatch, capsys):
    monkeypatch.delenv("CI", raising=False)
    c = make_settings(bake={"progress": "quiet"})
    assert progress_mode(None, c) == "quiet"
    assert progress_mode("rawjson", c) == "rawjson"
    # auto: buildx's tty display only on a terminal (pytest's captured stderr is not one).
    assert progress_mode("auto", c) == "plain"
    monkeypatch.setenv("CI", "true")
    assert progress_mode("auto", c) == "plain"
    assert progress_mode("tty", c) == "tty"


def test_an_unknown_progress_mode_is_refused_with_the_choices(make_settings):
    with pytest.raises(BakehouseError) as caught:
        progress_mode("fancy", make_settings())
    assert caught.value.code == BAD_INPUT
    assert str(caught.value) == "--progress 'fancy': choose one of auto, plain, tty, quiet, rawjson"
    with pytest.raises(BakehouseError):
        progress_mode(None, make_settings(bake={"progress": "fancy"}))


def test_bake_files_are_the_configured_ones_when_all_exist(make_settings, tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "bake.hcl").write_text("")
    c = make_settings(bake={"files": ["images/bake.hcl"]})
    assert bake_files(c, tmp_path) == ["images/bake.hcl"]


def test_a_missing_bake_file_is_bad_input_naming_the_setting(make_settings, tmp_path):
    with pytest.raises(BakehouseError) as caught:
        bake_files(make_settings(bake={"files": ["images/gone.hcl"]}), tmp_path)
    assert caught.value.code == BAD_INPUT
    assert str(caught.value) == (
        f"bake file images/gone.hcl not found in {tmp_path}: "
        "set bake.files (bakehouse.yaml or invoke.yaml) or run `bakehouse init`"
    )


def test_no_bake_files_at_all_is_bad_input_pointing_at_init(make_settings, tmp_path):
    with pytest.raises(BakehouseError) as caught:
        bake_files(make_settings(bake={"files": []}), tmp_path)
    assert caught.value.code == BAD_INPUT
    assert str(caught.value) == (
        "no bake files configured: set bake.files (bakehouse.yaml or invoke.yaml) or run `bakehouse init`"
    )


def test_resolve_matrix_narrows_config_defaults_by_environment_then_options(make_settings, monkeypatch):
    for singular in ("sys_name", "sys_version", "feat_set", "sys_arch"):
        for name in (singular, f"{singular}s"):
            monkeypatch.delenv(name, raising=False)
    c = make_settings()
    assert resolve_matrix(c) == {
        "sys_names": ["debian"], "sys_versions": ["trixie-slim"], "feat_sets": ["default"],
        "sys_archs": ["amd64"],
    }  # fmt: skip
    monkeypatch.setenv("feat_sets", '["default","postgres"]')
    assert resolve_matrix(c)["feat_sets"] == ["default", "postgres"]
    assert resolve_matrix(c, ["feat_set=postgres", "sys_version=bookworm-slim"]) == {
        "sys_names": ["debian"], "sys_versions": ["bookworm-slim"], "feat_sets": ["postgres"],
        "sys_archs": ["amd64"],
    }  # fmt: skip


def test_summarize_without_a_reader_says_done_or_failed_for_every_target():
    calls = [
        BakeCall(["a", "b"], ok=True, seconds=2.0, reader=None, error=None),
        BakeCall(["c"], ok=False, seconds=1.5, reader=None, error="exit 1"),
    ]
    assert summarize(calls) == [
        TargetOutcome("a", "done", 2.0, 0, 0, None),
        TargetOutcome("b", "done", 2.0, 0, 0, None),
        TargetOutcome("c", "failed", 1.5, 0, 0, "exit 1"),
    ]


def test_summarize_with_a_reader_takes_each_targets_outcome_from_its_steps(repo_root):
    reader = RawJsonReader()
    for line in (repo_root / "tests/fixtures/rawjson/one-built-broken-failed.jsonl").read_text().splitlines():
        reader.feed(line)
    outcomes = summarize([BakeCall(["one", "broken"], ok=False, seconds=9.0, reader=reader, error=None)])
    assert [(o.name, o.status) for o in outcomes] == [("one", "cached"), ("broken", "failed")]
    assert outcomes == [reader.outcome("one", False), reader.outcome("broken", False)]


def test_print_summary_is_a_table_then_each_failures_last_line_then_the_verdict(capsys):
    outcomes = [
        TargetOutcome("base--debian", "cached", 0.04, 0, 3),
        TargetOutcome("tests-smoke", "failed", 12.34, 2, 1, "step 1\nprocess exited with code 3\n"),
    ]
    print_summary(outcomes, 12.5, 1)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "",
        "TARGET        STATUS  TIME   STEPS RUN/CACHED",
        "base--debian  cached  0.0s   0/3",
        "tests-smoke   failed  12.3s  2/1",
        "tests-smoke: process exited with code 3",
        "ERROR: 2 target(s) in 12.5s, exit status 1",
    ]


def test_print_summary_accepts_a_clean_run(capsys):
    print_summary([TargetOutcome("app", "built", 1.0, 4, 0)], 1.0, 0)
    assert capsys.readouterr().err.splitlines()[-1] == "ACCEPT: 1 target(s) in 1.0s, exit status 0"


def test_print_summary_shows_each_targets_platform_from_the_plan(capsys):
    outcomes = [
        TargetOutcome("install--arm64", "built", 3.0, 5, 0),
        TargetOutcome("tool", "cached", 0.1, 0, 2),
    ]
    print_summary(outcomes, 3.1, 0, platforms={"install--arm64": "linux/arm64", "tool": ""})
    lines = capsys.readouterr().err.splitlines()
    assert lines[1].split() == ["TARGET", "STATUS", "TIME", "STEPS", "RUN/CACHED", "PLATFORM"]
    assert lines[2].split() == ["install--arm64", "built", "3.0s", "5/0", "linux/arm64"]
    assert lines[3].split() == ["tool", "cached", "0.1s", "0/2", "native"]
