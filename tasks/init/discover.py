"""What `bakehouse init` learns of an existing bake tree, and the bakehouse.yaml it writes for it.

bake itself reports the tree (``--list=type=variables`` for the variables and their defaults,
``--print`` for the targets' entitlements), so variables set by functions, files that override one
another and JSON bake files read as bake reads them. Only names and order come from the files' text
(lint's block reader): bake lists a matrix target as a group of its cells, indistinguishable there
from a group the tree defines, and lists variables sorted by name, not in the order declared.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..lint import files as lint_files
from ..shared.command import Command
from ..shared.errors import bad_input
from ..shared.process import failure_reason, run

CONFIG_NAME = "bakehouse.yaml"
# bake's own default target: built when no target is named.
BAKE_DEFAULT = "default"
# Entitlements a BuildKit daemon has to be started with before a build may use them.
DAEMON_ENTITLEMENTS = ("network.host", "security.insecure", "device")


@dataclass(frozen=True)
class Dimension:
    """A bake variable whose default is a JSON array: one matrix dimension."""

    name: str
    values: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True)
class TreeFindings:
    """An existing bake tree as bakehouse will drive it."""

    files: tuple[str, ...]
    dimensions: tuple[Dimension, ...]
    groups: tuple[str, ...]
    targets: tuple[str, ...]
    entitlements: tuple[str, ...]

    @property
    def default_targets(self) -> tuple[str, ...]:
        """What a build without --target builds: bake's ``default`` when the tree has one, else each
        group, else each target."""
        if BAKE_DEFAULT in self.groups or BAKE_DEFAULT in self.targets:
            return (BAKE_DEFAULT,)
        return self.groups or self.targets


def bake_files(root: Path, given: Sequence[str]) -> tuple[str, ...]:
    """The tree's bake files: the given ones (relative to ``root``), else the ones found in it."""
    if given:
        missing = [name for name in given if not (root / name).is_file()]
        if missing:
            raise bad_input(f"--bake-file {missing[0]}: no such file in {root}")
        return tuple(given)
    found = lint_files.find_bake_files(root, lint_files.walk_tree(root))
    if found.clashes:
        name, where = found.clashes[0]
        raise bad_input(
            f"bake files in several directories define {name} ({', '.join(where)}): "
            "name the tree's files with --bake-file"
        )
    if not found.files:
        raise bad_input(
            f"no bake file (*.hcl or *.json defining a target) under {root}; name one with --bake-file"
        )
    return found.files


def _bake_json(root: Path, files: Sequence[str], *args: str) -> Any:
    command = Command("docker", "buildx", "bake").options("-f", files).args(*args)
    result = run(command, check=False, env=dict(os.environ), cwd=root)
    if not result.ok:
        raise bad_input(f"bake rejected the tree: {failure_reason(result.stderr)}")
    return json.loads(result.stdout)


def as_dimension(variable: Mapping[str, Any]) -> Dimension | None:
    """A listed variable as a dimension, when its value is a non-empty JSON array of strings."""
    text = variable.get("value")
    if not isinstance(text, str) or not text.lstrip().startswith("["):
        return None
    try:
        values = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
        return None
    return Dimension(str(variable["name"]), tuple(values), str(variable.get("description") or ""))


def defined_blocks(root: Path, files: Sequence[str], kind: str) -> tuple[str, ...]:
    """The names of the files' blocks of one kind (group, variable), in file order, each once."""
    names: dict[str, None] = {}
    for name in files:
        blocks = lint_files.bake_blocks(name, (root / name).read_text(encoding="utf-8")) or []
        names.update((label, None) for block, label in blocks if block == kind)
    return tuple(names)


def in_declared_order(dimensions: Sequence[Dimension], declared: Sequence[str]) -> tuple[Dimension, ...]:
    """Dimensions in the order the files declare them (bake lists variables sorted by name): the
    order a tree's own names and cell ids put them in. Any not found in the text go last."""
    position = {name: index for index, name in enumerate(declared)}
    return tuple(sorted(dimensions, key=lambda d: position.get(d.name, len(position))))


