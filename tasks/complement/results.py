"""Result rows on disk: `results.jsonl` (one row per test) and `logs.jsonl` (one row per output line).

A results row is `{"Action":…,"Package":…,"Test":…}`, compact JSON, sorted by (Package, Test),
one row per key: the same format for a run's results and the committed baseline, so the
baseline stays reviewable in a diff. The baseline is replaced atomically (temp file in the
same directory, fsync, rename): a reader or an interrupted writer sees the old file or the new
one, never a mix.

Rows without a `Package` (the older `{"Action","Test"}` format some homeservers keep) load
under the package `""`, which means "unknown": the gate matches them by test name.

Beside them, a run keeps its durations (seconds per top-level test) and its listing (the tester's
top-level tests per package); the names of all of a run's files are in results_dir.py.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .events import OUTCOMES, Key, worst

_COMPACT = (",", ":")


def result_rows(results: Mapping[Key, str]) -> list[dict[str, str]]:
    return [{"Action": results[key], "Package": key[0], "Test": key[1]} for key in sorted(results)]


# json.dumps(row, separators=_COMPACT) byte for byte, without its per-call set-up: the rows have a
# fixed shape, so only their strings need encoding (ASCII-escaped, as dumps does by default).
_quote = json.encoder.encode_basestring_ascii


def render_results(results: Mapping[Key, str]) -> str:
    return "".join(
        f'{{"Action":{_quote(results[key])},"Package":{_quote(key[0])},"Test":{_quote(key[1])}}}\n'
        for key in sorted(results)
    )


@dataclass
class LoadedResults:
    """Rows read back, with what was wrong with them: rows == kept + duplicates + malformed."""

    results: dict[Key, str] = field(default_factory=dict)
    rows: int = 0  # non-blank lines
    malformed: int = 0
    # Rows repeating a key already read; those with another outcome are also in `conflicts`.
    duplicates: int = 0
    conflicts: list[Key] = field(default_factory=list)
    # Valid rows without a package (legacy format), filed under `package` or "".
    legacy: int = 0

    @property
    def kept(self) -> int:
        return len(self.results)


def parse_results(lines: Iterable[str], *, package: str = "") -> LoadedResults:
    """Rows back into a mapping; rows that aren't valid result rows are counted, not fatal.

    Rows without a package (or with an empty one) are filed under `package`. A key read twice
    with different outcomes keeps the worse one, as for `--count` > 1: a test recorded both
    passing and failing must not turn its next failure into a regression.
    """
    loaded = LoadedResults()
    for line in lines:
        line = line.strip()
        if not line:
            continue
        loaded.rows += 1
        try:
            row = json.loads(line)
        except ValueError:
            loaded.malformed += 1
            continue
        if not isinstance(row, dict):
            loaded.malformed += 1
            continue
        action, row_package, test = row.get("Action"), row.get("Package", ""), row.get("Test")
        if not (
            isinstance(action, str)
            and action in OUTCOMES
            and isinstance(row_package, str)
            and isinstance(test, str)
            and test
        ):
            loaded.malformed += 1
            continue
        if not row_package:
            loaded.legacy += 1
            row_package = package
        key = (row_package, test)
        before = loaded.results.get(key)
        if before is not None:
            loaded.duplicates += 1
            if before != action and key not in loaded.conflicts:
                loaded.conflicts.append(key)
            action = worst(before, action)
        loaded.results[key] = action
    return loaded


def load_results(path: Path) -> LoadedResults:
    """A missing file is an empty baseline (the first run makes every test new)."""
    try:
        with path.open(encoding="utf-8") as handle:
            return parse_results(handle)
    except FileNotFoundError:
        return LoadedResults()


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` so that no reader ever sees a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(temp_name, path.stat().st_mode & 0o777)
        else:
            os.chmod(temp_name, 0o644)
        os.replace(temp_name, path)
    except BaseException:
        # Interrupted or failed: the old file stays; the temp file must not linger.
        Path(temp_name).unlink(missing_ok=True)
        raise


def write_results(path: Path, results: Mapping[Key, str]) -> None:
    write_atomically(path, render_results(results))


class TextSink(Protocol):
    """Where text goes: an open text file, or anything else with its write()."""

    def write(self, text: str, /) -> int: ...


class LogsWriter:
    """Writes `{"Package","Test","Output"}` rows as output arrives (nothing is buffered per run)."""

    def __init__(self, handle: TextSink) -> None:
        self._handle = handle
        self.rows = 0

    def __call__(self, package: str, test: str, output: str) -> None:
        self._handle.write(
            f'{{"Package":{_quote(package)},"Test":{_quote(test)},"Output":{_quote(output)}}}\n'
        )
        self.rows += 1


def render_durations(durations: Mapping[Key, float]) -> str:
    """`{package: {test: seconds}}`, sorted, to the hundredth of a second."""
    nested: dict[str, dict[str, float]] = {}
    for (package, test), seconds in sorted(durations.items()):
        nested.setdefault(package, {})[test] = round(seconds, 2)
    return json.dumps(nested, indent=1) + "\n"


def _read_json(path: Path) -> object:
    """The document, or None when the file is missing or not JSON (these files are optional)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def load_durations(path: Path) -> dict[Key, float]:
    """Durations back; entries that aren't a finite, non-negative number of seconds are left out."""
    document = _read_json(path)
    durations: dict[Key, float] = {}
    if not isinstance(document, dict):
        return durations
    for package, tests in document.items():
        if not isinstance(tests, dict):
            continue
        for test, seconds in tests.items():
            if isinstance(seconds, int | float) and math.isfinite(seconds) and seconds >= 0:
                durations[(package, test)] = float(seconds)
    return durations


def render_listing(listing: Mapping[str, frozenset[str]]) -> str:
    return json.dumps({package: sorted(listing[package]) for package in sorted(listing)}, indent=1) + "\n"


def load_listing(path: Path) -> dict[str, frozenset[str]] | None:
    """The listing back; None when there is none (the run could not list) or it is unreadable."""
    document = _read_json(path)
    if not isinstance(document, dict):
        return None
    listing: dict[str, frozenset[str]] = {}
    for package, names in document.items():
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            return None
        listing[package] = frozenset(names)
    return listing


def read_failure_output(path: Path, keys: Collection[Key], limit: int) -> dict[Key, list[str]]:
    """The output lines of these tests from a logs file (at most `limit` each, the first ones, as a
    run keeps them); a missing file has none."""
    output: dict[Key, list[str]] = {}
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        return output
    with handle:
        for line in handle:
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if not isinstance(row, dict) or not isinstance(row.get("Output"), str):
                continue
            key = (row.get("Package"), row.get("Test"))
            if key in keys:
                lines = output.setdefault((str(key[0]), str(key[1])), [])
                if len(lines) < limit:
                    lines.append(row["Output"])
    return output
