"""Complement in shards: which part of a selection shard K of N runs, and what each shard records.

The unit of a shard is a top-level test name: `go test -run` selects subtests through their
top-level test, and a name can exist in several packages (each runs it). The names to split are
the tester's own listing (`-test.list`) filtered by the run's selection, so a curated list, a
`--run` regex and `--all` shard the same way.

The split is deterministic for a given list and durations file:
- with recorded durations (the cell's last unsharded run or merge), greedy longest-first: each
  test, longest first (ties by name), goes to the shard with the least total so far (ties: the
  lower shard); a test without a recorded duration counts as the mean of the recorded ones;
- without any, round robin over the sorted names (test i goes to shard i mod N), which keeps the
  shards' sizes within one of each other.
Every shard records the whole split (its plan), so a merge knows which tests a missing shard had
and refuses shards that were planned differently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..shared.errors import bad_input
from .events import Key
from .results import write_atomically
from .select import Selection, anchored_names, compile_pattern, split_pattern

BY_DURATIONS = "durations"
BY_NAME = "name"

_SPEC = re.compile(r"^(\d+)/(\d+)$")


@dataclass(frozen=True)
class ShardSpec:
    """Shard `index` of `count`, both counted from 1 as on the command line."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def directory_name(self) -> str:
        """The results subdirectory of the cell: `shard-2-of-4`."""
        return f"shard-{self.index}-of-{self.count}"


def parse_shard(text: str) -> ShardSpec:
    """`--shard K/N`; anything else is bad input."""
    match = _SPEC.match(text.strip())
    if match is None:
        raise bad_input(f"--shard {text!r}: expected K/N, shard K of N (e.g. 2/4)")
    index, count = int(match[1]), int(match[2])
    if count < 1 or not 1 <= index <= count:
        raise bad_input(f"--shard {text!r}: K must be between 1 and N (N at least 1)")
    return ShardSpec(index, count)


def selected_names(listing: Mapping[str, frozenset[str]], selection: Selection) -> tuple[str, ...]:
    """The top-level tests the selection runs, from the tester's listing, sorted.

    Benchmarks are listed too but never run by -run; they are left out."""
    names = {
        name
        for package, listed in listing.items()
        if selection.package_selected(package)
        for name in listed
        if not name.startswith("Benchmark") and selection.test_selected(name)
    }
    return tuple(sorted(names))


def split(
    names: Sequence[str], count: int, durations: Mapping[str, float]
) -> tuple[tuple[tuple[str, ...], ...], str]:
    """The names in `count` shards (each sorted) and what balanced them (BY_DURATIONS or BY_NAME)."""
    ordered = sorted(names)
    known = [durations[name] for name in ordered if name in durations]
    if not known:
        return tuple(tuple(ordered[i::count]) for i in range(count)), BY_NAME
    mean = sum(known) / len(known)
    weight = {name: durations.get(name, mean) for name in ordered}
    totals = [0.0] * count
    shards: list[list[str]] = [[] for _ in range(count)]
    for name in sorted(ordered, key=lambda n: (-weight[n], n)):
        lightest = min(range(count), key=lambda i: (totals[i], i))
        shards[lightest].append(name)
        totals[lightest] += weight[name]
    return tuple(tuple(sorted(shard)) for shard in shards), BY_DURATIONS


def durations_by_name(durations: Mapping[Key, float]) -> dict[str, float]:
    """Seconds per top-level name, summed over the packages that have it (a shard runs them all)."""
    by_name: dict[str, float] = {}
    for (_, test), seconds in durations.items():
        if "/" not in test:
            by_name[test] = by_name.get(test, 0.0) + seconds
    return by_name


def restrict_pattern(run: str, names: Sequence[str]) -> str:
    """A -run pattern that runs what `run` runs, limited to the top-level tests `names`.

    Each top-level alternative of `run` keeps its lower levels; its first level becomes the
    anchored list of the names it matches. Alternatives matching none of them are dropped.
    """
    if not names:
        raise ValueError("a restricted pattern needs at least one name")
    parts = []
    for levels, compiled in zip(split_pattern(run), compile_pattern(run), strict=True):
        matching = [name for name in names if compiled[0].search(name)]
        if matching:
            parts.append("/".join([anchored_names(matching), *levels[1:]]))
    if not parts:
        raise ValueError(f"none of {', '.join(names)} is selected by {run!r}")
    return "|".join(parts)


@dataclass(frozen=True)
class ShardPlan:
    """How one cell's selection was split: every shard's top-level tests."""

    cell: str
    packages: tuple[str, ...]
    run: str
    skip: str
    balanced_by: str
    shards: tuple[tuple[str, ...], ...]

    @property
    def count(self) -> int:
        return len(self.shards)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(name for shard in self.shards for name in shard))

    @property
    def selection(self) -> Selection:
        """The selection the plan split: what an unsharded run of it would gate by."""
        return Selection(self.packages, run=self.run, skip=self.skip)

    def tests_of(self, index: int) -> tuple[str, ...]:
        return self.shards[index - 1]

    def as_json(self) -> dict[str, Any]:
        return {
            "cell": self.cell,
            "packages": list(self.packages),
            "run": self.run,
            "skip": self.skip,
            "balanced_by": self.balanced_by,
            "shards": [list(shard) for shard in self.shards],
        }


