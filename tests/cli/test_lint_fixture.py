"""`inv lint` on the fixture tree: exactly its four findings, in every format, and --fix.

The fixture has no bake files, so no engine is needed; the tools are the venv's real ones (actionlint
is built into the venv on first use when it isn't there).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import html5lib
import pytest

INV = str(Path(sys.executable).with_name("inv"))
FIXTURE = "tests/fixtures/lint"
EXPECTED = [
    (".github/workflows/ci.yml", 13, "actionlint", "action"),
    ("images/Dockerfile.app", 3, "hadolint", "DL3003"),
    ("images/Dockerfile.tool", 2, "pins", "pin-digest"),
    ("scripts/greet", 4, "shellcheck", "SC2086"),
]


def lint(repo_root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([INV, "lint", *args], cwd=repo_root, capture_output=True, text=True)


@pytest.fixture(scope="module", autouse=True)
def actionlint_in_the_venv() -> None:
    """A fresh venv builds actionlint on the first lint of a tree with workflows, and says so on
    stderr: one run first, so the exact-output tests below see what every later run prints."""
    first = lint(Path(__file__).resolve().parents[2], "--path", FIXTURE)
    said = first.stderr.splitlines()
    building = [line for line in said if "is not in the venv: building it" in line]
    assert said == [*building, "bakehouse: lint: 4 findings"], first.stderr


def test_fixture_has_exactly_the_four_findings_with_file_and_line(repo_root):
    result = lint(repo_root, "--path", FIXTURE)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        '.github/workflows/ci.yml:13:11: error: input "if-no-files-foud" is not defined in action'
        ' "actions/upload-artifact@v4". available inputs are "compression-level", "if-no-files-found",'
        ' "include-hidden-files", "name", "overwrite", "path", "retention-days" [actionlint action]'
    )
    assert lines[1].startswith("images/Dockerfile.app:3:1: warning: Use WORKDIR")
    assert lines[2].startswith("images/Dockerfile.tool:2: error: FROM image alpine:3.20 is not pinned")
    assert lines[3].startswith("scripts/greet:4:21: info: Double quote")
    assert lines[4:] == [
        "shellcheck: 2 files checked, 1 finding",
        "hadolint: 2 files checked, 1 finding",
        "pins: 2 files checked, 1 finding",
        f"bake: skipped: no bake files found under {repo_root / FIXTURE} (looked for docker-bake.* and"
        " any *.hcl or *.json defining a target, outside testdata/, third_party/, vendor/); pass --bake-file",
        "ruff: 0 files checked, 0 findings",
        "mypy: 0 files checked, 0 findings",
        # Both workflows (.yml and .yaml); release.yaml is clean.
        "actionlint: 2 files checked, 1 finding",
    ]
    assert result.stderr.strip() == "bakehouse: lint: 4 findings"


def test_json_format_is_the_same_three_findings(repo_root):
    result = lint(repo_root, "--path", FIXTURE, "--format", "json")
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert [(f["path"], f["line"], f["tool"], f["rule"]) for f in document["findings"]] == EXPECTED
    # Summaries go to stderr so stdout stays machine-readable.
    assert "bakehouse: shellcheck: 2 files checked, 1 finding" in result.stderr


def test_sarif_and_checkstyle_carry_the_same_findings(repo_root):
    sarif = json.loads(lint(repo_root, "--path", FIXTURE, "--format", "sarif").stdout)
    located = sorted(
        (
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            result["locations"][0]["physicalLocation"]["region"]["startLine"],
            run["tool"]["driver"]["name"],
            result["ruleId"],
        )
        for run in sarif["runs"]
        for result in run["results"]
    )
    assert located == EXPECTED
    checkstyle = ET.fromstring(lint(repo_root, "--path", FIXTURE, "--format", "checkstyle").stdout)
    errors = [(f.get("name"), e.get("line"), e.get("source")) for f in checkstyle for e in f]
    assert errors == [(path, str(line), f"{tool}.{rule}") for path, line, tool, rule in EXPECTED]


def test_html_format_is_a_page_with_the_same_findings(repo_root):
    result = lint(repo_root, "--path", FIXTURE, "--format", "html")
    assert result.returncode == 1
    document = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(result.stdout)
    tools, *by_file = document.iter("table")
    assert len(list(tools.iter("tr"))) == 1 + 7  # header and one row per tool
    cells = [
        ["".join(td.itertext()) for td in tr.findall("td")] for table in by_file for tr in table.iter("tr")
    ]
    shown = [(row[2], row[0].split(":")[0]) for row in cells if row]
    assert shown == [(f"{tool} {rule}", str(line)) for _, line, tool, rule in EXPECTED]
    headings = ["".join(h.itertext()) for h in document.iter("h2")]
    assert [h.split(" (")[0] for h in headings] == [path for path, _, _, _ in EXPECTED]


def test_unknown_format_is_bad_input(repo_root):
    result = lint(repo_root, "--path", FIXTURE, "--format", "xml")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "bakehouse: --format xml: expected one of tty, checkstyle, json, sarif, html"
    )


def test_fix_repairs_what_shellcheck_can(repo_root, tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(repo_root / FIXTURE, tree)
    result = lint(repo_root, "--path", str(tree), "--fix")
    assert result.returncode == 1
    assert "shellcheck: 2 files checked, 0 findings" in result.stdout
    assert (tree / "scripts" / "greet").read_text().endswith("printf 'hello %s\\n' \"$1\"\n")
    assert result.stderr.strip() == "bakehouse: lint: 3 findings"


def test_missing_path_is_bad_input(repo_root):
    result = lint(repo_root, "--path", "does/not/exist")
    assert result.returncode == 2
    assert "not a directory" in result.stderr
