"""Streaming reader of `go test -json` (test2json) events.

Events arrive one JSON object per line while the suite runs; nothing here holds the whole
stream. Results are kept per (package, test) key because test names repeat across packages;
output is handed to a sink as it arrives (the logs file) and kept only for tests still
running, so a failure's output (Complement prints the server logs there) can be shown.
Lines that are not test2json events are counted, never fatal.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

PASS = "pass"
FAIL = "fail"
SKIP = "skip"
OUTCOMES = (PASS, FAIL, SKIP)
# When one key gets several outcomes (--count > 1), the worst one is its result.
_SEVERITY = {SKIP: 0, PASS: 1, FAIL: 2}

Key = tuple[str, str]  # (package, test)
OutputSink = Callable[[str, str, str], None]  # (package, test, output)
ResultHook = Callable[[str, str, str, float | None], None]  # (package, test, action, elapsed seconds)


def worst(first: str, second: str) -> str:
    return first if _SEVERITY[first] >= _SEVERITY[second] else second


@dataclass
class RunEvents:
    """What a stream of events said, folded as it arrives."""

    results: dict[Key, str] = field(default_factory=dict)
    # Package-level outcome (an event with a package and no test): the package finished.
    packages: dict[str, str] = field(default_factory=dict)
    events: int = 0
    malformed: int = 0
    malformed_samples: list[str] = field(default_factory=list)
    # Output of tests that have started and not yet finished.
    running: dict[Key, list[str]] = field(default_factory=dict)
    # Output of tests that failed, for the failure report.
    failure_output: dict[Key, list[str]] = field(default_factory=dict)
    # Seconds each top-level test took (test2json's Elapsed), what later shards are balanced by.
    durations: dict[Key, float] = field(default_factory=dict)
    # Keep at most this many lines of output per failed test (server logs can be long).
    output_limit: int = 4000

    def counts(self) -> dict[str, int]:
        tally = dict.fromkeys(OUTCOMES, 0)
        for outcome in self.results.values():
            tally[outcome] += 1
        return tally


# The C scanner straight away: json.loads re-checks its arguments and skips whitespace (with a
# regular expression) on every line; lines are stripped already. Trailing data is malformed.
# typeshed leaves scan_once out (JSONDecoder.__init__ sets it); its type is json.scanner's.
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _decode(text: str) -> object:
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        raise ValueError("not JSON") from None
    if end != len(text):
        raise ValueError("data after the JSON value")
    return value


class EventParser:
    """Feed it lines; it updates a RunEvents and forwards output to `sink`."""

    def __init__(
        self,
        sink: OutputSink | None = None,
        *,
        on_result: ResultHook | None = None,
        keep_failure_output: bool = True,
    ) -> None:
        self.state = RunEvents()
        self._sink = sink
        self._on_result = on_result
        self._keep_output = keep_failure_output

    def _malformed(self, line: str) -> None:
        self.state.malformed += 1
        if len(self.state.malformed_samples) < 5:
            self.state.malformed_samples.append(line[:200])

    def feed(self, line: str | bytes) -> None:
        if isinstance(line, bytes):
            line = line.decode("utf-8", "replace")
        stripped = line.strip()
        if not stripped:
            return
        try:
            event = _decode(stripped)
        except ValueError:
            self._malformed(stripped)
            return
        if not isinstance(event, dict):
            self._malformed(stripped)
            return
        action = event.get("Action")
        package = event.get("Package", "")
        test = event.get("Test", "")
        if not isinstance(action, str) or not isinstance(package, str) or not isinstance(test, str):
            self._malformed(stripped)
            return
        state = self.state
        state.events += 1
        if action == "output":
            output = event.get("Output", "")
            if not isinstance(output, str):
                self._malformed(stripped)
                return
            if self._sink is not None:
                self._sink(package, test, output)
            if test and self._keep_output:
                buffer = state.running.setdefault((package, test), [])
                if len(buffer) < state.output_limit:
                    buffer.append(output)
            return
        if action == "run" and test:
            state.running.setdefault((package, test), [])
            return
        if action not in OUTCOMES:
            return  # start, pause, cont, bench: nothing to record
        elapsed = event.get("Elapsed")
        seconds = float(elapsed) if isinstance(elapsed, int | float) else None
        if self._on_result is not None:
            self._on_result(package, test, action, seconds)
        if not test:
            state.packages[package] = action
            return
        key = (package, test)
        if seconds is not None and "/" not in test:
            state.durations[key] = state.durations.get(key, 0.0) + seconds
        previous = state.results.get(key)
        state.results[key] = action if previous is None else worst(previous, action)
        output = state.running.pop(key, None)
        if action == FAIL and output is not None and self._keep_output:
            state.failure_output[key] = output

    def feed_all(self, lines: Iterable[str | bytes]) -> RunEvents:
        for line in lines:
            self.feed(line)
        return self.state

    def finish(self) -> RunEvents:
        """End of stream: tests that started and never finished (crash, timeout, interrupt) fail."""
        state = self.state
        for key, output in state.running.items():
            if key not in state.results:
                state.results[key] = FAIL
                note = "bakehouse: this test started but reported no result (run crashed or was stopped)\n"
                state.failure_output[key] = [*output, note]
        state.running.clear()
        return state


def short_package(package: str) -> str:
    """`github.com/matrix-org/complement/tests/csapi` -> `tests/csapi`, for tables."""
    marker = "/complement/"
    index = package.find(marker)
    return package[index + len(marker) :] if index >= 0 else package


def parse_listing(lines: Iterable[str | bytes]) -> dict[str, frozenset[str]]:
    """Top-level test names per package from a `-test.list` run under test2json (the names
    arrive as output events); anything else in the stream is ignored."""
    listing: dict[str, set[str]] = {}
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict) or not isinstance(event.get("Package"), str):
            continue
        package = event["Package"]
        if event.get("Action") == "start":
            listing.setdefault(package, set())
        output = event.get("Output")
        if event.get("Action") == "output" and not event.get("Test") and isinstance(output, str):
            name = output.strip()
            if name.startswith(("Test", "Example", "Benchmark", "Fuzz")) and name.isidentifier():
                listing.setdefault(package, set()).add(name)
    return {package: frozenset(names) for package, names in listing.items()}
