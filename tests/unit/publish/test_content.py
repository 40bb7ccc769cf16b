"""Content tags over a small bake tree in real git repositories (clones, edits, untracked files)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tasks.publish.content import ContentTag, content_tags, normalized_definition, read_git_tree
from tasks.shared.errors import BakehouseError
from tasks.shared.settings import PublishSettings

# root -> mid -> leaf, in two cells (A and B) that differ only in a build arg of the root.
FILES = {
    "images/Dockerfile.root": "FROM debian:trixie-slim\nCOPY root.txt /\n",
    "images/Dockerfile.mid": "FROM input\nCOPY mid/ /mid/\n",
    "images/Dockerfile.leaf": "FROM input\nRUN --mount=type=bind,source=scripts/leaf.sh,target=/x sh /x\n",
    "images/root.txt": "root\n",
    "images/mid/a.txt": "a\n",
    "images/scripts/leaf.sh": "echo leaf\n",
    "images/unread.txt": "nobody copies me\n",
    "README": "not in any context\n",
}
CELLS = ("A", "B")
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "init.defaultBranch=main"]


def plan(nprocs: str = "2", root_arg: dict[str, str] | None = None) -> dict[str, Any]:
    targets: dict[str, dict[str, Any]] = {}
    for cell in CELLS:
        targets[f"root-{cell}"] = {
            "context": "images",
            "dockerfile": "Dockerfile.root",
            "args": {"nprocs": nprocs, "cell": (root_arg or {}).get(cell, cell)},
            "output": [{"type": "cacheonly"}],
        }
        targets[f"mid-{cell}"] = {
            "context": "images",
            "dockerfile": "Dockerfile.mid",
            "contexts": {"input": f"target:root-{cell}"},
            "args": {"nprocs": nprocs},
        }
        targets[f"leaf-{cell}"] = {
            "context": "images",
            "dockerfile": "Dockerfile.leaf",
            "contexts": {"input": f"target:mid-{cell}"},
            "args": {"nprocs": nprocs},
            "labels": {"org.opencontainers.image.revision": "abc", "title": "leaf"},
            "tags": [f"bakehouse/leaf-{cell}:latest"],
        }
    return {"target": targets}


NAMES = [f"{layer}-{cell}" for cell in CELLS for layer in ("root", "mid", "leaf")]


def git(repo: Path, *args: str) -> str:
    return subprocess.run([*GIT, "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def repo(tmp_path, write_tree):
    root = tmp_path / "repo"
    write_tree(root, FILES)
    subprocess.run([*GIT, "init", "-q", str(root)], check=True)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "tree")
    return root


def tags(repo: Path, the_plan: dict[str, Any] | None = None) -> dict[str, str]:
    found = content_tags(the_plan or plan(), NAMES, repo, ["nprocs"], read_git_tree(repo))
    return {name: found[name].tag for name in NAMES}


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return [name for name in NAMES if before[name] != after[name]]


def test_the_tag_format_is_c_and_16_hex_and_cells_differ(repo):
    found = tags(repo)
    assert all(re.fullmatch(r"c-[0-9a-f]{16}", tag) for tag in found.values())
    assert len(set(found.values())) == len(NAMES)


def test_another_clone_at_another_path_with_another_core_count_gets_the_same_tags(repo, tmp_path):
    clone = tmp_path / "elsewhere" / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    assert tags(clone, plan(nprocs="64")) == tags(repo, plan(nprocs="2"))


def test_ignored_labels_tags_outputs_and_ignored_args_are_left_out():
    definition = {
        "context": "images",
        "description": "words",
        "args": {"nprocs": "2", "SOURCE_DATE_EPOCH": "1", "keep": "x"},
        "labels": {
            "org.opencontainers.image.version": "v1",
            "org.opencontainers.image.revision": "abc",
            "org.opencontainers.image.created": "2026-01-01",
            "title": "t",
        },
        "tags": ["a:b"],
        "output": [{"type": "docker"}],
        "cache-from": ["x"],
        "cache-to": ["y"],
        "entitlements": ["network.host"],
    }
    assert normalized_definition(definition, ["nprocs"], PublishSettings().ignore_labels) == {
        "context": "images",
        "args": {"keep": "x"},
        "labels": {"title": "t"},
        "entitlements": ["network.host"],
    }
    # Only the labels named are left out: another tree's per-commit labels are its own to list.
    kept = normalized_definition(definition, ["nprocs"], ["org.opencontainers.image.created"])
    assert set(kept["labels"]) == {
        "org.opencontainers.image.version",
        "org.opencontainers.image.revision",
        "title",
    }


def test_a_label_counts_in_the_tag_unless_it_is_ignored(repo):
    def leaf_a(revision: str, ignore_labels: tuple[str, ...]) -> str:
        the_plan = plan()
        the_plan["target"]["leaf-A"]["labels"]["org.opencontainers.image.revision"] = revision
        found = content_tags(the_plan, ["leaf-A"], repo, ["nprocs"], ignore_labels=ignore_labels)
        return found["leaf-A"].digest

    assert leaf_a("abc", ()) != leaf_a("def", ())
    ignored = ("org.opencontainers.image.revision",)
    assert leaf_a("abc", ignored) == leaf_a("def", ignored)


def test_an_edit_changes_the_tags_of_the_targets_that_read_it_and_of_those_under_them_only(repo):
    before = tags(repo)
    (repo / "images/scripts/leaf.sh").write_text("echo changed\n")
    git(repo, "commit", "-qam", "leaf")
    assert changed(before, tags(repo)) == ["leaf-A", "leaf-B"]
    before = tags(repo)
    (repo / "images/mid/a.txt").write_text("changed\n")
    git(repo, "commit", "-qam", "mid")
    assert changed(before, tags(repo)) == ["mid-A", "leaf-A", "mid-B", "leaf-B"]


def test_a_definition_change_in_one_cell_changes_that_cell_s_chain_only(repo):
    assert changed(tags(repo), tags(repo, plan(root_arg={"B": "B2"}))) == ["root-B", "mid-B", "leaf-B"]


def test_files_no_dockerfile_reads_change_nothing(repo):
    before = tags(repo)
    (repo / "images/unread.txt").write_text("edited\n")
    (repo / "README").write_text("edited\n")
    (repo / "images/new-untracked.txt").write_text("new\n")
    assert tags(repo) == before


def test_a_modified_read_file_makes_its_target_and_those_under_it_wip(repo):
    clean = tags(repo)
    (repo / "images/mid/a.txt").write_text("uncommitted\n")
    dirty = tags(repo)
    assert [name for name in NAMES if dirty[name].endswith("-wip")] == ["mid-A", "leaf-A", "mid-B", "leaf-B"]
    assert dirty["root-A"] == clean["root-A"]
    # Committing the same content gives the same digest, without the suffix.
    git(repo, "commit", "-qam", "now committed")
    assert tags(repo)["mid-A"] == dirty["mid-A"].removesuffix("-wip")


def test_an_untracked_or_staged_read_file_is_wip_too(repo):
    (repo / "images/mid/new.txt").write_text("untracked\n")
    assert tags(repo)["mid-A"].endswith("-wip")
    git(repo, "add", "images/mid/new.txt")
    assert tags(repo)["mid-A"].endswith("-wip")


def test_a_mode_change_changes_the_tag(repo):
    before = tags(repo)
    (repo / "images/scripts/leaf.sh").chmod(0o755)
    after = tags(repo)
    assert changed(before, after) == ["leaf-A", "leaf-B"]
    assert after["leaf-A"].endswith("-wip")


def test_outside_git_every_tag_is_wip(tmp_path, write_tree):
    write_tree(tmp_path, FILES)
    found = content_tags(plan(), NAMES, tmp_path, ["nprocs"], read_git_tree(tmp_path))
    assert read_git_tree(tmp_path) is None
    assert all(tag.wip for tag in found.values())


def test_the_whole_context_respects_dockerignore(repo):
    the_plan = plan()
    the_plan["target"]["root-A"]["dockerfile-inline"] = "FROM x\nCOPY . /\n"
    before = tags(repo, the_plan)
    (repo / "images/.dockerignore").write_text("unread.txt\n")
    with_ignore = tags(repo, the_plan)
    assert with_ignore["root-A"] != before["root-A"]  # the ignore file is an input itself
    (repo / "images/unread.txt").write_text("ignored edit\n")
    assert tags(repo, the_plan)["root-A"] == with_ignore["root-A"]
    (repo / "images/root.txt").write_text("read edit\n")
    assert tags(repo, the_plan)["root-A"] != with_ignore["root-A"]


def test_named_contexts_count_by_value_or_by_their_files(repo):
    the_plan = plan()
    contexts = {"base": "docker-image://debian:trixie-slim", "extra": "extra-dir"}
    the_plan["target"]["root-A"]["contexts"] = contexts
    (repo / "extra-dir").mkdir()
    (repo / "extra-dir/file").write_text("1\n")

    def root_a() -> ContentTag:
        return content_tags(the_plan, ["root-A"], repo, [], read_git_tree(repo))["root-A"]

    first = root_a()
    assert first.wip and "extra-dir/file" in first.files  # untracked
    (repo / "extra-dir/file").write_text("2\n")
    second = root_a()
    assert second.digest != first.digest
    contexts["base"] = "docker-image://debian:bookworm-slim"
    assert root_a().digest != second.digest


def test_a_sha256_repository_is_clean_and_gives_the_same_digests(tmp_path, write_tree, repo):
    other = tmp_path / "sha256"
    write_tree(other, FILES)
    subprocess.run([*GIT, "init", "-q", "--object-format=sha256", str(other)], check=True)
    git(other, "add", "-A")
    git(other, "commit", "-q", "-m", "tree")
    tree = read_git_tree(other)
    assert tree is not None and tree.algorithm == "sha256"
    assert tags(other) == tags(repo)


def test_a_target_lists_the_files_it_reads_itself(repo):
    found: dict[str, ContentTag] = content_tags(plan(), NAMES, repo, ["nprocs"], read_git_tree(repo))
    assert found["leaf-A"].files == ("images/Dockerfile.leaf", "images/scripts/leaf.sh")
    assert found["mid-A"].files == ("images/Dockerfile.mid", "images/mid/a.txt")


def test_a_missing_parent_or_dockerfile_is_an_error_not_a_tag(repo):
    the_plan = plan()
    del the_plan["target"]["mid-A"]
    with pytest.raises(BakehouseError, match=r"did not describe target 'mid-A' \(a parent of leaf-A\)$"):
        content_tags(the_plan, ["leaf-A"], repo)
    with pytest.raises(BakehouseError, match=r"did not describe target 'gone' \(a parent of the request\)$"):
        content_tags(the_plan, ["gone"], repo)
    (repo / "images/Dockerfile.root").unlink()
    with pytest.raises(BakehouseError, match=r"Dockerfile\.root not found"):
        content_tags(plan(), ["root-A"], repo)
