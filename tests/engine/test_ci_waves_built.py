"""`inv ci.matrix --waves` over the sample tree (bake --print only, nothing is built)."""

from __future__ import annotations

import json

import pytest
from enginekit import inv

pytestmark = pytest.mark.engine

THREE_FEATURE_SETS = '["default","postgres","sentry"]'


def test_the_wave_holds_the_layers_two_or_more_cells_build():
    listed = inv("ci.matrix", "--waves", "--format", "github", env={"feat_sets": THREE_FEATURE_SETS})
    wave_line, matrix_line = listed.stdout.splitlines()
    assert wave_line.startswith("wave=") and matrix_line.startswith("matrix=")
    wave = json.loads(wave_line.partition("=")[2])
    # Each system layer once; default and sentry need no build packages: one builder layer for both.
    assert wave == [
        "base--debian--trixie-slim--amd64",
        "builder--debian--trixie-slim--default--amd64",
        "system--debian--trixie-slim--amd64",
        "venv--debian--trixie-slim--amd64",
    ], wave
    one_cell = inv("ci.matrix", "--waves", "--format", "json", env={"feat_sets": '["postgres"]'})
    assert json.loads(one_cell.stdout)["wave"] == []
