"""Go's -run/-skip selection re-stated in Python, checked against hand-made cases and Go itself.

The cross-check compiles the fixture in tests/unit/fixtures/gomatch with `go test -c` and runs that
binary (the `go_ran` fixture): a subprocess of Go's own toolchain, not `inv` and not the engine, so
it stays a unit test (skipped where Go is not installed).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tasks.complement.select import (
    Selection,
    anchored_names,
    join_alternatives,
    package_matches,
    split_pattern,
    validate_pattern,
)
from tests.unit.complement.gomatch_cases import GO_PATTERN_CASES

# Every test in the fixture package, as Go names them.
FIXTURE_TESTS = [
    "TestAlpha",
    "TestAlpha/one",
    "TestAlpha/two",
    "TestAlpha/two/x",
    "TestAlpha/two/y_z",
    "TestAlpha/one_more",
    "TestAlphabet",
    "TestAlphabet/one",
    "TestBeta",
    "TestBeta/a/b",
    "TestBeta/two",
]


def test_split_pattern_like_go() -> None:
    assert split_pattern("A/B|C") == [["A", "B"], ["C"]]
    assert split_pattern("(A|B)/C") == [["(A|B)", "C"]]
    assert split_pattern("[/|]x/y") == [["[/|]x", "y"]]
    assert split_pattern(r"a\/b/c") == [[r"a\/b", "c"]]
    assert split_pattern("") == [[""]]


def test_run_is_unanchored_per_level_and_selects_subtests() -> None:
    selection = Selection(("./tests",), run="TestAlpha")
    assert selection.test_selected("TestAlpha")
    assert selection.test_selected("TestAlpha/two/x")
    assert selection.test_selected("TestAlphabet")
    assert not selection.test_selected("TestBeta")


def test_skip_needs_a_full_match_and_removes_descendants() -> None:
    selection = Selection(("./tests",), skip="TestAlpha/two")
    assert selection.test_selected("TestAlpha")  # only a partial match of the skip pattern
    assert not selection.test_selected("TestAlpha/two")
    assert not selection.test_selected("TestAlpha/two/x")
    assert selection.test_selected("TestAlpha/one")


def test_spaces_in_patterns_match_underscored_names() -> None:
    assert Selection((), run="TestAlpha/y z").test_selected("TestAlpha/y_z")


def test_packages_match_by_path_and_select_only_their_tests() -> None:
    full = "github.com/matrix-org/complement/tests/csapi"
    assert package_matches(full, "./tests/csapi")
    assert package_matches(full, "tests/csapi/")
    assert not package_matches(full, "./tests")
    assert package_matches("github.com/matrix-org/complement/tests", "./tests")
    assert package_matches(full, "./tests/...")
    assert not package_matches("github.com/x/other/csapi", "./tests/csapi")
    selection = Selection(("./tests",), run="")
    assert selection.selected("github.com/matrix-org/complement/tests", "TestX")
    assert not selection.selected(full, "TestX")


def test_names_join_into_anchored_alternatives_and_bad_patterns_are_named() -> None:
    assert join_alternatives(["A/b", "", "C"]) == "A/b|C"
    pattern = anchored_names(["TestLogin", "TestRegistration"])
    assert pattern == "^(TestLogin|TestRegistration)$"
    selection = Selection((), run=pattern)
    assert selection.test_selected("TestLogin/parallel/x")
    assert not selection.test_selected("TestLoginX")
    assert anchored_names([]) == ""
    assert validate_pattern("Test(") is not None
    assert validate_pattern("Test[AB]/x") is None


@pytest.mark.parametrize(("run", "skip"), GO_PATTERN_CASES)
def test_selection_agrees_with_go(go_ran: Callable[[str, str], set[str]], run: str, skip: str) -> None:
    selection = Selection(("./",), run=run, skip=skip)
    predicted = {name for name in FIXTURE_TESTS if selection.test_selected(name)}
    assert predicted == go_ran(run, skip)
