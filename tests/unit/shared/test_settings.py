"""Typed settings: built once per Context from invoke's config, defaults in code equal to invoke.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from invoke import Config, Context

from tasks.cli.context import as_exit, project_context, settings
from tasks.namespace import namespace
from tasks.shared.errors import BAD_INPUT, BakehouseError
from tasks.shared.process import REPO_ROOT
from tasks.shared.settings import DEFAULTS, Settings, registered_defaults


def context(values: dict[str, object] | None = None, *, registered: bool = True) -> Context:
    """A Context as `inv` makes one for a tree without invoke.yaml: registered defaults + overrides."""
    config = Config(overrides={"bakehouse": values} if values is not None else {})
    if registered:
        config.load_collection({"bakehouse": registered_defaults()})
    return Context(config)


def refused(values: dict[str, object]) -> str:
    # Not merged with the registered defaults: invoke itself can't merge a string over a mapping
    # (config_sources refuses such a file before invoke reads it).
    with pytest.raises(BakehouseError) as raised:
        settings(context(values, registered=False))
    assert raised.value.code == BAD_INPUT
    return str(raised.value)


def test_code_defaults_are_invoke_yaml_values(repo_root: Path) -> None:
    documented = yaml.safe_load((repo_root / "invoke.yaml").read_text())["bakehouse"]
    # The one deliberate difference: the full matrix lists one tree's allowed values (its validation
    # blocks); in code it is empty, which lint reads as the bake.matrix vectors, so a project's own
    # tree is never linted over our dimensions.
    assert documented["lint"].pop("full_matrix") == {
        "sys_names": ["debian"],
        "sys_versions": ["trixie-slim", "bookworm-slim"],
        "feat_sets": ["default", "postgres", "sentry"],
        "sys_archs": ["amd64", "arm64"],
    }
    code = {section: dict(values) for section, values in DEFAULTS.items()}
    assert code["lint"].pop("full_matrix") == {}
    assert code == documented


def test_the_namespace_registers_the_defaults_but_the_free_form_maps() -> None:
    registered = namespace().configuration()["bakehouse"]
    assert registered == registered_defaults()
    assert registered["complement"]["parallel"] == 2
    assert registered["builder"]["gc"]["other"] == {"keep_duration": None, "max_used_space": None}
    # invoke merges mappings key by key: a registered matrix would add our dimensions to a project's.
    for section, key in [("bake", "matrix"), ("bake", "variables"), ("lint", "full_matrix")]:
        assert key not in registered[section]
    assert "namespaces" not in registered["complement"]


def test_without_any_config_file_every_setting_has_its_default() -> None:
    typed = settings(context())
    assert typed == Settings()
    assert typed.bake.files[0] == "images/bake.hcl"
    assert dict(typed.bake.matrix) == {
        "sys_names": ("debian",),
        "sys_versions": ("trixie-slim",),
        "feat_sets": ("default",),
        "sys_archs": ("amd64",),
    }
    assert typed.bake.variables["complement_tags"] == "synapse_blacklist"
    assert typed.complement.namespaces == {"tests": "fed", "tests/csapi": "csapi"}
    # Even a Config that never saw the registered defaults (a script's own) gets them.
    assert settings(context(registered=False)) == typed


def test_values_from_config_take_the_field_types() -> None:
    typed = settings(
        context(
            {
                "bake": {"files": ["own.hcl"], "matrix": {"rust_toolchains": ["stable", "1.80"]}},
                "builder": {"mirrors": ["127.0.0.1:5000"], "gc": {"other": {"keep_duration": "12h"}}},
                "cache": {"backend": "local", "dir": "/cache", "import": False},
                "complement": {"parallel": 4, "dirty": True},
            }
        )
    )
    assert typed.bake.files == ("own.hcl",)
    # A project's matrix replaces ours, dimension names and all.
    assert dict(typed.bake.matrix) == {"rust_toolchains": ("stable", "1.80")}
    assert typed.bake.default_targets == ("default",)
    assert typed.builder.mirrors == ("127.0.0.1:5000",)
    assert typed.builder.gc.other.keep_duration == "12h"
    assert typed.builder.gc.other.max_used_space is None
    assert typed.cache.directory == "/cache"
    assert typed.cache.import_cache is False
    assert typed.cache.export_cache is True
    assert (typed.complement.parallel, typed.complement.dirty) == (4, True)
    with pytest.raises(AttributeError):
        typed.complement.parallel = 8  # type: ignore[misc]  # frozen: the assignment mypy refuses is the test


def test_a_context_builds_its_settings_once() -> None:
    c = context({"complement": {"parallel": 3}})
    assert settings(c) is settings(c)
    assert settings(context()) is not settings(c)


def test_environment_variables_reach_the_settings_with_their_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVOKE_BAKEHOUSE_COMPLEMENT_PARALLEL", "4")
    monkeypatch.setenv("INVOKE_BAKEHOUSE_BUILDER_GC_MAX_USED_SPACE", "20GB")
    typed = settings(project_context(REPO_ROOT))
    assert typed.complement.parallel == 4
    assert typed.builder.gc.max_used_space == "20GB"


def test_an_empty_cache_setting_means_its_default() -> None:
    typed = settings(context({"cache": {"dir": "", "mode": "", "compression": ""}})).cache
    assert (typed.directory, typed.mode, typed.compression) == (".cache/bake", "max", "zstd")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"complement": {"parallel": "x"}},
            "bakehouse.complement.parallel: expected a whole number, got a string ('x')",
        ),
        (
            {"complement": {"dirty": "yes"}},
            "bakehouse.complement.dirty: expected true or false, got a string ('yes')",
        ),
        ({"bake": {"files": "a.hcl"}}, "bakehouse.bake.files: expected a list, got a string ('a.hcl')"),
        (
            {"bake": {"files": [["a.hcl"]]}},
            "bakehouse.bake.files: expected a list of single values, got one with a list",
        ),
        (
            {"engine": {"min_api_version": 1.45}},
            "bakehouse.engine.min_api_version: expected a string, got a number (1.45) (quote it)",
        ),
        ({"builder": {"gc": "off"}}, "bakehouse.builder.gc: expected a mapping, got a string ('off')"),
        (
            {"builder": {"gc": {"max_used_space": [1]}}},
            "bakehouse.builder.gc.max_used_space: expected a single value, got a list",
        ),
        (
            {"bake": {"matrix": {"x": {"y": 1}}}},
            "bakehouse.bake.matrix.x: expected a value or a list of values, got a mapping",
        ),
        ({"cache": {"import": None}}, "bakehouse.cache.import: expected true or false, got nothing (null)"),
    ],
)
def test_a_value_of_the_wrong_type_is_one_line(values: dict[str, object], message: str) -> None:
    assert refused(values) == message


def test_an_unknown_setting_is_one_line_naming_the_known_ones() -> None:
    assert refused({"complement": {"paralel": 4}}).startswith(
        "unknown setting bakehouse.complement.paralel (known in bakehouse.complement: "
        "always_print_server_logs, baseline, count, dirty,"
    )
    # The sections in order; the list grows with every domain that gets one.
    assert refused({"compliment": {}}).startswith(
        "unknown setting bakehouse.compliment (known in bakehouse: bake, builder, cache, ci, complement, "
    )
    assert refused({"cache": {"directory": "x"}}).startswith("unknown setting bakehouse.cache.directory")


def test_the_message_reaches_the_user_as_one_bakehouse_line() -> None:
    with pytest.raises(BakehouseError) as raised:
        settings(context({"complement": {"parallel": "x"}}))
    assert as_exit(raised.value).message == (
        "bakehouse: bakehouse.complement.parallel: expected a whole number, got a string ('x')"
    )


def test_a_section_that_is_not_a_mapping_is_refused() -> None:
    config = Config(overrides={"bakehouse": ["bake"]})
    with pytest.raises(BakehouseError) as raised:
        settings(Context(config))
    assert str(raised.value) == "bakehouse: expected a mapping, got a list"
