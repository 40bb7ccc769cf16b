"""Benchmark: parse and gate 10,000 `go test -json` events (goal: < 0.5 s).

Builds a realistic stream in memory (run, output and outcome events for parent tests and
subtests in two packages), then times the parser plus the gate against a baseline that differs
in a few places. Run: python bench/bench_complement_gate.py [events]
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

# The repository root: `tasks` is then the package (a directory wins over tasks.py beside it).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tasks.complement.events import EventParser
from tasks.complement.gate import classify
from tasks.complement.results import LogsWriter, render_results
from tasks.complement.select import Selection

PACKAGES = ("github.com/matrix-org/complement/tests", "github.com/matrix-org/complement/tests/csapi")


def make_stream(events: int) -> list[str]:
    lines: list[str] = []
    n = 0
    while len(lines) < events:
        package = PACKAGES[n % 2]
        parent = f"TestCase{n // 2:05d}"
        for name in (f"{parent}/sub_{i}" for i in range(3)):
            lines.append(json.dumps({"Action": "run", "Package": package, "Test": name}))
            lines.append(
                json.dumps(
                    {"Action": "output", "Package": package, "Test": name, "Output": f"=== RUN {name}\n"}
                )
            )
            outcome = "fail" if n % 97 == 0 else "pass"
            lines.append(json.dumps({"Action": outcome, "Package": package, "Test": name, "Elapsed": 0.01}))
        lines.append(json.dumps({"Action": "pass", "Package": package, "Test": parent, "Elapsed": 0.03}))
        n += 1
    return lines[:events]


def main() -> None:
    numbers = [arg for arg in sys.argv[1:] if arg.isdigit()]
    events = int(numbers[0]) if numbers else 10_000
    stream = make_stream(events)
    reference = EventParser().feed_all(stream).results
    baseline = dict(reference)
    for i, key in enumerate(sorted(reference)):
        if i % 50 == 0:
            baseline[key] = "fail" if reference[key] == "pass" else "pass"
    selection = Selection(("./tests", "./tests/csapi"), run="TestCase", skip="TestCase00001/sub_9")

    class Discard:
        def write(self, text: str) -> int:
            return len(text)

    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        parser = EventParser(LogsWriter(Discard()))
        parser.feed_all(stream)
        state = parser.finish()
        result = classify(baseline, state.results, selection, packages_done=state.packages)
        render_results(state.results)
        best = min(best, time.perf_counter() - started)
    counts = result.counts()
    print(
        f"complement gate: {events} events ({len(state.results)} tests) parsed and gated in {best:.3f}s "
        f"(best of 5; goal < 0.5s) — regressions {counts['regression']}, fixes {counts['fix']}"
    )
    if "--no-write" not in sys.argv:
        machine = f"{platform.node()} ({platform.machine()}, {os.cpu_count()} cores)"
        row = (
            f"| {date.today()} | {machine} | complement: parse + gate {events} go test events (goal < 0.5 s) "
            f"| {best:.3f} s (best of 5, {len(state.results)} tests) |\n"
        )
        with (Path(__file__).resolve().parent / "RESULTS.md").open("a") as out:
            out.write(row)


if __name__ == "__main__":
    main()
