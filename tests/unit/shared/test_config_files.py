"""Config files and INVOKE_BAKEHOUSE_* variables, checked before invoke reads them."""

from __future__ import annotations

import pytest
import yaml

from tasks.cli import config_check as config_sources
from tasks.shared.config_files import check_environment, check_settings, load_document, merged, parse_yaml
from tasks.shared.errors import BAD_INPUT, BakehouseError
from tasks.shared.process import REPO_ROOT

DEFAULTS = {
    "bake": {"files": ["a.hcl"], "matrix": {"sys_names": ["debian"]}, "progress": "auto"},
    "engine": {"start_timeout": 60, "min_api_version": "1.45"},
    "builder": {"name": "", "gc": {"max_used_space": None}},
    "complement": {"dirty": False, "shuffle": "off"},
}


def refused(call, *args) -> str:
    with pytest.raises(BakehouseError) as raised:
        call(*args)
    assert raised.value.code == BAD_INPUT
    return str(raised.value)


def test_a_yaml_typo_names_file_line_and_column(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("bakehouse:\n  bake:\n    progress: plain\n   files: [x]\n")
    message = refused(load_document, path)
    assert message.startswith(f"{path}:4:4: not valid YAML: ")
    assert "\n" not in message


def test_the_fast_parser_reads_what_the_pure_one_reads_and_refuses_in_its_words(tmp_path):
    """libyaml (when PyYAML has it) parses invoke.yaml at start-up; a refusal is the pure parser's."""
    text = (REPO_ROOT / "invoke.yaml").read_text()
    assert parse_yaml(text) == yaml.safe_load(text)
    assert parse_yaml("a: [1, 2]\nb: {c: yes, d: 0o10, e: 2026-12-05}\n") == yaml.safe_load(
        "a: [1, 2]\nb: {c: yes, d: 0o10, e: 2026-12-05}\n"
    )
    broken = "bakehouse:\n  bake:\n    progress: plain\n   files: [x]\n"
    with pytest.raises(yaml.YAMLError) as fast:
        parse_yaml(broken)
    with pytest.raises(yaml.YAMLError) as pure:
        yaml.safe_load(broken)
    assert str(fast.value) == str(pure.value)


def test_a_json_typo_names_file_and_line(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"bakehouse":\n {"bake": }}')
    assert refused(load_document, path).startswith(f"{path}:2:11: not valid JSON: ")


def test_missing_unsupported_and_misshapen_files(tmp_path):
    assert (
        refused(load_document, tmp_path / "nosuch.yaml") == f"{tmp_path / 'nosuch.yaml'}: no such config file"
    )
    toml = tmp_path / "config.toml"
    toml.write_text("")
    assert "invoke reads config files ending in .yaml, .yml, .json, .py" in refused(load_document, toml)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    assert refused(load_document, listed).endswith("expected settings (a mapping) at the top, got a list")
    section = tmp_path / "section.yml"
    section.write_text("bakehouse: [x]\n")
    assert refused(load_document, section).endswith("bakehouse: expected a mapping, got a list")


def test_empty_and_python_files_are_fine(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_document(empty) == {}
    python = tmp_path / "config.py"
    python.write_text("x = 1\n")
    assert load_document(python) is None


def test_settings_of_the_same_type_pass():
    check_settings(
        DEFAULTS,
        {
            "bake": {"files": ["b.hcl"], "matrix": {"feat_sets": ["default", "postgres"]}},
            "engine": {"start_timeout": 5},
            "builder": {"gc": {"max_used_space": "20GB"}},
        },
        "my.yaml",
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"bake": {"files": "a.hcl"}},
            "my.yaml: bakehouse.bake.files: expected a list, got a string ('a.hcl')",
        ),
        ({"engine": {"start_timeout": "soon"}}, "bakehouse.engine.start_timeout: expected a whole number"),
        ({"engine": {"start_timeout": True}}, "expected a whole number, got a boolean (true)"),
        ({"engine": {"min_api_version": 1.45}}, "expected a string, got a number (1.45) (quote it)"),
        ({"complement": {"shuffle": False}}, "expected a string, got a boolean (false) (quote it)"),
        ({"complement": {"dirty": "yes"}}, "bakehouse.complement.dirty: expected true or false"),
        ({"bake": "x"}, "bakehouse.bake: expected a mapping, got a string ('x')"),
        ({"builder": {"gc": {"max_used_space": [1]}}}, "expected a single value, got a list"),
        ({"bake": {"matrix": {"x": {"y": 1}}}}, "bakehouse.bake.matrix.x: expected a value or a list"),
        (
            {"complement": {"paralel": 3}},
            "my.yaml: unknown setting bakehouse.complement.paralel "
            "(known in bakehouse.complement: dirty, shuffle)",
        ),
    ],
)
def test_settings_of_another_type_or_unknown_are_refused(values, message):
    assert message in refused(check_settings, DEFAULTS, values, "my.yaml")


