"""Hostile text through every report writer, read back by the tools that consume the reports.

A Complement run whose tests print colours, control characters, lone surrogates, `]]>`, a
megabyte of output and bytes that are not UTF-8, and lint findings quoting the same: the JUnit
file must be read by a strict XML parser and by junitparser, SARIF must pass a SARIF 2.1.0
schema check, checkstyle a strict XML parse, the HTML pages a strict HTML5 parse; and the counts
read back must be the counts written. The raw text stays in logs.jsonl.
"""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import html5lib
import jsonschema
import pytest
from junitparser import JUnitXml

from tasks.complement.cell_gate import _write_reports
from tasks.complement.classify import GateResult, classify
from tasks.complement.events import EventParser, RunEvents
from tasks.complement.report import (
    RunSummary,
    failure_report,
    outcome_line,
    render_html,
    render_junit,
    render_markdown,
    render_table,
)
from tasks.complement.results import LogsWriter
from tasks.complement.select import Selection
from tasks.lint.findings import Finding, ToolResult, merge, render

CSAPI = "github.com/matrix-org/complement/tests/csapi"
SCHEMA = json.loads((Path(__file__).parents[1] / "fixtures" / "sarif-2.1.0-required.schema.json").read_text())
# XML 1.0's Char production, inverted: what may not appear in a document at all.
XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
MEGABYTE = 1_000_000

COLOURED = "\x1b[31mError Trace:\x1b[0m\tpower_levels_test.go:91 ]]> </failure><injected/> &amp;\n"
# The lone surrogates are low then high: not a pair that JSON would join into one character.
CONTROLS = "nul\x00 bel\x07 vt\x0b ff\x0c esc\x1b del\x7f nel\x85 nonchars\ufffe\uffff lone\udfff\ud800\n"
ODD_NAME = "TestNames/\x1b[1mbold\x1b[0m_<b>&amp;]]>`tick`"
NUL_NAME = "TestNames/nul\x00char"


def event(action: str, test: str = "", output: str | None = None) -> bytes:
    """One test2json line; json.dumps escapes controls and lone surrogates as test2json would."""
    row: dict[str, str] = {"Action": action, "Package": CSAPI}
    if test:
        row["Test"] = test
    if output is not None:
        row["Output"] = output
    return json.dumps(row).encode() + b"\n"


def hostile_stream() -> bytes:
    lines = [
        event("start"),
        event("run", "TestPowerLevels"),
        event("output", "TestPowerLevels", "=== RUN   TestPowerLevels\n"),
        event("output", "TestPowerLevels", COLOURED),
        event("fail", "TestPowerLevels"),
        event("run", "TestControl"),
        event("output", "TestControl", CONTROLS),
        event("fail", "TestControl"),
        event("run", "TestHuge"),
        event("output", "TestHuge", "start of the flood\n"),
        event("output", "TestHuge", "x" * MEGABYTE + "\n"),
        event("output", "TestHuge", "the end: it broke\n"),
        event("fail", "TestHuge"),
        event("run", "TestBinary"),
        # Raw bytes that are not UTF-8 inside an event, and a line that is no event at all.
        b'{"Action":"output","Package":"'
        + CSAPI.encode()
        + b'","Test":"TestBinary","Output":"caf\xe9 \xff\xfe\\n"}\n',
        b"\xff\xfe\x1b[31mpanic: not an event\x00\n",
        event("fail", "TestBinary"),
        event("run", "TestA"),
        event("pass", "TestA"),
        event("run", "TestSkipped"),
        event("skip", "TestSkipped"),
        event("run", "TestNames"),
        event("run", ODD_NAME),
        event("pass", ODD_NAME),
        event("run", NUL_NAME),
        event("skip", NUL_NAME),
        event("pass", "TestNames"),
        event("fail"),
    ]
    return b"".join(lines)


