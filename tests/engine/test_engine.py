from __future__ import annotations

import pytest
from enginekit import docker, inv

pytestmark = pytest.mark.engine


def test_up_is_idempotent_and_status_reports_a_usable_engine():
    first = inv("engine.up")
    assert "usable" in first.stderr
    again = inv("engine.up")
    assert "usable" in again.stderr
    assert "starting dockerd" not in again.stderr
    status = inv("engine.status").stdout
    assert "usable: yes" in status
    assert "API 1." in status


def test_supply_matches_the_mode():
    status = inv("engine.status").stdout
    if "supply mode: registry-free" in status:
        # what the tree and docker-container builders need without any registry
        for image in ("debian:trixie-slim", "debian:bookworm-slim"):
            assert docker("image", "inspect", image, check=False).returncode == 0, image
        assert "local registry 127.0.0.1:5000: up" in status
    else:
        assert "supply mode: registry" in status
