"""What `inv publish` would push: every publishable cell with its repository, content tag and human
tags, checked before anything is asked of the registry or the builder."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..bake.definition import bake_print, requested_targets
from ..bake.request import BakeSelection
from ..builder.naming import ci_identity
from ..shared.errors import bad_input
from ..shared.inputs import check_host_port, check_image_reference
from ..shared.process import git_output
from ..shared.settings import HUMAN_TAGS, PublishSettings, Settings
from .content import ContentTag, content_tags, read_git_tree
from .registry import ImageRef

# A tag as registries take it; anything else in a branch name or git describe becomes '-'.
_TAG_CHARACTER = re.compile(r"[^A-Za-z0-9_.-]")
MAX_TAG = 128
# A registry host is the first part of a reference only when it looks like one.
_DOMAIN_MARKS = (".", ":", "[")


@dataclass(frozen=True)
class PublishTarget:
    """One concrete bake target to publish (a matrix expands to several): where its content tag goes
    and which human tags follow it."""

    target: str
    content: ContentTag
    image: ImageRef  # registry/repository:content tag
    human_tags: tuple[str, ...]

    @property
    def all_tags(self) -> tuple[str, ...]:
        return (self.image.tag, *self.human_tags)


@dataclass(frozen=True)
class PlannedCells:
    """The cells to publish, the bake plan they come from, and the human tags a committed image gets."""

    cells: list[PublishTarget]
    plan: Mapping[str, Any]
    human_tags: tuple[str, ...]


@dataclass(frozen=True)
class GitNames:
    """What human tags are made of: `git describe` of HEAD and the branch being built."""

    describe: str
    branch: str


def check_publish_settings(publish: PublishSettings) -> None:
    """Refuse settings `inv publish` can't use, before anything is read or changed."""
    if not publish.registry:
        raise bad_input(
            "publish.registry is empty: set it to the registry's host[:port] "
            "(INVOKE_BAKEHOUSE_PUBLISH_REGISTRY=host:port, or in your invoke config)"
        )
    check_host_port(publish.registry, "publish.registry")
    unknown = [kind for kind in publish.human_tags if kind not in HUMAN_TAGS]
    if unknown:
        raise bad_input(f"publish.human_tags {unknown}: choose from {', '.join(HUMAN_TAGS)}")
    check_image_reference(f"{publish.registry}/{publish.namespace}/x", "publish.namespace")
    if not publish.targets:
        raise bad_input("publish.targets is empty: name the targets or groups to publish")


def as_tag(text: str) -> str:
    """A branch name or git describe as a valid tag ('' when nothing usable is left)."""
    return _TAG_CHARACTER.sub("-", text).lstrip(".-")[:MAX_TAG]


def human_tags(kinds: Sequence[str], names: GitNames, default_branch: str) -> tuple[str, ...]:
    """The configured human tags that apply: describe, branch, and latest on the default branch."""
    chosen = {
        "describe": as_tag(names.describe),
        "branch": as_tag(names.branch),
        "latest": "latest" if names.branch and names.branch == default_branch else "",
    }
    return tuple(dict.fromkeys(chosen[kind] for kind in kinds if chosen[kind]))


def git_names(root: Path, env: Mapping[str, str] | None = None) -> GitNames:
    """HEAD's `git describe --tags --always`, and the branch the CI names (else git's; none when
    detached). No --dirty: a cell whose files are all committed is that commit's image."""
    identity = ci_identity(os.environ if env is None else env)
    branch = identity[2] if identity else git_output("rev-parse", "--abbrev-ref", "HEAD", cwd=root)
    return GitNames(
        git_output("describe", "--tags", "--always", cwd=root), "" if branch == "HEAD" else branch
    )


def repository_of(name: str, definition: Mapping[str, Any], namespace: str) -> str:
    """The repository path of a target: its first bake tag without host and tag, else
    <namespace>/<target name>."""
    tags = definition.get("tags") or []
    if not tags:
        return f"{namespace}/{name.lower()}"
    reference = str(tags[0]).split("@", 1)[0]
    first, slash, rest = reference.partition("/")
    if slash and (first == "localhost" or any(mark in first for mark in _DOMAIN_MARKS)):
        reference = rest
    path, colon, tag = reference.rpartition(":")
    return path if colon and "/" not in tag else reference


def check_distinct_repositories(cells: Sequence[PublishTarget]) -> None:
    """Two cells in one repository would fight over its human tags: refuse before anything happens."""
    owners: dict[str, str] = {}
    for cell in cells:
        repository = f"{cell.image.registry}/{cell.image.repository}"
        if repository in owners:
            raise bad_input(
                f"cells {owners[repository]} and {cell.target} would both be published to {repository}: "
                "give each its own repository (the first of its bake tags)"
            )
        owners[repository] = cell.target


def publish_cells(
    config: Settings, targets: Sequence[str], matrix_overrides: Sequence[str], names: GitNames
) -> PlannedCells:
    """The cells of the requested targets (groups and matrices expanded), tagged; reads only."""
    publish = config.publish
    requested = list(targets) or list(publish.targets)
    plan = bake_print(config, BakeSelection.of(requested, matrix_overrides))
    concrete = requested_targets(plan, requested)
    git_tree = read_git_tree(config.root)
    tags = content_tags(
        plan, concrete, config.root, publish.ignore_args, git_tree, ignore_labels=publish.ignore_labels
    )
    wanted = human_tags(publish.human_tags, names, publish.default_branch)
    cells: list[PublishTarget] = []
    for name in concrete:
        repository = repository_of(name, plan["target"][name], publish.namespace)
        image = ImageRef(publish.registry, repository, tags[name].tag)
        check_image_reference(str(image), f"target {name}'s image")
        # An image of uncommitted files gets its content tag only: a branch or `latest` tag
        # must never point at something no commit holds.
        cells.append(PublishTarget(name, tags[name], image, () if tags[name].wip else wanted))
    check_distinct_repositories(cells)
    return PlannedCells(cells, plan, wanted)
