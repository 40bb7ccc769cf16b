"""Baselines in the older `{"Action","Test"}` format: rows without a package, matched by name.

Several homeservers keep such baselines (the format sorted `go test -json` rows by test name
alone). Their rows load under the package `""` (unknown). Before the gate, each is placed on
the run's keys with the same test name, in whatever package ran it; a legacy row that names a
test run in several packages applies its one outcome to each, and that is reported, because
the legacy format cannot say which package a row came from. A legacy test missing from the
run is placed only on evidence (a recorded ancestor, the test listing, or a run of a single
package); otherwise it stays unplaced, is not compared, and is reported.

`inv complement.import-baseline` converts such a file into ours; the helpers for that are here
too (which package to give package-less rows, and the report line).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..shared.errors import BakehouseError, bad_input
from .classify import ancestors
from .events import Key
from .results import LoadedResults, parse_results, render_results, write_atomically
from .select import Selection


@dataclass
class LegacyPlacement:
    """The baseline with its legacy rows placed on this run's keys, and how that went."""

    baseline: dict[Key, str] = field(default_factory=dict)
    legacy: int = 0  # baseline tests without a package
    matched: int = 0  # placed in exactly one package
    # Placed in several packages (the same name ran, or is listed, in each): test -> packages.
    several: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Selected by this run's -run/-skip, yet neither in its results nor placeable: not compared.
    unplaced: list[str] = field(default_factory=list)


def _evidence(
    test: str,
    by_test: Mapping[str, list[str]],
    run_packages: list[str],
    selection: Selection,
    listing: Mapping[str, frozenset[str]] | None,
) -> list[str]:
    """Packages a test missing from the run belongs to, as far as the run can show it."""
    for ancestor in ancestors(test):
        if ancestor in by_test:
            return by_test[ancestor]
    top_level = test.split("/", 1)[0]
    if listing:
        return sorted(package for package, names in listing.items() if top_level in names)
    # One package asked for (no `/...`) and one seen: the test can only belong to it.
    wanted = selection.packages
    if len(run_packages) == 1 and len(wanted) == 1 and not wanted[0].endswith("..."):
        return run_packages
    return []


def place_legacy(
    baseline: Mapping[Key, str],
    current: Mapping[Key, str],
    selection: Selection,
    *,
    packages_done: Mapping[str, str] | None = None,
    listing: Mapping[str, frozenset[str]] | None = None,
) -> LegacyPlacement:
    """Put each package-less baseline row on the run's key(s) with its test name.

    A row that already has a package wins over a legacy row placed on the same key. Unplaced
    rows stay under `""`: the gate then files them as not run (no package selects `""`).
    """
    placement = LegacyPlacement(baseline={key: action for key, action in baseline.items() if key[0]})
    by_test: dict[str, list[str]] = {}
    for package, test in sorted(current):
        by_test.setdefault(test, []).append(package)
    run_packages = sorted({package for package, _ in current} | set(packages_done or {}))
    for (package, test), action in sorted(baseline.items()):
        if package:
            continue
        placement.legacy += 1
        packages = by_test.get(test) or _evidence(test, by_test, run_packages, selection, listing)
        if not packages:
            placement.baseline[("", test)] = action
            if selection.test_selected(test):
                placement.unplaced.append(test)
            continue
        if len(packages) > 1:
            placement.several[test] = tuple(packages)
        else:
            placement.matched += 1
        for found in packages:
            placement.baseline.setdefault((found, test), action)
    return placement


def import_path(package: str, module: str) -> str:
    """A package as results key it: `./tests/csapi` or `tests/csapi` -> `<module>/tests/csapi`;
    a full import path (its first element has a dot, like a domain) stays as it is."""
    package = package.strip().rstrip("/")
    if not package.startswith("./") and package != "." and "." in package.split("/", 1)[0]:
        return package
    relative = package.removeprefix(".").strip("/")
    return f"{module}/{relative}" if relative else module


def default_package(packages: tuple[str, ...], module: str) -> str:
    """The package for package-less rows when none is given: the configured one when there is
    exactly one (a suite run of one package); otherwise "" (unknown, matched by name)."""
    if len(packages) == 1 and not packages[0].endswith("..."):
        return import_path(packages[0], module)
    return ""


def import_summary(loaded: LoadedResults, package: str) -> str:
    """The report of an import: rows read, kept, duplicates, malformed, then what needs a look."""
    line = (
        f"{loaded.rows} row(s) read, {loaded.kept} kept, {loaded.duplicates} duplicate(s), "
        f"{loaded.malformed} malformed"
    )
    if loaded.legacy:
        where = f"filed under {package}" if package else "left without one (matched by test name)"
        line += f"; {loaded.legacy} row(s) without a package: {where}"
    if loaded.conflicts:
        names = ", ".join(test for _, test in loaded.conflicts[:3])
        more = f" and {len(loaded.conflicts) - 3} more" if len(loaded.conflicts) > 3 else ""
        line += f"; {len(loaded.conflicts)} with conflicting outcomes, the worse kept: {names}{more}"
    return line


def import_baseline_file(source: str, target: Path, package: str) -> LoadedResults:
    """Read a baseline in either format and write it in ours to `target`; rows without a package
    get `package`. Refuses a file without one valid row (nothing is written then)."""
    try:
        text = Path(source).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise bad_input(f"{source}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise bad_input(f"{source}: cannot read it ({reason})") from None
    loaded = parse_results(text.splitlines(), package=package)
    if not loaded.results:
        raise bad_input(
            f"{source}: no valid result rows ({loaded.rows} read, {loaded.malformed} malformed); "
            "nothing written"
        )
    try:
        # Read fully above, written atomically here: importing a file onto itself is safe too.
        write_atomically(target, render_results(loaded.results))
    except OSError as exc:
        raise BakehouseError(f"{target}: cannot write it ({exc.strerror or exc})") from None
    return loaded
