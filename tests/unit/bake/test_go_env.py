"""The host's Go settings remembered between builds: the real `go` (behind a shim on PATH that
counts its starts) answers once per state of what decides its answer, and never a stale value."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tasks.bake.go_env import CACHE_FILE, go_settings
from tasks.shared.process import run

NAMES = ["GOPROXY", "GOSUMDB", "GONOSUMDB", "GOFLAGS"]
REAL_GO = shutil.which("go")
pytestmark = pytest.mark.skipif(REAL_GO is None, reason="needs go on PATH")


@pytest.fixture
def counted_go(tmp_path, monkeypatch):
    """PATH with a `go` that logs each start, then runs the real one (same GOROOT: its own binary).
    Go's settings live under tmp_path: no GO* variable of the host, an env file of the test's."""
    shim_dir = tmp_path / "bin"
    shim_dir.mkdir()
    starts = tmp_path / "go-starts.log"
    shim = shim_dir / "go"
    shim.write_text(f'#!/bin/sh\necho "$*" >> {starts}\nexec {REAL_GO} "$@"\n')
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{shim_dir}:/usr/bin:/bin")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("GOENV", str(tmp_path / "go.env"))
    monkeypatch.setenv("GOROOT", str(Path(str(REAL_GO)).resolve().parent.parent))
    for name in [*NAMES, "GOPRIVATE", "GOTOOLCHAIN", "GOWORK"]:
        monkeypatch.delenv(name, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)

    def count() -> int:
        return len(starts.read_text().splitlines()) if starts.exists() else 0

    return count


def direct() -> dict[str, str]:
    """What `go env` says now, asked directly (the values before this cache)."""
    lines = run([str(REAL_GO), "env", *NAMES]).stdout.splitlines()
    return {name: value for name, value in zip(NAMES, lines, strict=False) if value}


def test_a_second_build_asks_go_nothing(counted_go):
    first = go_settings(NAMES)
    assert first == direct()
    assert first["GOPROXY"]  # the default proxy at least
    assert counted_go() == 1
    assert go_settings(NAMES) == first
    assert counted_go() == 1


def test_an_environment_variable_wins_at_once(counted_go, monkeypatch):
    go_settings(NAMES)
    monkeypatch.setenv("GOPROXY", "https://proxy.example/go")
    monkeypatch.setenv("GONOSUMDB", "example.com/private")
    assert go_settings(NAMES) == direct()
    assert go_settings(NAMES)["GOPROXY"] == "https://proxy.example/go"
    assert counted_go() == 2


def test_go_env_w_is_seen_on_the_next_build(counted_go, tmp_path):
    go_settings(NAMES)
    run([str(REAL_GO), "env", "-w", "GOFLAGS=-mod=mod", "GOPROXY=https://written.example"])
    values = go_settings(NAMES)
    assert values == direct()
    assert values["GOFLAGS"] == "-mod=mod" and values["GOPROXY"] == "https://written.example"
    assert counted_go() == 2
    assert go_settings(NAMES) == values and counted_go() == 2


def test_a_go_mod_above_the_current_directory_asks_again(counted_go, tmp_path, monkeypatch):
    """A module's go/toolchain line may switch the toolchain `go env` answers with."""
    go_settings(NAMES)
    (tmp_path / "work" / "go.mod").write_text("module example.com/m\n\ngo 1.21\n")
    assert go_settings(NAMES) == direct()
    assert counted_go() == 2
    (tmp_path / "work" / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "work" / "sub")
    go_settings(NAMES)
    assert counted_go() == 3  # another directory: another key


def test_an_unreadable_or_foreign_cache_file_only_costs_a_go_env(counted_go, tmp_path):
    cache = tmp_path / "cache" / "bakehouse" / CACHE_FILE
    cache.parent.mkdir(parents=True)
    cache.write_text("{not json")
    assert go_settings(NAMES) == direct()
    stored = json.loads(cache.read_text())
    assert list(stored["entries"].values()) == [direct()]
    cache.write_text(json.dumps({"entries": {"another key": {"GOPROXY": "stale"}}, "other": 1}))
    assert go_settings(NAMES) == direct()
    assert counted_go() == 2


def test_checkouts_in_two_directories_each_keep_their_answer(counted_go, tmp_path, monkeypatch):
    (tmp_path / "other").mkdir()
    go_settings(NAMES)
    monkeypatch.chdir(tmp_path / "other")
    go_settings(NAMES)
    monkeypatch.chdir(tmp_path / "work")
    go_settings(NAMES)
    monkeypatch.chdir(tmp_path / "other")
    assert go_settings(NAMES) == direct()
    assert counted_go() == 2


def test_without_go_there_are_no_go_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert go_settings(NAMES) == {}
