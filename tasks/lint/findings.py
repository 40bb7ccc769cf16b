"""Lint findings from every tool in one shape, and the report formats built from them.

Each tool's native output is parsed into ``Finding`` rows (paths relative to the linted tree);
the rows are merged, sorted and rendered as tty text, checkstyle XML, JSON, SARIF 2.1.0 or an
HTML page. Every renderer shows findings through `_shown`: tools quote the code they complain
about and file names can hold anything, so the text is cleaned (`text_clean`) on the way out.
"""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from urllib.parse import quote

from ..shared import html_page
from ..shared.text_clean import clean_text, one_line

FORMATS = ("tty", "checkstyle", "json", "sarif", "html")

# Each tool's levels mapped onto the three levels checkstyle and SARIF share.
_SEVERITY = {
    "error": "error",
    "fatal": "error",
    "warning": "warning",
    "info": "info",
    "style": "info",
    "note": "info",
}
_SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}

TOOL_URLS = {
    "shellcheck": "https://www.shellcheck.net",
    "hadolint": "https://github.com/hadolint/hadolint",
    "ruff": "https://docs.astral.sh/ruff/",
    "mypy": "https://mypy-lang.org",
    "actionlint": "https://github.com/rhysd/actionlint",
}


@dataclass(frozen=True, order=True)
class Finding:
    path: str
    line: int
    column: int
    tool: str
    rule: str
    severity: str
    message: str

    def location(self) -> str:
        return f"{self.path}:{self.line}:{self.column}" if self.column else f"{self.path}:{self.line}"


@dataclass
class ToolResult:
    """What one tool did: how many files it looked at and what it found (or why it was skipped)."""

    tool: str
    files_checked: int = 0
    findings: list[Finding] = field(default_factory=list)
    skipped: str = ""
    # Said after the counts, e.g. which bake files were found in another tree.
    note: str = ""

    def summary(self) -> str:
        """One line for people (a skip reason can quote a tool's coloured error output)."""
        if self.skipped:
            return one_line(f"{self.tool}: skipped: {self.skipped}")
        count = len(self.findings)
        noun = "finding" if count == 1 else "findings"
        files = "file" if self.files_checked == 1 else "files"
        note = f" ({self.note})" if self.note else ""
        return one_line(f"{self.tool}: {self.files_checked} {files} checked, {count} {noun}{note}")


def severity(level: str) -> str:
    return _SEVERITY.get(level.lower(), "warning")


def relative_path(path: str, root: Path) -> str:
    """A tool's path as a POSIX path relative to the linted tree (tools report absolute or ./ paths)."""
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            candidate = candidate.resolve().relative_to(root.resolve())
        except ValueError:
            return candidate.as_posix()
    return candidate.as_posix().removeprefix("./")


def parse_shellcheck(output: str, root: Path) -> list[Finding]:
    """``shellcheck -f json1`` output."""
    if not output.strip():
        return []
    return [
        Finding(
            path=relative_path(comment["file"], root),
            line=int(comment["line"]),
            column=int(comment.get("column") or 0),
            tool="shellcheck",
            rule=f"SC{comment['code']}",
            severity=severity(comment.get("level", "warning")),
            message=comment["message"],
        )
        for comment in json.loads(output)["comments"]
    ]


def parse_hadolint(output: str, root: Path) -> list[Finding]:
    """``hadolint -f json`` output."""
    if not output.strip():
        return []
    return [
        Finding(
            path=relative_path(item["file"], root),
            line=int(item["line"]),
            column=int(item.get("column") or 0),
            tool="hadolint",
            rule=item["code"],
            severity=severity(item.get("level", "warning")),
            message=item["message"],
        )
        for item in json.loads(output)
    ]


_RUFF_FORMAT_MESSAGE = "file would be reformatted (ruff format)"


def parse_ruff(output: str, root: Path) -> list[Finding]:
    """``ruff check --output-format json`` output (code is null for syntax errors)."""
    if not output.strip():
        return []
    return [
        Finding(
            path=relative_path(item["filename"], root),
            line=int((item.get("location") or {}).get("row") or 0),
            column=int((item.get("location") or {}).get("column") or 0),
            tool="ruff",
            rule=_ruff_rule(item.get("code")),
            severity="error" if not item.get("code") else "warning",
            message=_RUFF_FORMAT_MESSAGE if item.get("code") == "unformatted" else item["message"],
        )
        for item in json.loads(output)
    ]


def _ruff_rule(code: str | None) -> str:
    # `ruff format --check --output-format json` reports code "unformatted"; syntax errors have none.
    if code == "unformatted":
        return "format"
    return code or "syntax-error"


def parse_ruff_format_check(output: str, root: Path) -> list[Finding]:
    """``ruff format --check`` lists files it would reformat, one ``Would reformat: PATH`` line each."""
    prefix = "Would reformat: "
    return [
        Finding(
            path=relative_path(line.strip()[len(prefix) :], root),
            line=1,
            column=0,
            tool="ruff",
            rule="format",
            severity="warning",
            message=_RUFF_FORMAT_MESSAGE,
        )
        for line in output.splitlines()
        if line.strip().startswith(prefix)
    ]


