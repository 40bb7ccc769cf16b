"""Trust scopes for the shared registry cache: who may write what every other build imports.

BuildKit maps an imported cache record's key to its layers without looking at the files: whoever
writes a cache ref decides what the readers' builds contain. So the cache is split by trust, the way
GitHub's cache (a branch reads its own and the default branch's entries, writes only its own) and
GitLab's (protected and unprotected refs apart) split theirs:

- ``cache.trusted_ref``: written only by trusted runs, and the only thing a trusted run imports;
- ``cache.scope_ref`` (holding ``{scope}``): one repository per isolation key (actor/repo/branch,
  the builder's default name); an untrusted run imports its own scope, then the trusted ref, and
  exports to its own scope only.

A run is trusted only by what the CI says about it (event, ref, protected flag, repository), never by
an actor's or a branch's *name*: a name is chosen by whoever pushes. This module is pure: the
environment and the event payload come in as mappings, so unit tests can hold every case.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..shared.errors import bad_input

SCOPE_FIELD = "{scope}"
# GitHub events whose runs can be trusted when their ref is a trusted one. Not pull_request_target
# or workflow_run: they run with the base branch's ref (GITHUB_REF is the default branch) but for
# code or artifacts a pull request controls.
TRUSTED_GITHUB_EVENTS = ("push", "release", "schedule", "workflow_dispatch")
# What an isolation key (tasks.builder.naming.isolation_key) can hold: the scope's characters.
_SCOPE_CHARS = "[a-z0-9._-]+"


@dataclass(frozen=True)
class TrustPolicy:
    """The settings trust is judged by (bakehouse.cache)."""

    # owner/name (GitHub) or group/project (GitLab) whose trusted refs may write; "": any.
    trusted_repository: str = ""
    # GitHub refs (fnmatch patterns such as refs/tags/*) trusted on push; empty: the default branch.
    trusted_refs: tuple[str, ...] = ()
    # A run outside any CI is trusted (a release machine); a CI run never is by this setting.
    trust_local: bool = False


@dataclass(frozen=True)
class RunTrust:
    """Whether this run may write the trusted cache, which system said so, and why (for the log)."""

    trusted: bool
    system: str  # github | gitlab | ci | local
    reason: str


def ci_system(env: Mapping[str, str]) -> str:
    """The CI the environment belongs to: github, gitlab, ci (another one) or local."""
    if env.get("GITHUB_ACTIONS") == "true":
        return "github"
    if env.get("GITLAB_CI") == "true":
        return "gitlab"
    if env.get("CI", "").lower() in ("true", "1"):
        return "ci"
    return "local"


def github_default_branch(event: Mapping[str, Any] | None) -> str:
    """The repository's default branch from the event payload (GITHUB_EVENT_PATH); "" if absent."""
    repository = (event or {}).get("repository")
    if isinstance(repository, Mapping):
        return str(repository.get("default_branch") or "")
    return ""


def decide_trust(
    env: Mapping[str, str], policy: TrustPolicy, event: Mapping[str, Any] | None = None
) -> RunTrust:
    """Trusted or not, from the CI's own variables (and GitHub's event payload) only."""
    system = ci_system(env)
    if system == "github":
        return _github_trust(env, policy, event)
    if system == "gitlab":
        return _gitlab_trust(env, policy)
    if system == "ci":
        return RunTrust(False, system, "a CI bakehouse can't read trust from (only GitHub and GitLab)")
    if policy.trust_local:
        return RunTrust(True, system, "a local run, trusted by cache.trust_local")
    return RunTrust(False, system, "a local run (cache.trust_local is off)")


