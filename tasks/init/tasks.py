"""`bakehouse init` (`inv init`): a commented bakehouse.yaml for the project's existing bake tree."""

from __future__ import annotations

from invoke import Context

from ..cli.context import settings, task


@task(
    name="init",
    iterable=["bake_file"],
    help={
        "bake_file": "a bake file of the tree, relative to the project root (repeatable; default: "
        "the *.hcl/*.json files that define targets, found in the tree)",
        "force": "replace an existing bakehouse.yaml",
    },
)
def init(c: Context, bake_file: list[str] | None = None, force: bool = False) -> None:
    """Write bakehouse.yaml for the bake tree here: its files, matrix dimensions, groups, entitlements."""
    from . import discover

    root = settings(c).root
    target = discover.config_target(root, force)
    files = discover.bake_files(root, bake_file or [])
    findings = discover.inspect_tree(root, files)
    for line in discover.summary_lines(findings):
        print(line)
    target.write_text(discover.render_config(findings), encoding="utf-8")
    print(f"wrote {target}")
