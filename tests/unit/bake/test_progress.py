from __future__ import annotations

import base64
import json

from tasks.bake.progress import RawJsonReader

FIXTURES = "tests/fixtures/rawjson"


def read(repo_root, name, single=None):
    reader = RawJsonReader(single_target=single)
    printed = []
    for line in (repo_root / FIXTURES / f"{name}.jsonl").read_text().splitlines():
        printed += reader.feed(line)
    return reader, printed


def test_failed_target_and_cached_target_in_one_call(repo_root):
    reader, printed = read(repo_root, "one-built-broken-failed")
    one = reader.outcome("one", ok=False)
    broken = reader.outcome("broken", ok=False)
    assert (one.status, one.steps_executed, one.steps_cached) == ("cached", 0, 2)
    assert broken.status == "failed"
    assert "exit code: 3" in (broken.error or "")
    assert any(line.startswith("[broken 3/3] going to fail") for line in printed)
    # the error text buildx prints after the JSON stream is passed through, not lost
    assert any("ERROR: target broken" in line for line in printed)


def test_single_target_call_has_no_prefix_and_is_attributed(repo_root):
    reader, printed = read(repo_root, "one-cached", single="one")
    outcome = reader.outcome("one", ok=True)
    assert (outcome.status, outcome.steps_executed, outcome.steps_cached) == ("cached", 0, 2)
    assert printed == ["[2/3] RUN echo hello-$(date +%s) > /a CACHED", "[3/3] RUN cat /a CACHED"]
    assert reader.executed_steps() == []


def vertex(digest, name, started=None, completed=None, cached=False, error=None):
    raw = {"digest": digest, "name": name}
    if started:
        raw["started"] = started
    if completed:
        raw["completed"] = completed
    if cached:
        raw["cached"] = True
    if error:
        raw["error"] = error
    return json.dumps({"vertexes": [raw]})


def test_a_finished_step_prints_done_with_its_time_and_counts_as_executed():
    reader = RawJsonReader()
    reader.feed(
        vertex("a", "[leaf 1/2] FROM docker.io/library/x", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z")
    )
    reader.feed(vertex("b", "[leaf 2/2] RUN make", "2026-01-01T00:00:01.5Z"))
    lines = reader.feed(
        vertex("b", "[leaf 2/2] RUN make", "2026-01-01T00:00:01.5Z", "2026-01-01T00:00:04.000000001Z")
    )
    assert lines == ["[leaf 2/2] RUN make DONE 2.5s"]
    log = {"logs": [{"vertex": "b", "data": base64.b64encode(b"hello\nworld\n").decode()}]}
    assert reader.feed(json.dumps(log)) == ["[leaf 2/2] hello", "[leaf 2/2] world"]
    outcome = reader.outcome("leaf", ok=True)
    assert (outcome.status, outcome.steps_executed, round(outcome.seconds, 2)) == ("built", 1, 2.5)
    assert [v.name for v in reader.executed_steps({"leaf"})] == ["[leaf 2/2] RUN make"]


def test_a_parent_failure_fails_the_incomplete_leaf():
    reader = RawJsonReader()
    reader.feed(
        vertex("p", "[parent 2/2] RUN x", "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z", error="boom")
    )
    reader.feed(vertex("l", "[leaf 2/2] RUN y", "2026-01-01T00:00:00Z"))
    outcome = reader.outcome("leaf", ok=False)
    assert outcome.status == "failed"
    assert outcome.error == "boom"


def test_an_error_bake_went_on_from_does_not_fail_a_target_of_a_successful_call():
    # A registry cache import that finds nothing yet is an error vertex of the target itself (one
    # target per call: no prefix), but the build goes on and bake exits 0.
    reader = RawJsonReader(single_target="leaf")
    missing = "failed to configure registry cache importer: reg:5000/cache:leaf: not found"
    reader.feed(vertex("i", "[leaf] importing cache manifest from reg:5000/cache:leaf", error=missing))
    reader.feed(vertex("s", "[2/2] RUN y", "2026-01-01T00:00:00Z", "2026-01-01T00:00:02Z"))
    assert reader.outcome("leaf", ok=True).status == "built"
    failed = reader.outcome("leaf", ok=False)
    assert (failed.status, failed.error) == ("failed", missing)


def test_malformed_lines_are_counted_and_echoed():
    reader = RawJsonReader()
    assert reader.feed("not json") == ["not json"]
    assert reader.feed("") == []
    assert reader.malformed == 1


def test_a_vertex_keeps_the_digests_it_builds_on():
    reader = RawJsonReader()
    name = "[t 2/2] COPY --link --from=deps /a /a"
    first = {"digest": "sha256:c", "name": name, "inputs": ["sha256:a", "sha256:b"]}
    reader.feed(json.dumps({"vertexes": [first]}))
    reader.feed(json.dumps({"vertexes": [{"digest": "sha256:c", "name": name}]}))  # no inputs now
    assert reader.vertices["sha256:c"].inputs == ("sha256:a", "sha256:b")


def test_cache_bookkeeping_of_dependency_targets_is_not_an_executed_step():
    # One requested target whose dependency targets (bake `target:` contexts) import and export
    # their cache: bake names those vertices "[dependency] ...". They ran, but built nothing.
    reader = RawJsonReader(single_target="leaf")
    times = ("2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z")
    reader.feed(vertex("i", "[parent] importing cache manifest from local:123", *times))
    reader.feed(vertex("e", "[parent] exporting cache to client directory", *times))
    reader.feed(vertex("o", "[leaf] exporting cache to client directory", *times))
    reader.feed(vertex("s", "[leaf stage-0 2/2] RUN y", *times, cached=True))
    outcome = reader.outcome("leaf", ok=True)
    assert (outcome.status, outcome.steps_executed, outcome.steps_cached) == ("cached", 0, 1)
    assert [v.target for v in reader.vertices.values()] == ["parent", "parent", "leaf", "leaf"]


def test_a_refused_cache_export_fails_the_one_target_of_its_call():
    # One target per call: buildx names the export vertex without a bracket.
    reader = RawJsonReader(single_target="leaf")
    times = ("2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z")
    reader.feed(vertex("s", "[2/2] RUN y", *times))
    refused = (
        "error writing layer blob: unexpected status from HEAD request to https://reg/v2/x: 401 Unauthorized"
    )
    reader.feed(vertex("e", "exporting cache to registry", *times, error=refused))
    failed = reader.outcome("leaf", ok=False)
    assert (failed.status, failed.error) == ("failed", refused)
    assert reader.outcome("leaf", ok=True).status == "built"
    assert [v.name for v in reader.steps()] == ["[2/2] RUN y"]
