"""The publish plan's pure parts: repositories, human tags, settings checks, bake --set values, the
table and the one-line refusal."""

from __future__ import annotations

import pytest

from tasks.publish.content import ContentTag
from tasks.publish.push import Probed, failure_message, plan_rows, push_sets
from tasks.publish.push_plan import (
    GitNames,
    PublishTarget,
    as_tag,
    check_distinct_repositories,
    check_publish_settings,
    git_names,
    human_tags,
    repository_of,
)
from tasks.publish.registry import ImageRef, Presence, RegistryAnswer
from tasks.shared.errors import BAD_INPUT, BakehouseError
from tasks.shared.process import REPO_ROOT
from tasks.shared.settings import PublishSettings


def cell(
    target: str, tag: str = "c-0123456789abcdef", human: tuple[str, ...] = ("v1", "main")
) -> PublishTarget:
    content = ContentTag(target, "0123456789abcdef" + "0" * 48, tag.endswith("-wip"), ())
    return PublishTarget(target, content, ImageRef("reg.example:5000", f"team/{target}", tag), human)


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (
            ["bakehouse/install--debian--trixie-slim--default:latest"],
            "bakehouse/install--debian--trixie-slim--default",
        ),
        (["registry.example.org:5000/team/app:1.0", "other:2"], "team/app"),
        (["localhost/app"], "app"),
        (["app@sha256:" + "a" * 64], "app"),
        (["team/app"], "team/app"),
    ],
)
def test_the_repository_is_the_first_bake_tag_without_host_and_tag(tags, expected):
    assert repository_of("install--x", {"tags": tags}, "ns") == expected


def test_a_target_without_tags_goes_under_the_namespace_in_lower_case():
    assert repository_of("System--Debian", {}, "bakehouse") == "bakehouse/system--debian"


def test_human_tags_follow_the_configuration_and_latest_is_for_the_default_branch_only():
    names = GitNames(describe="v1.2-3-gabcdef0", branch="feature/x y")
    assert human_tags(["describe", "branch", "latest"], names, "main") == ("v1.2-3-gabcdef0", "feature-x-y")
    on_main = GitNames(describe="abcdef0", branch="main")
    assert human_tags(["describe", "branch", "latest"], on_main, "main") == ("abcdef0", "main", "latest")
    assert human_tags(["latest"], on_main, "trunk") == ()
    assert human_tags([], on_main, "main") == ()
    # Detached and without tags: nothing to name.
    assert human_tags(["describe", "branch", "latest"], GitNames("", ""), "main") == ()


def test_as_tag_makes_any_name_a_valid_tag():
    assert as_tag("release/2.0+build") == "release-2.0-build"
    assert as_tag(".-hidden") == "hidden"
    assert len(as_tag("x" * 300)) == 128


@pytest.mark.parametrize(
    ("publish", "message"),
    [
        (PublishSettings(), "publish.registry is empty"),
        (PublishSettings(registry="not a host"), "publish.registry 'not a host'"),
        (PublishSettings(registry="r:5000", human_tags=("describe", "sha")), "publish.human_tags ['sha']"),
        (PublishSettings(registry="r:5000", namespace="Upper/Case"), "publish.namespace"),
        (PublishSettings(registry="r:5000", targets=()), "publish.targets is empty"),
    ],
)
def test_settings_publish_can_t_use_are_bad_input(publish, message):
    with pytest.raises(BakehouseError) as refused:
        check_publish_settings(publish)
    assert refused.value.code == BAD_INPUT
    assert message in str(refused.value)


def test_good_settings_pass():
    check_publish_settings(PublishSettings(registry="127.0.0.1:5000", namespace="team/images"))


def test_push_sets_replace_the_outputs_and_tag_every_cell_with_all_its_tags():
    assert push_sets([cell("app"), cell("wip", "c-1111111111111111-wip", ())]) == [
        "app.output=type=image,push=true,rewrite-timestamp=true",
        "app.tags=reg.example:5000/team/app:c-0123456789abcdef",
        "app.tags=reg.example:5000/team/app:v1",
        "app.tags=reg.example:5000/team/app:main",
        "wip.output=type=image,push=true,rewrite-timestamp=true",
        "wip.tags=reg.example:5000/team/wip:c-1111111111111111-wip",
    ]


def probed(target: str, presence: Presence, status: int | None, message: str) -> Probed:
    return Probed(cell(target), RegistryAnswer(presence, status, message), 0.1)


def test_any_answer_but_present_or_absent_is_one_line_grouped_by_answer():
    answers = [
        probed("a", Presence.PRESENT, 200, "sha256:x"),
        probed("b", Presence.ABSENT, 404, "MANIFEST_UNKNOWN: manifest unknown"),
        probed("c", Presence.UNAUTHORIZED, 401, "UNAUTHORIZED: authentication required"),
        probed("d", Presence.UNAUTHORIZED, 401, "UNAUTHORIZED: authentication required"),
        probed("e", Presence.ERROR, 500, "UNKNOWN: boom"),
    ]
    assert failure_message("reg:5000", answers) == (
        "registry reg:5000 did not say what is published: "
        "unauthorized (HTTP 401: UNAUTHORIZED: authentication required) for c, d; "
        "error (HTTP 500: UNKNOWN: boom) for e; nothing built or pushed"
    )
    assert failure_message("reg:5000", answers[:2]) is None


def test_unreachable_is_a_failure_too():
    answer = probed("a", Presence.UNREACHABLE, None, "https://reg:5000: connection refused")
    assert failure_message("reg:5000", [answer]) == (
        "registry reg:5000 did not say what is published: unreachable (https://reg:5000: connection refused) "
        "for a; nothing built or pushed"
    )


def test_the_plan_table_names_repository_tag_answer_and_human_tags():
    rows = plan_rows(
        [
            probed("app", Presence.PRESENT, 200, "sha256:x"),
            Probed(cell("wip", "c-1111111111111111-wip", ()), RegistryAnswer(Presence.ABSENT, 404, "x"), 0.1),
        ]
    )
    assert rows[0].split() == ["CELL", "REPOSITORY", "CONTENT", "TAG", "REGISTRY", "HUMAN", "TAGS"]
    assert rows[1].split() == [
        "app",
        "reg.example:5000/team/app",
        "c-0123456789abcdef",
        "present",
        "v1",
        "main",
    ]
    assert rows[2].split() == ["wip", "reg.example:5000/team/wip", "c-1111111111111111-wip", "absent", "-"]


def test_two_cells_in_one_repository_are_refused():
    check_distinct_repositories([cell("a"), cell("b")])
    same = PublishTarget("b", cell("b").content, cell("a").image, ())
    with pytest.raises(BakehouseError) as refused:
        check_distinct_repositories([cell("a"), same])
    assert refused.value.code == BAD_INPUT
    assert "cells a and b would both be published to reg.example:5000/team/a" in str(refused.value)


def test_the_branch_comes_from_the_ci_when_it_names_one():
    ci = {"GITHUB_ACTOR": "someone", "GITHUB_REPOSITORY": "org/repo", "GITHUB_REF_NAME": "release/1.x"}
    names = git_names(REPO_ROOT, ci)
    assert names.branch == "release/1.x"
    assert names.describe  # this checkout's HEAD, described (a commit id at least)
    assert git_names(REPO_ROOT, {}).branch != "HEAD"  # detached: no branch at all
