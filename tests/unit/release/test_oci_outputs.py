"""The OCI outputs verify and export give bake, and what export refuses before building."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.release.export import check_directory, check_replaceable
from tasks.release.oci_build import check_destination, oci_output, oci_output_sets, release_targets
from tasks.shared.errors import BAD_INPUT, BakehouseError
from tasks.shared.settings import ReleaseSettings

PLAN = {
    "target": {
        "install--x": {"output": ["type=docker,compression=zstd,rewrite-timestamp=true"]},
        "testee--x": {"output": [{"type": "docker", "compression": "zstd", "compression-level": "3"}]},
        "tests-smoke--x": {"output": [{"type": "cacheonly"}]},
    }
}


def test_every_target_becomes_a_reproducible_oci_layout_keeping_its_compression():
    assert oci_output_sets(PLAN, ["install--x", "testee--x", "tests-smoke--x"], Path("/out")) == [
        "--set=install--x.output=type=oci,tar=false,rewrite-timestamp=true,compression=zstd,"
        "dest=/out/install--x",
        "--set=testee--x.output=type=oci,tar=false,rewrite-timestamp=true,compression=zstd,"
        "compression-level=3,dest=/out/testee--x",
        "--set=tests-smoke--x.output=type=oci,tar=false,rewrite-timestamp=true,dest=/out/tests-smoke--x",
    ]


def test_a_target_without_outputs_gets_the_defaults():
    assert oci_output({}, Path("/o")) == "type=oci,tar=false,rewrite-timestamp=true,dest=/o"


@pytest.mark.parametrize("path", ["/tmp/a,b", '/tmp/"x"', "/tmp/new\nline"])
def test_paths_buildx_would_split_are_refused(path):
    with pytest.raises(BakehouseError) as refused:
        check_destination(Path(path), "--oci")
    assert refused.value.code == BAD_INPUT


def test_an_existing_file_is_not_a_directory_to_export_into(tmp_path):
    existing = tmp_path / "images.tar"
    existing.write_text("mine")
    with pytest.raises(BakehouseError) as refused:
        check_directory(existing)
    assert refused.value.code == BAD_INPUT
    assert "exists and is not a directory" in str(refused.value)
    check_directory(tmp_path)  # an existing directory is fine
    check_directory(tmp_path / "new")  # and so is one that doesn't exist yet


def test_a_targets_subdirectory_is_replaced_only_when_empty_or_a_layout(tmp_path):
    (tmp_path / "empty--x").mkdir()
    (tmp_path / "earlier--x").mkdir()
    (tmp_path / "earlier--x" / "oci-layout").write_text("{}")
    check_replaceable(tmp_path, ["empty--x", "earlier--x", "absent--x"])
    (tmp_path / "data--x").mkdir()
    (tmp_path / "data--x" / "notes.txt").write_text("mine")
    (tmp_path / "file--x").write_text("mine")
    for name in ("data--x", "file--x"):
        with pytest.raises(BakehouseError) as refused:
            check_replaceable(tmp_path, [name])
        assert refused.value.code == BAD_INPUT
        assert "is not an OCI image layout" in str(refused.value)


def test_release_targets_are_the_requested_ones_else_the_configured_ones():
    configured = ReleaseSettings(targets=("install", "tests-smoke"))
    assert release_targets(["testee"], configured) == ["testee"]
    assert release_targets([], configured) == ["install", "tests-smoke"]
    assert release_targets(["testee"], ReleaseSettings(targets=())) == ["testee"]


def test_no_target_at_all_is_bad_input_not_bakes_default_group():
    with pytest.raises(BakehouseError) as caught:
        release_targets([], ReleaseSettings(targets=()))
    assert caught.value.code == BAD_INPUT
    assert "release.targets is empty and no --target was given" in str(caught.value)
