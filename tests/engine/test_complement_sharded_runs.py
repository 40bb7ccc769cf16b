"""Complement in shards against the real engine: 4 shards merged give the verdict and the
results.jsonl of one unsharded run of the same selection; a missing shard fails the merge and a
duplicated one is refused; `--all` lists the whole suite.

Results go to a temporary results directory (INVOKE_BAKEHOUSE_COMPLEMENT_RESULTS_DIR), not the
checkout's build/complement.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from enginekit import docker, inv

from tasks.complement.isolation import RUN_LABEL

pytestmark = pytest.mark.engine

CELL = "debian--trixie-slim--default--amd64"
# Eight quick csapi tests that pass in the committed baseline (about 4 s each).
NAMES = [
    "TestJson", "TestLogin", "TestLogout", "TestMediaConfig", "TestProfileDisplayName",
    "TestRequestEncodingFails", "TestServerCapabilities", "TestVersionStructure",
]  # fmt: skip
SELECTION = ["--packages", "./tests/csapi", "--run", f"^({'|'.join(NAMES)})$", "--progress", "quiet"]
SHARDS = 4


@dataclass
class Runs:
    root: Path  # the results directory of every run here
    env: dict[str, str]
    unsharded_results: str
    unsharded_table: list[str]
    shard_results: dict[int, dict[str, str]]  # shard -> its results.jsonl rows' tests -> actions
    run_ids: list[str]


def table(stdout: str) -> list[str]:
    """The gate's table without the run's label and time: the counts line's tail, then the rest."""
    lines = stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if re.search(r": \d+ tests: pass ", line))
    end = next(i for i, line in enumerate(lines) if line.startswith("gate: "))
    counts = re.sub(r" in \d+s$", "", lines[first].split(": ", 1)[1])
    return [counts, *lines[first + 1 : end + 1]]


def left_behind(run_ids: list[str]) -> list[str]:
    found = []
    for run in run_ids:
        for kind in ("ps", "images"):
            found += docker(kind, "-aq", "--filter", f"label={RUN_LABEL}={run}").stdout.split()
    return found


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """One unsharded run of the selection, then its 4 shards one after the other in one results
    directory (balanced by the unsharded run's durations)."""
    root = tmp_path_factory.mktemp("complement-shards")
    env = {"INVOKE_BAKEHOUSE_COMPLEMENT_RESULTS_DIR": str(root)}
    run_ids = [f"shards-test-{uuid.uuid4().hex[:8]}" for _ in range(SHARDS + 1)]
    started = time.monotonic()
    whole = inv("complement", *SELECTION, "--run-id", run_ids[0], env=env, check=False)
    took = time.monotonic() - started
    print(f"FIGURE: unsharded run of {len(NAMES)} tests: {took:.0f}s (with the build check)")
    assert whole.returncode == 0, whole.stdout + whole.stderr
    unsharded_results = (root / CELL / "results.jsonl").read_text()
    assert (root / CELL / "durations.json").exists()
    shard_results: dict[int, dict[str, str]] = {}
    for index in range(1, SHARDS + 1):
        started = time.monotonic()
        part = ["--shard", f"{index}/{SHARDS}", "--run-id", run_ids[index]]
        shard = inv("complement", *SELECTION, *part, env=env, check=False)
        print(f"FIGURE: shard {index}/{SHARDS}: {time.monotonic() - started:.0f}s (with the build check)")
        assert shard.returncode == 0, shard.stdout + shard.stderr
        assert (
            f"shard {index}/{SHARDS} of {CELL}: " in shard.stderr and "(split by durations)" in shard.stderr
        )
        rows = (root / CELL / f"shard-{index}-of-{SHARDS}" / "results.jsonl").read_text().splitlines()
        shard_results[index] = {json.loads(row)["Test"]: json.loads(row)["Action"] for row in rows}
    yield Runs(root, env, unsharded_results, table(whole.stdout), shard_results, run_ids)
    assert left_behind(run_ids) == []


def test_four_shards_merged_give_the_verdict_and_results_of_one_run(runs: Runs) -> None:
    # Every shard ran only its own top-level tests, and together exactly the selection, each once.
    record = json.loads((runs.root / CELL / f"shard-1-of-{SHARDS}" / "shard.json").read_text())
    assert sorted(name for shard in record["shards"] for name in shard) == NAMES
    for index, results in runs.shard_results.items():
        assert {test.split("/", 1)[0] for test in results} == set(record["shards"][index - 1])
    started = time.monotonic()
    merged = inv("complement.merge", str(runs.root / CELL), env=runs.env, check=False)
    print(f"FIGURE: merge of {SHARDS} shards: {time.monotonic() - started:.1f}s")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    # Byte for byte: the same rows (results.jsonl is sorted and holds no durations).
    assert (runs.root / CELL / "results.jsonl").read_text() == runs.unsharded_results
    assert table(merged.stdout) == runs.unsharded_table
    assert runs.unsharded_table[-1] == "gate: PASS (no regressions)"
    assert json.loads((runs.root / CELL / "run.json").read_text())["state"] == "complete"


def test_a_missing_shard_fails_the_merge_and_a_duplicated_one_is_refused(runs: Runs, tmp_path: Path) -> None:
    shards = [runs.root / CELL / f"shard-{index}-of-{SHARDS}" for index in range(1, SHARDS + 1)]
    without_third = ",".join(str(path) for index, path in enumerate(shards, 1) if index != 3)
    missing = inv("complement.merge", without_third, "--output", str(tmp_path / "missing"), env=runs.env,
                  check=False)  # fmt: skip
    assert missing.returncode == 1, missing.stdout + missing.stderr
    last = missing.stderr.strip().splitlines()[-1]
    assert f"shard 3/{SHARDS} missing" in last and "regression(s)" in last, last
    for test in runs.shard_results[3]:  # each of its tests passed in the baseline and is now missing
        assert f"tests/csapi {test}  (pass → missing)" in missing.stdout
    assert "gate: FAIL" in missing.stdout

    copy = tmp_path / "copy" / "shard-2"
    shutil.copytree(shards[1], copy)
    duplicated = inv("complement.merge", f"{runs.root / CELL},{copy}", "--output", str(tmp_path / "dup"),
                     env=runs.env, check=False)  # fmt: skip
    assert duplicated.returncode == 2, duplicated.stdout + duplicated.stderr
    [line] = duplicated.stderr.strip().splitlines()
    assert line.startswith(f"bakehouse: {CELL}: two copies of shard 2/{SHARDS}: ")
    assert str(copy) in line and str(shards[1]) in line
    assert not (tmp_path / "dup").exists()


def test_all_lists_every_test_of_the_packages_to_shard_them(tmp_path: Path) -> None:
    """`--all` with more shards than the suite has tests: the last shard is empty, so nothing runs,
    but its record holds the whole listed suite."""
    env = {"INVOKE_BAKEHOUSE_COMPLEMENT_RESULTS_DIR": str(tmp_path)}
    result = inv("complement", "--all", "--shard", "1000/1000", "--progress", "quiet", env=env, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no test to run (more shards than tests)" in result.stderr
    record = json.loads((tmp_path / CELL / "shard-1000-of-1000" / "shard.json").read_text())
    names = [name for shard in record["shards"] for name in shard]
    print(f"FIGURE: --all lists {len(names)} top-level tests in ./tests and ./tests/csapi")
    assert record["run"] == "" and len(names) > 100
    assert {"TestLogin", "TestInboundFederationKeys"} <= set(names)
    assert (
        json.loads((tmp_path / CELL / "shard-1000-of-1000" / "run.json").read_text())["state"] == "complete"
    )
