"""A cell's results directory: the names of its files, its run record, and a run's results as the
gate reads them.

`build/complement/<cell>/` (a shard's is `<cell>/shard-K-of-N/`, laid out the same) holds:

    run.json           the run record: running, complete or incomplete (and why); a finished run's
                       packages' own outcomes and the tester's seconds
    results.jsonl      one row per test (the format: tasks/complement/results.py)
    logs.jsonl         one row per line of test output
    tester.log         the tester's whole output, stdout and stderr in order
    tester-stderr.log  the tester's stderr as it came
    durations.json     seconds per top-level test (what the next sharded run balances by)
    listing.json       the tester's top-level tests per package (what a merge gates by)
    shard.json         a shard's record: which shard of which plan (tasks/complement/shards.py)
    junit.xml, report.html, summary.md   the gate's reports

A tester run and `complement.merge` both write one and hand the gate a CellResults; the gate reads
nothing else of either.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .events import OUTCOMES, Key, RunEvents
from .results import (
    LoadedResults,
    load_durations,
    load_listing,
    load_results,
    read_failure_output,
    render_durations,
    render_listing,
    write_atomically,
    write_results,
)

RUN_RECORD_FILE = "run.json"
RESULTS_FILE = "results.jsonl"
LOGS_FILE = "logs.jsonl"
TESTER_LOG_FILE = "tester.log"
TESTER_STDERR_FILE = "tester-stderr.log"
DURATIONS_FILE = "durations.json"
LISTING_FILE = "listing.json"
SHARD_FILE = "shard.json"
JUNIT_FILE = "junit.xml"
HTML_REPORT_FILE = "report.html"
SUMMARY_FILE = "summary.md"

# What one tester run leaves besides its results (a merge has no tester of its own).
TESTER_FILES = (LOGS_FILE, TESTER_LOG_FILE, TESTER_STDERR_FILE)

# The states of a run record. "running" left behind means the run died (engine or process
# killed), so the results beside it are incomplete.
RUNNING = "running"
COMPLETE = "complete"
INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class RunRecord:
    """What `run.json` says: whether the run finished, and if not why (the gravest first)."""

    run_id: str
    state: str
    problems: tuple[str, ...] = ()
    # A finished run's packages' own outcomes and the tester's seconds (a merge of shards needs both).
    packages: Mapping[str, str] | None = None
    seconds: float | None = None

    @classmethod
    def finished(
        cls, run_id: str, problems: Sequence[str], *, packages: Mapping[str, str], seconds: float
    ) -> RunRecord:
        """The record of a run that ended: complete unless it has problems."""
        state = INCOMPLETE if problems else COMPLETE
        return cls(run_id, state, tuple(problems), packages, seconds)

    @property
    def complete(self) -> bool:
        return self.state == COMPLETE

    def as_json(self, written_at: float) -> dict[str, object]:
        document: dict[str, object] = {
            "run_id": self.run_id,
            "state": self.state,
            "problems": list(self.problems),
        }
        if self.packages is not None:
            document["packages"] = dict(sorted(self.packages.items()))
        if self.seconds is not None:
            document["seconds"] = round(self.seconds, 1)
        document["time"] = written_at
        return document

    @classmethod
    def from_json(cls, document: object) -> RunRecord | None:
        """A record read back, keeping what is well-formed: a state that isn't a string reads as ""
        (unknown), package outcomes that aren't outcomes are left out. None when not an object."""
        if not isinstance(document, dict):
            return None
        run_id, state = document.get("run_id"), document.get("state")
        problems, packages = document.get("problems"), document.get("packages")
        seconds = document.get("seconds")
        if isinstance(packages, dict):
            packages = {str(p): str(o) for p, o in packages.items() if o in OUTCOMES}
        return cls(
            run_id if isinstance(run_id, str) else "",
            state if isinstance(state, str) else "",
            tuple(map(str, problems)) if isinstance(problems, list) else (),
            packages if isinstance(packages, dict) else None,
            float(seconds) if isinstance(seconds, int | float) else None,
        )


