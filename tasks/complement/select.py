"""Which tests a Complement run selected: Go's -run/-skip semantics, re-stated in Python.

The gate must tell "not run because this run didn't select it" from "selected but missing", so
it needs the exact rules `go test` applies: a pattern is split at unbracketed, unparenthesised
`/` into one regex per name level and at such `|` into alternatives; a name is run when every
level matches the filter (levels beyond the pattern always match) and it is not fully matched
by the skip pattern; a subtest runs only when all its ancestors run. Regexes are searched
unanchored, like Go's regexp.MatchString (RE2 patterns used in practice are valid Python too).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

# One alternative: a regex per name level.
Alternative = tuple[re.Pattern[str], ...]


def _rewrite(element: str) -> str:
    """Go rewrites spaces in names and patterns to underscores before matching."""
    return "".join("_" if ch.isspace() else ch for ch in element)


def split_pattern(pattern: str) -> list[list[str]]:
    """Split like Go's testing.splitRegexp: alternatives of per-level regex sources."""
    alternatives: list[list[str]] = []
    levels: list[str] = []
    brackets = 0
    parens = 0
    rest = pattern
    i = 0
    while i < len(rest):
        ch = rest[i]
        if ch == "[":
            brackets += 1
        elif ch == "]":
            brackets = max(brackets - 1, 0)
        elif ch == "(" and brackets == 0:
            parens += 1
        elif ch == ")" and brackets == 0:
            parens -= 1
        elif ch == "\\":
            i += 1
        elif ch in "/|" and brackets == 0 and parens == 0:
            levels.append(rest[:i])
            rest = rest[i + 1 :]
            i = 0
            if ch == "|":
                alternatives.append(levels)
                levels = []
            continue
        i += 1
    levels.append(rest)
    alternatives.append(levels)
    return alternatives


@lru_cache(maxsize=64)
def compile_pattern(pattern: str) -> tuple[Alternative, ...]:
    """Compile a -run/-skip pattern; raises re.error naming nothing (callers wrap it)."""
    return tuple(tuple(re.compile(_rewrite(level)) for level in levels) for levels in split_pattern(pattern))


def _matches(alternatives: tuple[Alternative, ...], elements: Sequence[str]) -> tuple[bool, bool]:
    """(ok, partial) as Go's filterMatch.matches: partial = the name is shorter than the pattern."""
    for levels in alternatives:
        if all(levels[i].search(element) for i, element in enumerate(elements[: len(levels)])):
            return True, len(elements) < len(levels)
    return False, False


@dataclass(frozen=True)
class Selection:
    """A run's selection: packages (as given to the tester), -run and -skip patterns."""

    packages: tuple[str, ...]
    run: str = ""
    skip: str = ""
    _run: tuple[Alternative, ...] = field(init=False, repr=False, compare=False)
    _skip: tuple[Alternative, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_run", compile_pattern(self.run) if self.run else ())
        object.__setattr__(self, "_skip", compile_pattern(self.skip) if self.skip else ())

    def package_selected(self, package: str) -> bool:
        return any(package_matches(package, wanted) for wanted in self.packages)

    def _level_runs(self, elements: Sequence[str]) -> bool:
        if self._run and not _matches(self._run, elements)[0]:
            return False
        if self._skip:
            skipped, partial = _matches(self._skip, elements)
            if skipped and not partial:
                return False
        return True

    def test_selected(self, test: str) -> bool:
        """Whether `go test -run RUN -skip SKIP` would run the test `test` (a full slash name)."""
        elements = test.split("/")
        return all(self._level_runs(elements[:depth]) for depth in range(1, len(elements) + 1))

    def selected(self, package: str, test: str) -> bool:
        return self.package_selected(package) and self.test_selected(test)


def package_matches(package: str, wanted: str) -> bool:
    """`./tests/csapi` or `tests/csapi` selects `github.com/matrix-org/complement/tests/csapi`;
    `./tests/...` selects every package below tests."""
    wanted = wanted.removeprefix("./").rstrip("/")
    if wanted.endswith("/..."):
        root = wanted.removesuffix("/...")
        return package == root or package.endswith("/" + root) or f"/{root}/" in f"/{package}"
    return package == wanted or package.endswith("/" + wanted)


def join_alternatives(patterns: Iterable[str]) -> str:
    """A config list of patterns as one -run/-skip value (top-level `|` = alternatives in Go)."""
    return "|".join(p for p in patterns if p)


def anchored_names(names: Iterable[str]) -> str:
    """Top-level test names as a -run pattern matching exactly those names (subtests included)."""
    names = [n for n in names if n]
    if not names:
        return ""
    return "^(" + "|".join(re.escape(n) for n in names) + ")$"


def validate_pattern(pattern: str) -> str | None:
    """None when the pattern compiles; otherwise the regex error, for a one-line message."""
    try:
        compile_pattern(pattern)
    except re.error as exc:
        return str(exc)
    return None
