"""The CI fan-out against the real engine: a cell that one job listed, built alone by another."""

from __future__ import annotations

import json

import pytest
from enginekit import inv
from test_build import TWO_SYSTEMS, summary_rows

pytestmark = pytest.mark.engine


def test_a_listed_cell_is_built_alone_by_its_id():
    listed = inv("ci.matrix", "--format", "github", env={"sys_versions": TWO_SYSTEMS})
    ids = [entry["id"] for entry in json.loads(listed.stdout.partition("=")[2])["include"]]
    assert ids == ["debian--trixie-slim--default--amd64", "debian--bookworm-slim--default--amd64"]
    # The cell job has no matrix variables of its own: the id alone selects the cell.
    result = inv(
        "build", "--cell", ids[1], "--target", "tests-smoke", "--builder", "default", "--progress", "quiet"
    )
    assert list(summary_rows(result.stderr)) == ["tests-smoke--debian--bookworm-slim--default--amd64"]
    assert "ACCEPT" in result.stderr