def _github_trust(env: Mapping[str, str], policy: TrustPolicy, event: Mapping[str, Any] | None) -> RunTrust:
    event_name = env.get("GITHUB_EVENT_NAME", "")
    ref = env.get("GITHUB_REF", "")
    repository = env.get("GITHUB_REPOSITORY", "")
    where = f"{event_name or 'no event'} of {ref or 'no ref'} in {repository or 'no repository'}"
    if event_name not in TRUSTED_GITHUB_EVENTS:
        return RunTrust(False, "github", f"{where}: only {', '.join(TRUSTED_GITHUB_EVENTS)} can be trusted")
    if policy.trusted_repository and repository != policy.trusted_repository:
        return RunTrust(False, "github", f"{where}: not the trusted repository {policy.trusted_repository}")
    payload_repository = (event or {}).get("repository")
    if isinstance(payload_repository, Mapping) and payload_repository.get("fork") is True:
        return RunTrust(False, "github", f"{where}: the repository is a fork")
    if policy.trusted_refs:
        patterns: Sequence[str] = policy.trusted_refs
        source = "cache.trusted_refs"
    else:
        default_branch = github_default_branch(event)
        if not default_branch:
            return RunTrust(
                False,
                "github",
                f"{where}: the event payload names no default branch and cache.trusted_refs is empty",
            )
        patterns = (f"refs/heads/{default_branch}",)
        source = "the default branch"
    if not any(fnmatch.fnmatchcase(ref, pattern) for pattern in patterns):
        return RunTrust(False, "github", f"{where}: not {source} ({', '.join(patterns)})")
    return RunTrust(True, "github", f"{where}: {source}")


def _gitlab_trust(env: Mapping[str, str], policy: TrustPolicy) -> RunTrust:
    ref = env.get("CI_COMMIT_REF_NAME", "")
    project = env.get("CI_PROJECT_PATH", "")
    where = f"{ref or 'no ref'} in {project or 'no project'}"
    if env.get("CI_PIPELINE_SOURCE") == "merge_request_event":
        return RunTrust(False, "gitlab", f"{where}: a merge request pipeline")
    if policy.trusted_repository and project != policy.trusted_repository:
        return RunTrust(False, "gitlab", f"{where}: not the trusted project {policy.trusted_repository}")
    if env.get("CI_COMMIT_REF_PROTECTED") != "true":
        return RunTrust(False, "gitlab", f"{where}: not a protected ref")
    return RunTrust(True, "gitlab", f"{where}: a protected ref")


# --- the refs a run imports and exports ----------------------------------------------------------


def check_scope_settings(trusted_ref: str, scope_ref: str, legacy_ref: str, backend: str) -> None:
    """Refuse (exit 2) scope settings that can't keep trusted and untrusted writes apart."""
    if not (trusted_ref or scope_ref):
        return
    if legacy_ref:
        raise bad_input(
            "cache.ref and cache.trusted_ref/scope_ref: the single shared ref is what scopes replace; "
            "set cache.ref to empty"
        )
    if backend != "registry":
        raise bad_input(
            f"cache.trusted_ref/scope_ref need cache.backend registry, not {backend or 'empty (off)'!r}"
        )
    if not trusted_ref or not scope_ref:
        raise bad_input(
            "cache.trusted_ref and cache.scope_ref: set both (trusted runs write one, others the other)"
        )
    _check_repository(trusted_ref, "cache.trusted_ref")
    if scope_ref.count(SCOPE_FIELD) != 1:
        raise bad_input(f"cache.scope_ref {scope_ref!r}: expected {SCOPE_FIELD} exactly once")
    _check_repository(scope_ref.replace(SCOPE_FIELD, "scope"), "cache.scope_ref")
    if scope_pattern(scope_ref).fullmatch(trusted_ref):
        # "Poisoning by construction": some actor/repo/branch would make its scope the trusted ref.
        raise bad_input(
            f"cache.scope_ref {scope_ref!r} can name cache.trusted_ref {trusted_ref!r} for some scope; "
            "give scopes a path the trusted ref can't take (e.g. .../scopes/{scope})"
        )


def _check_repository(ref: str, setting: str) -> None:
    if not ref or ":" in ref.rsplit("/", 1)[-1] or "/" not in ref or ref != ref.lower():
        raise bad_input(
            f"{setting} {ref!r}: expected a lowercase repository without tag, e.g. host:5000/team/cache"
        )


def scope_pattern(scope_ref: str) -> re.Pattern[str]:
    """What ``scope_ref`` can become, as a regular expression (any isolation key for {scope})."""
    before, _, after = scope_ref.partition(SCOPE_FIELD)
    return re.compile(re.escape(before) + _SCOPE_CHARS + re.escape(after))


@dataclass(frozen=True)
class ScopedRefs:
    """The repositories a run imports (in order) and the one it exports to; the run's trust."""

    trust: RunTrust
    trusted_ref: str
    scope_ref: str  # filled with this run's scope
    imports: tuple[str, ...]
    export: str


