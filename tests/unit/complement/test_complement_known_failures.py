"""Known failures with causes: the committed list, its reader, and how the HTML report shows it."""

from __future__ import annotations

from pathlib import Path

import html5lib
import pytest

from tasks.complement.classify import classify
from tasks.complement.known_failures import KnownFailures, load_known_failures
from tasks.complement.report import RunSummary, render_html
from tasks.complement.results import load_results
from tasks.complement.select import Selection
from tasks.shared.errors import BakehouseError

ROOT = Path(__file__).parents[3]
KNOWN = ROOT / "tests" / "complement" / "known-failures.yaml"
WHOLE_SUITE = ROOT / "tests" / "complement" / "results-all.jsonl"
CURATED = ROOT / "tests" / "complement" / "results.jsonl"
MODULE = "github.com/matrix-org/complement"
TESTS, CSAPI = f"{MODULE}/tests", f"{MODULE}/tests/csapi"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "known.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_subtest_takes_its_closest_listed_parents_cause(tmp_path: Path) -> None:
    known = load_known_failures(
        write(
            tmp_path,
            "known_failures:\n"
            "  - {test: TestA, package: tests/csapi, cause: parent cause}\n"
            "  - {test: TestA/sub, package: tests/csapi, cause: 'sub   cause\n    folded'}\n"
            "  - {test: TestAny, cause: any package}\n",
        )
    )
    assert known.cause_of((CSAPI, "TestA")) == "parent cause"
    assert known.cause_of((CSAPI, "TestA/sub/deeper")) == "sub cause folded"
    assert known.cause_of((CSAPI, "TestA/other")) == "parent cause"
    assert known.cause_of((TESTS, "TestA")) is None  # listed for another package
    assert known.cause_of((TESTS, "TestAny/x")) == "any package"
    assert known.cause_of((CSAPI, "TestAb")) is None  # a prefix of a name is no parent


def test_a_missing_list_is_empty_and_a_malformed_one_names_the_file(tmp_path: Path) -> None:
    assert load_known_failures(tmp_path / "absent.yaml") == KnownFailures()
    for text in ("known_failures: {}\n", "[]\n", "known_failures:\n  - {test: TestA}\n",
                 "known_failures:\n  - {test: TestA, cause: '  '}\n", "known_failures: [\n"):  # fmt: skip
        with pytest.raises(BakehouseError, match=r"known failures .*known\.yaml"):
            load_known_failures(write(tmp_path, text))


def test_every_listed_known_failure_is_a_failure_in_the_whole_suite_baseline() -> None:
    """The list explains the baseline and never replaces it: each entry is recorded as `fail`
    there (so the gate still counts it as a failure), and each failure has a cause."""
    known = load_known_failures(KNOWN)
    assert known.causes
    baseline = load_results(WHOLE_SUITE).results
    for (package, test), _cause in known.causes.items():
        outcomes = {outcome for (p, t), outcome in baseline.items() if t == test and p.endswith(package)}
        assert outcomes == {"fail"}, f"{package} {test}: baseline says {outcomes or 'nothing'}"
    for baseline_file in (WHOLE_SUITE, CURATED):
        for key, outcome in load_results(baseline_file).results.items():
            if outcome == "fail":
                assert known.cause_of(key), f"{baseline_file.name}: {key[1]} fails without a listed cause"


def test_the_html_report_shows_known_failures_with_their_causes() -> None:
    baseline = {(CSAPI, "TestKnown"): "fail", (CSAPI, "TestKnown/sub"): "fail", (CSAPI, "TestOk"): "pass"}
    run = {(CSAPI, "TestKnown"): "fail", (CSAPI, "TestKnown/sub"): "fail", (CSAPI, "TestOk"): "fail"}
    result = classify(baseline, run, Selection((CSAPI,)), packages_done={CSAPI: "fail"})
    known = KnownFailures({("tests/csapi", "TestKnown"): "a fix <the old suite> predates",
                           ("tests/csapi", "TestOk"): "listed, yet a regression here"})  # fmt: skip
    summary = RunSummary("cell", {"fail": 3}, known_failures=known)
    page = render_html(result, summary)
    body = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(page).find("body")
    headings = ["".join(h.itertext()) for h in body.iter("h2")]
    assert headings == ["Gate", "Known failures (2)", "Failures (3)", "Other tests (0)"]
    table = next(t for t in body.iter("table") if "cause" in "".join(t.find("thead").itertext()))
    rows = [["".join(cell.itertext()) for cell in row] for row in table.find("tbody")]
    assert rows == [
        ["tests/csapi TestKnown", "a fix <the old suite> predates"],
        ["tests/csapi TestKnown/sub", "a fix <the old suite> predates"],
    ]
    folded = [d for d in body.iter("details") if d.find("pre") is not None or d.find("p") is not None]
    summaries = ["".join(d.find("summary").itertext()) for d in folded]
    # The regression is never excused by a listed cause; the known failures carry theirs.
    assert summaries[0] == "tests/csapi TestOk — regression (pass → fail)"
    cause = "cause: a fix <the old suite> predates"
    assert summaries[1] == f"tests/csapi TestKnown — known failure (baseline: fail) — {cause}"
    without = render_html(result, RunSummary("cell", {"fail": 3}))
    assert "Known failures" not in without and "cause:" not in without
