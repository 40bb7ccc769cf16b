"""Benchmark for cache export/import (issue D): a cold tests-smoke build on a fresh builder that
exports its cache, then the same build on another fresh builder that imports it.

Run from the repo root with the engine up: `.venv/bin/python bench/bench_cache.py [--no-write]`.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INV = str(Path(sys.executable).with_name("inv"))


def build_on_fresh_builder(name: str, cache_dir: Path) -> float:
    subprocess.run(["docker", "buildx", "rm", name], capture_output=True)
    subprocess.run([INV, "builder.create", "--name", name], cwd=ROOT, check=True, capture_output=True)
    env = {
        **os.environ,
        "INVOKE_BAKEHOUSE_CACHE_BACKEND": "local",
        "INVOKE_BAKEHOUSE_CACHE_DIR": str(cache_dir),
    }
    started = time.monotonic()
    result = subprocess.run(
        [INV, "build", "--builder", name, "--target", "tests-smoke", "--progress", "quiet"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.monotonic() - started
    subprocess.run(["docker", "buildx", "rm", name], capture_output=True)
    if result.returncode != 0:
        sys.exit(f"bench: build on {name} failed:\n{result.stderr[-3000:]}")
    return seconds


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bakehouse-cache-") as tmp:
        cache_dir = Path(tmp) / "cache"
        cold = build_on_fresh_builder("bakehouse-bench-export", cache_dir)
        warm = build_on_fresh_builder("bakehouse-bench-import", cache_dir)
    machine = f"{platform.node()} ({platform.machine()}, {os.cpu_count()} cores)"
    row = (
        f"| {date.today()} | {machine} | cache: tests-smoke on a fresh builder, cold (exporting) vs "
        f"importing the exported cache | {cold:.1f} s vs {warm:.1f} s: ratio {warm / cold:.2f} |"
    )
    print(row)
    if "--no-write" not in sys.argv:
        with (ROOT / "bench" / "RESULTS.md").open("a") as out:
            out.write(row + "\n")


if __name__ == "__main__":
    main()