def scoped_refs(trusted_ref: str, scope_ref: str, scope: str, trust: RunTrust) -> ScopedRefs:
    """Trusted: import and export the trusted ref only. Untrusted: import the own scope, then the
    trusted ref; export to the own scope only."""
    if not re.fullmatch(_SCOPE_CHARS, scope):
        raise bad_input(f"isolation key {scope!r}: not usable as a cache scope")
    own = scope_ref.replace(SCOPE_FIELD, scope)
    if trust.trusted:
        return ScopedRefs(trust, trusted_ref, own, (trusted_ref,), trusted_ref)
    return ScopedRefs(trust, trusted_ref, own, (own, trusted_ref), own)


def _repository(entry: Mapping[str, Any]) -> str:
    """The registry repository a cache entry reads or writes ("" for other kinds: local, gha...)."""
    if str(entry.get("type", "")) != "registry":
        return ""
    ref = str(entry.get("ref", ""))
    repository, _, tag = ref.rpartition(":")
    # A colon after the last slash starts the tag; one before it is a registry's port.
    return repository if repository and "/" not in tag else ref


def describe_entry(entry: Mapping[str, Any]) -> str:
    return ",".join(f"{key}={value}" for key, value in entry.items())


def trust_violations(
    refs: ScopedRefs, entries: Mapping[str, tuple[Sequence[Mapping[str, Any]], Sequence[Mapping[str, Any]]]]
) -> list[str]:
    """What a plan's final cache entries (per target: cache-from, cache-to) do that the run's trust
    doesn't allow, in words; empty when nothing."""
    problems: list[str] = []
    for target, (imports, exports) in sorted(entries.items()):
        for entry in exports:
            repository = _repository(entry)
            if refs.trust.trusted and repository != refs.trusted_ref:
                allowed = f"a trusted run exports only to {refs.trusted_ref}"
            elif not refs.trust.trusted and repository == refs.trusted_ref:
                problems.append(f"{target}: an untrusted run would export to the trusted ref {repository}")
                continue
            elif not refs.trust.trusted and repository != refs.scope_ref:
                allowed = f"an untrusted run exports only to its scope {refs.scope_ref}"
            else:
                continue
            problems.append(f"{target}: {allowed}, not {describe_entry(entry)}")
        for entry in imports:
            if _repository(entry) not in refs.imports:
                who = "a trusted run" if refs.trust.trusted else "an untrusted run"
                allowed = f"{who} imports only {' and '.join(refs.imports)}"
                problems.append(f"{target}: {allowed}, not {describe_entry(entry)}")
    return problems


def final_entries(
    plan_targets: Mapping[str, Mapping[str, Any]],
    generated: Mapping[str, tuple[Sequence[Mapping[str, Any]], Sequence[Mapping[str, Any]]]],
    names: Iterable[str],
) -> dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """Per target, the cache-from/cache-to bake will use: the generated ones replace what the bake
    files and --set gave (`--set NAME.cache-from=` replaces), the plan's stay where nothing is generated."""
    result: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
    for name in names:
        planned = plan_targets.get(name, {})
        ours_from, ours_to = generated.get(name, ((), ()))
        imports = (
            [dict(e) for e in ours_from]
            if ours_from
            else [_as_entry(e) for e in planned.get("cache-from") or []]
        )
        exports = (
            [dict(e) for e in ours_to] if ours_to else [_as_entry(e) for e in planned.get("cache-to") or []]
        )
        result[name] = (imports, exports)
    return result


def planned_entries(
    plan_targets: Mapping[str, Mapping[str, Any]],
) -> dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """Per target, the cache-from/cache-to the bake files and --set ask for (`bake --print`)."""
    return {
        name: (
            [_as_entry(e) for e in definition.get("cache-from") or []],
            [_as_entry(e) for e in definition.get("cache-to") or []],
        )
        for name, definition in plan_targets.items()
    }


def _as_entry(entry: object) -> dict[str, Any]:
    """A cache entry as `bake --print` shows it (a mapping), also from the CSV form older buildx prints."""
    if isinstance(entry, Mapping):
        return dict(entry)
    pairs = (part.split("=", 1) for part in str(entry).split(",") if "=" in part)
    return {key: value for key, value in pairs}