BASELINE = {
    (CSAPI, "TestPowerLevels"): "fail",
    (CSAPI, "TestControl"): "fail",
    (CSAPI, "TestHuge"): "pass",
    (CSAPI, "TestA"): "pass",
    (CSAPI, "TestSkipped"): "skip",
    (CSAPI, "TestNames"): "pass",
}
FAILED = ["TestPowerLevels", "TestControl", "TestHuge", "TestBinary"]


def read_like_the_tester_stream(data: bytes) -> Iterator[str]:
    """As tasks/complement/tester_container.py reads `docker logs --follow`: text, UTF-8, errors replaced."""
    yield from io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="replace")


@pytest.fixture(scope="module")
def run() -> tuple[RunEvents, str, GateResult, RunSummary]:
    logs = io.StringIO()
    parser = EventParser(LogsWriter(logs))
    for line in read_like_the_tester_stream(hostile_stream()):
        parser.feed(line)
    state = parser.finish()
    result = classify(BASELINE, state.results, Selection((CSAPI,)), packages_done=state.packages)
    summary = RunSummary(
        "debian trixie-slim default", state.counts(), state.malformed, 12.0, state.failure_output
    )
    return state, logs.getvalue(), result, summary


def assert_clean(text: str) -> None:
    assert "\x1b" not in text
    assert not XML_FORBIDDEN.search(text)
    text.encode("utf-8")  # strict


def test_the_stream_is_read_and_the_raw_text_kept_in_logs(run) -> None:
    state, logs, _, _ = run
    assert state.counts() == {"pass": 3, "fail": 4, "skip": 2}
    assert state.malformed == 1
    rows = [json.loads(line) for line in logs.splitlines()]
    outputs = {row["Test"]: row["Output"] for row in rows}
    assert outputs["TestPowerLevels"] == COLOURED  # colours and all
    assert outputs["TestControl"] == CONTROLS  # NUL, lone surrogates and all
    assert outputs["TestBinary"] == "caf\ufffd \ufffd\ufffd\n"
    assert max(len(row["Output"]) for row in rows) == MEGABYTE + 1
    logs.encode("ascii")  # escaped: the file can always be written and read back


def test_junit_is_read_by_a_strict_parser_and_junitparser_with_the_summary_counts(run) -> None:
    _, _, result, summary = run
    document = render_junit(result, summary)
    text = document.decode("utf-8")
    assert_clean(text)
    root = ET.fromstring(document)  # expat: stops at the first character XML forbids
    assert {c.get("name") for c in root.iter("testcase")} >= {"TestPowerLevels", "TestNames/nul␀char"}

    xml = JUnitXml.fromstring(document)
    cases = [case for suite in xml for case in suite]
    failed = [case for case in cases if case.is_failure]
    skipped = [case for case in cases if case.is_skipped]
    # The same counts as the summary line…
    line = outcome_line(summary)
    assert "9 tests: pass 3, fail 4, skip 2" in line
    assert (len(cases), len(failed), len(skipped)) == (9, 4, 2)
    # …as the file's own totals…
    assert (xml.tests, xml.failures, xml.skipped) == (9, 4, 2)
    assert sorted(case.name for case in failed) == sorted(FAILED)

    outputs = {case.name: case.result[0].text for case in failed}
    assert (
        "Error Trace:\tpower_levels_test.go:91 ]]> </failure><injected/> &amp;" in outputs["TestPowerLevels"]
    )
    assert (
        "nul␀ bel␇ vt␋ ff␌ esc␛ del␡ nel\ufffd nonchars\ufffd\ufffd lone\ufffd\ufffd"
        in outputs["TestControl"]
    )
    assert "caf\ufffd" in outputs["TestBinary"]
    huge = outputs["TestHuge"]
    assert huge.startswith("[… ") and "logs.jsonl" in huge.splitlines()[0]
    assert huge.endswith("the end: it broke\n")
    assert len(huge) < 110_000
    messages = {case.name: case.result[0].message for case in failed}
    assert messages["TestHuge"] == "regression (pass → fail)"
    assert messages["TestBinary"] == "new test, failing"
    assert messages["TestPowerLevels"] == "known failure (baseline: fail)"


