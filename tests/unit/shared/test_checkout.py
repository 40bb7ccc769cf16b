"""The checkout's commit and origin from one `git log` (origin's URL through git's trace2): on real
temporary repositories, every value equals what the separate git commands said before."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tasks.bake.definition import _git_variables
from tasks.builder.lifecycle import default_builder_name
from tasks.shared.checkout import DETACHED, read_commit, rewritten
from tasks.shared.process import git_output, run

CI_VARIABLES = (
    "GITHUB_ACTOR", "GITHUB_REPOSITORY", "GITHUB_REF_NAME", "GITLAB_USER_LOGIN", "CI_PROJECT_PATH",
    "CI_COMMIT_REF_NAME", "BUILDKITE_BUILD_CREATOR", "BUILDKITE_REPO", "BUILDKITE_BRANCH",
)  # fmt: skip


@pytest.fixture(autouse=True)
def plain_git(monkeypatch, tmp_path):
    """git as on a developer's machine: no CI identity, only these tests' config, a fixed author."""
    for name in (*CI_VARIABLES, "GIT_DIR", "GIT_COMMON_DIR", "GIT_CONFIG_COUNT", "GIT_CONFIG_PARAMETERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "global.gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "test@example.com")


def git(repo: Path, *args: str) -> str:
    return run(["git", "-C", str(repo), *args]).stdout.strip()


def new_repo(path: Path, *, commits: int = 1) -> Path:
    run(["git", "init", "-q", "-b", "main", str(path)])
    (path / "file").write_text("one\n")
    git(path, "add", "file")
    for number in range(commits):
        git(path, "commit", "-q", "--allow-empty", "-m", f"commit {number}")
    return path


def separately(root: Path) -> dict[str, str]:
    """What the separate commands said before: the three git processes of a default build."""
    origin = git_output("remote", "get-url", "origin", cwd=root)
    return {
        "revision": git(root, "log", "-1", "--format=%H"),
        "created": git(root, "log", "-1", "--format=%cI"),
        "epoch": git(root, "log", "-1", "--format=%ct"),
        "branch": git_output("rev-parse", "--abbrev-ref", "HEAD", cwd=root),
        "origin": origin,
        "builder": default_builder_name(root, None),  # no commit: git asked for branch and origin
        "git_version": git_output("describe", "--tags", "--always", "--dirty", cwd=root),
    }


def at_once(root: Path) -> dict[str, str]:
    commit = read_commit(root, describe=True)
    assert commit is not None
    # Read without describe, the commit leaves the version to the bake variables, which ask git.
    alone = read_commit(root)
    assert alone is not None and alone.described is None
    assert _git_variables(root, alone) == _git_variables(root, commit)
    return {
        "revision": commit.revision,
        "created": commit.created,
        "epoch": commit.epoch,
        "branch": commit.branch,
        "origin": commit.origin if commit.origin is not None else "(unknown)",
        "builder": default_builder_name(root, commit),
        "git_version": _git_variables(root, commit)["git_version"],
    }


def test_a_clone_names_its_origin_from_the_one_git_log(tmp_path):
    upstream = new_repo(tmp_path / "upstream.git")
    clone = tmp_path / "work"
    run(["git", "clone", "-q", str(upstream), str(clone)])
    assert at_once(clone) == separately(clone)
    assert read_commit(clone).origin == str(upstream)  # type: ignore[union-attr]
    assert default_builder_name(clone, read_commit(clone)).endswith("-upstream-main")


def test_a_worktree_reads_the_origin_of_its_repository(tmp_path):
    clone = new_repo(tmp_path / "clone")
    git(clone, "remote", "add", "origin", "https://example.com/team/project.git")
    git(clone, "worktree", "add", "-q", "-b", "topic", str(tmp_path / "topic"))
    topic = tmp_path / "topic"
    assert (topic / ".git").is_file()
    assert at_once(topic) == separately(topic)
    assert at_once(topic)["builder"].endswith("-project-topic")
    # The worktree's own HEAD: a subdirectory names the same checkout.
    (topic / "sub").mkdir()
    assert at_once(topic / "sub") == separately(topic / "sub")


def test_without_origin_the_repository_is_named_by_its_directory(tmp_path):
    repo = new_repo(tmp_path / "lonely")
    assert read_commit(repo).origin == ""  # type: ignore[union-attr]
    assert at_once(repo) == separately(repo)
    assert at_once(repo)["builder"].endswith("-lonely-main")


def test_a_dirty_tree_without_tags_and_then_with_one(tmp_path):
    repo = new_repo(tmp_path / "repo", commits=2)
    (repo / "file").write_text("changed\n")
    values = at_once(repo)
    assert values == separately(repo)
    assert values["git_version"].endswith("-dirty")
    git(repo, "tag", "v1.0", "HEAD~1")
    assert at_once(repo) == separately(repo)
    assert at_once(repo)["git_version"].startswith("v1.0-1-g")


def test_a_detached_head(tmp_path):
    repo = new_repo(tmp_path / "repo", commits=2)
    git(repo, "checkout", "-q", "--detach", "HEAD~1")
    assert at_once(repo) == separately(repo)
    assert at_once(repo)["branch"] == DETACHED


def test_instead_of_rewrites_include_files_and_several_urls(tmp_path):
    """What git resolves for get-url: the first URL, the longest insteadOf prefix (of any config
    file, includes too)."""
    repo = new_repo(tmp_path / "repo")
    included = tmp_path / "remotes.gitconfig"
    included.write_text('[remote "origin"]\n\turl = gh:team/first.git\n\turl = gh:team/second.git\n')
    git(repo, "config", "include.path", str(included))
    (tmp_path / "global.gitconfig").write_text(
        '[url "https://mirror.example/"]\n\tinsteadOf = gh:\n'
        '[url "https://long.example/deep/"]\n\tinsteadOf = gh:team/\n'
    )
    assert at_once(repo) == separately(repo)
    assert read_commit(repo).origin == "https://long.example/deep/first.git"  # type: ignore[union-attr]


def test_a_conditional_include_on_the_branch(tmp_path):
    """`includeIf "onbranch:..."`: git decides with the checked-out branch, in the same process."""
    repo = new_repo(tmp_path / "repo")
    included = tmp_path / "main-only.gitconfig"
    included.write_text('[remote "origin"]\n\turl = https://example.com/team/on-main.git\n')
    git(repo, "config", "includeIf.onbranch:main.path", str(included))
    assert at_once(repo) == separately(repo)
    assert at_once(repo)["origin"] == "https://example.com/team/on-main.git"
    git(repo, "checkout", "-q", "-b", "other")
    assert at_once(repo) == separately(repo)
    assert at_once(repo)["origin"] == ""


def test_config_given_in_the_environment_counts(tmp_path, monkeypatch):
    repo = new_repo(tmp_path / "repo")
    git(repo, "remote", "add", "origin", "https://example.com/a/file-config.git")
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "url.https://other.example/b/.insteadOf")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "https://example.com/a/")
    assert at_once(repo) == separately(repo)
    assert at_once(repo)["origin"] == "https://other.example/b/file-config.git"


def test_a_legacy_remotes_file_is_left_to_git(tmp_path):
    """`.git/remotes/origin` defines origin for git only: the URL is not known from the config,
    and the builder name asks `git remote get-url` (same answer as before)."""
    repo = new_repo(tmp_path / "repo")
    (repo / ".git" / "remotes").mkdir()
    (repo / ".git" / "remotes" / "origin").write_text("URL: https://example.com/legacy/old.git\n")
    commit = read_commit(repo)
    assert commit is not None and commit.origin is None
    assert default_builder_name(repo, commit) == separately(repo)["builder"]
    assert default_builder_name(repo, commit).endswith("-old-main")


def test_git_dir_in_the_environment_leaves_the_origin_to_git(tmp_path, monkeypatch):
    repo = new_repo(tmp_path / "repo")
    monkeypatch.setenv("GIT_DIR", str(repo / ".git"))
    commit = read_commit(repo)
    assert commit is not None and commit.origin is None


def test_outside_a_checkout_and_before_the_first_commit(tmp_path):
    assert read_commit(tmp_path) is None
    assert read_commit(tmp_path, describe=True) is None
    run(["git", "init", "-q", str(tmp_path / "empty")])
    assert read_commit(tmp_path / "empty", describe=True) is None
    assert _git_variables(tmp_path / "empty", None)["git_version"] == "unknown"


def test_the_users_own_trace2_settings_do_not_leak_into_the_answer(tmp_path, monkeypatch):
    repo = new_repo(tmp_path / "repo")
    git(repo, "remote", "add", "origin", "https://example.com/a/traced.git")
    trace = tmp_path / "trace.normal"
    monkeypatch.setenv("GIT_TRACE2", str(trace))
    monkeypatch.setenv("GIT_TRACE2_CONFIG_PARAMS", "core.*")
    assert at_once(repo) == separately(repo)
    assert os.path.exists(trace)  # the user's own trace still gets written


def test_rewritten_picks_the_longest_prefix_then_the_first():
    rewrites = [("https://a/", "x:"), ("https://b/", "x:y/"), ("https://c/", "x:y/")]
    assert rewritten("x:y/z", rewrites) == "https://b/z"
    assert rewritten("x:z", rewrites) == "https://a/z"
    assert rewritten("other", rewrites) == "other"