def inspect_tree(root: Path, files: Sequence[str]) -> TreeFindings:
    """Ask bake about the tree: its variables, targets and groups, and what the targets declare."""
    variables = _bake_json(root, files, "--list=type=variables,format=json")
    listed_dimensions = [d for d in map(as_dimension, variables) if d is not None]
    dimensions = in_declared_order(listed_dimensions, defined_blocks(root, files, "variable"))
    groups = defined_blocks(root, files, "group")
    listed = _bake_json(root, files, "--list=type=targets,format=json")
    # bake lists a matrix target as a group of its cells; its name is still a target of the tree.
    targets = tuple(str(row["name"]) for row in listed if str(row["name"]) not in groups)
    plan = _bake_json(root, files, "--print", *groups, *targets) if groups or targets else {}
    declared = {
        str(entitlement)
        for target in plan.get("target", {}).values()
        for entitlement in target.get("entitlements") or ()
    }
    return TreeFindings(tuple(files), dimensions, groups, targets, tuple(sorted(declared)))


def _flow(values: Sequence[str]) -> str:
    """A YAML flow list (JSON is YAML): one line, every value quoted."""
    return json.dumps(list(values))


def render_config(findings: TreeFindings, now: datetime | None = None) -> str:
    """A commented bakehouse.yaml for the tree: what was found, and where each setting is explained."""
    written = (now or datetime.now(UTC)).strftime("%Y-%m-%d")
    builder_entitlements = [e for e in findings.entitlements if e in DAEMON_ENTITLEMENTS]
    lines = [
        f"# bakehouse's settings for this project, written by `bakehouse init` on {written}.",
        "# Found from the directory it was run in; edit freely. Every setting and its default:",
        "# bakehouse's docs (docs/adopt.md, and the commented invoke.yaml of its repository).",
        "# Relative paths are relative to this file's directory (the project root).",
        "bakehouse:",
        "  bake:",
        "    # Passed to `docker buildx bake -f` in this order.",
        f"    files: {_flow(findings.files)}",
        "    # Built when no --target is given.",
        f"    # Groups the tree defines: {', '.join(findings.groups) or 'none'}.",
        f"    default_targets: {_flow(findings.default_targets)}",
    ]
    if findings.dimensions:
        lines += [
            "    # Matrix dimensions: the bake variables holding a JSON array, with their defaults.",
            "    # Narrow one for a run with the singular name (plural minus its trailing s) in the",
            "    # environment, or `--matrix NAME=VALUE`; a plural variable holds a JSON array.",
            "    matrix:",
        ]
        for dimension in findings.dimensions:
            about = f"  # {dimension.description}" if dimension.description else ""
            lines.append(f"      {dimension.name}: {_flow(dimension.values)}{about}")
    else:
        lines += [
            "    # No bake variable holds a JSON array: the tree has no matrix dimension.",
            "    matrix: {}",
        ]
    lines += [
        "    # Entitlements the targets declare: passed as --allow when a selected target declares one.",
        f"    allow: {_flow(findings.entitlements)}",
        "  builder:",
        "    # Entitlements the builder's daemon is started with (those of `allow` it must grant).",
        f"    entitlements: {_flow(builder_entitlements)}",
        "",
    ]
    return "\n".join(lines)


def summary_lines(findings: TreeFindings) -> list[str]:
    """What init found, for the terminal."""
    dimensions = [f"{d.name}={_flow(d.values)}" for d in findings.dimensions]
    return [
        f"bake files: {', '.join(findings.files)}",
        f"matrix dimensions: {'; '.join(dimensions) or 'none'}",
        f"groups: {', '.join(findings.groups) or 'none'}",
        f"default targets: {', '.join(findings.default_targets) or 'none'}",
        f"entitlements: {', '.join(findings.entitlements) or 'none'}",
    ]


def config_target(root: Path, force: bool) -> Path:
    """Where init writes, refused (before anything is asked of bake) when a config is there already."""
    target = root / CONFIG_NAME
    if target.exists() and not force:
        raise bad_input(f"{target} exists; --force replaces it")
    return target
