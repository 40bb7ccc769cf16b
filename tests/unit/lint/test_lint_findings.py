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
    mypy_files_checked,
    parse_hadolint,
    parse_mypy,
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

# Real output (mypy 2.4 --show-column-numbers --show-error-codes --no-pretty): a note that follows
# an error at its place, a note on its own, and a file-level error with its multi-line hint.
MYPY = """\
a.py:2:13: note: Revealed type is "int"
/work/tree/tasks/x.py:4:10: error: Incompatible types in assignment (expression has type "str", \
variable has type "int")  [assignment]
/work/tree/tasks/x.py:5:1: error: Cannot find implementation or library stub for module named "nothere"  \
[import-not-found]
/work/tree/tasks/x.py:5:1: note: See https://mypy.readthedocs.io/en/stable/running_mypy.html#missing-imports
dup/d.py: error: Duplicate module named "d" (also at "d.py")
dup/d.py: note: Common resolutions include:
dup/d.py: note:     a) using `--exclude` to avoid checking one of them,
dup/d.py: note:     b) adding `__init__.py` somewhere
Found 3 errors in 2 files (checked 7 source files)
"""


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


def test_ruff_lint_syntax_and_format_findings_get_their_rule_and_severity():
    findings = parse_ruff(RUFF, ROOT)
    assert [(f.path, f.rule, f.severity) for f in findings] == [
        ("tasks/x.py", "F401", "warning"),
        ("bad.py", "syntax-error", "error"),
        ("tasks/y.py", "format", "warning"),
    ]
    assert findings[2].message == "file would be reformatted (ruff format)"


def test_old_ruffs_would_reformat_lines_become_tree_relative_findings():
    output = "Would reformat: tasks/a.py\nWould reformat: /work/tree/b.py\n2 files would be reformatted\n"
    assert [f.path for f in parse_ruff_format_check(output, ROOT)] == ["tasks/a.py", "b.py"]


def test_mypy_errors_carry_file_line_column_and_code_and_notes_join_their_error():
    findings = parse_mypy(MYPY, ROOT)
    assert [(f.path, f.line, f.column, f.rule, f.severity) for f in findings] == [
        ("a.py", 2, 13, "misc", "info"),
        ("tasks/x.py", 4, 10, "assignment", "error"),
        ("tasks/x.py", 5, 1, "import-not-found", "error"),
        ("dup/d.py", 1, 0, "misc", "error"),
    ]
    assert all(f.tool == "mypy" for f in findings)
    assert findings[1].message.endswith('variable has type "int")')
    assert findings[2].message == (
        'Cannot find implementation or library stub for module named "nothere";'
        " See https://mypy.readthedocs.io/en/stable/running_mypy.html#missing-imports"
    )
    assert findings[3].message == (
        'Duplicate module named "d" (also at "d.py"); Common resolutions include:'
        " a) using `--exclude` to avoid checking one of them, b) adding `__init__.py` somewhere"
    )


def test_mypy_summary_gives_the_files_checked_unless_an_error_stopped_it():
    assert mypy_files_checked(MYPY) == 7
    assert mypy_files_checked("Success: no issues found in 1 source file\n") == 1
    stopped = "c.py:1:6: error: Expected an identifier  [syntax]\n"
    stopped += "Found 1 error in 1 file (errors prevented further checking)\n"
    assert mypy_files_checked(stopped) is None


def test_empty_outputs_mean_no_findings():
    assert parse_shellcheck("", ROOT) == parse_hadolint(" ", ROOT) == parse_ruff("", ROOT) == []
    assert parse_mypy("Success: no issues found in 3 source files\n", ROOT) == []


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


def test_each_tool_has_a_summary_line_with_its_counts_or_skip():
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


def test_json_report_lists_the_findings_and_each_tools_counts_or_skip():
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
def test_shellcheck_and_hadolint_rules_link_to_their_wiki_and_ours_to_nothing(rule, url):
    assert rule_url(rule) == url
