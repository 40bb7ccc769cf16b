"""Reports of a gated run: the compact terminal table, JUnit XML and a markdown summary."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tasks.core.complement_events import FAIL, OUTCOMES, SKIP, Key, short_package
from tasks.core.complement_gate import (
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

# Classes listed test by test (the others are only counted); how many names each may show.
_LISTED = {REGRESSION: None, FIX: 20, NEW: 20, REMOVED: 20, CHANGED: 20}


@dataclass
class RunSummary:
    """What a report needs besides the gate: counts of outcomes and of unreadable lines."""

    label: str
    outcomes: dict[str, int]
    malformed: int = 0
    elapsed: float | None = None
    failure_output: Mapping[Key, Sequence[str]] = field(default_factory=dict)


def _name(key: Key) -> str:
    return f"{short_package(key[0])} {key[1]}"


def _transition(verdict: Verdict) -> str:
    return f"{verdict.before or '-'} → {verdict.after}"


def outcome_line(summary: RunSummary) -> str:
    counts = ", ".join(f"{outcome} {summary.outcomes.get(outcome, 0)}" for outcome in OUTCOMES)
    total = sum(summary.outcomes.values())
    line = f"{summary.label}: {total} tests: {counts}"
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
        f"### Complement: {summary.label} — {status}",
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
        lines += [f"- `{_name(v.key)}` ({_transition(v)})" for v in shown]
        if len(verdicts) > len(shown):
            lines.append(f"- … and {len(verdicts) - len(shown)} more")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def _failure_text(lines: Sequence[str] | None, limit: int = 400) -> str:
    if not lines:
        return ""
    tail = list(lines[-limit:])
    prefix = f"[… {len(lines) - limit} earlier lines]\n" if len(lines) > limit else ""
    return prefix + "".join(tail)


def render_junit(result: GateResult, summary: RunSummary) -> bytes:
    """JUnit XML: one suite per package; failures say their gate class (regression or known)."""
    suites: dict[str, list[Verdict]] = {}
    for verdict in result.verdicts:
        if verdict.after == MISSING and verdict.klass != REGRESSION:
            continue  # not run, removed: not a test case of this run
        suites.setdefault(verdict.key[0], []).append(verdict)
    root = ET.Element("testsuites", name=f"complement {summary.label}")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for package in sorted(suites):
        suite = ET.SubElement(root, "testsuite", name=short_package(package))
        tally = {"tests": 0, "failures": 0, "skipped": 0}
        for verdict in suites[package]:
            case = ET.SubElement(suite, "testcase", classname=short_package(package), name=verdict.key[1])
            tally["tests"] += 1
            if verdict.after in (FAIL, MISSING):
                tally["failures"] += 1
                if verdict.klass == REGRESSION:
                    message = f"regression ({_transition(verdict)})"
                elif verdict.klass == NEW:
                    message = "new test, failing"
                else:
                    message = f"known failure (baseline: {verdict.before})"
                failure = ET.SubElement(case, "failure", message=message)
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
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def failure_report(summary: RunSummary, keys: Sequence[Key], *, max_lines: int = 200) -> str:
    """Output of failed tests (Complement includes the server logs there), newest lines last."""
    chunks: list[str] = []
    for key in keys:
        lines = summary.failure_output.get(key)
        if not lines:
            continue
        chunks.append(f"----- {_name(key)} -----\n{_failure_text(lines, max_lines)}")
    return "".join(chunk if chunk.endswith("\n") else chunk + "\n" for chunk in chunks)
