"""The digest records `inv publish --by-digest` writes and `inv publish.merge` reads and checks."""

from __future__ import annotations

import json

import pytest

from tasks.publish.digest_records import (
    DigestRecord,
    read_records,
    record_mismatches,
    record_text,
    write_records,
)
from tasks.shared.errors import BAD_INPUT, BakehouseError

DIGEST = "sha256:" + "1" * 64
OTHER = "sha256:" + "2" * 64
IMAGE = "reg:5000/team/app--amd64:c-0123456789abcdef"


def test_a_record_is_one_json_file_per_cell_and_reads_back_from_any_depth(tmp_path):
    record = DigestRecord("app--amd64", IMAGE, DIGEST)
    (written,) = write_records(tmp_path / "cell-a", [record])
    assert written == tmp_path / "cell-a" / "app--amd64.json"
    assert json.loads(written.read_text()) == {
        "format": 1,
        "target": "app--amd64",
        "image": IMAGE,
        "digest": DIGEST,
    }
    other = DigestRecord("app--arm64", IMAGE.replace("amd64", "arm64"), OTHER)
    write_records(tmp_path / "nested" / "cell-b", [other])
    write_records(tmp_path / "same-again", [record])  # the same record twice is one
    assert read_records(tmp_path) == {"app--amd64": record, "app--arm64": other}


def test_one_cell_recorded_with_two_digests_is_refused(tmp_path):
    write_records(tmp_path / "a", [DigestRecord("app--amd64", IMAGE, DIGEST)])
    write_records(tmp_path / "b", [DigestRecord("app--amd64", IMAGE, OTHER)])
    with pytest.raises(BakehouseError) as refused:
        read_records(tmp_path)
    assert refused.value.code == BAD_INPUT
    assert f"app--amd64 is recorded twice, as {DIGEST} and {OTHER}" in str(refused.value)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("not json", "not a digest record (not JSON)"),
        ('{"format": 2}', "not a digest record of format 1"),
        ('{"format": 1, "target": "a", "image": "b"}', "a digest record needs target, image and digest"),
        ('{"format": 1, "target": "a", "image": "b", "digest": "sha256:xyz"}', "is not sha256:<64 hex>"),
    ],
)
def test_a_file_that_is_not_a_record_is_bad_input_naming_it(tmp_path, text, words):
    (tmp_path / "x.json").write_text(text)
    with pytest.raises(BakehouseError) as refused:
        read_records(tmp_path)
    assert refused.value.code == BAD_INPUT
    assert str(refused.value).startswith(f"{tmp_path / 'x.json'}: ")
    assert words in str(refused.value)


def test_no_directory_is_bad_input(tmp_path):
    with pytest.raises(BakehouseError, match="no such directory") as refused:
        read_records(tmp_path / "missing")
    assert refused.value.code == BAD_INPUT


def test_the_record_text_round_trips():
    record = DigestRecord("a", IMAGE, DIGEST)
    assert json.loads(record_text(record))["digest"] == DIGEST


def test_each_cell_needs_a_record_naming_its_image_and_the_registry_s_digest():
    records = {
        "ok": DigestRecord("ok", "reg/ok:c-1", DIGEST),
        "moved": DigestRecord("moved", "reg/moved:c-1", DIGEST),
        "old": DigestRecord("old", "reg/old:c-0", DIGEST),
    }
    expected = {"ok": "reg/ok:c-1", "moved": "reg/moved:c-1", "old": "reg/old:c-1", "none": "reg/none:c-1"}
    found = {"ok": DIGEST, "moved": OTHER, "old": DIGEST, "none": DIGEST}
    assert record_mismatches(records, expected, found) == [
        f"moved: recorded {DIGEST}, the registry has {OTHER} at reg/moved:c-1",
        "old: recorded reg/old:c-0, this checkout publishes reg/old:c-1",
        "none: no digest record (its job did not publish it)",
    ]
    assert record_mismatches(records, {"moved": "reg/moved:c-1"}, {"moved": ""}) == [
        f"moved: recorded {DIGEST}, the registry has nothing at reg/moved:c-1"
    ]
