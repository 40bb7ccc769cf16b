"""The engine domain's checks and bookkeeping that need no engine: `engine.up`'s config check, the
supply mode, the private engine's paths and pid files, the private apt's options, the registry probe."""

from __future__ import annotations

import http.server
import os
import threading
from pathlib import Path

import pytest

from tasks.engine.provision import PrivateApt, check_up_config, decide_mode
from tasks.shared.errors import BAD_INPUT, BakehouseError
from tasks.shared.host import _is_zombie, pid_alive, wait_until
from tasks.shared.local_registry import recorded_mode, registry_address, registry_answers, supplies_builds
from tasks.shared.private_state import EnginePaths, paths


def test_everything_of_the_private_engine_lives_under_its_root():
    p = EnginePaths(Path("/srv/bh"))
    assert [p.apt, p.unpacked, p.data, p.exec_root, p.pid_file, p.log_file, p.registry_dir, p.mode_file] == [
        Path("/srv/bh/apt"), Path("/srv/bh/root"), Path("/srv/bh/engine/data"), Path("/srv/bh/engine/exec"),
        Path("/srv/bh/engine/dockerd.pid"), Path("/srv/bh/engine/dockerd.log"), Path("/srv/bh/registry"),
        Path("/srv/bh/supply-mode"),
    ]  # fmt: skip


def test_paths_come_from_engine_root(make_settings, tmp_path):
    assert paths(make_settings(engine={"root": str(tmp_path)})) == EnginePaths(tmp_path)
    assert paths(make_settings()).root == Path("/var/lib/bakehouse")


def test_the_project_config_passes_the_up_check(make_settings):
    check_up_config(make_settings())


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"supply": {"mode": "sometimes"}}, "supply.mode: 'sometimes' is not auto, registry, registry-free"),
        ({"supply": {"base_images": ["alpine:3.20"]}},
         "supply.base_images: can only make debian:<suite>[-slim] images, not 'alpine:3.20'"),
        ({"supply": {"base_images": ["debian"]}},
         "supply.base_images: can only make debian:<suite>[-slim] images, not 'debian'"),
        ({"supply": {"registry": "http://127.0.0.1:5000"}},
         "supply.registry 'http://127.0.0.1:5000': expected host[:port]"),
        ({"supply": {"probe_image": "Moby/BuildKit"}}, "supply.probe_image 'Moby/BuildKit': not an image"),
        ({"supply": {"buildkit_image": "a b"}}, "supply.buildkit_image 'a b': not an image reference"),
        ({"engine": {"min_api_version": "latest"}},
         "engine.min_api_version 'latest': expected a version such as 1.45"),
        ({"engine": {"min_buildx_version": "v0.17"}},
         "engine.min_buildx_version 'v0.17': expected a version such as 1.45"),
    ],
)  # fmt: skip
def test_up_refuses_bad_config_before_doing_anything(make_settings, sections, message):
    with pytest.raises(BakehouseError) as caught:
        check_up_config(make_settings(**sections))
    assert caught.value.code == BAD_INPUT
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize("mode", ["registry", "registry-free"])
def test_a_configured_supply_mode_is_used_without_probing(make_settings, mode):
    assert decide_mode(make_settings(supply={"mode": mode})) == mode


def test_an_unknown_supply_mode_is_bad_input(make_settings):
    with pytest.raises(BakehouseError) as caught:
        decide_mode(make_settings(supply={"mode": "offline"}))
    assert caught.value.code == BAD_INPUT
    assert str(caught.value) == "supply.mode: 'offline' is not auto, registry or registry-free"


def test_recorded_mode_is_the_configured_one_else_what_up_found_else_registry(make_settings, tmp_path):
    assert recorded_mode(make_settings(supply={"mode": "registry-free"}, engine={"root": str(tmp_path)})) == (
        "registry-free"
    )
    auto = make_settings(supply={"mode": "auto"}, engine={"root": str(tmp_path)})
    assert recorded_mode(auto) == "registry"
    (tmp_path / "supply-mode").write_text("registry-free\n")
    assert recorded_mode(auto) == "registry-free"
    # A configured mode wins over the record.
    assert (
        recorded_mode(make_settings(supply={"mode": "registry"}, engine={"root": str(tmp_path)}))
        == "registry"
    )


def test_only_registry_free_builds_on_a_container_builder_are_supplied(make_settings, tmp_path):
    free = make_settings(supply={"mode": "registry-free"}, engine={"root": str(tmp_path)})
    assert supplies_builds(free, ["bh-team"])
    assert supplies_builds(free, ["default", "bh-team"])
    assert not supplies_builds(free, ["default"])
    assert not supplies_builds(
        make_settings(supply={"mode": "registry"}, engine={"root": str(tmp_path)}), ["bh-team"]
    )


def test_registry_address_is_the_configured_one(make_settings):
    assert registry_address(make_settings()) == "127.0.0.1:5000"
    assert registry_address(make_settings(supply={"registry": "[::1]:5001"})) == "[::1]:5001"


def test_private_apt_reads_only_its_own_sources_and_lists():
    apt = PrivateApt(Path("/srv/bh/apt"), ["sid", "trixie"], "http://deb.debian.org/debian")
    assert apt._options() == [
        "-o", "Dir::Etc::SourceList=/srv/bh/apt/sources.list",
        "-o", "Dir::Etc::SourceParts=/nonexistent",
        "-o", "Dir::State::Lists=/srv/bh/apt/lists",
        "-o", "Dir::Cache=/srv/bh/apt/cache",
        "-o", "Debug::NoLocking=1",
        "-o", "APT::Sandbox::User=root",
    ]  # fmt: skip


def test_wait_until_returns_as_soon_as_ready_and_false_after_the_timeout():
    calls = []

    def ready_on_second_call():
        calls.append(1)
        return len(calls) >= 2

    assert wait_until(ready_on_second_call, timeout=5)
    assert len(calls) == 2
    assert not wait_until(lambda: False, timeout=0)


def test_a_pid_file_naming_this_process_is_alive(tmp_path):
    pid_file = tmp_path / "dockerd.pid"
    pid_file.write_text(f"{os.getpid()}\n")
    assert pid_alive(pid_file) == os.getpid()
    assert not _is_zombie(os.getpid())


@pytest.mark.parametrize("content", [None, "", "not a pid", "999999999"])
def test_a_missing_garbled_or_stale_pid_file_is_not_alive(tmp_path, content):
    pid_file = tmp_path / "dockerd.pid"
    if content is not None:
        pid_file.write_text(content)
    assert pid_alive(pid_file) is None


def test_a_process_that_does_not_exist_is_no_zombie():
    assert not _is_zombie(999999999)


class _Registry(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/v2/" else 404)
        self.end_headers()

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
        pass


def test_registry_answers_only_where_a_registry_api_answers():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Registry)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    address = f"127.0.0.1:{server.server_address[1]}"
    try:
        assert registry_answers(address)
    finally:
        server.shutdown()
        server.server_close()
    assert not registry_answers(address)
