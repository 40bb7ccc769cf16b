"""`inv complement.merge`: the one gate over the shards of a sharded run.

It takes results directories (a shard's own, a cell's holding its shards, a runner's whole
build/complement, or a directory of downloaded CI artifacts) and finds every shard below them
by its record (results_dir.SHARD_FILE). Per cell, the shards must come from one plan, with no shard
twice and no test in two shards; otherwise nothing is written (exit 2). The union of their
results is then written and gated like one unsharded run of the same selection, in the cell's
results directory: results.jsonl, durations.json, listing.json, run.json and the reports.

A shard that is missing, or whose run did not complete, makes the merge incomplete (it fails)
and each test of its top-level tests that has no result a regression (classify.classify's `lost`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..shared.errors import bad_input
from ..shared.process import say
from ..shared.settings import Settings
from .cell_gate import gate_cell
from .events import FAIL, Key, RunEvents, worst
from .results_dir import COMPLETE, INCOMPLETE, RUNNING, SHARD_FILE, CellResults, ResultsDir, RunRecord
from .session import conclude
from .shards import FoundShard, ShardSet, check_shard_set, read_shard_record


@dataclass(frozen=True)
class MergeOptions:
    directories: tuple[str, ...]
    output: str | None = None
    update_baseline: bool = False
    accept_regressions: bool = False
    report_only: bool = False


def split_directories(text: str) -> tuple[str, ...]:
    """The task's DIRS argument: one directory, or several separated by commas."""
    directories = tuple(part.strip() for part in text.split(",") if part.strip())
    if not directories:
        raise bad_input("complement.merge: name at least one results directory")
    return directories


def find_shards(directories: Sequence[str]) -> dict[str, list[FoundShard]]:
    """Every shard below the directories, by cell; one directory reached twice counts once."""
    by_cell: dict[str, list[FoundShard]] = {}
    seen: set[Path] = set()
    for given in directories:
        root = Path(given)
        if not root.is_dir():
            raise bad_input(f"{given}: no such directory")
        records = sorted(root.rglob(SHARD_FILE))
        if not records:
            raise bad_input(f"{given}: no shard results below it (no {SHARD_FILE}: see complement --shard)")
        for path in records:
            if path.parent.resolve() in seen:
                continue
            seen.add(path.parent.resolve())
            record = read_shard_record(path)
            by_cell.setdefault(record.plan.cell, []).append(FoundShard(path.parent, record))
    return by_cell


def merge_complement(config: Settings, options: MergeOptions) -> None:
    """Check every cell's shards (all of them before anything is written), then merge and gate each."""
    if options.accept_regressions and not options.update_baseline:
        raise bad_input("--accept-regressions only makes sense with --update-baseline")
    by_cell = find_shards(options.directories)
    shard_sets = {cell: check_shard_set(cell, found) for cell, found in sorted(by_cell.items())}
    if options.update_baseline and len(shard_sets) > 1:
        cells = ", ".join(shard_sets)
        raise bad_input(f"--update-baseline needs the shards of exactly one matrix cell (found: {cells})")
    output = Path(options.output) if options.output else config.path(config.complement.results_dir)
    failures: list[str] = []
    for cell, shard_set in shard_sets.items():
        merged = merge_cell(cell, shard_set, ResultsDir(output / cell))
        failures += gate_cell(
            config,
            merged,
            shard_set.plan.selection,
            update_baseline=options.update_baseline,
            accept_regressions=options.accept_regressions,
        )
    conclude(failures, report_only=options.report_only)


def _shard_problem(record: RunRecord | None) -> str | None:
    """Why a shard's results are incomplete, from its run record; None when it completed."""
    if record is None:
        return "has no readable run status"
    if record.state == COMPLETE:
        return None
    if record.state == RUNNING:
        return "did not finish (its run status still says running)"
    if record.state == INCOMPLETE and record.problems:
        return "incomplete: " + "; ".join(record.problems)
    return "has no readable run status"


@dataclass
class _Union:
    """What the shards hold together, folded shard by shard."""

    results: dict[Key, str]
    durations: dict[Key, float]
    listing: dict[str, frozenset[str]]
    packages: dict[str, str]
    seconds: float = 0.0
    malformed: int = 0

    def add(self, directory: ResultsDir) -> RunRecord | None:
        loaded = directory.load_results()
        self.malformed += loaded.malformed
        for key, action in loaded.results.items():
            before = self.results.get(key)
            self.results[key] = action if before is None else worst(before, action)
        self.durations.update(directory.load_durations())
        for package, names in (directory.load_listing() or {}).items():
            self.listing[package] = self.listing.get(package, frozenset()) | names
        record = directory.read_record()
        if record is None:
            return None
        for package, outcome in (record.packages or {}).items():
            before = self.packages.get(package)
            self.packages[package] = outcome if before is None else worst(before, outcome)
        self.seconds += record.seconds or 0.0
        return record


def merge_cell(cell: str, shard_set: ShardSet, directory: ResultsDir) -> CellResults:
    """Fold the cell's shards into one run's files in `directory`, the results the gate reads."""
    plan = shard_set.plan
    union = _Union({}, {}, {}, {})
    problems: list[str] = []
    lost: set[str] = set()
    for index in shard_set.missing:
        names = plan.tests_of(index)
        problems.append(f"shard {index}/{plan.count} missing ({len(names)} top-level test(s))")
        lost.update(names)
    for found in shard_set.present:
        problem = _shard_problem(union.add(ResultsDir(found.directory)))
        if problem is not None:
            problems.append(f"shard {found.record.spec} {problem}")
            lost.update(found.record.tests)
    present = ", ".join(f"{f.record.spec} ({os.path.relpath(f.directory)})" for f in shard_set.present)
    say(f"merging {cell}: shard(s) {present}" + (f"; {'; '.join(problems)}" if problems else ""))
    if union.malformed:
        say(f"{cell}: {union.malformed} malformed result row(s) in the shards ignored")
    if problems:
        # A package's outcome from part of its tests proves nothing about the rest (gate: removed).
        union.packages = dict.fromkeys(union.packages, FAIL)
    failed = {key for key, action in union.results.items() if action == FAIL}
    state = RunEvents(results=union.results, packages=union.packages, events=len(union.results))
    state.durations = union.durations
    for found in shard_set.present:
        state.failure_output.update(ResultsDir(found.directory).failure_output(failed, state.output_limit))
    record = RunRecord.finished("merge", problems, packages=union.packages, seconds=union.seconds)
    write_merged(directory, union, record)
    label = f"{cell} ({len(shard_set.present)} of {plan.count} shards merged)"
    return CellResults(label, directory, record, state, union.listing or None, lost=frozenset(lost))


def write_merged(directory: ResultsDir, union: _Union, record: RunRecord) -> None:
    """The merged run's files (the reports follow from the gate). Shard directories below it stay."""
    directory.path.mkdir(parents=True, exist_ok=True)
    directory.remove_tester_files()
    directory.write_results(union.results)
    directory.write_durations(union.durations)
    if union.listing:
        directory.write_listing(union.listing)
    directory.write_record(record)
