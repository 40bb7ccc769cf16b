"""Reports of a gated run: the compact terminal table, JUnit XML, a markdown summary and an HTML page.

Test output and names pass through `text_clean` on their way into every report: Complement
colours its failures and a test may print anything, but a report must stay readable by the tools
that import it (the raw output is in `logs.jsonl`).
"""

from __future__ import annotations

import functools
import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from ..shared import html_page
from ..shared.text_clean import clean_text, for_terminal, one_line
from .classify import (
    CHANGED,
    CLASSES,
    FIX,
    MISSING,
    NEW,
    REGRESSION,
    REMOVED,
    GateResult,
    Verdict,
)
from .events import FAIL, OUTCOMES, SKIP, Key, short_package
from .known_failures import KnownFailures

# Classes listed test by test (the others are only counted); how many names each may show.
_LISTED = {REGRESSION: None, FIX: 20, NEW: 20, REMOVED: 20, CHANGED: 20}
# A failure's text in a report keeps its last lines and at most this many characters: one test
# can print megabytes (server logs), and a report is read in a browser or a CI's test tab.
_FAILURE_LINES = 400
_FAILURE_CHARS = 100_000


@dataclass
class RunSummary:
    """What a report needs besides the gate: counts of outcomes and of unreadable lines."""

    label: str
    outcomes: dict[str, int]
    malformed: int = 0
    elapsed: float | None = None
    failure_output: Mapping[Key, Sequence[str]] = field(default_factory=dict)
    # Causes of the baseline's known failures (tests/complement/known-failures.yaml), shown beside them.
    known_failures: KnownFailures = field(default_factory=KnownFailures)


def _name(key: Key) -> str:
    return one_line(f"{short_package(key[0])} {key[1]}")


def _transition(verdict: Verdict) -> str:
    return f"{verdict.before or '-'} → {verdict.after}"


def outcome_line(summary: RunSummary) -> str:
    counts = ", ".join(f"{outcome} {summary.outcomes.get(outcome, 0)}" for outcome in OUTCOMES)
    total = sum(summary.outcomes.values())
    line = f"{one_line(summary.label)}: {total} tests: {counts}"
    if summary.elapsed is not None:
        line += f" in {summary.elapsed:.0f}s"
    if summary.malformed:
        line += f"; {summary.malformed} malformed line(s) ignored"
    return line


def render_table(result: GateResult, summary: RunSummary) -> str:
    counts = result.counts()
    lines = [outcome_line(summary)]
    width = max(len(k) for k in CLASSES)
    for klass in CLASSES:
        lines.append(f"  {klass:<{width}}  {counts[klass]:>5}")
    for klass, limit in _LISTED.items():
        verdicts = result.by_class(klass)
        if not verdicts:
            continue
        lines.append(f"{klass}:")
        shown = verdicts if limit is None else verdicts[:limit]
        for verdict in shown:
            lines.append(f"  {_name(verdict.key)}  ({_transition(verdict)})")
        if len(verdicts) > len(shown):
            lines.append(f"  … and {len(verdicts) - len(shown)} more")
    verdict_line = (
        "gate: PASS (no regressions)" if result.passed else f"gate: FAIL ({counts[REGRESSION]} regression(s))"
    )
    lines.append(verdict_line)
    return "\n".join(lines) + "\n"


def render_markdown(result: GateResult, summary: RunSummary) -> str:
    counts = result.counts()
    status = "✅ no regressions" if result.passed else f"❌ {counts[REGRESSION]} regression(s)"
    lines = [
        f"### Complement: {html.escape(one_line(summary.label))} — {status}",
        "",
        outcome_line(summary).split(": ", 1)[1],
        "",
        "| class | tests |",
        "|---|---:|",
    ]
    lines += [f"| {klass} | {counts[klass]} |" for klass in CLASSES]
    for klass, limit in _LISTED.items():
        verdicts = result.by_class(klass)
        if not verdicts:
            continue
        shown = verdicts if limit is None else verdicts[: limit * 5]
        lines += [
            "",
            f"<details{' open' if klass == REGRESSION else ''}><summary>{klass} ({len(verdicts)})</summary>",
            "",
        ]
        lines += [f"- {_md_code(_name(v.key))} ({_transition(v)})" for v in shown]
        if len(verdicts) > len(shown):
            lines.append(f"- … and {len(verdicts) - len(shown)} more")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def _md_code(text: str) -> str:
    """A markdown code span that holds any text: the fence is longer than any backtick run in it."""
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * (longest + 1)
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def _failure_text(
    lines: Sequence[str] | None,
    limit: int = _FAILURE_LINES,
    clean: Callable[[str], str] = clean_text,
    max_chars: int = _FAILURE_CHARS,
) -> str:
    """The last `limit` lines of a failure's output, cleaned, at most `max_chars` characters."""
    if not lines:
        return ""
    text = clean("".join(lines[-limit:]))
    notes = []
    if len(lines) > limit:
        notes.append(f"{len(lines) - limit} earlier lines")
    if len(text) > max_chars:
        notes.append(f"{len(text) - max_chars} earlier characters")
        text = text[-max_chars:]
    prefix = f"[… {' and '.join(notes)}; all of it is in logs.jsonl]\n" if notes else ""
    return prefix + text


def _is_case(verdict: Verdict) -> bool:
    """A test case of this run's reports: what ran, and the regressions that went missing (not
    the tests outside the selection or removed from the suite)."""
    return verdict.after != MISSING or verdict.klass == REGRESSION


def _failure_message(verdict: Verdict) -> str:
    if verdict.klass == REGRESSION:
        return f"regression ({_transition(verdict)})"
    if verdict.klass == NEW:
        return "new test, failing"
    return f"known failure (baseline: {verdict.before})"


