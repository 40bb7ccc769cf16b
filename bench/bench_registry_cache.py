"""Benchmark for the registry cache shared by CI runners (issue I, bullet 2).

Three runners are three fresh builders; each builds one cell of the default group (feat_set default,
postgres, sentry; one system). Side by side in one run:
- without a cache: cells 2 and 3 cold, each on its own fresh builder;
- with `cache.backend: registry` on the local registry: runner 1 builds cell 1 and exports, then
  runners 2 and 3 (fresh builders) build cells 2 and 3 importing what the earlier runners exported.
Figures: per-runner time of cells 2 and 3 with the cache over without it, and the shared steps each
later runner executed (steps with a digest runner 1 also had: the cells' common ancestors; goal 0).

Run from the repo root with the engine up (the local registry answering on bakehouse.supply.registry):
`.venv/bin/python bench/bench_registry_cache.py [--no-write]`.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.benchkit import build_pass_progress  # noqa: E402
from tasks.bake.progress import RawJsonReader  # noqa: E402
from tasks.cli.context import project_settings  # noqa: E402

INV = str(Path(sys.executable).with_name("inv"))
CELLS = ("default", "postgres", "sentry")


def build_cell(runner: str, feat_set: str, config: Path | None) -> tuple[float, RawJsonReader]:
    """One runner: a fresh builder building one cell; its time and its parsed rawjson progress."""
    subprocess.run(["docker", "buildx", "rm", runner], capture_output=True)
    subprocess.run([INV, "builder.create", "--name", runner], cwd=ROOT, check=True, capture_output=True)
    started = time.monotonic()
    config_args = ["-f", str(config)] if config else []
    result = subprocess.run(
        [INV, *config_args, "build", "--builder", runner, "--progress", "rawjson",
         "--matrix", f"feat_set={feat_set}"],
        cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    took = time.monotonic() - started
    subprocess.run(["docker", "buildx", "rm", runner], capture_output=True)
    if result.returncode != 0:
        sys.exit(f"bench: {runner} ({feat_set}) failed:\n{result.stderr[-3000:]}")
    return took, build_pass_progress(result.stderr)


def step_digests(reader: RawJsonReader) -> set[str]:
    return {vertex.digest for vertex in reader.steps()}


def shared_steps_executed(reader: RawJsonReader, first_runner_steps: set[str]) -> list[str]:
    """Steps this runner executed (not cached) that runner 1 had too: the same digest is the same
    step on the same inputs (the cells' common ancestors), whichever target bake names it under."""
    return [vertex.name for vertex in reader.executed_steps() if vertex.digest in first_runner_steps]


def main() -> None:
    registry = project_settings(ROOT).supply.registry
    ref = f"{registry}/bakehouse/bench-cache-{uuid.uuid4().hex[:8]}"
    # As on CI: the configured matrix holds every cell, each runner narrows it to its own.
    config = {
        "bakehouse": {
            "bake": {"matrix": {"feat_sets": list(CELLS)}},
            "cache": {"backend": "registry", "ref": ref},
        }
    }
    with tempfile.TemporaryDirectory(prefix="bakehouse-bench-") as tmp:
        with_cache = Path(tmp) / "registry-cache.yaml"
        with_cache.write_text(json.dumps(config))  # JSON is YAML
        measure(with_cache)


def measure(with_cache: Path) -> None:
    cold = {cell: build_cell(f"bakehouse-bench-runner-cold-{cell}", cell, None)[0] for cell in CELLS[1:]}
    first_time, first = build_cell("bakehouse-bench-runner-1", CELLS[0], with_cache)
    first_steps = step_digests(first)
    shared: dict[str, list[str]] = {}
    cached: dict[str, float] = {}
    for number, cell in enumerate(CELLS[1:], start=2):
        cached[cell], reader = build_cell(f"bakehouse-bench-runner-{number}", cell, with_cache)
        shared[cell] = shared_steps_executed(reader, first_steps)

    machine = f"{platform.node()} ({platform.machine()}, {os.cpu_count()} cores)"
    load = os.getloadavg()[0]
    parts = [
        f"{cell}: {cached[cell]:.1f} s vs {cold[cell]:.1f} s cold, ratio {cached[cell] / cold[cell]:.2f}, "
        f"shared steps executed {len(shared[cell])}"
        for cell in CELLS[1:]
    ]
    row = (
        f"| {date.today()} | {machine} | registry cache shared by runners: cells 2 and 3 on fresh builders "
        f"after runner 1 exported ({CELLS[0]}: {first_time:.1f} s) vs cold (goal: shared steps 0) | "
        f"{'; '.join(parts)} (load {load:.1f}) |"
    )
    print(row)
    for cell, steps in shared.items():
        for step in steps:
            print(f"  {cell}: executed again: {step}")
    if "--no-write" not in sys.argv:
        with (ROOT / "bench" / "RESULTS.md").open("a") as out:
            out.write(row + "\n")


if __name__ == "__main__":
    main()
