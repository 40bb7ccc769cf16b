"""Multi-platform indexes of `inv publish`: the index's content tag, its repository, which indexes a
plan gives, the exact `imagetools create` command, and the index rows of the plan and the refusal."""

from __future__ import annotations

import hashlib
import json
import ssl
from pathlib import Path
from typing import Any

import pytest

from tasks.publish.content import ContentTag
from tasks.publish.index import (
    IndexMember,
    PublishIndex,
    imagetools_create_argv,
    index_digest,
    index_repository,
    index_tag,
    publish_indexes,
)
from tasks.publish.push import ProbedIndex, ca_bundle_env, failure_message, index_counts, index_plan_rows
from tasks.publish.push_plan import PublishTarget
from tasks.publish.registry import ImageRef, Presence, RegistryAnswer
from tasks.shared.errors import BAD_INPUT, BakehouseError

REGISTRY = "reg.example:5000"
AMD = "a" * 64
ARM = "b" * 64


def cell(target: str, digest: str, *, wip: bool = False, repository: str | None = None) -> PublishTarget:
    content = ContentTag(target, digest, wip, ())
    image = ImageRef(REGISTRY, repository or f"team/{target}", content.tag)
    return PublishTarget(target, content, image, () if wip else ("v1", "main"))


def two_platform_plan(*names: str) -> dict[str, Any]:
    return {"target": {name: {"platforms": [f"linux/{name.rsplit('--', 1)[1]}"]} for name in names}}