def test_markdown_table_and_step_summary_are_clean(run, tmp_path, monkeypatch) -> None:
    _, _, result, summary = run
    markdown = render_markdown(result, summary)
    assert_clean(markdown)
    assert "- `tests/csapi TestHuge` (pass → fail)" in markdown
    # A name with a backtick gets a longer fence (CommonMark drops the padding spaces).
    assert "- `` tests/csapi TestNames/bold_<b>&amp;]]>`tick` `` (- → pass)" in markdown

    table = render_table(result, summary)
    assert_clean(table)
    assert "tests/csapi TestHuge  (pass → fail)" in table
    assert "1 malformed line(s)" in table

    step_summary = tmp_path / "step-summary.md"
    step_summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    _write_reports(tmp_path, result, summary)
    assert step_summary.read_text(encoding="utf-8") == "earlier step\n" + markdown + "\n"
    assert (tmp_path / "summary.md").read_text(encoding="utf-8") == markdown
    assert (tmp_path / "junit.xml").read_bytes() == render_junit(result, summary)
    assert (tmp_path / "report.html").read_text(encoding="utf-8") == render_html(result, summary)


def test_failure_report_keeps_colour_only_on_a_terminal(run) -> None:
    _, _, _, summary = run
    keys = [(CSAPI, name) for name in FAILED]
    plain = failure_report(summary, keys)
    assert_clean(plain)
    assert "Error Trace:" in plain
    coloured = failure_report(summary, keys, tty=True)
    assert "\x1b[31mError Trace:\x1b[0m" in coloured
    assert "\x00" not in coloured
    coloured.encode("utf-8")


def test_report_html_parses_strictly_and_lists_every_failure_folded(run) -> None:
    _, _, result, summary = run
    page = render_html(result, summary)
    assert_clean(page)
    document = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(page)
    body = document.find("body")
    headings = ["".join(h.itertext()) for h in body.iter("h2")]
    assert headings == ["Gate", "Failures (4)", "Other tests (5)"]
    # Order: the gate's classes, then the failures, then the rest.
    children = list(body)
    failures_at = next(i for i, e in enumerate(children) if "".join(e.itertext()) == "Failures (4)")
    folded = [e for e in children[failures_at + 1 :] if e.tag == "details"]
    assert len(folded) == 4
    names = ["".join(d.find("summary").itertext()) for d in folded]
    # Regression first, then the new test, then the known failures.
    assert [n.split(" — ")[0] for n in names] == [
        "tests/csapi TestHuge",
        "tests/csapi TestBinary",
        "tests/csapi TestControl",
        "tests/csapi TestPowerLevels",
    ]
    logs = {n.split(" ")[1]: "".join(d.find("pre").itertext()) for n, d in zip(names, folded, strict=True)}
    assert "]]> </failure><injected/> &amp;" in logs["TestPowerLevels"]
    assert not list(document.iter("injected")) and not list(document.iter("b"))
    regressions = body.find("details")
    assert regressions.get("open") is not None and "regression (1)" in "".join(regressions.itertext())
    others = children[-1]
    assert others.tag == "table" and len(others.find("tbody")) == 5
    assert "TestNames/bold_<b>&amp;]]>`tick`" in "".join(others.itertext())


HOSTILE_MESSAGE = "\x1b[31mDouble quote\x1b[0m ]]> <x/> & \x00\x07\x1b\ud800\ufffe\x85 end"
FINDINGS = [
    # A file name that was not UTF-8 (os.walk gives surrogate escapes), one with a space and a colon.
    Finding("scripts/caf\udce9.sh", 3, 5, "shellcheck", "SC2086", "warning", HOSTILE_MESSAGE),
    Finding("dir with space/a:b.sh", 0, 0, "shellcheck", "SC1000", "error", "x" * MEGABYTE),
    Finding("images/Dockerfile\x01ctl", 2, -1, "hadolint", "DL3003", "info", "line1\nline2\r\n\ttab"),
    Finding("images/Dockerfile\x01ctl", 2, -1, "hadolint", "DL3003\x1b[0m", "info", "same place, other rule"),
]


