"""Parsing each tool's output into findings, merging them, and the four report formats."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tasks.lint.findings import (
    Finding,
    ToolResult,
    merge,
    parse_hadolint,
    parse_ruff,
    parse_ruff_format_check,
    parse_shellcheck,
    relative_path,
    render,
    rule_url,
)

ROOT = Path("/work/tree")

# Real outputs (shellcheck 0.11 -f json1, hadolint 2.15 -f json, ruff 0.17 --output-format json).
SHELLCHECK = json.dumps(
    {
        "comments": [
            {"file": "scripts/greet", "line": 4, "endLine": 4, "column": 21, "endColumn": 23, "level": "info",
             "code": 2086, "message": "Double quote to prevent globbing and word splitting.", "fix": None},
            {"file": "./a.sh", "line": 3, "endLine": 3, "column": 1, "endColumn": 6, "level": "warning",
             "code": 2164, "message": "Use 'cd ... || exit' in case cd fails.", "fix": None},
        ]
    }
)  # fmt: skip
HADOLINT = json.dumps(
    [
        {"code": "DL3003", "column": 1, "file": "images/Dockerfile.app", "level": "warning", "line": 3,
         "message": "Use WORKDIR to switch to a directory"},
        {"code": "SC2086", "column": 1, "file": "images/Dockerfile.app", "level": "info", "line": 2,
         "message": "Double quote to prevent globbing and word splitting."},
    ]
)  # fmt: skip
RUFF = json.dumps(
    [
        {"code": "F401", "message": "`os` imported but unused", "filename": "/work/tree/tasks/x.py",
         "location": {"row": 3, "column": 8}, "end_location": {"row": 3, "column": 10}, "fix": None},
        {"code": None, "message": "SyntaxError: Expected an expression", "filename": "/work/tree/bad.py",
         "location": {"row": 1, "column": 5}, "end_location": {"row": 1, "column": 6}, "fix": None},
        {"code": "unformatted", "message": "File would be reformatted", "filename": "/work/tree/tasks/y.py",
         "location": {"row": 78, "column": 18}, "end_location": {"row": 80, "column": 1}, "fix": None},
    ]
)  # fmt: skip


def test_shellcheck_findings_have_relative_paths_and_sc_rules():
    findings = parse_shellcheck(SHELLCHECK, ROOT)
    assert findings[0] == Finding(
        "scripts/greet",
        4,
        21,
        "shellcheck",
        "SC2086",
        "info",
        "Double quote to prevent globbing and word splitting.",
    )
    assert findings[1].path == "a.sh"
    assert findings[1].severity == "warning"


def test_hadolint_keeps_embedded_shellcheck_rules():
    findings = parse_hadolint(HADOLINT, ROOT)
    assert [(f.rule, f.line, f.severity) for f in findings] == [
        ("DL3003", 3, "warning"),
        ("SC2086", 2, "info"),
    ]


def test_ruff_syntax_errors_and_format_findings():
    findings = parse_ruff(RUFF, ROOT)
    assert [(f.path, f.rule, f.severity) for f in findings] == [
        ("tasks/x.py", "F401", "warning"),
        ("bad.py", "syntax-error", "error"),
        ("tasks/y.py", "format", "warning"),
    ]
    assert findings[2].message == "file would be reformatted (ruff format)"


def test_old_ruff_format_check_text():
    output = "Would reformat: tasks/a.py\nWould reformat: /work/tree/b.py\n2 files would be reformatted\n"
    assert [f.path for f in parse_ruff_format_check(output, ROOT)] == ["tasks/a.py", "b.py"]


def test_empty_outputs_mean_no_findings():
    assert parse_shellcheck("", ROOT) == parse_hadolint(" ", ROOT) == parse_ruff("", ROOT) == []


def test_paths_outside_the_tree_stay_absolute():
    assert relative_path("/elsewhere/x.sh", ROOT) == "/elsewhere/x.sh"


def results() -> list[ToolResult]:
    shellcheck = ToolResult("shellcheck", files_checked=2, findings=parse_shellcheck(SHELLCHECK, ROOT))
    hadolint = ToolResult("hadolint", files_checked=1, findings=parse_hadolint(HADOLINT, ROOT))
    skipped = ToolResult("bake", skipped="no bake files in this tree")
    return [shellcheck, hadolint, skipped]


def test_merge_sorts_by_file_and_line_and_drops_duplicates():
    doubled = [*results(), ToolResult("hadolint", findings=parse_hadolint(HADOLINT, ROOT))]
    merged = merge(doubled)
    assert len(merged) == 4
    assert [(f.path, f.line) for f in merged] == sorted((f.path, f.line) for f in merged)


def test_summary_lines():
    lines = [result.summary() for result in results()]
    assert lines == [
        "shellcheck: 2 files checked, 2 findings",
        "hadolint: 1 file checked, 2 findings",
        "bake: skipped: no bake files in this tree",
    ]


def test_tty_lists_findings_then_one_summary_per_tool():
    text = render(results(), "tty").splitlines()
    assert text[0] == "a.sh:3:1: warning: Use 'cd ... || exit' in case cd fails. [shellcheck SC2164]"
    assert text[-3:] == [result.summary() for result in results()]


def test_json_report():
    document = json.loads(render(results(), "json"))
    assert len(document["findings"]) == 4
    assert document["tools"][2] == {
        "tool": "bake",
        "files_checked": 0,
        "findings": 0,
        "skipped": "no bake files in this tree",
    }


def test_checkstyle_groups_errors_by_file():
    root = ET.fromstring(render(results(), "checkstyle"))
    assert root.tag == "checkstyle"
    files = {element.get("name"): element for element in root.findall("file")}
    assert set(files) == {"a.sh", "images/Dockerfile.app", "scripts/greet"}
    errors = files["images/Dockerfile.app"].findall("error")
    assert [(e.get("line"), e.get("source"), e.get("severity")) for e in errors] == [
        ("2", "hadolint.SC2086", "info"),
        ("3", "hadolint.DL3003", "warning"),
    ]


def test_sarif_has_one_run_per_tool_with_rules_and_locations():
    document = json.loads(render(results(), "sarif"))
    assert document["version"] == "2.1.0"
    runs = {run["tool"]["driver"]["name"]: run for run in document["runs"]}
    assert set(runs) == {"shellcheck", "hadolint", "bake"}
    hadolint = runs["hadolint"]
    rule_ids = [rule["id"] for rule in hadolint["tool"]["driver"]["rules"]]
    assert rule_ids == ["DL3003", "SC2086"]
    first = hadolint["results"][0]
    assert rule_ids[first["ruleIndex"]] == first["ruleId"]
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "images/Dockerfile.app"
    assert {first["level"] for first in hadolint["results"]} == {"warning", "note"}
    notification = runs["bake"]["invocations"][0]["toolExecutionNotifications"][0]
    assert notification["message"]["text"] == "no bake files in this tree"


@pytest.mark.parametrize(
    ("rule", "url"),
    [
        ("SC2086", "https://www.shellcheck.net/wiki/SC2086"),
        ("DL3003", "https://github.com/hadolint/hadolint/wiki/DL3003"),
        ("pin-digest", ""),
        ("format", ""),
    ],
)
def test_rule_urls(rule, url):
    assert rule_url(rule) == url
