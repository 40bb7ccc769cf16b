"""Config precedence: invoke.yaml defaults < INVOKE_* env < task options."""

from __future__ import annotations

import tomllib

from tasks.builder.lifecycle import render_config, resolve_builder_name
from tasks.cli.context import project_context, project_settings
from tasks.shared.process import REPO_ROOT


def test_defaults_come_from_invoke_yaml():
    c = project_context(REPO_ROOT)
    assert c.config.bakehouse.builder.config_file == "buildkitd.toml"
    assert list(c.config.bakehouse.bake.matrix.sys_versions) == ["trixie-slim"]


def test_builder_name_precedence(monkeypatch):
    monkeypatch.delenv("INVOKE_BAKEHOUSE_BUILDER_NAME", raising=False)
    for var in ("GITHUB_ACTOR", "GITLAB_USER_LOGIN", "BUILDKITE_BUILD_CREATOR"):
        monkeypatch.delenv(var, raising=False)
    assert resolve_builder_name(project_settings(REPO_ROOT), None).startswith("bakehouse-")
    monkeypatch.setenv("INVOKE_BAKEHOUSE_BUILDER_NAME", "from-env")
    c = project_settings(REPO_ROOT)
    assert resolve_builder_name(c, None) == "from-env"
    assert resolve_builder_name(c, "from-option") == "from-option"


def test_ci_variables_name_the_builder(monkeypatch):
    monkeypatch.delenv("INVOKE_BAKEHOUSE_BUILDER_NAME", raising=False)
    monkeypatch.setenv("GITHUB_ACTOR", "octo")
    monkeypatch.setenv("GITHUB_REPOSITORY", "org/homeserver")
    monkeypatch.setenv("GITHUB_REF_NAME", "feature/x")
    assert resolve_builder_name(project_settings(REPO_ROOT), None) == "bakehouse-octo-homeserver-feature-x"


def test_gc_override_from_env_reaches_the_rendered_config(monkeypatch):
    monkeypatch.setenv("INVOKE_BAKEHOUSE_BUILDER_GC_MAX_USED_SPACE", "20GB")
    monkeypatch.setenv("INVOKE_BAKEHOUSE_BUILDER_GC_OTHER_KEEP_DURATION", "12h")
    doc = render_config(project_settings(REPO_ROOT))
    assert doc["worker"]["oci"]["maxUsedSpace"] == "20GB"
    other = [p for p in doc["worker"]["oci"]["gcpolicy"] if p.get("filters") == ["type!=exec.cachemount"]]
    assert other[0]["keepDuration"] == "12h"


def test_file_values_stay_when_config_is_null(repo_root):
    doc = render_config(project_settings(REPO_ROOT))
    source = tomllib.loads((repo_root / "tasks" / "builder" / "buildkitd.toml").read_text())
    assert doc["worker"]["oci"]["maxUsedSpace"] == source["worker"]["oci"]["maxUsedSpace"]
