"""Which built images the engine already has: only changed ones are loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tasks.bake.engine_load import engine_loads, image_export_args, output_types, stale_loads

PLAN: dict[str, dict[str, dict[str, Any]]] = {
    "target": {
        "install--x": {"tags": ["bakehouse/install--x:latest"], "output": ["type=docker,compression=zstd"]},
        "testee--x": {"tags": ["bakehouse/testee--x"], "output": [{"type": "docker", "compression": "zstd"}]},
        "tests-smoke--x": {"output": ["type=cacheonly"]},
        "untagged--x": {"output": ["type=docker"]},
        "pushed--x": {"tags": ["r/p:1"], "output": ["type=registry"]},
    }
}


def test_output_types_read_strings_and_objects():
    assert output_types(PLAN["target"]["install--x"]) == ["docker"]
    assert output_types(PLAN["target"]["testee--x"]) == ["docker"]
    assert output_types({}) == []


def test_only_requested_tagged_docker_outputs_are_loads():
    names = ["install--x", "testee--x", "tests-smoke--x", "untagged--x", "pushed--x"]
    assert engine_loads(PLAN, names) == {
        "install--x": ["bakehouse/install--x:latest"],
        "testee--x": ["bakehouse/testee--x"],
    }
    assert engine_loads(PLAN, ["tests-smoke--x"]) == {}


def test_the_first_pass_exports_to_the_builder_store_and_notes_digests():
    args = image_export_args({"install--x": ["t"]}, Path("/tmp/m.json"))
    assert args == ["--set=install--x.output=type=image", "--metadata-file=/tmp/m.json"]


def test_the_first_pass_keeps_the_outputs_compression_in_both_forms():
    loads = {"install--x": ["t"], "testee--x": ["u"]}
    assert image_export_args(loads, Path("/m.json"), PLAN)[:2] == [
        "--set=install--x.output=type=image,compression=zstd",
        "--set=testee--x.output=type=image,compression=zstd",
    ]


LOADS = {"install--x": ["bakehouse/install--x:latest"], "testee--x": ["bakehouse/testee--x"]}
META = {
    "install--x": {"containerimage.config.digest": "sha256:aaa", "containerimage.digest": "sha256:m1"},
    "testee--x": {"containerimage.config.digest": "sha256:bbb"},
}


def test_images_the_engine_has_under_every_tag_are_not_loaded_again():
    engine = {"bakehouse/install--x:latest": "sha256:aaa", "bakehouse/testee--x:latest": "sha256:bbb"}
    assert stale_loads(LOADS, META, engine) == []


def test_a_changed_or_missing_image_is_loaded():
    engine = {"bakehouse/install--x:latest": "sha256:old"}
    assert stale_loads(LOADS, META, engine) == ["install--x", "testee--x"]


def test_without_a_digest_in_the_metadata_the_image_is_loaded():
    engine = {"bakehouse/install--x:latest": "sha256:aaa", "bakehouse/testee--x:latest": "sha256:bbb"}
    assert stale_loads(LOADS, {"testee--x": META["testee--x"]}, engine) == ["install--x"]
