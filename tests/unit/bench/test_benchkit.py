"""What the build benchmarks read from `inv build --progress rawjson`: the build pass only."""

from __future__ import annotations

import json

from bench.benchkit import build_pass_progress


def step(digest: str, name: str, *, cached: bool = False) -> str:
    raw: dict[str, object] = {
        "digest": digest,
        "name": name,
        "started": "2026-01-01T00:00:00Z",
        "completed": "2026-01-01T00:00:01Z",
    }
    if cached:
        raw["cached"] = True
    return json.dumps({"vertexes": [raw]})


def test_only_the_lines_before_the_load_pass_count_and_other_lines_are_skipped():
    stderr = "\n".join(
        [
            "bakehouse: building 1 target(s) on builder x",
            step("a", "[leaf 1/2] RUN make"),
            "#1 a line buildx prints that is no JSON",
            step("b", "[leaf 2/2] RUN test", cached=True),
            "bakehouse: loading 1 changed image(s) into the engine: leaf",
            # The load pass reports the same steps again, cached, and one it never built.
            step("a", "[leaf 1/2] RUN make", cached=True),
            step("c", "[leaf 3/3] RUN more"),
        ]
    )
    reader = build_pass_progress(stderr)
    assert [vertex.digest for vertex in reader.steps()] == ["a", "b"]
    assert [vertex.name for vertex in reader.executed_steps()] == ["[leaf 1/2] RUN make"]
