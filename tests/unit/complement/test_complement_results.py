"""Results files: sorted, de-duplicated rows; tolerant reading; atomic baseline writes."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from tasks.complement.results import (
    LogsWriter,
    load_results,
    parse_results,
    render_results,
    write_atomically,
    write_results,
)

CSAPI = "github.com/matrix-org/complement/tests/csapi"
FED = "github.com/matrix-org/complement/tests"


def test_rows_are_sorted_by_package_then_test_and_compact() -> None:
    text = render_results({(FED, "TestB"): "pass", (CSAPI, "TestZ"): "fail", (CSAPI, "TestA/x"): "skip"})
    rows = [json.loads(line) for line in text.splitlines()]
    assert [(r["Package"], r["Test"]) for r in rows] == [(FED, "TestB"), (CSAPI, "TestA/x"), (CSAPI, "TestZ")]
    assert text.splitlines()[1] == f'{{"Action":"skip","Package":"{CSAPI}","Test":"TestA/x"}}'


def test_same_test_name_in_two_packages_is_two_rows() -> None:
    text = render_results({(FED, "TestLogin"): "pass", (CSAPI, "TestLogin"): "fail"})
    assert len(text.splitlines()) == 2


def test_rendered_results_parse_back_and_malformed_rows_are_counted() -> None:
    results = {(CSAPI, "TestA"): "pass", (FED, "TestB/c"): "fail"}
    text = render_results(results)
    extra = [
        "not json",
        '{"Action":"run","Package":"p","Test":"T"}',  # not an outcome
        '{"Action":"pass","Package":"p"}',  # no test
        "[]",
        "",
    ]
    loaded = parse_results(text.splitlines() + extra)
    assert loaded.results == results
    assert loaded.malformed == 4


def test_rows_without_package_load_with_an_empty_package() -> None:
    # The reference format keyed rows by Test alone; such rows still load, and are counted.
    loaded = parse_results(
        ['{"Action":"pass","Test":"TestLogin"}', '{"Action":"pass","Package":"","Test":"T"}']
    )
    assert loaded.results == {("", "TestLogin"): "pass", ("", "T"): "pass"}
    assert loaded.legacy == 2


def test_rows_without_package_can_be_given_one() -> None:
    lines = ['{"Action":"pass","Test":"TestLogin"}', f'{{"Action":"fail","Package":"{FED}","Test":"TestB"}}']
    loaded = parse_results(lines, package=CSAPI)
    assert loaded.results == {(CSAPI, "TestLogin"): "pass", (FED, "TestB"): "fail"}
    assert loaded.legacy == 1


def test_duplicates_and_conflicts_are_counted_and_the_worse_outcome_kept() -> None:
    lines = [
        '{"Action":"pass","Test":"TestA"}',
        '{"Action":"pass","Test":"TestA"}',  # duplicate
        '{"Action":"pass","Test":"TestB"}',
        '{"Action":"fail","Test":"TestB"}',  # conflict: fail is worse
        '{"Action":"pass","Test":"TestB"}',  # the same conflict again: counted once
        '{"Action":"skip","Test":"TestC"}',
        '{"Action":"pass","Test":"TestC"}',  # as for --count > 1, a pass outranks a skip
        "{",
    ]
    loaded = parse_results(lines)
    assert loaded.results == {("", "TestA"): "pass", ("", "TestB"): "fail", ("", "TestC"): "pass"}
    assert (loaded.rows, loaded.kept, loaded.duplicates, loaded.malformed) == (8, 3, 4, 1)
    assert loaded.rows == loaded.kept + loaded.duplicates + loaded.malformed
    assert loaded.conflicts == [("", "TestB"), ("", "TestC")]


def test_missing_baseline_is_empty(tmp_path: Path) -> None:
    assert load_results(tmp_path / "none.jsonl").results == {}


def test_atomic_write_replaces_and_keeps_mode(tmp_path: Path) -> None:
    path = tmp_path / "baseline" / "results.jsonl"
    write_results(path, {(CSAPI, "TestA"): "pass"})
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    os.chmod(path, 0o664)
    write_results(path, {(CSAPI, "TestA"): "fail"})
    assert load_results(path).results == {(CSAPI, "TestA"): "fail"}
    assert oct(path.stat().st_mode & 0o777) == "0o664"
    assert [p.name for p in path.parent.iterdir()] == ["results.jsonl"]


def test_interrupted_write_leaves_the_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text("old\n")

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomically(path, "new\n" * 1000)
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["results.jsonl"]


def test_logs_writer_writes_one_row_per_output() -> None:
    handle = io.StringIO()
    writer = LogsWriter(handle)
    writer(CSAPI, "TestA", "line 1\n")
    writer(CSAPI, "", "PASS\n")
    rows = [json.loads(line) for line in handle.getvalue().splitlines()]
    assert rows == [
        {"Package": CSAPI, "Test": "TestA", "Output": "line 1\n"},
        {"Package": CSAPI, "Test": "", "Output": "PASS\n"},
    ]
    assert writer.rows == 2