def test_merged_keeps_both_levels():
    assert merged({"a": {"b": 1, "c": 2}, "d": 3}, {"a": {"b": 5}}) == {"a": {"b": 5, "c": 2}, "d": 3}


def test_environment_values_invoke_can_use_pass():
    check_environment(
        DEFAULTS,
        {
            "INVOKE_BAKEHOUSE_ENGINE_START_TIMEOUT": "30",
            "INVOKE_BAKEHOUSE_COMPLEMENT_DIRTY": "1",
            "INVOKE_BAKEHOUSE_BUILDER_GC_MAX_USED_SPACE": "20GB",
            "INVOKE_RUNTIME_CONFIG": "elsewhere",  # not a bakehouse setting
            "PATH": "/bin",
        },
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"INVOKE_BAKEHOUSE_ENGINE_START_TIMEOUT": "soon"},
            "INVOKE_BAKEHOUSE_ENGINE_START_TIMEOUT='soon': "
            "bakehouse.engine.start_timeout expects a whole number",
        ),
        ({"INVOKE_BAKEHOUSE_BAKE_FILES": "x.hcl"}, "bakehouse.bake.files is a list, which invoke can't read"),
        ({"INVOKE_BAKEHOUSE_BUILDER_NAM": "x"}, "INVOKE_BAKEHOUSE_BUILDER_NAM: no such setting"),
        ({"INVOKE_BAKEHOUSE_COMPLEMENT_DIRTY": "false"}, "invoke would read this as true; use 0 for false"),
    ],
)
def test_environment_values_invoke_would_choke_on_or_misread(env, message):
    assert message in refused(check_environment, DEFAULTS, env)


def test_the_project_config_passes_and_a_broken_one_is_named(tmp_path, repo_root):
    config_sources.check(repo_root, env={})
    (tmp_path / "invoke.yaml").write_text("bakehouse:\n  bake: {files: [a.hcl]\n")
    assert refused(config_sources.check, tmp_path, {}).startswith(f"{tmp_path / 'invoke.yaml'}:3:1: ")
    (tmp_path / "invoke.yaml").write_text("bakehouse:\n  complement: {paralel: 4}\n")
    assert "unknown setting bakehouse.complement.paralel" in refused(config_sources.check, tmp_path, {})


def test_a_project_without_our_settings_runs_on_the_registered_defaults(tmp_path):
    # The defaults are registered in code: a project's invoke.yaml may hold none of them, or be absent.
    (tmp_path / "invoke.yaml").write_text("run: {echo: true}\n")
    config_sources.check(tmp_path, env={})
    (tmp_path / "invoke.yaml").unlink()
    config_sources.check(tmp_path, env={"INVOKE_BAKEHOUSE_COMPLEMENT_PARALLEL": "4"})
    # A free-form map isn't registered (invoke would merge ours into a project's): no variable for it.
    unset = {"INVOKE_BAKEHOUSE_BAKE_MATRIX_X": "1"}
    assert "no such setting" in refused(config_sources.check, tmp_path, unset)
