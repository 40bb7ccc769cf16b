"""SOURCE_DATE_EPOCH in bake's environment: the commit time, unless the user set one."""

from __future__ import annotations

import subprocess

from tasks.bake.definition import bake_env, resolve_matrix
from tasks.shared.process import REPO_ROOT


def test_source_date_epoch_is_the_commit_time_unless_the_user_sets_it(make_settings, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    c = make_settings()
    matrix = resolve_matrix(c)
    commit_time = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "log", "-1", "--format=%ct"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert commit_time.isdigit()
    assert bake_env(c, matrix)["SOURCE_DATE_EPOCH"] == commit_time
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    assert bake_env(c, matrix)["SOURCE_DATE_EPOCH"] == "0"