def lint_results() -> list[ToolResult]:
    return [
        ToolResult("shellcheck", 2, FINDINGS[:2]),
        ToolResult("hadolint", 1, FINDINGS[2:]),
        ToolResult("bake", skipped="\x1b[31merror:\x1b[0m failed\x00\ud800\nsecond line"),
    ]


def test_checkstyle_parses_strictly_with_every_finding() -> None:
    text = render(lint_results(), "checkstyle")
    assert_clean(text)
    root = ET.fromstring(text.encode("utf-8"))
    errors = [(f.get("name"), e.get("source"), e.get("message")) for f in root for e in f]
    assert len(errors) == len(merge(lint_results())) == 4
    assert (
        "scripts/caf\ufffd.sh",
        "shellcheck.SC2086",
        "Double quote ]]> <x/> & ␀␇␛\ufffd\ufffd\ufffd end",
    ) in errors
    assert ("images/Dockerfile␁ctl", "hadolint.DL3003", "line1\nline2\r\n\ttab") in errors


def uri_reference(value: object) -> bool:
    """RFC 3986: only unreserved, reserved and well-formed percent-encoded characters."""
    if not isinstance(value, str):
        return True
    return re.fullmatch(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*", value) is not None


def uri(value: object) -> bool:
    has_scheme = isinstance(value, str) and re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", value) is not None
    return not isinstance(value, str) or (uri_reference(value) and has_scheme)


def test_sarif_passes_the_schema_with_every_finding() -> None:
    text = render(lint_results(), "sarif")
    assert_clean(text)
    document = json.loads(text)
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("uri")(uri)
    checker.checks("uri-reference")(uri_reference)
    jsonschema.Draft7Validator(SCHEMA, format_checker=checker).validate(document)

    results = [(run, r) for run in document["runs"] for r in run["results"]]
    assert len(results) == len(merge(lint_results())) == 4
    for run, result in results:
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert_clean(result["message"]["text"])
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for _, r in results]
    assert uris[:2] == ["dir%20with%20space/a%3Ab.sh", "scripts/caf%E9.sh"]  # the name's own bytes
    assert {r["ruleId"] for _, r in results} == {"SC1000", "SC2086", "DL3003"}
    assert len(document["runs"][1]["tool"]["driver"]["rules"]) == 1  # DL3003 twice, cleaned to one rule
    notice = document["runs"][2]["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
    assert notice == "error: failed␀\ufffd\nsecond line"


def test_sarif_schema_check_is_not_a_rubber_stamp() -> None:
    document = json.loads(render(lint_results(), "sarif"))
    document["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = "a b"
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("uri-reference")(uri_reference)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(SCHEMA, format_checker=checker).validate(document)
    del document["runs"][0]["tool"]["driver"]["name"]
    assert not jsonschema.Draft7Validator(SCHEMA).is_valid(document)


def test_json_tty_and_html_lint_reports_are_clean_with_every_finding() -> None:
    results = lint_results()
    document = json.loads(render(results, "json"))
    assert len(document["findings"]) == 4
    for value in [*(f["message"] for f in document["findings"]), *(f["path"] for f in document["findings"])]:
        assert_clean(value)

    tty = render(results, "tty")
    assert_clean(tty)
    assert len(tty.splitlines()) == 4 + len(results)  # one line per finding, even a multi-line one

    page = render(results, "html")
    assert_clean(page)
    parsed = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(page)
    _tools, *by_file = parsed.iter("table")
    assert sum(len(table.find("tbody")) for table in by_file) == 4
    assert not list(parsed.iter("x"))
