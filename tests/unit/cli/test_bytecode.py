"""`inv` caches the bytecode of bakehouse's modules (invoke turns writing off for every run, for a
project's tasks.py), unless Python was told not to: PYTHONDONTWRITEBYTECODE, or -B."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tasks.shared.process import REPO_ROOT

INV = str(Path(sys.executable).with_name("inv"))


def cached_after_inv_list(prefix: Path, **extra: str) -> list[str]:
    """The .pyc files an `inv --list` wrote under ``prefix`` for this checkout, tree-relative."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPYCACHEPREFIX=str(prefix), **extra)
    subprocess.run([INV, "--list"], cwd=REPO_ROOT, env=env, check=True, capture_output=True)
    mirror = prefix / REPO_ROOT.relative_to(REPO_ROOT.anchor)
    return sorted(str(path.relative_to(mirror)) for path in mirror.rglob("*.pyc")) if mirror.exists() else []


def test_inv_caches_bakehouses_modules_but_not_tasks_py(tmp_path):
    written = cached_after_inv_list(tmp_path)
    tag = sys.implementation.cache_tag
    assert f"tasks/namespace.{tag}.pyc" in written
    assert f"tasks/shared/settings.{tag}.pyc" in written
    assert f"tasks.{tag}.pyc" not in written  # invoke's choice for the project's own tasks.py


def test_pythondontwritebytecode_is_obeyed(tmp_path):
    assert cached_after_inv_list(tmp_path, PYTHONDONTWRITEBYTECODE="1") == []