@dataclass(frozen=True)
class ResultsDir:
    """One results directory: where each of its files is, and reading and writing them."""

    path: Path

    @property
    def run_record(self) -> Path:
        return self.path / RUN_RECORD_FILE

    @property
    def results(self) -> Path:
        return self.path / RESULTS_FILE

    @property
    def logs(self) -> Path:
        return self.path / LOGS_FILE

    @property
    def tester_log(self) -> Path:
        return self.path / TESTER_LOG_FILE

    @property
    def tester_stderr(self) -> Path:
        return self.path / TESTER_STDERR_FILE

    @property
    def durations(self) -> Path:
        return self.path / DURATIONS_FILE

    @property
    def listing(self) -> Path:
        return self.path / LISTING_FILE

    @property
    def shard_record(self) -> Path:
        return self.path / SHARD_FILE

    @property
    def junit(self) -> Path:
        return self.path / JUNIT_FILE

    @property
    def html_report(self) -> Path:
        return self.path / HTML_REPORT_FILE

    @property
    def summary(self) -> Path:
        return self.path / SUMMARY_FILE

    def reset(self) -> None:
        """Empty (an earlier run's files would be read as this run's)."""
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.mkdir(parents=True)

    def remove_tester_files(self) -> None:
        """For a merge, which has no tester: an earlier run's copies would describe another run."""
        for name in TESTER_FILES:
            (self.path / name).unlink(missing_ok=True)

    def write_record(self, record: RunRecord) -> None:
        """Replace run.json whole (a reader sees the old record or the new one)."""
        temporary = self.path / f".{RUN_RECORD_FILE}.tmp"
        temporary.write_text(json.dumps(record.as_json(time.time())) + "\n", encoding="utf-8")
        os.replace(temporary, self.run_record)

    def read_record(self) -> RunRecord | None:
        """The run record; None when there is none or it can't be read."""
        try:
            document = json.loads(self.run_record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return RunRecord.from_json(document)

    def write_results(self, results: Mapping[Key, str]) -> None:
        write_results(self.results, results)

    def load_results(self) -> LoadedResults:
        return load_results(self.results)

    def write_durations(self, durations: Mapping[Key, float]) -> None:
        write_atomically(self.durations, render_durations(durations))

    def load_durations(self) -> dict[Key, float]:
        return load_durations(self.durations)

    def write_listing(self, listing: Mapping[str, frozenset[str]]) -> None:
        write_atomically(self.listing, render_listing(listing))

    def load_listing(self) -> dict[str, frozenset[str]] | None:
        return load_listing(self.listing)

    def failure_output(self, keys: Collection[Key], limit: int) -> dict[Key, list[str]]:
        """The logged output of these tests, at most `limit` lines each."""
        return read_failure_output(self.logs, keys, limit)

    def tester_stderr_tail(self, lines: int) -> list[str] | None:
        """The last lines the tester wrote to stderr; None when it left none (a merge)."""
        if not self.tester_stderr.exists():
            return None
        return self.tester_stderr.read_text(errors="replace").splitlines()[-lines:]


@dataclass(frozen=True)
class CellResults:
    """One cell's run as the gate reads it: its results directory and record, with what was
    folded from its events in memory (the failures' output, malformed lines)."""

    label: str
    directory: ResultsDir
    record: RunRecord
    state: RunEvents
    # The tester's top-level tests per package; None when they could not be listed.
    listing: Mapping[str, frozenset[str]] | None
    # Top-level tests whose run was lost (a merge's missing or incomplete shards): see classify.classify.
    lost: frozenset[str] = frozenset()
    # The signal (SIGINT, SIGTERM) that stopped the tester: the gate reports such a run, never gates it.
    interrupted_by: str | None = None

    @property
    def run_id(self) -> str:
        return self.record.run_id

    @property
    def complete(self) -> bool:
        return self.record.complete

    @property
    def problems(self) -> tuple[str, ...]:
        return self.record.problems

    @property
    def seconds(self) -> float:
        return self.record.seconds or 0.0