# actionlint passes the `run:` scripts to shellcheck and reports what it finds in one message:
# "shellcheck reported issue in this script: SC2086:info:1:6: Double quote ...".
_ACTIONLINT_SHELLCHECK = re.compile(r"^shellcheck reported issue in this script: (SC\d+):(\w+):")


def parse_actionlint(output: str, root: Path) -> list[Finding]:
    """``actionlint -format '{{json .}}'`` output: a JSON array of errors (its kind is the rule; a
    shellcheck finding in a `run:` script takes shellcheck's code and level)."""
    if not output.strip():
        return []
    findings = []
    for item in json.loads(output) or []:
        message = item["message"]
        rule, level = item.get("kind") or "actionlint", "error"
        if match := _ACTIONLINT_SHELLCHECK.match(message):
            rule, level = match[1], match[2]
        findings.append(
            Finding(
                path=relative_path(item["filepath"], root),
                line=max(int(item.get("line") or 1), 1),
                column=max(int(item.get("column") or 0), 0),
                tool="actionlint",
                rule=rule,
                severity=severity(level),
                message=message,
            )
        )
    return findings


# mypy's text output as lint runs it (--show-column-numbers --show-error-codes --no-pretty):
# "PATH:LINE:COLUMN: error: MESSAGE  [CODE]"; a file-level error has no line; a note adds to the
# error before it at the same place (or, alone, is its own line, as reveal_type's).
_MYPY_LINE = re.compile(
    r"^(?P<path>.+?):(?:(?P<line>-?\d+):)?(?:(?P<column>-?\d+):)? (?P<level>error|warning|note): "
    r"(?P<message>.*?)(?:  \[(?P<code>[a-z0-9-]+)\])?$"
)
_MYPY_CHECKED = re.compile(r"(?:checked|found in) (\d+) source files?\)?$")


def parse_mypy(output: str, root: Path) -> list[Finding]:
    """mypy's text output (see _MYPY_LINE); the summary and a note's continuation lines are skipped."""
    findings: list[Finding] = []
    for text in output.splitlines():
        match = _MYPY_LINE.match(text.rstrip())
        if not match:
            continue
        path = relative_path(match["path"], root)
        line = max(int(match["line"] or 1), 1)
        last = findings[-1] if findings else None
        if match["level"] == "note" and last and (last.path, last.line) == (path, line):
            joint = " " if last.message.endswith((":", ",")) else "; "
            findings[-1] = replace(last, message=f"{last.message}{joint}{match['message'].strip()}")
            continue
        findings.append(
            Finding(
                path=path,
                line=line,
                column=max(int(match["column"] or 0), 0),
                tool="mypy",
                rule=match["code"] or "misc",
                severity=severity(match["level"]),
                message=match["message"],
            )
        )
    return findings


def mypy_files_checked(output: str) -> int | None:
    """The count in mypy's summary line; None when it has none (a blocking error stopped it)."""
    for text in reversed(output.splitlines()):
        match = _MYPY_CHECKED.search(text.strip())
        if match:
            return int(match[1])
    return None


def rule_url(rule: str) -> str:
    """Where a rule is explained, for the rules whose documentation has a stable address."""
    if rule.startswith("SC") and rule[2:].isdigit():
        return f"https://www.shellcheck.net/wiki/{rule}"
    if rule.startswith("DL") and rule[2:].isdigit():
        return f"https://github.com/hadolint/hadolint/wiki/{rule}"
    return ""


def merge(results: Iterable[ToolResult]) -> list[Finding]:
    """All findings, de-duplicated and sorted by file, line, column."""
    return sorted({finding for result in results for finding in result.findings})


def _shown(finding: Finding) -> Finding:
    """The finding as reports show it: names on one line, the message cleaned (one per finding,
    so the counts in every format stay those of `merge`)."""
    return replace(
        finding,
        path=one_line(finding.path),
        tool=one_line(finding.tool),
        rule=one_line(finding.rule),
        severity=one_line(finding.severity),
        message=clean_text(finding.message),
    )


def _shown_findings(results: Sequence[ToolResult]) -> list[Finding]:
    return [_shown(finding) for finding in merge(results)]


def _artifact_uri(path: str) -> str:
    """A relative path as a URI reference made of the file name's own bytes, percent-encoded
    (a name that was not UTF-8 arrives with surrogate escapes; any other surrogate can't be a name)."""
    try:
        raw = path.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = clean_text(path).encode("utf-8")
    return quote(raw, safe="/")


def _summary_rows(results: Sequence[ToolResult]) -> list[dict[str, object]]:
    return [
        {
            "tool": one_line(result.tool),
            "files_checked": result.files_checked,
            "findings": len(result.findings),
            "skipped": clean_text(result.skipped) or None,
        }
        for result in results
    ]


