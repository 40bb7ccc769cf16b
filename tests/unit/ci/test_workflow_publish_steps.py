"""The reference workflow's publish: each cell pushes by digest and uploads its record from where
`--by-digest` writes it; the gate merges them once, after the Complement gate."""

from __future__ import annotations

from typing import Any

import yaml

from tasks.publish.digest_records import DIGESTS_DIR
from tasks.shared.process import REPO_ROOT

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "bakehouse.yml"


def steps(job: str) -> list[dict[str, Any]]:
    return list(yaml.safe_load(WORKFLOW.read_text())["jobs"][job]["steps"])


def named(job: str, name: str) -> tuple[int, dict[str, Any]]:
    return next((i, step) for i, step in enumerate(steps(job)) if step.get("name") == name)


def test_each_cell_pushes_by_digest_after_its_build_and_uploads_the_record():
    build, _ = named("cell", "Build the cell")
    position, publish = named("cell", "Publish the cell by digest")
    assert publish["run"] == 'inv publish --cell "$CELL" --by-digest'
    assert position == build + 1
    _, upload = named("cell", "Upload the cell's digest")
    assert upload["with"]["path"] == DIGESTS_DIR
    assert upload["with"]["name"] == "digests-${{ matrix.id }}"
    assert publish["if"] == upload["if"] == "${{ env.PUBLISH == 'true' }}"


def test_the_gate_merges_once_after_the_complement_gate_from_the_downloaded_records():
    gate, _ = named("gate", "Gate the union of the results")
    download_at, download = named("gate", "Download every cell's digest")
    merge_at, merge = named("gate", "Merge the published cells")
    assert gate < download_at < merge_at
    assert download["with"] == {"pattern": "digests-*", "path": "publish-digests"}
    assert merge["run"] == "inv publish.merge publish-digests"
    # No status function in the condition: GitHub adds success(), so a failed gate merges nothing.
    assert (
        "success()" not in merge["if"] and "always()" not in merge["if"] and "!cancelled()" not in merge["if"]
    )
    merges = [step for step in steps("gate") if "publish.merge" in str(step.get("run", ""))]
    assert len(merges) == 1
