"""The exact bake command lines lint runs for a tree's files."""

from __future__ import annotations

from pathlib import Path

from tasks.lint.bake_tree import BakeTree


def test_a_bake_command_names_every_file_of_the_tree_after_its_arguments():
    tree = BakeTree(Path("/tree"), ("docker/bake.hcl", "override.hcl"), (), configured=False)
    assert tree.command("--print").args("app").argv == [
        "docker", "buildx", "bake", "--print", "-f", "docker/bake.hcl", "-f", "override.hcl", "app",
    ]  # fmt: skip
