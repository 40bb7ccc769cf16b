"""Builder names: validation and the default isolation key (actor/repo/branch)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from ..shared.errors import bad_input

# buildx accepts letters, digits, '.', '_' and '-', starting with a letter or digit.
_BUILDER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MAX_BUILDER_NAME = 63


def validate_builder_name(name: str) -> str:
    if not _BUILDER_NAME.match(name) or len(name) > MAX_BUILDER_NAME:
        raise bad_input(
            f"invalid builder name {name!r}: use letters, digits, '.', '_' or '-' "
            f"(first a letter or digit, at most {MAX_BUILDER_NAME} characters)"
        )
    return name


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "x"


def isolation_key(actor: str, repo: str, branch: str, prefix: str = "bakehouse") -> str:
    """A builder name per actor, repository and branch, so concurrent work never shares a builder.

    Long keys are shortened with a hash suffix so two different long branches stay apart.
    """
    name = "-".join([prefix, _slug(actor), _slug(repo.rsplit("/", 1)[-1]), _slug(branch)])
    if len(name) <= MAX_BUILDER_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_BUILDER_NAME - 9].rstrip('-')}-{digest}"


def ci_identity(env: Mapping[str, str]) -> tuple[str, str, str] | None:
    """Actor, repository and branch from the CI system's environment, when it says them."""
    for actor_var, repo_var, branch_var in (
        ("GITHUB_ACTOR", "GITHUB_REPOSITORY", "GITHUB_REF_NAME"),
        ("GITLAB_USER_LOGIN", "CI_PROJECT_PATH", "CI_COMMIT_REF_NAME"),
        ("BUILDKITE_BUILD_CREATOR", "BUILDKITE_REPO", "BUILDKITE_BRANCH"),
    ):
        if all(env.get(var) for var in (actor_var, repo_var, branch_var)):
            return env[actor_var], env[repo_var], env[branch_var]
    return None
