"""`buildx ls --format json` parsed once into builder and node records."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tasks.shared.buildx import (
    BuilderRecord,
    NodeRecord,
    buildx_config_dir,
    docker_config_dir,
    parse_builder,
    parse_ls,
)
from tasks.shared.errors import BakehouseError

CONFIG = "[worker.oci]\n  gc = true\n"

# Two lines as buildx 0.29 prints them: a docker-container builder and the engine's own.
LS = "\n".join(
    json.dumps(builder)
    for builder in (
        {
            "Name": "b1",
            "Driver": "docker-container",
            "LastActivity": "2026-01-01T00:00:00Z",
            "Nodes": [
                {
                    "Name": "b10",
                    "Endpoint": "unix:///var/run/docker.sock",
                    "Status": "running",
                    "Version": "v0.33.1",
                    "Flags": ["--allow-insecure-entitlement=network.host"],
                    "DriverOpts": {"network": "host"},
                    "Files": {"buildkitd.toml": base64.b64encode(CONFIG.encode()).decode()},
                    "GCPolicy": [{"all": True, "minFreeSpace": 1000}],
                }
            ],
        },
        {"Name": "default", "Driver": "docker", "Nodes": [{"Name": "default", "Status": "running"}]},
    )
)


def test_builders_and_their_nodes_are_typed_records_with_files_decoded():
    b1, default = parse_ls(LS + "\n\n")
    assert b1 == BuilderRecord(
        name="b1",
        driver="docker-container",
        nodes=(
            NodeRecord(
                name="b10",
                status="running",
                version="v0.33.1",
                endpoint="unix:///var/run/docker.sock",
                flags=("--allow-insecure-entitlement=network.host",),
                driver_opts={"network": "host"},
                files={"buildkitd.toml": CONFIG},
                gc_policies=({"all": True, "minFreeSpace": 1000},),
            ),
        ),
    )
    assert b1.node is b1.nodes[0]
    assert default == BuilderRecord("default", "docker", (NodeRecord("default", status="running"),))


def test_a_builder_without_nodes_has_an_empty_first_node():
    builder = parse_builder({"Name": "b2", "Driver": "docker-container", "Nodes": None})
    assert builder.nodes == ()
    assert builder.node == NodeRecord(name="")


def test_a_file_that_is_not_base64_reads_as_empty():
    node = parse_builder({"Name": "b3", "Nodes": [{"Files": {"buildkitd.toml": "not base64!"}}]}).node
    assert node.files == {"buildkitd.toml": ""}


def test_output_that_is_not_json_lines_is_one_line_not_a_traceback():
    with pytest.raises(BakehouseError) as caught:
        parse_ls("NAME/NODE  DRIVER/ENDPOINT\n")
    assert str(caught.value).startswith("docker buildx ls printed something other than JSON lines: ")


def test_the_docker_and_buildx_config_dirs_follow_their_variables(tmp_path):
    home = Path.home()
    assert docker_config_dir({}) == home / ".docker"
    assert buildx_config_dir({}) == home / ".docker" / "buildx"
    moved = {"DOCKER_CONFIG": str(tmp_path / "docker")}
    assert docker_config_dir(moved) == tmp_path / "docker"
    assert buildx_config_dir(moved) == tmp_path / "docker" / "buildx"
    both = {**moved, "BUILDX_CONFIG": str(tmp_path / "state")}
    assert (docker_config_dir(both), buildx_config_dir(both)) == (tmp_path / "docker", tmp_path / "state")


def test_without_an_environment_given_the_processes_own_is_read(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    monkeypatch.setenv("BUILDX_CONFIG", str(tmp_path / "state"))
    assert (docker_config_dir(), buildx_config_dir()) == (tmp_path / "docker", tmp_path / "state")
