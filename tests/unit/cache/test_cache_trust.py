"""Trust scopes of the shared cache: who is trusted (from CI variables only), which refs a run imports
and exports, and the plans and settings refused before anything runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tasks.builder.lifecycle import default_builder_name
from tasks.cache.bake_cache import cache_scope, plan_with_cache
from tasks.cache.export import CacheSettings, cache_plan, scoped_entries
from tasks.cache.trust import (
    RunTrust,
    TrustPolicy,
    check_scope_settings,
    decide_trust,
    final_entries,
    planned_entries,
    scoped_refs,
    trust_violations,
)
from tasks.shared.errors import BAD_INPUT, BakehouseError
from tasks.shared.settings import Settings

TRUSTED = "reg:5000/team/cache/trusted"
SCOPES = "reg:5000/team/cache/scopes/{scope}"
SCOPE = "bakehouse-alice-homeserver-feature"
OWN = f"reg:5000/team/cache/scopes/{SCOPE}"

# A push to main of the project itself, as GitHub's runner environment and event payload say it.
GITHUB_PUSH_MAIN = {
    "GITHUB_ACTIONS": "true",
    "CI": "true",
    "GITHUB_EVENT_NAME": "push",
    "GITHUB_REF": "refs/heads/main",
    "GITHUB_REPOSITORY": "team/homeserver",
    "GITHUB_ACTOR": "alice",
}
PAYLOAD: dict[str, Any] = {
    "repository": {"full_name": "team/homeserver", "default_branch": "main", "fork": False}
}
ONLY_OURS = TrustPolicy(trusted_repository="team/homeserver")


def test_a_push_to_the_default_branch_named_by_the_event_payload_is_trusted():
    trust = decide_trust(GITHUB_PUSH_MAIN, ONLY_OURS, PAYLOAD)
    assert trust == RunTrust(True, "github", "push of refs/heads/main in team/homeserver: the default branch")


@pytest.mark.parametrize(
    ("changes", "payload", "why"),
    [
        ({"GITHUB_REF": "refs/heads/feature"}, PAYLOAD, "not the default branch (refs/heads/main)"),
        # A pull request's runs never write the trusted cache, whatever its branch is called.
        ({"GITHUB_EVENT_NAME": "pull_request", "GITHUB_REF": "refs/pull/7/merge"}, PAYLOAD, "only push"),
        # pull_request_target and workflow_run run with the base branch's ref: the event decides.
        ({"GITHUB_EVENT_NAME": "pull_request_target"}, PAYLOAD, "only push"),
        ({"GITHUB_EVENT_NAME": "workflow_run"}, PAYLOAD, "only push"),
        # A fork's push to its own main.
        ({"GITHUB_REPOSITORY": "mallory/homeserver"}, PAYLOAD, "not the trusted repository team/homeserver"),
        # Without the payload the default branch is unknown: the name "main" proves nothing.
        ({}, None, "the event payload names no default branch"),
        # A branch named like the default one, elsewhere in the ref namespace.
        ({"GITHUB_REF": "refs/heads/main-fix"}, PAYLOAD, "not the default branch"),
        ({"GITHUB_REF": "refs/tags/main"}, PAYLOAD, "not the default branch"),
    ],
)
def test_other_github_runs_are_untrusted(changes: dict[str, str], payload: dict[str, Any] | None, why: str):
    trust = decide_trust({**GITHUB_PUSH_MAIN, **changes}, ONLY_OURS, payload)
    assert not trust.trusted
    assert why in trust.reason


def test_the_actor_and_the_branch_name_decide_nothing():
    admin = {**GITHUB_PUSH_MAIN, "GITHUB_ACTOR": "admin", "GITHUB_REF_NAME": "main"}
    assert decide_trust(admin, ONLY_OURS, PAYLOAD).trusted
    pr_by_admin = {**admin, "GITHUB_EVENT_NAME": "pull_request", "GITHUB_HEAD_REF": "main"}
    assert not decide_trust(pr_by_admin, ONLY_OURS, PAYLOAD).trusted


def test_a_fork_payload_is_untrusted_when_no_repository_is_configured():
    fork = {"repository": {"default_branch": "main", "fork": True}}
    assert decide_trust(GITHUB_PUSH_MAIN, TrustPolicy(), PAYLOAD).trusted
    assert "a fork" in decide_trust(GITHUB_PUSH_MAIN, TrustPolicy(), fork).reason


def test_configured_trusted_refs_replace_the_default_branch():
    policy = TrustPolicy("team/homeserver", ("refs/heads/main", "refs/tags/*"))
    tag = {**GITHUB_PUSH_MAIN, "GITHUB_REF": "refs/tags/v1.2"}
    release = {**tag, "GITHUB_EVENT_NAME": "release"}
    assert decide_trust(tag, policy, None).trusted
    assert decide_trust(release, policy, None).trusted
    assert decide_trust(GITHUB_PUSH_MAIN, policy, None).trusted
    assert not decide_trust({**GITHUB_PUSH_MAIN, "GITHUB_REF": "refs/heads/develop"}, policy, PAYLOAD).trusted


GITLAB_PROTECTED = {
    "GITLAB_CI": "true",
    "CI": "true",
    "CI_COMMIT_REF_NAME": "main",
    "CI_COMMIT_REF_PROTECTED": "true",
    "CI_PROJECT_PATH": "team/homeserver",
    "CI_PIPELINE_SOURCE": "push",
    "GITLAB_USER_LOGIN": "alice",
}


def test_gitlab_trusts_protected_refs_of_the_trusted_project():
    assert decide_trust(GITLAB_PROTECTED, ONLY_OURS).trusted
    for changes in (
        {"CI_COMMIT_REF_PROTECTED": "false"},
        {"CI_COMMIT_REF_PROTECTED": ""},
        {"CI_PROJECT_PATH": "mallory/homeserver"},
        {"CI_PIPELINE_SOURCE": "merge_request_event"},
    ):
        assert not decide_trust({**GITLAB_PROTECTED, **changes}, ONLY_OURS).trusted, changes
    # A branch called main that isn't protected is just a name.
    assert not decide_trust({**GITLAB_PROTECTED, "CI_COMMIT_REF_PROTECTED": "false"}, TrustPolicy()).trusted


def test_a_local_run_is_trusted_only_when_configured_and_never_inside_a_ci():
    local_trusted = TrustPolicy(trust_local=True)
    assert not decide_trust({}, TrustPolicy()).trusted
    assert decide_trust({"HOME": "/home/x"}, local_trusted) == RunTrust(
        True, "local", "a local run, trusted by cache.trust_local"
    )
    assert not decide_trust({"CI": "true"}, local_trusted).trusted
    pull_request = {**GITHUB_PUSH_MAIN, "GITHUB_EVENT_NAME": "pull_request"}
    assert not decide_trust(pull_request, local_trusted, PAYLOAD).trusted
    assert not decide_trust({**GITLAB_PROTECTED, "CI_COMMIT_REF_PROTECTED": "false"}, local_trusted).trusted


TRUSTED_RUN = RunTrust(True, "github", "push")
UNTRUSTED_RUN = RunTrust(False, "github", "pull_request")


def test_trusted_runs_use_the_trusted_ref_only_untrusted_their_scope_first():
    trusted = scoped_refs(TRUSTED, SCOPES, SCOPE, TRUSTED_RUN)
    assert (trusted.imports, trusted.export) == ((TRUSTED,), TRUSTED)
    untrusted = scoped_refs(TRUSTED, SCOPES, SCOPE, UNTRUSTED_RUN)
    assert (untrusted.imports, untrusted.export) == ((OWN, TRUSTED), OWN)


def test_scoped_plan_arguments_exactly():
    settings = CacheSettings(backend="registry", trusted_ref=TRUSTED, scope_ref=SCOPES)
    refs = scoped_refs(TRUSTED, SCOPES, SCOPE, UNTRUSTED_RUN)
    siblings = {"base--postgres": ["base--default"]}
    plan = cache_plan(
        settings, ["base--postgres"], Path("/repo"), "docker-container", siblings=siblings, scoped=refs
    )
    assert plan.set_args == [
        f"--set=base--postgres.cache-to=type=registry,ref={OWN}:base--postgres,mode=max,compression=zstd,"
        "oci-mediatypes=true,image-manifest=true",
        f"--set=base--postgres.cache-from=type=registry,ref={OWN}:base--postgres",
        f"--set=base--postgres.cache-from+=type=registry,ref={OWN}:base--default",
        f"--set=base--postgres.cache-from+=type=registry,ref={TRUSTED}:base--postgres",
        f"--set=base--postgres.cache-from+=type=registry,ref={TRUSTED}:base--default",
    ]
    import_only = CacheSettings(backend="registry", trusted_ref=TRUSTED, scope_ref=SCOPES, export_cache=False)
    trusted = scoped_refs(TRUSTED, SCOPES, SCOPE, TRUSTED_RUN)
    assert cache_plan(import_only, ["base"], Path("/repo"), "remote", scoped=trusted).set_args == [
        f"--set=base.cache-from=type=registry,ref={TRUSTED}:base"
    ]


def _registry(ref: str, **options: str) -> dict[str, str]:
    return {"type": "registry", "ref": ref, **options}


def test_an_untrusted_plan_exporting_to_the_trusted_ref_is_refused():
    refs = scoped_refs(TRUSTED, SCOPES, SCOPE, UNTRUSTED_RUN)
    # As `bake --print` shows a bake file's or --set's cache-to.
    plan = {"base": {"cache-to": [_registry(f"{TRUSTED}:base", mode="max")]}}
    assert trust_violations(refs, planned_entries(plan)) == [
        f"base: an untrusted run would export to the trusted ref {TRUSTED}"
    ]
    elsewhere = {"base": {"cache-to": ["type=registry,ref=reg:5000/other:base"]}}
    assert trust_violations(refs, planned_entries(elsewhere)) == [
        f"base: an untrusted run exports only to its scope {OWN}, not type=registry,ref=reg:5000/other:base"
    ]
    settings = CacheSettings(backend="registry", trusted_ref=TRUSTED, scope_ref=SCOPES)
    assert trust_violations(refs, scoped_entries(settings, refs, ["base"])) == []


def test_a_trusted_plan_importing_anything_else_is_refused():
    refs = scoped_refs(TRUSTED, SCOPES, SCOPE, TRUSTED_RUN)
    plan = {
        "base": {"cache-from": [_registry(f"{OWN}:base")]},
        "venv": {
            "cache-from": [{"type": "local", "src": "/tmp/cache"}],
            "cache-to": [_registry(f"{OWN}:venv")],
        },
        "leaf": {"cache-from": [_registry(f"{TRUSTED}:leaf")], "cache-to": [_registry(f"{TRUSTED}:leaf")]},
    }
    assert trust_violations(refs, planned_entries(plan)) == [
        f"base: a trusted run imports only {TRUSTED}, not type=registry,ref={OWN}:base",
        f"venv: a trusted run exports only to {TRUSTED}, not type=registry,ref={OWN}:venv",
        f"venv: a trusted run imports only {TRUSTED}, not type=local,src=/tmp/cache",
    ]


def test_an_untrusted_run_imports_only_its_scope_and_the_trusted_ref():
    refs = scoped_refs(TRUSTED, SCOPES, SCOPE, UNTRUSTED_RUN)
    other_scope = "reg:5000/team/cache/scopes/bakehouse-mallory-homeserver-x"
    plan = {
        "base": {
            "cache-from": [
                _registry(f"{OWN}:base"),
                _registry(f"{TRUSTED}:base"),
                _registry(f"{other_scope}:b"),
            ]
        }
    }
    assert trust_violations(refs, planned_entries(plan)) == [
        f"base: an untrusted run imports only {OWN} and {TRUSTED}, not type=registry,ref={other_scope}:b"
    ]


def test_generated_entries_replace_the_plans_where_set():
    plan = {"a": {"cache-from": [_registry("x:1")], "cache-to": [_registry("y:1")]}, "b": {}}
    generated: dict[str, tuple[list[dict[str, str]], list[dict[str, str]]]] = {"a": ([_registry("z:a")], [])}
    assert final_entries(plan, generated, ["a", "b"]) == {
        "a": ([_registry("z:a")], [_registry("y:1")]),
        "b": ([], []),
    }


@pytest.mark.parametrize(
    ("trusted_ref", "scope_ref", "legacy_ref", "backend", "words"),
    [
        (TRUSTED, SCOPES, "reg:5000/team/cache", "registry", "cache.ref and cache.trusted_ref/scope_ref"),
        (TRUSTED, SCOPES, "", "local", "need cache.backend registry"),
        (TRUSTED, "", "", "registry", "set both"),
        ("", SCOPES, "", "registry", "set both"),
        (TRUSTED, "reg:5000/team/cache/scopes", "", "registry", "expected {scope} exactly once"),
        (TRUSTED, "reg:5000/{scope}/x/{scope}", "", "registry", "expected {scope} exactly once"),
        (f"{TRUSTED}:latest", SCOPES, "", "registry", "without tag"),
        (TRUSTED, "reg:5000/team/cache/{scope}:tag", "", "registry", "without tag"),
        ("reg:5000/Team/Trusted", SCOPES, "", "registry", "lowercase"),
        # Poisoning by construction: a scope some actor/repo/branch can reach is the trusted ref.
        (
            "reg:5000/team/cache/bakehouse-admin-homeserver-main",
            "reg:5000/team/cache/{scope}",
            "",
            "registry",
            "can name",
        ),
        ("reg:5000/team/cache/trusted", "reg:5000/team/cache/{scope}", "", "registry", "can name"),
    ],
)
def test_scope_settings_that_cant_keep_writes_apart_are_bad_input(
    trusted_ref: str, scope_ref: str, legacy_ref: str, backend: str, words: str
):
    with pytest.raises(BakehouseError) as err:
        check_scope_settings(trusted_ref, scope_ref, legacy_ref, backend)
    assert err.value.code == BAD_INPUT
    assert words in str(err.value)


def test_scope_settings_from_config():
    settings = CacheSettings.from_config(
        {"backend": "registry", "trusted_ref": TRUSTED, "scope_ref": SCOPES, "trusted_refs": ["refs/tags/*"]}
    )
    assert (settings.scoped, settings.ref, settings.trusted_refs) == (True, "", ("refs/tags/*",))
    check_scope_settings(settings.trusted_ref, settings.scope_ref, settings.ref, settings.backend)
    with pytest.raises(BakehouseError) as err:
        CacheSettings.from_config({"backend": "registry", "trusted_refs": "refs/heads/main"})
    assert err.value.code == BAD_INPUT
    with pytest.raises(BakehouseError):
        scoped_refs(TRUSTED, SCOPES, "Not A Key", TRUSTED_RUN)


# --- the bake runner's entry points: settings + environment + plan --------------------------------

CI_VARIABLES = (
    "CI",
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "GITHUB_ACTOR",
    "GITLAB_USER_LOGIN",
    "BUILDKITE_BUILD_CREATOR",
)


def _settings(tmp_path: Path, **cache: object) -> Settings:
    values = {"backend": "registry", "trusted_ref": TRUSTED, "scope_ref": SCOPES, **cache}
    return Settings.from_mapping({"cache": values}, root=tmp_path)


@pytest.fixture
def local_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process as a local run: no CI's variables."""
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_a_local_plan_exporting_to_the_trusted_ref_is_refused_and_printed_plans_show_the_cache(
    tmp_path: Path, local_run: None
):
    plan = {"target": {"base": {"cache-to": [_registry(f"{TRUSTED}:base")]}, "leaf": {}}}
    with pytest.raises(BakehouseError) as err:
        cache_scope(_settings(tmp_path), plan)
    assert err.value.code == BAD_INPUT
    assert str(err.value) == f"cache trust: base: an untrusted run would export to the trusted ref {TRUSTED}"
    # Configured as trusted, the same plan is what a trusted run does.
    trusted = cache_scope(_settings(tmp_path, trust_local=True), plan)
    assert trusted is not None and trusted.trust.trusted and trusted.export == TRUSTED

    shown = plan_with_cache(_settings(tmp_path), {"target": {"leaf": {"context": "."}}})
    scope = scoped_refs(TRUSTED, SCOPES, default_builder_name(tmp_path), UNTRUSTED_RUN).export
    assert shown["target"]["leaf"] == {
        "context": ".",
        "cache-from": [_registry(f"{scope}:leaf"), _registry(f"{TRUSTED}:leaf")],
        "cache-to": [
            _registry(
                f"{scope}:leaf",
                mode="max",
                compression="zstd",
                **{"oci-mediatypes": "true", "image-manifest": "true"},
            )
        ],
    }


def test_mixing_the_single_ref_with_scopes_is_refused_by_the_bake_runner(tmp_path: Path, local_run: None):
    with pytest.raises(BakehouseError) as err:
        cache_scope(_settings(tmp_path, ref="reg:5000/team/cache"), {"target": {}})
    assert err.value.code == BAD_INPUT
    assert (
        cache_scope(Settings.from_mapping({"cache": {"backend": "registry", "ref": "reg:5000/c"}}), {})
        is None
    )
