"""Start-up of the `bakehouse` command beside `inv` (issue L): `bakehouse --list` vs `inv --list` in
this checkout, measured side by side (alternating runs, median of REPEATS each), and the
`bakehouse --version` floor (the program without the project search or the task listing).

What `bakehouse` adds over `inv`: finding the project root (a walk up, then `git rev-parse`) and
checking its config files before invoke reads them; `inv` instead imports tasks.py and checks
invoke.yaml. Run from the repo root: `.venv/bin/python bench/bench_bakehouse_startup.py`.
No engine needed. Appends one row to bench/RESULTS.md.
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
BIN = Path(sys.executable).parent
REPEATS = 7


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - started


def startup_rows() -> dict[str, float]:
    """Median seconds of each start-up command, runs interleaved so load hits each alike."""
    commands = {
        "inv --list": [str(BIN / "inv"), "--list"],
        "bakehouse --list": [str(BIN / "bakehouse"), "--list"],
        "bakehouse --version": [str(BIN / "bakehouse"), "--version"],
    }
    for argv in commands.values():  # warm the page cache and .pyc files
        timed(argv)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(REPEATS):
        for name, argv in commands.items():
            samples[name].append(timed(argv))
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    figures = startup_rows()
    inv, bakehouse = figures["inv --list"], figures["bakehouse --list"]
    machine = f"{platform.node() or 'host'} ({platform.machine()}, {os.cpu_count()} cores)"
    what = f"start-up: bakehouse --list vs inv --list in this checkout (median of {REPEATS}, interleaved)"
    figure = (
        f"{bakehouse:.2f} s vs {inv:.2f} s: ratio {bakehouse / inv:.2f}; "
        f"bakehouse --version {figures['bakehouse --version']:.2f} s (load {os.getloadavg()[0]:.1f})"
    )
    row = f"| {date.today().isoformat()} | {machine} | {what} | {figure} |"
    print(row)
    with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as results:
        results.write(row + "\n")


if __name__ == "__main__":
    main()
