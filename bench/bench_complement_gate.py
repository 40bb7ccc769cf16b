"""Benchmark: parse and gate `go test -json` events — 100,000 of them under 0.5 s, memory flat.

Builds a realistic stream (run, output and outcome events for parent tests and subtests in two
packages), then times the parser plus the gate against a baseline that differs in a few places.
Memory: the same tests with 1 and with 10 output lines per test, streamed from a generator (the
input itself never sits in memory), peak traced allocation side by side; the goal is a ratio near
1 — what the parser keeps must not grow with the output. A full suite run is ~800 tests with
subtests and their output; 100k events is several of those.
Run: python bench/bench_complement_gate.py [events] [--no-write]
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
import tracemalloc
from collections.abc import Iterator
from datetime import date
from pathlib import Path

# The repository root: `tasks` is then the package (a directory wins over tasks.py beside it).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tasks.complement.classify import classify
from tasks.complement.events import EventParser
from tasks.complement.results import LogsWriter, render_results
from tasks.complement.select import Selection

PACKAGES = ("github.com/matrix-org/complement/tests", "github.com/matrix-org/complement/tests/csapi")


def stream_lines(events: int, output_lines: int = 1) -> Iterator[str]:
    """`events` lines of a go test -json stream; each subtest prints `output_lines` lines."""
    produced = 0
    n = 0
    while True:
        package = PACKAGES[n % 2]
        parent = f"TestCase{n // 2:05d}"
        batch = []
        for name in (f"{parent}/sub_{i}" for i in range(3)):
            batch.append(json.dumps({"Action": "run", "Package": package, "Test": name}))
            for number in range(output_lines):
                text = f"=== RUN {name} line {number}: client_test.go:42: some server log output\n"
                batch.append(
                    json.dumps({"Action": "output", "Package": package, "Test": name, "Output": text})
                )
            outcome = "fail" if n % 97 == 0 else "pass"
            batch.append(json.dumps({"Action": outcome, "Package": package, "Test": name, "Elapsed": 0.01}))
        batch.append(json.dumps({"Action": "pass", "Package": package, "Test": parent, "Elapsed": 0.03}))
        for line in batch:
            if produced == events:
                return
            produced += 1
            yield line
        n += 1


def make_stream(events: int) -> list[str]:
    return list(stream_lines(events))


class Discard:
    def write(self, text: str) -> int:
        return len(text)


def peak_memory(events: int, output_lines: int) -> int:
    """Peak traced bytes while parsing a streamed run (the logs go to a sink that keeps nothing)."""
    tracemalloc.start()
    parser = EventParser(LogsWriter(Discard()))
    parser.feed_all(stream_lines(events, output_lines))
    parser.finish()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    numbers = [arg for arg in sys.argv[1:] if arg.isdigit()]
    events = int(numbers[0]) if numbers else 100_000
    stream = make_stream(events)
    reference = EventParser().feed_all(stream).results
    baseline = dict(reference)
    for i, key in enumerate(sorted(reference)):
        if i % 50 == 0:
            baseline[key] = "fail" if reference[key] == "pass" else "pass"
    selection = Selection(("./tests", "./tests/csapi"), run="TestCase", skip="TestCase00001/sub_9")

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
    # Same tests, ten times the output: what the parser keeps must not grow with it.
    # A parent test with 3 subtests is 1 + 3 * (run + output lines + outcome) events.
    parents = 2_000
    small, large = peak_memory(parents * (1 + 3 * 3), 1), peak_memory(parents * (1 + 3 * 12), 10)
    memory = (
        f"peak memory {small / 1e6:.2f} MB with 1 output line per test vs {large / 1e6:.2f} MB with 10 "
        f"(same tests): ratio {large / small:.2f}"
    )
    print(
        f"complement gate: {events} events ({len(state.results)} tests) parsed and gated in {best:.3f}s "
        f"(best of 5; goal < 0.5s) — regressions {counts['regression']}, fixes {counts['fix']}; {memory}"
    )
    if "--no-write" not in sys.argv:
        machine = f"{platform.node()} ({platform.machine()}, {os.cpu_count()} cores)"
        row = (
            f"| {date.today()} | {machine} | complement: parse + gate {events} go test events (goal < 0.5 s) "
            f"| {best:.3f} s (best of 5, {len(state.results)} tests); {memory} (goal: ratio near 1) |\n"
        )
        with (Path(__file__).resolve().parent / "RESULTS.md").open("a") as out:
            out.write(row)


if __name__ == "__main__":
    main()
