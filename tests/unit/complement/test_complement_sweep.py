"""What a sweep reports (the sweep itself runs against the engine: tests/engine)."""

from __future__ import annotations

from tasks.complement.sweep import Swept


def test_swept_reads_as_counts():
    assert str(Swept(containers=2, networks=1, images=3)) == "2 container(s), 1 network(s), 3 image(s)"
