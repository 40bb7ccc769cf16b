"""Run ids, names and the daemon lock key."""

from __future__ import annotations

import os
from pathlib import Path

from tasks.complement.isolation import (
    docker_endpoint,
    lock_path,
    make_run_id,
    namespaces_for,
    run_container_name,
    run_image_reference,
    valid_run_id,
)

GITHUB = {"GITHUB_RUN_ID": "123", "GITHUB_JOB": "complement", "GITHUB_REPOSITORY": "o/r"}


def test_ci_run_id_is_stable_per_job_and_cell() -> None:
    first = make_run_id(GITHUB, "debian--trixie-slim--default")
    assert first == make_run_id(dict(GITHUB, GITHUB_RUN_ATTEMPT="2"), "debian--trixie-slim--default")
    assert first != make_run_id(GITHUB, "debian--bookworm-slim--default")
    assert first != make_run_id(dict(GITHUB, GITHUB_RUN_ID="124"), "debian--trixie-slim--default")
    assert valid_run_id(first)
    assert make_run_id({"CI_JOB_ID": "7"}, "c") != make_run_id({"CI_JOB_ID": "8"}, "c")


def test_run_ids_are_explicit_or_from_env_else_random_and_always_valid() -> None:
    one, two = make_run_id({}, "c"), make_run_id({}, "c")
    assert one != two and valid_run_id(one) and valid_run_id(two)
    assert make_run_id(GITHUB, "c", explicit="Mine") == "mine"
    assert make_run_id({"BAKEHOUSE_RUN_ID": "fromenv"}, "c") == "fromenv"
    assert not valid_run_id("bad id!")
    assert not valid_run_id("-leading-dash")


def test_names_carry_the_run_id() -> None:
    assert run_container_name("bakehouse-complement", "r1", "tester") == "bakehouse-complement-r1-tester"
    assert run_image_reference("bakehouse-complement", "r1") == "bakehouse-complement-testee:r1"


def test_lock_key_follows_the_daemon(tmp_path: Path) -> None:
    socket = tmp_path / "docker.sock"
    socket.touch()
    alias = tmp_path / "alias.sock"
    os.symlink(socket, alias)
    one = docker_endpoint({"DOCKER_HOST": f"unix://{socket}"})
    assert one == docker_endpoint({"DOCKER_HOST": f"unix://{alias}"})
    assert lock_path(tmp_path, one) == lock_path(
        tmp_path, docker_endpoint({"DOCKER_HOST": f"unix://{alias}"})
    )
    assert lock_path(tmp_path, one) != lock_path(tmp_path, "tcp://10.0.0.1:2375")
    assert docker_endpoint({}, "tcp://h:1") == "tcp://h:1"
    assert docker_endpoint({}).startswith("unix://")


def test_packages_map_to_complement_namespaces_and_unknown_ones_are_listed() -> None:
    known = {"tests": "fed", "tests/csapi": "csapi"}
    assert namespaces_for(["./tests/csapi", "./tests", "tests/"], known) == (["csapi", "fed"], [])
    assert namespaces_for(["csapi", "github.com/matrix-org/complement/tests"], known) == (
        ["csapi", "fed"],
        [],
    )
    assert namespaces_for(["./tests/msc9999"], known) == ([], ["./tests/msc9999"])
