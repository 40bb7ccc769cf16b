"""What `inv build` adds to bake (issue P), side by side in one run; appends rows to bench/RESULTS.md.

(a) a cached `inv build --target tests-smoke` (the checkout's default builder) vs raw
    `docker buildx bake -f plan.json` on the plan `inv build --print` printed for it, same builder,
    same --allow, the shell's environment (goal: <= raw + 0.15 s);
(p) the processes a cached `inv build --target tests-smoke` starts, counted with
    `strace -f -e trace=execve` (goal: one bake, at most two git);
(d) a warm no-op default build vs a cold one on a fresh builder (goal <= 3 %).

It measures through subprocesses (inv, docker, strace) whichever checkout it sits in, so the same
script gives before/after figures. Run from the repo root with the engine up:
`.venv/bin/python bench/bench_build_overhead.py [--no-write] [--before DIR] [--bytecode] [--no-cold]
[--repeats N]`.

- `--before DIR`: another bakehouse checkout (e.g. a clone of the base commit with this checkout's
  directory name and branch and no origin, so its default builder is this one's) is measured in
  the same run: its cached build interleaved with this one's and raw bake in (a), its processes in (p).
- `--bytecode`: (a) also times each `inv` run allowed to cache bytecode (PYTHONDONTWRITEBYTECODE
  dropped, PYTHONPYCACHEPREFIX a temporary directory, so nothing lands in the checkouts), as an
  installed or normally run bakehouse does, interleaved with the runs in the environment as it is.
- `--no-cold`: (d) is skipped (a cold build takes minutes of CPU).
- `--floor`: (a) also times raw bake with `BUILDX_GIT_INFO=false` (as inv runs it: buildx then asks
  git nothing about the contexts) and the floor of any invoke-based wrapper: an `inv` whose only
  task runs that same bake (Python, invoke, one task, one bake; no bakehouse).
"""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tasks.builder.lifecycle import resolve_builder_name  # noqa: E402
from tasks.cli.context import project_settings  # noqa: E402

INV = str(Path(sys.executable).with_name("inv"))
LEAF = "tests-smoke"
REPEATS = 7  # --repeats N for more on a loaded machine
# A successful execve in strace's log (failed ones are PATH lookups, not processes).
_EXECVE = re.compile(r'^\d+\s+execve\("(?P<path>[^"]+)".*= 0$')


# --floor: an invoke task that only runs the raw bake (what any invoke-based wrapper pays at least).
FLOOR_TASKS = """import os
import subprocess
from invoke import task


@task
def build(c):
    env = {{**os.environ, "BUILDX_GIT_INFO": "false"}}
    subprocess.run({argv!r}, env=env, cwd={cwd!r}, check=True, capture_output=True, stdin=subprocess.DEVNULL)
"""


def option(name: str) -> str | None:
    """The value after ``name`` on the command line, if given."""
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv[:-1] else None


def timed(cmd: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> float:
    started = time.monotonic()
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd[:5])} failed:\n{result.stderr[-3000:]}")
    return time.monotonic() - started


