"""Benchmarks for `inv build` (issue B): prints figures and appends them to bench/RESULTS.md.

(a) `inv build` vs raw `docker buildx bake` with the same flags on a fully cached tree;
(b) after editing only the smoke-test leaf, steps re-executed below it (goal 0);
(c) cold 2-cell (feat_sets default+postgres) and 3-cell (+sentry, which compiles nothing) matrix
    builds vs cold 1-cell, each on a fresh builder (goal for N cells: <= 1 + 0.3 (N - 1)); in the
    3-cell build, steps executed more than once (the same command under two digests; goal 0),
    and what the postgres cell's own compile costs;
(d) warm no-op default build vs the cold one (goal <= 3 %);
and the floor under (a): Python with invoke alone, and `inv --list` (start-up and imports).

Run from the repo root with the engine up: `.venv/bin/python bench/bench_build.py`.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.benchkit import build_pass_progress  # noqa: E402
from tasks.bake.definition import bake_invocation, resolve_bake  # noqa: E402
from tasks.bake.progress import RawJsonReader  # noqa: E402
from tasks.bake.request import BakeSelection  # noqa: E402
from tasks.cli.context import project_settings  # noqa: E402

INV = str(Path(sys.executable).with_name("inv"))
SMOKE_SCRIPT = ROOT / "images" / "scripts" / "smoke.sh"
LEAF = "tests-smoke"
REPEATS = 5


def timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    started = time.monotonic()
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd[:4])} failed:\n{result.stderr[-3000:]}")
    return time.monotonic() - started


def cold_rawjson(builder: str, matrix: str) -> tuple[float, RawJsonReader]:
    """A cold build of the default group on a fresh builder, its rawjson progress parsed."""
    fresh_builder(builder)
    started = time.monotonic()
    result = subprocess.run(
        [INV, "build", "--builder", builder, "--progress", "rawjson", "--matrix", matrix],
        cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    took = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"bench: cold build {matrix} failed:\n{result.stderr[-3000:]}")
    subprocess.run(["docker", "buildx", "rm", builder], capture_output=True)
    return took, build_pass_progress(result.stderr)


def executed_twice(reader: RawJsonReader) -> list[str]:
    """The same command on the same inputs executed under more than one digest: work done again
    for another cell. (BuildKit runs one digest once; vertex names carry the expanded command, and
    a step whose parent or copied stage differs per cell is different work by design.)"""
    digests: dict[tuple[str, tuple[str, ...]], set[str]] = {}
    for vertex in reader.executed_steps():
        digests.setdefault((vertex.rest, vertex.inputs), set()).add(vertex.digest)
    return sorted(text for (text, _), seen in digests.items() if len(seen) > 1)


def step_seconds(reader: RawJsonReader, command_part: str) -> float:
    """Seconds of the executed steps whose command holds `command_part` (an ancestor's vertex is
    attributed to whichever target reported it first, so the command, not the target, tells)."""
    return sum(
        (v.completed or 0) - (v.started or 0) for v in reader.executed_steps() if command_part in v.rest
    )


def fresh_builder(name: str) -> None:
    subprocess.run(["docker", "buildx", "rm", name], capture_output=True)
    subprocess.run([INV, "builder.create", "--name", name], cwd=ROOT, check=True, capture_output=True)


def main() -> None:
    c = project_settings(ROOT)
    builder = "bakehouse-bench"
    fresh_builder(builder)

    # (c) and (d): cold builds on fresh builders, then the warm no-op.
    cold_one = timed([INV, "build", "--builder", builder, "--progress", "quiet"])
    warm_noop = statistics.median(
        timed([INV, "build", "--builder", builder, "--progress", "quiet"]) for _ in range(REPEATS)
    )
    two_cell_builder = "bakehouse-bench-2"
    fresh_builder(two_cell_builder)
    cold_two = timed(
        [INV, "build", "--builder", two_cell_builder, "--progress", "quiet", "--matrix",
         'feat_sets=["default","postgres"]']
    )  # fmt: skip
    subprocess.run(["docker", "buildx", "rm", two_cell_builder], capture_output=True)
    cold_three, three = cold_rawjson("bakehouse-bench-3", 'feat_sets=["default","postgres","sentry"]')
    twice = executed_twice(three)
    postgres_compile = step_seconds(three, '"matrix-synapse[postgres]==')
    postgres_apt = step_seconds(three, "libpq-dev")

    # The floor under (a): what any `inv` pays before bakehouse does anything.
    python = [sys.executable, "-c", "import invoke"]
    floor = statistics.median(timed(python) for _ in range(REPEATS))
    listing = statistics.median(timed([INV, "--list"]) for _ in range(REPEATS))

    # (a): the same leaf, cached, through inv and through raw bake with identical flags.
    invocation = bake_invocation(c, resolve_bake(c, BakeSelection.of([LEAF])), builder)
    names, env = list(invocation.resolved.names), invocation.resolved.env
    raw_cmd = [*invocation.cmd, *names, "--progress=quiet"]
    timed(raw_cmd, env)
    raw = statistics.median(timed(raw_cmd, env) for _ in range(REPEATS))
    # Warm-up, as for raw bake: the first run asks bake for the plan and remembers it.
    timed([INV, "build", "--builder", builder, "--target", LEAF, "--progress", "quiet"])
    wrapped = statistics.median(
        timed([INV, "build", "--builder", builder, "--target", LEAF, "--progress", "quiet"])
        for _ in range(REPEATS)
    )

    # (b): edit only the leaf's script; count steps executed in every other target.
    original = SMOKE_SCRIPT.read_text()
    try:
        SMOKE_SCRIPT.write_text(original + f"\n# bench edit {time.time()}\n")
        result = subprocess.run(
            [*invocation.cmd, *names, "--progress=rawjson"],
            cwd=ROOT, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    finally:
        SMOKE_SCRIPT.write_text(original)
    reader = RawJsonReader(single_target=names[0] if len(names) == 1 else None)
    for line in result.stderr.splitlines():
        reader.feed(line)
    executed = reader.executed_steps()
    below = [v.name for v in executed if v.target not in set(names)]
    in_leaf = [v.name for v in executed if v.target in set(names)]

    rows = {
        "(a) inv build vs raw bake, cached tests-smoke (median of 5)": (
            f"{wrapped:.2f} s vs {raw:.2f} s: ratio {wrapped / raw:.2f}, +{wrapped - raw:.2f} s"
        ),
        "(b) steps re-executed below the leaf after editing smoke.sh (goal 0)": (
            f"{len(below)} (leaf itself re-ran {len(in_leaf)} step(s))"
        ),
        "(c) cold 2-cell (feat_sets default+postgres) vs cold 1-cell, default group": (
            f"{cold_two:.1f} s vs {cold_one:.1f} s: ratio {cold_two / cold_one:.2f}"
        ),
        "(c) cold 3-cell (feat_sets default+postgres+sentry) vs cold 1-cell (goal <= 1.6)": (
            f"{cold_three:.1f} s vs {cold_one:.1f} s: ratio {cold_three / cold_one:.2f}; steps executed "
            f"more than once: {len(twice)} (goal 0); the postgres cell's own work: compilers "
            f"{postgres_apt:.1f} s, psycopg2 compile {postgres_compile:.1f} s"
        ),
        "(d) warm no-op default build vs cold (goal <= 3 %)": (
            f"{warm_noop:.2f} s vs {cold_one:.1f} s: {100 * warm_noop / cold_one:.1f} %"
        ),
        "(a) floor: python -c 'import invoke', and inv --list (median of 5)": (
            f"{floor:.2f} s, {listing:.2f} s"
        ),
    }
    machine = f"{platform.node()} ({platform.machine()}, {os.cpu_count()} cores)"
    lines = [f"| {date.today()} | {machine} | {k} | {v} |" for k, v in rows.items()]
    print("\n".join(lines))
    if "--no-write" not in sys.argv:
        with (ROOT / "bench" / "RESULTS.md").open("a") as out:
            out.write("\n".join(lines) + "\n")
    if below:
        print("re-executed below the leaf:", *below, sep="\n  ")
    if twice:
        print("executed more than once:", *twice, sep="\n  ")


if __name__ == "__main__":
    main()
