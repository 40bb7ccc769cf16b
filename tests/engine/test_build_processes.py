"""The processes a cached default `inv build` starts, counted with strace: one bake, two git
(`log` with the origin URL through trace2, `describe`), no `go env` once its answer is remembered."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from enginekit import INV, REPO_ROOT, inv

pytestmark = [
    pytest.mark.engine,
    pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace"),
]

# A successful execve in strace's log: pid, program, its argv as strace prints it.
_EXECVE = re.compile(r'^\d+\s+execve\("(?P<path>[^"]+)", \[(?P<argv>.*)\], .* = 0$')


def started(log: Path) -> list[list[str]]:
    """Each started program's argv (strace abbreviates long strings, enough for the first words)."""
    programs = []
    for line in log.read_text().splitlines():
        if match := _EXECVE.match(line):
            argv = re.findall(r'"((?:[^"\\]|\\.)*)"', match["argv"])
            programs.append([Path(match["path"]).name, *argv[1:]])
    return programs


def test_a_cached_default_build_starts_one_bake_and_two_git(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}  # its own remembered plans and go env
    build = ("build", "--target", "tests-smoke", "--progress", "quiet")
    inv(*build, env=env)  # plan printed and remembered, `go env` asked and remembered
    log = tmp_path / "execve.log"
    subprocess.run(
        ["strace", "-f", "-e", "trace=execve", "-o", str(log), INV, *build],
        cwd=REPO_ROOT, env={**os.environ, **env}, check=True, capture_output=True,
    )  # fmt: skip
    programs = started(log)
    names = [argv[0] for argv in programs]
    gits = [argv[3] for argv in programs if argv[0] == "git"]  # git -C ROOT <subcommand>
    assert gits == ["log", "describe"], programs
    assert "go" not in names
    assert names.count("docker") == 1 and programs[names.index("docker")][1:3] == ["buildx", "bake"]
    assert set(names) <= {Path(INV).name, "git", "docker", "docker-buildx"}, programs