def _failures_first(result: GateResult) -> list[Verdict]:
    """Failed test cases: regressions, then new tests, then known failures."""
    order = {REGRESSION: 0, NEW: 1}
    failed = [v for v in result.verdicts if _is_case(v) and v.after in (FAIL, MISSING)]
    return sorted(failed, key=lambda v: (order.get(v.klass, 2), v.key))


def render_junit(result: GateResult, summary: RunSummary) -> bytes:
    """JUnit XML: one suite per package; failures say their gate class (regression or known)."""
    suites: dict[str, list[Verdict]] = {}
    for verdict in result.verdicts:
        if _is_case(verdict):
            suites.setdefault(verdict.key[0], []).append(verdict)
    root = ET.Element("testsuites", name=f"complement {one_line(summary.label)}")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for package in sorted(suites):
        package_name = one_line(short_package(package))
        suite = ET.SubElement(root, "testsuite", name=package_name)
        tally = {"tests": 0, "failures": 0, "skipped": 0}
        for verdict in suites[package]:
            case = ET.SubElement(suite, "testcase", classname=package_name, name=one_line(verdict.key[1]))
            tally["tests"] += 1
            if verdict.after in (FAIL, MISSING):
                tally["failures"] += 1
                failure = ET.SubElement(case, "failure", message=_failure_message(verdict))
                failure.text = _failure_text(summary.failure_output.get(verdict.key))
            elif verdict.after == SKIP:
                tally["skipped"] += 1
                ET.SubElement(case, "skipped")
        for name, value in tally.items():
            suite.set(name, str(value))
            totals[name] += value
    for name, value in totals.items():
        root.set(name, str(value))
    ET.indent(root)
    # typeshed types tostring() as Any for any encoding but "unicode"; an encoding gives bytes.
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"


def failure_report(
    summary: RunSummary, keys: Sequence[Key], *, max_lines: int = 200, tty: bool = False
) -> str:
    """Output of failed tests (Complement includes the server logs there), newest lines last;
    in colour on a terminal, cleaned for a file or a CI log."""
    clean = functools.partial(for_terminal, tty=tty)
    chunks: list[str] = []
    for key in keys:
        lines = summary.failure_output.get(key)
        if not lines:
            continue
        chunks.append(f"----- {_name(key)} -----\n{_failure_text(lines, max_lines, clean)}")
    return "".join(chunk if chunk.endswith("\n") else chunk + "\n" for chunk in chunks)


def _known_cause(verdict: Verdict, known: KnownFailures) -> str | None:
    """The listed cause of a failure the baseline expects (never of a regression or a new test)."""
    if verdict.klass in (REGRESSION, NEW):
        return None
    return known.cause_of(verdict.key)


def _known_failures_section(failed: Sequence[Verdict], known: KnownFailures) -> list[str]:
    """The known failures of this run with their listed causes (those without one are named too);
    nothing when no list of causes was given."""
    known_failed = [v for v in failed if v.klass not in (REGRESSION, NEW)]
    if not known_failed or not known.causes:
        return []
    rows = (
        [html_page.code(_name(v.key)), html_page.text(_known_cause(v, known) or "no cause listed")]
        for v in known_failed
    )
    return [
        f"<h2>Known failures ({len(known_failed)})</h2>",
        html_page.table(["test", "cause"], rows),
    ]


def render_html(result: GateResult, summary: RunSummary) -> str:
    """One page per cell: the gate's classes, then failures with their output folded, then the rest."""
    counts = result.counts()
    status = (
        '<span class="good">no regressions</span>'
        if result.passed
        else f'<span class="bad">{counts[REGRESSION]} regression(s)</span>'
    )
    label = html_page.text(summary.label)
    sections = [
        f"<h1>Complement: {label} — {status}</h1>",
        f"<p>{html_page.text(outcome_line(summary).split(': ', 1)[1])}</p>",
        "<h2>Gate</h2>",
        html_page.table(
            ["class", "tests"], ([html_page.text(k), str(counts[k])] for k in CLASSES), numeric=[1]
        ),
    ]
    for klass in _LISTED:
        verdicts = result.by_class(klass)
        if not verdicts:
            continue
        items = "".join(
            f"<li>{html_page.code(_name(v.key))} ({html_page.text(_transition(v))})</li>" for v in verdicts
        )
        opened = " open" if klass == REGRESSION else ""
        summary_line = f"<summary>{html_page.text(klass)} ({len(verdicts)})</summary>"
        sections.append(f"<details{opened}>{summary_line}<ul>{items}</ul></details>")
    failed = _failures_first(result)
    sections.extend(_known_failures_section(failed, summary.known_failures))
    sections.append(f"<h2>Failures ({len(failed)})</h2>")
    for verdict in failed:
        output = _failure_text(summary.failure_output.get(verdict.key))
        body = f"<pre>{html_page.block(output)}</pre>" if output else '<p class="muted">no output</p>'
        cause = _known_cause(verdict, summary.known_failures)
        because = f" — cause: {html_page.text(cause)}" if cause else ""
        sections.append(
            f"<details><summary>{html_page.code(_name(verdict.key))} — "
            f"{html_page.text(_failure_message(verdict))}{because}</summary>{body}</details>"
        )
    others = [v for v in result.verdicts if _is_case(v) and v.after not in (FAIL, MISSING)]
    sections.append(f"<h2>Other tests ({len(others)})</h2>")
    sections.append(
        html_page.table(
            ["package", "test", "result", "class"],
            (
                [
                    html_page.text(short_package(v.key[0])),
                    html_page.code(v.key[1]),
                    html_page.text(v.after),
                    html_page.text(v.klass),
                ]
                for v in others
            ),
        )
    )
    return html_page.page(f"Complement: {summary.label}", sections)
