"""Benchmark: start-up of the command line against its floor, Python importing invoke (issue P item 5).

Every command line in COMMANDS runs side by side in one run: one warm-up each, then REPEATS rounds
in which each runs once (the order rotates per round), and the median of each is compared with the
floor's. Goal: `inv --list` ≤ 1.6 x `python -c 'import invoke'`. A command whose program is not
installed (looked up beside this Python, then on PATH) is skipped with a note in the row, so a row
for a command still to come (`bakehouse --list`) is one more line in COMMANDS.

`--checkout DIR` (repeatable) adds `inv --list` run in another checkout (e.g. `git archive` of an
older commit unpacked in /tmp), for before/after figures measured in the same run. Needs no engine.
Run: .venv/bin/python bench/bench_startup.py [--no-write] [--checkout DIR]...
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPEATS = 9
GOAL = 1.6


@dataclass(frozen=True)
class Startup:
    """A command line to time: ``argv[0]`` is a program name, found when the bench runs."""

    label: str
    argv: tuple[str, ...]
    cwd: Path = ROOT
    goal: float | None = None  # the largest ratio to the floor that meets the goal


FLOOR = Startup("python -c 'import invoke'", ("python", "-c", "import invoke"))
COMMANDS = (
    Startup("inv --list", ("inv", "--list"), goal=GOAL),
    Startup("bakehouse --list", ("bakehouse", "--list"), goal=GOAL),
)


def program(name: str) -> str | None:
    """The program of this venv (beside its Python), else on PATH; None when not installed."""
    if name == "python":
        return sys.executable
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else shutil.which(name)


def timed(argv: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    took = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"bench: {' '.join(argv)} (in {cwd}) failed:\n{result.stderr[-2000:]}")
    return took


def measure(startups: list[Startup], repeats: int) -> dict[Startup, float]:
    """Median seconds of each command line, run round-robin (the starting one rotates per round)."""
    argvs = {s: [program(s.argv[0]) or s.argv[0], *s.argv[1:]] for s in startups}
    for s in startups:  # warm-up: the page cache and bytecode
        timed(argvs[s], s.cwd)
    times: dict[Startup, list[float]] = {s: [] for s in startups}
    for round_number in range(repeats):
        shift = round_number % len(startups)
        for s in startups[shift:] + startups[:shift]:
            times[s].append(timed(argvs[s], s.cwd))
    return {s: statistics.median(seconds) for s, seconds in times.items()}


def describe(startup: Startup, seconds: float, floor: float) -> str:
    """One command's figure: seconds, ratio to the floor, and whether it meets its goal."""
    ratio = seconds / floor
    verdict = (
        ""
        if startup.goal is None
        else f", goal ≤ {startup.goal}: {'met' if ratio <= startup.goal else 'NOT met'}"
    )
    return f"{startup.label} {seconds:.2f} s (ratio {ratio:.2f}{verdict})"


def row(floor: float, figures: list[str], skipped: list[Startup], repeats: int, load: float) -> str:
    """The RESULTS.md row (benchmark | result) of one run."""
    notes = [f"{s.label}: skipped, `{s.argv[0]}` is not installed" for s in skipped]
    return (
        f"start-up: the command lines against {FLOOR.label}, side by side (median of {repeats}, "
        f"load {load:.1f}) | floor {floor:.2f} s; " + "; ".join([*figures, *notes])
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only; don't append to RESULTS.md")
    parser.add_argument(
        "--checkout", type=Path, action="append", default=[], help="time `inv --list` there too"
    )
    options = parser.parse_args()
    others = [Startup(f"inv --list in {path}", ("inv", "--list"), path) for path in options.checkout]
    commands = [*others, *COMMANDS]
    present = [s for s in commands if program(s.argv[0])]
    skipped = [s for s in commands if s not in present]
    load = os.getloadavg()[0]
    medians = measure([FLOOR, *present], REPEATS)
    floor = medians[FLOOR]
    figures = [describe(s, medians[s], floor) for s in present]
    print(f"floor: {FLOOR.label} {floor:.2f} s (median of {REPEATS}, load {load:.1f})")
    for line in [*figures, *(f"{s.label}: skipped, `{s.argv[0]}` is not installed" for s in skipped)]:
        print(line)
    if not options.no_write:
        machine = f"{platform.node()} ({platform.machine()}, {os.cpu_count()} cores)"
        with (ROOT / "bench" / "RESULTS.md").open("a") as out:
            out.write(f"| {date.today()} | {machine} | {row(floor, figures, skipped, REPEATS, load)} |\n")


if __name__ == "__main__":
    main()