def test_the_index_digest_is_the_documented_hash_of_its_sorted_members():
    members = [("linux/arm64", ARM), ("linux/amd64", AMD)]
    document = {"format": 1, "kind": "index", "members": [["linux/amd64", AMD], ["linux/arm64", ARM]]}
    expected = hashlib.sha256(
        json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    assert index_digest(members) == expected
    # The order of the members doesn't matter; arm64's only variant is arm64.
    assert index_digest(list(reversed(members))) == expected
    assert index_digest([("linux/amd64", AMD), ("linux/arm64/v8", ARM)]) == expected


def test_a_member_s_content_or_platform_changes_the_index_digest():
    base = index_digest([("linux/amd64", AMD), ("linux/arm64", ARM)])
    assert index_digest([("linux/amd64", AMD), ("linux/arm64", "c" * 64)]) != base
    assert index_digest([("linux/amd64/v3", AMD), ("linux/arm64", ARM)]) != base


def test_the_index_tag_is_a_content_tag_and_wip_when_any_member_is():
    amd, arm = cell("app--amd64", AMD), cell("app--arm64", ARM)
    members = [IndexMember(amd, "linux/amd64"), IndexMember(arm, "linux/arm64")]
    digest = index_digest([("linux/amd64", AMD), ("linux/arm64", ARM)])
    assert index_tag(members) == f"c-{digest[:16]}"
    wip = [members[0], IndexMember(cell("app--arm64", ARM, wip=True), "linux/arm64")]
    assert index_tag(wip) == f"c-{digest[:16]}-wip"


@pytest.mark.parametrize(
    ("repositories", "expected"),
    [
        (["bakehouse/install--debian--default--amd64", "bakehouse/install--debian--default--arm64"],
         "bakehouse/install--debian--default"),
        (["team/app--amd64--x", "team/app--arm64--x"], "team/app--x"),
        # Not one `--` value apart: the namespace and the image's name.
        (["team/app-amd64", "team/app-arm64"], "ns/app"),
        (["team/app--amd64", "other/app--arm64"], "ns/app"),
        (["team/app--amd64", "team/app--arm64--extra"], "ns/app"),
    ],
)  # fmt: skip
def test_the_index_repository_drops_the_one_value_its_members_repositories_differ_in(repositories, expected):
    assert index_repository(repositories, "App", "ns") == expected


def test_a_plan_with_two_platforms_gives_one_index_with_the_cells_human_tags():
    cells = [cell("app--amd64", AMD), cell("app--arm64", ARM), cell("tool--amd64", "d" * 64)]
    plan = two_platform_plan("app--amd64", "app--arm64", "tool--amd64")
    (index,) = publish_indexes(plan, cells, "ns", ("v1", "main"))
    assert index.name == "app"
    assert index.image == ImageRef(REGISTRY, "team/app", index_tag(index.members))
    assert index.platforms == ("linux/amd64", "linux/arm64")
    assert [member.cell.target for member in index.members] == ["app--amd64", "app--arm64"]
    assert index.human_tags == ("v1", "main")
    assert index.all_tags == (index.image.tag, "v1", "main")


def test_one_platform_gives_no_index():
    cells = [cell("app--amd64", AMD)]
    assert publish_indexes(two_platform_plan("app--amd64"), cells, "ns", ("v1",)) == []


def test_a_wip_index_gets_its_content_tag_only():
    cells = [cell("app--amd64", AMD), cell("app--arm64", ARM, wip=True)]
    (index,) = publish_indexes(two_platform_plan("app--amd64", "app--arm64"), cells, "ns", ("v1", "main"))
    assert index.image.tag.endswith("-wip")
    assert index.human_tags == ()


def test_an_index_in_a_cell_s_repository_is_refused():
    cells = [
        cell("app--amd64", AMD),
        cell("app--arm64", ARM),
        cell("other--amd64", "d" * 64, repository="team/app"),
    ]
    plan = two_platform_plan("app--amd64", "app--arm64", "other--amd64")
    with pytest.raises(BakehouseError) as refused:
        publish_indexes(plan, cells, "ns", ())
    assert refused.value.code == BAD_INPUT
    assert str(refused.value) == (
        "multi-platform image app and cell other--amd64 would both be published to "
        "reg.example:5000/team/app: give the cells repositories that differ in their platform value"
    )


def an_index(human: tuple[str, ...] = ("v1", "main")) -> PublishIndex:
    members = (
        IndexMember(cell("app--amd64", AMD), "linux/amd64"),
        IndexMember(cell("app--arm64", ARM), "linux/arm64"),
    )
    return PublishIndex("app", ImageRef(REGISTRY, "team/app", "c-00000000000000ff"), members, human)


def test_the_index_is_written_by_one_imagetools_create_under_its_content_tag_over_the_members_digests():
    # The human tags (v1, main) follow by a tag of the written index, not in this command.
    digests = {"app--amd64": "sha256:" + "1" * 64, "app--arm64": "sha256:" + "2" * 64}
    assert imagetools_create_argv(an_index(), digests, "bh-builder") == [
        "docker", "buildx", "imagetools", "create", "--builder", "bh-builder",
        "--tag", "reg.example:5000/team/app:c-00000000000000ff",
        f"reg.example:5000/team/app--amd64@sha256:{'1' * 64}",
        f"reg.example:5000/team/app--arm64@sha256:{'2' * 64}",
    ]  # fmt: skip


def test_an_index_without_a_member_s_digest_is_not_written():
    with pytest.raises(BakehouseError, match="app: no manifest digest for member app--arm64"):
        imagetools_create_argv(an_index(), {"app--amd64": "sha256:" + "1" * 64}, "default")


def test_the_plan_lists_each_index_with_its_platforms_and_a_failing_index_stops_the_run():
    answer = RegistryAnswer(Presence.UNAUTHORIZED, 401, "UNAUTHORIZED: authentication required")
    probed = [ProbedIndex(an_index(), answer, 0.1)]
    rows = index_plan_rows(probed)
    assert rows[0].split() == [
        "MULTI-PLATFORM", "IMAGE", "REPOSITORY", "CONTENT", "TAG", "REGISTRY", "PLATFORMS", "HUMAN", "TAGS"
    ]  # fmt: skip
    assert rows[1].split()[:3] == ["app", "reg.example:5000/team/app", "c-00000000000000ff"]
    assert rows[1].split()[-3:] == ["linux/amd64,linux/arm64", "v1", "main"]
    assert failure_message("reg:5000", [], probed) == (
        "registry reg:5000 did not say what is published: "
        "unauthorized (HTTP 401: UNAUTHORIZED: authentication required) for index app; "
        "nothing built or pushed"
    )
    absent = ProbedIndex(an_index(), RegistryAnswer(Presence.ABSENT, 404, "MANIFEST_UNKNOWN"), 0.1)
    assert failure_message("reg:5000", [], [absent]) is None


def test_the_closing_line_counts_indexes_only_when_there_are_some():
    assert index_counts({}) == ""
    counts = index_counts({"app": ("written", 0.1), "tool": ("skipped", 0.1)})
    assert counts == "; indexes: 1 written, 1 skipped (already published)"


def test_a_private_ca_reaches_imagetools_as_a_bundle_with_the_system_s_cas(tmp_path):
    with ca_bundle_env([]) as env:
        assert env == {}
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nOURS\n-----END CERTIFICATE-----\n")
    with ca_bundle_env([ca]) as env:
        bundle = Path(env["SSL_CERT_FILE"])
        text = bundle.read_text()
        assert text.endswith(ca.read_text())
        system = ssl.get_default_verify_paths().cafile
        if system and Path(system).is_file():
            assert text.startswith(Path(system).read_text())
    assert not bundle.exists()  # removed when the run ends
