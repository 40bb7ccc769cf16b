"""Context files: git blob ids and modes, .dockerignore, and picking the files a Dockerfile reads."""

from __future__ import annotations

import os
import subprocess

from tasks.publish.context_files import (
    MODE_EXECUTABLE,
    MODE_FILE,
    MODE_SYMLINK,
    DockerIgnore,
    blob_id,
    dockerignore_file,
    list_files,
    select_read,
)
from tasks.publish.dockerfile_reads import ContextReads


def git_hash_object(path) -> str:
    return subprocess.run(
        ["git", "hash-object", str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_blob_ids_are_the_ids_git_gives_the_same_content(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_bytes(b"hello\n\x00binary too")
    tool = tmp_path / "tool.sh"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    assert blob_id(plain) == (MODE_FILE, git_hash_object(plain))
    assert blob_id(tool) == (MODE_EXECUTABLE, git_hash_object(tool))


def test_a_symlink_is_its_target_text_as_git_stores_it(tmp_path):
    (tmp_path / "target.txt").write_text("x")
    link = tmp_path / "link"
    link.symlink_to("target.txt")
    mode, oid = blob_id(link)
    expected = subprocess.run(
        ["git", "hash-object", "--stdin"], input="target.txt", capture_output=True, text=True, check=True
    ).stdout.strip()
    assert (mode, oid) == (MODE_SYMLINK, expected)


def test_group_and_other_permission_bits_do_not_matter_only_the_owner_executable_bit(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    for path in (one, two):
        path.write_text("same")
    one.chmod(0o644)
    two.chmod(0o664)
    assert blob_id(one) == blob_id(two)


def test_dockerignore_last_match_wins_and_directories_cover_their_files():
    ignore = DockerIgnore(
        ["# comment", "", "build", "**/*.pyc", "!keep.pyc", "/docs/*.md", "!docs/README.md"]
    )
    assert ignore.excludes("build/out/x")
    assert ignore.excludes("a/b/c.pyc")
    assert ignore.excludes("c.pyc")
    assert not ignore.excludes("keep.pyc")
    assert ignore.excludes("docs/guide.md")
    assert not ignore.excludes("docs/README.md")
    assert not ignore.excludes("docs/sub/guide.md")  # `*` stops at a slash
    assert not ignore.excludes("src/build.py")


def test_the_dockerfile_s_own_ignore_file_comes_before_the_context_s(tmp_path):
    dockerfile = tmp_path / "Dockerfile.app"
    (tmp_path / ".dockerignore").write_text("x")
    assert dockerignore_file(tmp_path, dockerfile) == tmp_path / ".dockerignore"
    (tmp_path / "Dockerfile.app.dockerignore").write_text("y")
    assert dockerignore_file(tmp_path, dockerfile) == tmp_path / "Dockerfile.app.dockerignore"


def test_listing_skips_ignored_files_and_lists_symlinked_directories_as_links(write_tree, tmp_path):
    write_tree(tmp_path, {"a.txt": "a", "sub/b.txt": "b", "sub/c.pyc": "c", "real/d.txt": "d"})
    (tmp_path / "linked").symlink_to("real")
    assert list_files(tmp_path, DockerIgnore(["*.pyc", "sub/*.pyc"])) == [
        "a.txt",
        "linked",
        "real/d.txt",
        "sub/b.txt",
    ]


def test_sources_select_files_directories_and_globs_and_report_what_matched_nothing(write_tree, tmp_path):
    write_tree(
        tmp_path,
        {"scripts/a.sh": "", "scripts/b.py": "", "scripts/deep/c.sh": "", "conf/x.yaml": "", "other": ""},
    )
    files = list_files(tmp_path)
    reads = ContextReads(("scripts/*.sh", "conf", "missing.txt", "o[^x]her"))
    assert select_read(tmp_path, files, reads) == (
        ["conf/x.yaml", "other", "scripts/a.sh"],
        ["missing.txt"],
    )


def test_the_whole_context_is_every_listed_file(write_tree, tmp_path):
    write_tree(tmp_path, {"a": "", "b/c": ""})
    assert select_read(tmp_path, ["a", "b/c"], ContextReads(("a",), whole_context=True)) == (["a", "b/c"], [])


def test_a_source_that_is_a_symlink_also_reads_its_target_inside_the_context(write_tree, tmp_path):
    write_tree(tmp_path, {"real/config.yaml": "", "unrelated": ""})
    (tmp_path / "config").symlink_to("real")
    (tmp_path / "loop-a").symlink_to("loop-b")
    (tmp_path / "loop-b").symlink_to("loop-a")
    os.symlink("/etc/hostname", tmp_path / "outside")
    files = list_files(tmp_path)
    chosen, unmatched = select_read(tmp_path, files, ContextReads(("config", "loop-a", "outside")))
    assert chosen == ["config", "loop-a", "loop-b", "outside", "real/config.yaml"]
    assert unmatched == []
