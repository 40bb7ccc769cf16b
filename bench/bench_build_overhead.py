"""What `inv build` adds to bake (issue P), side by side in one run; appends rows to bench/RESULTS.md.

(a) a cached `inv build --target tests-smoke` (the checkout's default builder) vs raw
    `docker buildx bake -f plan.json` on the plan `inv build --print` printed for it, same builder,
    same --allow, the shell's environment (goal: <= raw + 0.15 s);
(p) the processes a cached `inv build --target tests-smoke` starts, counted with
    `strace -f -e trace=execve` (goal: one bake, at most two git);
(d) a warm no-op default build vs a cold one on a fresh builder (goal <= 3 %).

It measures through subprocesses (inv, docker, strace) whichever checkout it sits in, so the same
script gives before/after figures. Run from the repo root with the engine up:
`.venv/bin/python bench/bench_build_overhead.py [--no-write]`.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tasks.builder.lifecycle import resolve_builder_name  # noqa: E402
from tasks.cli.context import project_settings  # noqa: E402

INV = str(Path(sys.executable).with_name("inv"))
LEAF = "tests-smoke"
REPEATS = 7
# A successful execve in strace's log (failed ones are PATH lookups, not processes).
_EXECVE = re.compile(r'^\d+\s+execve\("(?P<path>[^"]+)".*= 0$')


def timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    started = time.monotonic()
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd[:5])} failed:\n{result.stderr[-3000:]}")
    return time.monotonic() - started


def inv_build(builder: str, *options: str) -> list[str]:
    return [INV, "build", "--builder", builder, "--progress", "quiet", *options]


def started_processes(cmd: list[str]) -> list[str]:
    """The programs ``cmd`` and its descendants started (strace -f), in order."""
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "execve.log"
        timed(["strace", "-f", "-e", "trace=execve", "-o", str(log), *cmd])
        lines = log.read_text().splitlines()
    return [match["path"] for line in lines if (match := _EXECVE.match(line))]


def main() -> None:
    if shutil.which("strace") is None:
        sys.exit("bench: strace is needed (apt-get install strace)")
    # The checkout's own builder (made by `inv builder.create`), warm.
    name = resolve_builder_name(project_settings(ROOT), None)
    cold_builder = "bakehouse-bench-overhead-cold"

    # (a) the plan inv resolves for the leaf, printed once, then built both ways.
    printed = subprocess.run(
        [INV, "build", "--print", "--target", LEAF], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    plan = json.loads(printed)
    allow = sorted(
        {"network.host" for target in plan["target"].values() if target.get("network") == "host"}
        | {e for target in plan["target"].values() for e in target.get("entitlements") or []}
    )
    with tempfile.TemporaryDirectory() as scratch:
        plan_file = Path(scratch) / "plan.json"
        plan_file.write_text(printed)
        raw = [
            "docker", "buildx", "bake", "--builder", name, *(f"--allow={e}" for e in allow),
            "-f", str(plan_file), "--progress=quiet", *plan["target"].keys(),
        ]  # fmt: skip
        # As a user types it: the builder is the checkout's default one (its name costs git).
        wrapped = [INV, "build", "--target", LEAF, "--progress", "quiet"]
        timed(wrapped)  # warm-up: the plan is remembered, the engine holds what it should
        timed(raw)
        raw_times, inv_times = [], []
        for _ in range(REPEATS):  # interleaved: load from other work hits both alike
            raw_times.append(timed(raw))
            inv_times.append(timed(wrapped))
    raw_median, inv_median = statistics.median(raw_times), statistics.median(inv_times)

    # (p) processes of one cached build, as typed and with the builder named.
    programs = started_processes(wrapped)
    gits = sum(1 for path in programs if Path(path).name == "git")
    others = sorted({Path(path).name for path in programs} - {"git"})
    named = started_processes(inv_build(name, "--target", LEAF))
    named_gits = sum(1 for path in named if Path(path).name == "git")

    # (d) cold default build on a fresh builder, then the warm no-op on it.
    remove = [INV, "builder.rm", "--name", cold_builder]  # with its rendered buildkitd.toml
    subprocess.run(remove, cwd=ROOT, capture_output=True)
    subprocess.run([INV, "builder.create", "--name", cold_builder], cwd=ROOT, check=True, capture_output=True)
    try:
        cold = timed(inv_build(cold_builder))
        timed(inv_build(cold_builder))  # the first warm build may still load a changed image
        warm = statistics.median(timed(inv_build(cold_builder)) for _ in range(REPEATS))
    finally:
        subprocess.run(remove, cwd=ROOT, capture_output=True)

    load = os.getloadavg()[0]
    rows = {
        f"(a) cached inv build --target {LEAF} vs raw bake -f plan.json of its printed plan (median of "
        f"{REPEATS}, interleaved; goal <= raw + 0.15 s)": (
            f"{inv_median:.2f} s vs {raw_median:.2f} s: +{inv_median - raw_median:.2f} s, "
            f"ratio {inv_median / raw_median:.2f} (load {load:.1f})"
        ),
        f"(p) processes a cached inv build --target {LEAF} starts (strace -f execve; goal: one bake, "
        "at most two git)": (
            f"{len(programs)} in all, git {gits}; with --builder NAME {len(named)}, git {named_gits}; "
            f"programs: {', '.join(others)} (docker-buildx runs twice per bake: plugin metadata, then bake)"
        ),
        "(d) warm no-op default build vs cold on a fresh builder (goal <= 3 %)": (
            f"{warm:.2f} s vs {cold:.1f} s: {100 * warm / cold:.1f} % (median of {REPEATS}; load {load:.1f})"
        ),
    }
    machine = f"{platform.node()} ({platform.machine()}, {os.cpu_count()} cores)"
    stamp = os.environ.get("BENCH_DATE") or str(date.today())
    lines = [f"| {stamp} | {machine} | {k} | {v} |" for k, v in rows.items()]
    print("\n".join(lines))
    print("processes:", *programs, sep="\n  ")
    if "--no-write" not in sys.argv:
        with (ROOT / "bench" / "RESULTS.md").open("a") as out:
            out.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