def plan_shards(
    cell: str,
    selection: Selection,
    listing: Mapping[str, frozenset[str]],
    count: int,
    durations: Mapping[str, float],
) -> ShardPlan:
    shards, balanced_by = split(selected_names(listing, selection), count, durations)
    return ShardPlan(cell, selection.packages, selection.run, selection.skip, balanced_by, shards)


@dataclass(frozen=True)
class ShardRecord:
    """What a shard's results directory says about it (results_dir.SHARD_FILE): which shard of which plan."""

    index: int
    plan: ShardPlan

    @property
    def spec(self) -> ShardSpec:
        return ShardSpec(self.index, self.plan.count)

    @property
    def tests(self) -> tuple[str, ...]:
        return self.plan.tests_of(self.index)


def write_shard_record(path: Path, record: ShardRecord) -> None:
    document = {"shard": record.index, "of": record.plan.count, **record.plan.as_json()}
    write_atomically(path, json.dumps(document, indent=1) + "\n")


def _strings(value: object) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    return None


def read_shard_record(path: Path) -> ShardRecord:
    """A shard file back; an unreadable or inconsistent one is bad input (the merge refuses it)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise bad_input(f"{path}: not a readable shard record ({exc})") from None
    if not isinstance(document, dict):
        raise bad_input(f"{path}: not a shard record (expected a JSON object)")
    shards = document.get("shards")
    parsed = [_strings(shard) for shard in shards] if isinstance(shards, list) else None
    packages = _strings(document.get("packages"))
    fields = (document.get(name) for name in ("cell", "run", "skip", "balanced_by"))
    cell, run, skip, balanced_by = fields
    index, count = document.get("shard"), document.get("of")
    if (
        parsed is None
        or any(shard is None for shard in parsed)
        or packages is None
        or not all(isinstance(text, str) for text in (cell, run, skip, balanced_by))
        or not isinstance(index, int)
        or count != len(parsed)
        or not 1 <= index <= len(parsed)
    ):
        raise bad_input(f"{path}: not a shard record (fields missing or of the wrong type)")
    if not str(cell).strip(".") or "/" in str(cell) or "\0" in str(cell):
        # The merge writes into a directory named after the cell.
        raise bad_input(f"{path}: cell {cell!r} is not a plain directory name")
    plan = ShardPlan(
        str(cell), packages, str(run), str(skip), str(balanced_by), tuple(s for s in parsed if s is not None)
    )
    return ShardRecord(index, plan)


@dataclass(frozen=True)
class FoundShard:
    directory: Path
    record: ShardRecord


@dataclass(frozen=True)
class ShardSet:
    """One cell's shards given to a merge, checked: one plan, no shard twice, no test twice."""

    plan: ShardPlan
    present: tuple[FoundShard, ...]  # by shard index

    @property
    def missing(self) -> tuple[int, ...]:
        have = {found.record.index for found in self.present}
        return tuple(index for index in range(1, self.plan.count + 1) if index not in have)


def _plan_difference(first: ShardPlan, other: ShardPlan) -> str:
    if (first.packages, first.run, first.skip) != (other.packages, other.run, other.skip):
        return "different selections (packages, --run or --skip)"
    if first.count != other.count:
        return f"different shard counts ({first.count} and {other.count})"
    if first.names != other.names:
        return "different test lists (another tester build?)"
    return "different splits (planned from different durations files)"


def check_shard_set(cell: str, found: Sequence[FoundShard]) -> ShardSet:
    """Refuse (bad input) two copies of a shard, a test in two shards, and shards of other plans."""
    seen: dict[tuple[int, int], FoundShard] = {}
    owner: dict[str, FoundShard] = {}
    for shard in sorted(found, key=lambda f: (f.record.plan.count, f.record.index, str(f.directory))):
        spec = (shard.record.index, shard.record.plan.count)
        if spec in seen:
            copies = f"{seen[spec].directory} and {shard.directory}"
            raise bad_input(f"{cell}: two copies of shard {shard.record.spec}: {copies}")
        seen[spec] = shard
        for name in shard.record.tests:
            if name in owner:
                first = owner[name]
                raise bad_input(
                    f"{cell}: overlapping shards: {name} is in shard {first.record.spec} ({first.directory}) "
                    f"and in shard {shard.record.spec} ({shard.directory})"
                )
            owner[name] = shard
    ordered = sorted(found, key=lambda f: f.record.index)
    plan = ordered[0].record.plan
    for shard in ordered[1:]:
        if shard.record.plan != plan:
            raise bad_input(
                f"{cell}: shards {ordered[0].record.spec} ({ordered[0].directory}) and {shard.record.spec} "
                f"({shard.directory}) come from different plans: {_plan_difference(plan, shard.record.plan)}"
            )
    return ShardSet(plan, tuple(ordered))