def cpu_timed(cmd: list[str], env: dict[str, str] | None, cwd: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + sys of the command and every process it waited for: inv's
    git and bake, docker's buildx; not the builder's container) of one run. CPU time is what a
    loaded machine distorts least."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = timed(cmd, env, cwd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def bytecode_environment(scratch: Path) -> dict[str, str]:
    """An environment in which `inv` caches bytecode, outside the checkouts."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    return env


def checkout_builder(checkout: Path) -> str:
    """The default builder name `inv build` in ``checkout`` uses (its own code decides it)."""
    script = (
        "from pathlib import Path; from tasks.builder.lifecycle import resolve_builder_name; "
        "from tasks.cli.context import project_settings; "
        "print(resolve_builder_name(project_settings(Path.cwd()), None))"
    )
    return subprocess.run(
        [sys.executable, "-c", script], cwd=checkout, capture_output=True, text=True, check=True
    ).stdout.strip()


def describe_checkout(checkout: Path) -> str:
    commit = subprocess.run(
        ["git", "-C", str(checkout), "log", "-1", "--format=%h"], capture_output=True, text=True
    ).stdout.strip()
    return f"{checkout} @ {commit or 'unknown'}"


def inv_build(builder: str, *options: str) -> list[str]:
    return [INV, "build", "--builder", builder, "--progress", "quiet", *options]


def started_processes(cmd: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> list[str]:
    """The programs ``cmd`` and its descendants started (strace -f), in order."""
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "execve.log"
        timed(["strace", "-f", "-e", "trace=execve", "-o", str(log), *cmd], env, cwd)
        lines = log.read_text().splitlines()
    return [match["path"] for line in lines if (match := _EXECVE.match(line))]


def process_summary(programs: list[str]) -> str:
    gits = sum(1 for path in programs if Path(path).name == "git")
    names: dict[str, int] = {}
    for path in programs:
        names[Path(path).name] = names.get(Path(path).name, 0) + 1
    listed = ", ".join(f"{name} x{count}" if count > 1 else name for name, count in sorted(names.items()))
    return f"{len(programs)} in all, git {gits} ({listed})"


def main() -> None:
    global REPEATS
    REPEATS = int(option("--repeats") or REPEATS)
    if shutil.which("strace") is None:
        sys.exit("bench: strace is needed (apt-get install strace)")
    # The checkout's own builder (made by `inv builder.create`), warm.
    name = resolve_builder_name(project_settings(ROOT), None)
    cold_builder = "bakehouse-bench-overhead-cold"
    before_dir = option("--before")
    before = Path(before_dir).resolve() if before_dir else None
    if before is not None and checkout_builder(before) != name:
        sys.exit(f"bench: {before} builds on {checkout_builder(before)}, not on {name}: see --before")

    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        env = None  # the environment as it is
        cached = bytecode_environment(scratch) if "--bytecode" in sys.argv else None
        # (a) the plan inv resolves for the leaf, printed once, then built both ways.
        printed = subprocess.run(
            [INV, "build", "--print", "--target", LEAF], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        plan = json.loads(printed)
        allow = sorted(
            {"network.host" for target in plan["target"].values() if target.get("network") == "host"}
            | {e for target in plan["target"].values() for e in target.get("entitlements") or []}
        )
        plan_file = scratch / "plan.json"
        plan_file.write_text(printed)
        raw = [
            "docker", "buildx", "bake", "--builder", name, *(f"--allow={e}" for e in allow),
            "-f", str(plan_file), "--progress=quiet", *plan["target"].keys(),
        ]  # fmt: skip
        # As a user types it: the builder is the checkout's default one (its name costs git).
        wrapped = [INV, "build", "--target", LEAF, "--progress", "quiet"]
        runs: dict[str, tuple[list[str], dict[str, str] | None, Path]] = {
            "raw": (raw, None, ROOT),
            "inv": (wrapped, env, ROOT),
        }
        if before is not None:
            runs["before"] = (wrapped, env, before)
        if "--floor" in sys.argv:
            quiet_env = {**os.environ, "BUILDX_GIT_INFO": "false"}
            floor_dir = scratch / "floor"
            floor_dir.mkdir()
            (floor_dir / "tasks.py").write_text(FLOOR_TASKS.format(argv=raw, cwd=str(ROOT)))
            runs["raw, BUILDX_GIT_INFO=false"] = (raw, quiet_env, ROOT)
            floor = [INV, "-r", str(floor_dir), "build"]
            runs["invoke floor (a task running that bake)"] = (floor, None, ROOT)
        if cached is not None:
            runs["inv, bytecode cached"] = (wrapped, cached, ROOT)
            if before is not None:
                runs["before, bytecode cached"] = (wrapped, cached, before)
        for cmd, run_env, cwd in runs.values():  # warm-up: plans remembered, bytecode written
            timed(cmd, run_env, cwd)
            timed(cmd, run_env, cwd)
        times: dict[str, list[float]] = {label: [] for label in runs}
        cpu: dict[str, list[float]] = {label: [] for label in runs}
        for _ in range(REPEATS):  # interleaved: load from other work hits all alike
            for label, (cmd, run_env, cwd) in runs.items():
                wall, used = cpu_timed(cmd, run_env, cwd)
                times[label].append(wall)
                cpu[label].append(used)
        medians = {label: statistics.median(values) for label, values in times.items()}
        cpu_medians = {label: statistics.median(values) for label, values in cpu.items()}

        # (p) processes of one cached build, as typed and with the builder named.
        programs = started_processes(wrapped, env)
        named = started_processes(inv_build(name, "--target", LEAF), env)
        before_programs = started_processes(wrapped, env, before) if before is not None else []
    load = os.getloadavg()[0]

    # (d) cold default build on a fresh builder, then the warm no-op on it.
    cold_row: dict[str, str] = {}
    if "--no-cold" not in sys.argv:
        remove = [INV, "builder.rm", "--name", cold_builder]  # with its rendered buildkitd.toml
        subprocess.run(remove, cwd=ROOT, capture_output=True)
        subprocess.run(
            [INV, "builder.create", "--name", cold_builder], cwd=ROOT, check=True, capture_output=True
        )
        try:
            cold = timed(inv_build(cold_builder))
            timed(inv_build(cold_builder))  # the first warm build may still load a changed image
            warm = statistics.median(timed(inv_build(cold_builder)) for _ in range(REPEATS))
        finally:
            subprocess.run(remove, cwd=ROOT, capture_output=True)
        cold_row["(d) warm no-op default build vs cold on a fresh builder (goal <= 3 %)"] = (
            f"{warm:.2f} s vs {cold:.1f} s: {100 * warm / cold:.1f} % (median of {REPEATS}; load {load:.1f})"
        )

    mode = "environment as is"
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        mode += " (PYTHONDONTWRITEBYTECODE set: tasks/ compiled on every run)"
    raw_median, raw_cpu = medians["raw"], cpu_medians["raw"]
    parts = []
    for label in medians:
        if label == "raw":
            continue
        where = f" ({describe_checkout(before)})" if label == "before" and before is not None else ""
        parts.append(
            f"{label}{where} {medians[label]:.2f} s: +{medians[label] - raw_median:.2f} s, "
            f"ratio {medians[label] / raw_median:.2f}, CPU +{cpu_medians[label] - raw_cpu:.3f} s"
        )
    timing = (
        f"raw {raw_median:.2f} s (CPU {raw_cpu:.3f} s); "
        + "; ".join(parts)
        + " (CPU: user+sys of the command's processes, median)"
    )
    rows: dict[str, Any] = {
        f"(a) cached inv build --target {LEAF} vs raw bake -f plan.json of its printed plan (median of "
        f"{REPEATS}, interleaved; {mode}; goal <= raw + 0.15 s)": f"{timing} (load {load:.1f})",
        f"(p) processes a cached inv build --target {LEAF} starts (strace -f execve; goal: one bake, "
        "at most two git)": (
            f"{process_summary(programs)}; with --builder NAME {process_summary(named)}"
            + (f"; before: {process_summary(before_programs)}" if before is not None else "")
            + " (docker-buildx runs twice per bake: plugin metadata, then bake)"
        ),
        **cold_row,
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
