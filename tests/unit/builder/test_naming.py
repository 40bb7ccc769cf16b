from __future__ import annotations

import pytest

from tasks.builder.naming import MAX_BUILDER_NAME, ci_identity, isolation_key, validate_builder_name
from tasks.shared.errors import BAD_INPUT, BakehouseError
from tasks.shared.versions import version_at_least, version_tuple


def test_isolation_key_from_parts():
    assert isolation_key("Alice", "org/Repo.Name", "feature/x") == "bakehouse-alice-repo-name-feature-x"


def test_long_keys_stay_valid_and_distinct():
    a = isolation_key("bot", "org/repo", "feature/" + "a" * 80)
    b = isolation_key("bot", "org/repo", "feature/" + "a" * 79 + "b")
    assert a != b
    assert len(a) <= MAX_BUILDER_NAME
    assert validate_builder_name(a) == a


@pytest.mark.parametrize("name", ["bad name!", "-lead", "", "x" * 64, "a/b"])
def test_invalid_builder_names(name):
    with pytest.raises(BakehouseError) as err:
        validate_builder_name(name)
    assert err.value.code == BAD_INPUT


def test_ci_identity_prefers_complete_sets():
    env = {"GITHUB_ACTOR": "me", "GITHUB_REPOSITORY": "o/r", "GITHUB_REF_NAME": "main"}
    assert ci_identity(env) == ("me", "o/r", "main")
    assert ci_identity({"GITHUB_ACTOR": "me"}) is None


def test_versions_compare_by_their_leading_numbers():
    assert version_tuple("0.29.1+ds1") == (0, 29, 1)
    assert version_tuple("v26.1.5") == (26, 1, 5)
    assert version_at_least("1.45", "1.45")
    assert not version_at_least("0.13.1", "0.17.0")
    assert version_at_least("28.5.2+dfsg4", "26")
