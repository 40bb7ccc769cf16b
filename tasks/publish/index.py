"""Multi-platform images out of `inv publish`: one index (OCI image index / manifest list) over the
cells that are one image for several platforms (tasks.bake.platforms.multi_platform_images).

Each member cell is pushed to its own repository under its content tag, as any cell is. The index
goes to the repository of the image's name without the platform value, under a content tag of its
own and the human tags. Its content tag is derived from what its members are made of:

    sha256 over canonical JSON {"format": 1, "kind": "index",
                                "members": [[platform, member's content digest], ...]}

members sorted by platform (normalized: `linux/arm64/v8` is `linux/arm64`), shown as
``c-<first 16 hex>``, plus ``-wip`` when any member's tag has it. The same members (same content,
same platforms) give the same tag on any machine, and it is known before anything is built, so the
registry is asked for it together with the cells' tags (skip-if-published holds for the index too).
The manifests it lists are those the members' content tags name in the registry when it is written,
by digest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..bake.platforms import NAME_SEPARATOR, multi_platform_images, parse_platform
from ..shared.errors import BakehouseError, bad_input
from ..shared.inputs import check_image_reference
from .content import TAG_DIGEST_CHARS, TAG_PREFIX, WIP_SUFFIX
from .push_plan import PublishTarget
from .registry import ImageRef

# Bumped whenever what goes into an index's digest changes.
INDEX_FORMAT = 1


@dataclass(frozen=True)
class IndexMember:
    cell: PublishTarget
    platform: str  # as the tree writes it


@dataclass(frozen=True)
class PublishIndex:
    """One multi-platform image to write: its name (the members' without the platform value), where
    it goes (registry/repository:content tag), its members and the human tags that follow it."""

    name: str
    image: ImageRef
    members: tuple[IndexMember, ...]
    human_tags: tuple[str, ...]

    @property
    def all_tags(self) -> tuple[str, ...]:
        return (self.image.tag, *self.human_tags)

    @property
    def platforms(self) -> tuple[str, ...]:
        return tuple(member.platform for member in self.members)


def index_digest(members: Sequence[tuple[str, str]]) -> str:
    """The index's digest from (platform, member content digest) pairs; their order doesn't matter."""
    keyed = sorted(
        (str(parse_platform(platform, "index member").normalized), digest) for platform, digest in members
    )
    document: dict[str, Any] = {
        "format": INDEX_FORMAT,
        "kind": "index",
        "members": [list(pair) for pair in keyed],
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def index_tag(members: Sequence[IndexMember]) -> str:
    """``c-<16 hex>`` of index_digest, ``-wip`` when any member is work in progress."""
    digest = index_digest([(member.platform, member.cell.content.digest) for member in members])
    wip = any(member.cell.content.wip for member in members)
    return f"{TAG_PREFIX}{digest[:TAG_DIGEST_CHARS]}{WIP_SUFFIX if wip else ''}"


def index_repository(member_repositories: Sequence[str], name: str, namespace: str) -> str:
    """Where the index goes: the members' repositories without the one `--`-separated value they
    differ in (`bakehouse/install--…--default--amd64` and `…--arm64` -> `bakehouse/install--…--default`);
    when they differ otherwise, `<namespace>/<image name>`."""
    split = [repository.split(NAME_SEPARATOR) for repository in member_repositories]
    if len({len(parts) for parts in split}) == 1:
        differing = [i for i in range(len(split[0])) if len({parts[i] for parts in split}) > 1]
        if len(differing) == 1 and differing[0] > 0:
            kept = split[0][: differing[0]] + split[0][differing[0] + 1 :]
            return NAME_SEPARATOR.join(kept)
    return f"{namespace}/{name.lower()}"


def publish_indexes(
    plan: Mapping[str, Any], cells: Sequence[PublishTarget], namespace: str, wanted: Sequence[str]
) -> list[PublishIndex]:
    """The indexes to write for the cells: one per multi-platform image among them (none when one
    platform is selected). A work-in-progress index gets its content tag only, like a cell."""
    by_target = {cell.target: cell for cell in cells}
    indexes: list[PublishIndex] = []
    for image in multi_platform_images(plan, list(by_target)):
        members = tuple(IndexMember(by_target[target], platform) for target, platform in image.members)
        registry = members[0].cell.image.registry
        repository = index_repository([m.cell.image.repository for m in members], image.name, namespace)
        reference = ImageRef(registry, repository, index_tag(members))
        check_image_reference(str(reference), f"multi-platform image {image.name}")
        wip = reference.tag.endswith(WIP_SUFFIX)
        indexes.append(PublishIndex(image.name, reference, members, () if wip else tuple(wanted)))
    check_index_repositories(cells, indexes)
    return indexes


def check_index_repositories(cells: Sequence[PublishTarget], indexes: Sequence[PublishIndex]) -> None:
    """An index in a cell's repository, or two indexes in one, would fight over its tags."""
    owners = {f"{cell.image.registry}/{cell.image.repository}": f"cell {cell.target}" for cell in cells}
    for index in indexes:
        repository = f"{index.image.registry}/{index.image.repository}"
        if repository in owners:
            raise bad_input(
                f"multi-platform image {index.name} and {owners[repository]} would both be published to "
                f"{repository}: give the cells repositories that differ in their platform value"
            )
        owners[repository] = f"multi-platform image {index.name}"


def member_references(index: PublishIndex, digests: Mapping[str, str]) -> list[str]:
    """Each member as `registry/repository@digest`: the manifest its content tag names now."""
    references = []
    for member in index.members:
        image = member.cell.image
        digest = digests.get(member.cell.target, "")
        if not digest.startswith("sha256:"):
            raise BakehouseError(f"{index.name}: no manifest digest for member {member.cell.target}")
        references.append(f"{image.registry}/{image.repository}@{digest}")
    return references


def imagetools_create_argv(index: PublishIndex, digests: Mapping[str, str], builder: str) -> list[str]:
    """`docker buildx imagetools create`: the index under its content tag, over the members by digest
    (the human tags follow once it is there: given several tags, buildx pushed them while it was
    still copying the members, and the registry refused one with 400). ``--builder``: buildx reaches
    the registry as that builder does (its buildkitd.toml's CA and plain-http entries; loopback hosts
    over plain http without any)."""
    repository = f"{index.image.registry}/{index.image.repository}"
    argv = ["docker", "buildx", "imagetools", "create", "--builder", builder]
    return [*argv, "--tag", f"{repository}:{index.image.tag}", *member_references(index, digests)]