def render_tty(results: Sequence[ToolResult]) -> str:
    lines = [
        f"{f.location()}: {f.severity}: {one_line(f.message)} [{f.tool} {f.rule}]"
        for f in _shown_findings(results)
    ]
    lines.extend(result.summary() for result in results)
    return "\n".join(lines) + "\n"


def render_json(results: Sequence[ToolResult]) -> str:
    document = {
        "findings": [asdict(finding) for finding in _shown_findings(results)],
        "tools": _summary_rows(results),
    }
    return json.dumps(document, indent=2) + "\n"


def render_checkstyle(results: Sequence[ToolResult]) -> str:
    root = ET.Element("checkstyle", version="4.3")
    by_file: dict[str, ET.Element] = {}
    for finding in _shown_findings(results):
        file_element = by_file.get(finding.path)
        if file_element is None:
            file_element = by_file[finding.path] = ET.SubElement(root, "file", name=finding.path)
        attributes = {
            "line": str(finding.line),
            "severity": finding.severity,
            "message": finding.message,
            "source": f"{finding.tool}.{finding.rule}",
        }
        if finding.column:
            attributes["column"] = str(finding.column)
        ET.SubElement(file_element, "error", attributes)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def render_sarif(results: Sequence[ToolResult]) -> str:
    """SARIF 2.1.0 with one run per tool, the shape code-scanning uploads expect for merged reports."""
    runs = []
    for result in results:
        raw = sorted(set(result.findings))
        findings = [_shown(finding) for finding in raw]
        rule_ids = sorted({finding.rule for finding in findings})
        rules = []
        for rule_id in rule_ids:
            rule: dict[str, object] = {"id": rule_id}
            if help_uri := rule_url(rule_id):
                rule["helpUri"] = help_uri
            rules.append(rule)
        sarif_results = []
        for original, finding in zip(raw, findings, strict=True):
            region: dict[str, int] = {"startLine": max(finding.line, 1)}
            if finding.column > 0:
                region["startColumn"] = finding.column
            sarif_results.append(
                {
                    "ruleId": finding.rule,
                    "ruleIndex": rule_ids.index(finding.rule),
                    "level": _SARIF_LEVEL.get(finding.severity, "warning"),
                    "message": {"text": finding.message},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {
                                    "uri": _artifact_uri(original.path),
                                    "uriBaseId": "%SRCROOT%",
                                },
                                "region": region,
                            }
                        }
                    ],
                }
            )
        driver: dict[str, object] = {"name": one_line(result.tool), "rules": rules}
        if result.tool in TOOL_URLS:
            driver["informationUri"] = TOOL_URLS[result.tool]
        run: dict[str, object] = {
            "tool": {"driver": driver},
            "results": sarif_results,
        }
        if result.skipped:
            run["invocations"] = [
                {
                    "executionSuccessful": True,
                    "toolExecutionNotifications": [
                        {"level": "note", "message": {"text": clean_text(result.skipped)}}
                    ],
                }
            ]
        runs.append(run)
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": runs,
    }
    return json.dumps(document, indent=2) + "\n"


def render_html(results: Sequence[ToolResult]) -> str:
    """A page for people: one line per tool, then the findings file by file."""
    findings = _shown_findings(results)
    status = (
        '<span class="good">clean</span>'
        if not findings
        else f'<span class="bad">{len(findings)} finding(s)</span>'
    )
    tools = html_page.table(
        ["tool", "files checked", "findings", "note"],
        (
            [
                html_page.text(result.tool),
                str(result.files_checked),
                str(len(result.findings)),
                html_page.text(f"skipped: {result.skipped}" if result.skipped else result.note),
            ]
            for result in results
        ),
        numeric=[1, 2],
    )
    sections = [f"<h1>Lint — {status}</h1>", tools]
    by_file: dict[str, list[Finding]] = {}
    for finding in findings:
        by_file.setdefault(finding.path, []).append(finding)
    for path, in_file in by_file.items():
        rows = []
        for finding in in_file:
            where = f"{finding.line}:{finding.column}" if finding.column else str(finding.line)
            rule = html_page.text(f"{finding.tool} {finding.rule}")
            if url := rule_url(finding.rule):
                rule = f'<a href="{html.escape(url)}">{rule}</a>'
            rows.append([where, html_page.text(finding.severity), rule, html_page.text(finding.message)])
        sections.append(f"<h2>{html_page.code(path)} ({len(in_file)})</h2>")
        sections.append(html_page.table(["line", "severity", "rule", "message"], rows))
    return html_page.page("Lint findings", sections)


RENDERERS = {
    "tty": render_tty,
    "checkstyle": render_checkstyle,
    "json": render_json,
    "sarif": render_sarif,
    "html": render_html,
}


def render(results: Sequence[ToolResult], output_format: str) -> str:
    return RENDERERS[output_format](results)
