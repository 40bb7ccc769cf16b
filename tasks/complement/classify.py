"""The baseline gate: classify every test of a run against the committed baseline.

Better than a diff of the two files: it knows which changes are bad. Classes:
- regression: passed in the baseline, and now fails, is skipped, or is missing although this
  run selected it (a crash or a failing parent can hide a test; that is not a pass);
- fix: did not pass in the baseline (fail or skip), passes now;
- new: not in the baseline;
- removed: in the baseline, selected, missing, and the suite shows it no longer exists: its
  package listing lacks it, its nearest recorded ancestor passed without running it, or (for a
  top-level test without a listing) its package passed as a whole;
- not-run: in the baseline, outside this run's packages/-run/-skip selection;
- changed: other transitions that are neither better nor worse (fail <-> skip, a non-passing
  test missing);
- unchanged.
Only regressions fail the gate, and a blind gate: a baseline and a run that share no test.

A merge of shards may have lost part of the run (a shard missing or incomplete): every test of
those top-level tests without a result is then a regression, whatever the baseline said.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from .events import PASS, Key
from .select import Selection, package_matches

REGRESSION = "regression"
FIX = "fix"
NEW = "new"
REMOVED = "removed"
NOT_RUN = "not-run"
CHANGED = "changed"
UNCHANGED = "unchanged"
CLASSES = (REGRESSION, FIX, NEW, REMOVED, NOT_RUN, CHANGED, UNCHANGED)
MISSING = "missing"


@dataclass(frozen=True)
class Verdict:
    key: Key
    klass: str
    before: str | None  # baseline action, None when new
    after: str  # this run's action, or "missing"


@dataclass
class GateResult:
    verdicts: list[Verdict] = field(default_factory=list)

    def by_class(self, klass: str) -> list[Verdict]:
        return [v for v in self.verdicts if v.klass == klass]

    def counts(self) -> dict[str, int]:
        tally = dict.fromkeys(CLASSES, 0)
        for verdict in self.verdicts:
            tally[verdict.klass] += 1
        return tally

    @property
    def regressions(self) -> list[Verdict]:
        return self.by_class(REGRESSION)

    @property
    def passed(self) -> bool:
        return not self.regressions


def ancestors(test: str) -> list[str]:
    """Nearest first: `A/b/c` -> [`A/b`, `A`]."""
    parts = test.split("/")
    return ["/".join(parts[:depth]) for depth in range(len(parts) - 1, 0, -1)]


def _proven_removed(
    key: Key,
    current: Mapping[Key, str],
    packages_done: Mapping[str, str],
    listing: Mapping[str, frozenset[str]] | None,
) -> bool:
    package, test = key
    top_level = test.split("/", 1)[0]
    if listing is not None and package in listing and top_level not in listing[package]:
        return True
    for ancestor in ancestors(test):
        outcome = current.get((package, ancestor))
        if outcome is not None:
            # A parent that passed ran all its subtests; one that failed or skipped may not have.
            return outcome == PASS
    if "/" not in test and (listing is None or package not in listing):
        # A package that passed as a whole ran every selected top-level test.
        return packages_done.get(package) == PASS
    return False


def classify(
    baseline: Mapping[Key, str],
    current: Mapping[Key, str],
    selection: Selection,
    *,
    packages_done: Mapping[str, str] | None = None,
    listing: Mapping[str, frozenset[str]] | None = None,
    lost: Collection[str] = (),
) -> GateResult:
    """Classify every key of the baseline and of this run.

    `packages_done` holds package-level outcomes seen in the stream; `listing`, when known,
    the top-level tests each package contains (`-test.list`); `lost`, top-level tests whose
    run was lost (see the module's docstring).
    """
    packages_done = packages_done or {}
    lost = frozenset(lost)
    verdicts: list[Verdict] = []
    for key in sorted(baseline.keys() | current.keys()):
        before = baseline.get(key)
        after = current.get(key)
        if after is not None:
            if before is None:
                klass = NEW
            elif before == after:
                klass = UNCHANGED
            elif before == PASS:
                klass = REGRESSION
            elif after == PASS:
                klass = FIX
            else:
                klass = CHANGED
            verdicts.append(Verdict(key, klass, before, after))
            continue
        assert before is not None
        if not selection.selected(*key):
            klass = NOT_RUN
        elif key[1].split("/", 1)[0] in lost:
            klass = REGRESSION
        elif _proven_removed(key, current, packages_done, listing):
            klass = REMOVED
        elif before == PASS:
            klass = REGRESSION
        else:
            klass = CHANGED
        verdicts.append(Verdict(key, klass, before, MISSING))
    verdicts += _lost_without_rows(lost, baseline.keys() | current.keys(), selection, listing)
    return GateResult(sorted(verdicts, key=lambda verdict: verdict.key))


def _lost_without_rows(
    lost: frozenset[str],
    keys: Collection[Key],
    selection: Selection,
    listing: Mapping[str, frozenset[str]] | None,
) -> list[Verdict]:
    """A regression for each lost top-level test that neither the baseline nor the run has a row
    of: in each selected package that lists it, or under package "" (unknown) if none does."""
    present = {(package, test.split("/", 1)[0]) for package, test in keys}
    verdicts = []
    for name in sorted(lost):
        packages = sorted(
            package
            for package, names in (listing or {}).items()
            if name in names and selection.package_selected(package)
        )
        if not packages and not any(top == name for _, top in present):
            packages = [""]
        for package in packages:
            if (package, name) not in present:
                verdicts.append(Verdict((package, name), REGRESSION, None, MISSING))
    return verdicts


def updated_baseline(result: GateResult, *, accept_regressions: bool = False) -> dict[Key, str]:
    """The baseline after this run: what ran replaces what was; what this run didn't select stays;
    removed tests go. Regressions are recorded only when accepted (missing ones are dropped)."""
    rows: dict[Key, str] = {}
    for verdict in result.verdicts:
        if verdict.klass == REMOVED:
            continue
        if verdict.klass == REGRESSION and not accept_regressions:
            if verdict.before is not None:
                rows[verdict.key] = verdict.before
            continue
        if verdict.after == MISSING:
            if verdict.klass == REGRESSION:
                continue  # accepted: the test no longer runs
            if verdict.before is not None:
                rows[verdict.key] = verdict.before
            continue
        rows[verdict.key] = verdict.after
    return rows


@dataclass
class Blindness:
    """Whether the baseline and a run can be compared at all, and which parts of it can't."""

    baseline: int  # baseline tests
    comparable: int  # of them, those this run could have produced (see `blindness`)
    run: int  # tests in this run
    shared: int  # comparable baseline tests that this run has
    # Baseline packages no known package pattern matches (never compared): package -> tests.
    foreign: dict[str, int] = field(default_factory=dict)
    # Selected baseline packages this run never mentioned: package -> tests.
    absent: dict[str, int] = field(default_factory=dict)
    # Packages in both where the comparable tests and the run's share none: package -> (baseline, run).
    disjoint: dict[str, tuple[int, int]] = field(default_factory=dict)
    baseline_packages: tuple[str, ...] = ()
    run_packages: tuple[str, ...] = ()

    @property
    def blind(self) -> bool:
        return self.comparable > 0 and self.run > 0 and self.shared == 0

    def message(self) -> str:
        selected = f"; {self.comparable} selected by this run" if self.comparable != self.baseline else ""
        return (
            f"the baseline ({_tests(self.baseline)}{selected}) and this run ({_tests(self.run)}) share "
            "no test: wrong baseline file or package names? "
            f"(baseline packages: {_names(self.baseline_packages)}; this run's: {_names(self.run_packages)})"
        )


def _tests(count: int) -> str:
    return f"{count} test" if count == 1 else f"{count} tests"


def _names(packages: tuple[str, ...], limit: int = 3) -> str:
    shown = ", ".join(p or '"" (no package)' for p in packages[:limit])
    return shown + (f" and {len(packages) - limit} more" if len(packages) > limit else "") or "none"


def blindness(
    baseline: Mapping[Key, str],
    current: Mapping[Key, str],
    selection: Selection,
    *,
    known_packages: tuple[str, ...] = (),
    packages_done: Mapping[str, str] | None = None,
) -> Blindness:
    """Can this run be gated against this baseline?

    Neither the whole baseline nor only its selected part is the right yardstick. The whole
    one would call a run of only new tests blind. The selected part would hide the very
    mistake to catch: rows under package names the selection doesn't match (another module
    path, a typo) are all "not run", and the gate passes having compared nothing. So a baseline
    row counts when this run selected its test by name (-run/-skip), unless its package is a
    known one (`known_packages`: the configured package patterns) that this run left out on
    purpose. Package-less (legacy) rows left unplaced count by name alone.
    """
    known = selection.packages + tuple(known_packages)
    run_packages = {package for package, _ in current} | set(packages_done or {})
    result = Blindness(
        baseline=len(baseline),
        comparable=0,
        run=len(current),
        shared=0,
        baseline_packages=tuple(sorted({package for package, _ in baseline})),
        run_packages=tuple(sorted(run_packages)),
    )
    per_package: dict[str, list[int]] = {}  # package -> [comparable, shared]
    for package, test in baseline:
        selected_package = selection.package_selected(package)
        foreign = bool(package) and not any(package_matches(package, wanted) for wanted in known)
        if foreign:
            result.foreign[package] = result.foreign.get(package, 0) + 1
        elif selected_package and run_packages and package not in run_packages:
            result.absent[package] = result.absent.get(package, 0) + 1
        if not selection.test_selected(test) or not (selected_package or foreign or not package):
            continue
        result.comparable += 1
        tally = per_package.setdefault(package, [0, 0])
        tally[0] += 1
        if (package, test) in current:
            result.shared += 1
            tally[1] += 1
    run_sizes: dict[str, int] = {}
    for package, _ in current:
        run_sizes[package] = run_sizes.get(package, 0) + 1
    for package, (comparable, shared) in sorted(per_package.items()):
        if package in run_sizes and comparable and not shared:
            result.disjoint[package] = (comparable, run_sizes[package])
    return result
