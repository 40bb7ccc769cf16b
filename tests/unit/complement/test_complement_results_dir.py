"""A cell's results directory: its files' names, the run record written and read back."""

from __future__ import annotations

import json

import pytest

from tasks.complement.results_dir import COMPLETE, INCOMPLETE, RUNNING, ResultsDir, RunRecord


def test_the_files_of_a_results_directory_are_named_once(tmp_path):
    directory = ResultsDir(tmp_path)
    named = {
        directory.run_record: "run.json",
        directory.results: "results.jsonl",
        directory.logs: "logs.jsonl",
        directory.tester_log: "tester.log",
        directory.tester_stderr: "tester-stderr.log",
        directory.durations: "durations.json",
        directory.listing: "listing.json",
        directory.shard_record: "shard.json",
        directory.junit: "junit.xml",
        directory.html_report: "report.html",
        directory.summary: "summary.md",
    }
    assert {path: path.relative_to(tmp_path).as_posix() for path in named} == named


def test_run_status_is_replaced_whole(tmp_path):
    directory = ResultsDir(tmp_path)
    directory.write_record(RunRecord("run1", RUNNING))
    no_events = ["the tester printed no test events"]
    directory.write_record(RunRecord.finished("run1", no_events, packages={}, seconds=1))
    status = json.loads((tmp_path / "run.json").read_text())
    assert {key: status[key] for key in ("run_id", "state", "problems")} == {
        "run_id": "run1", "state": "incomplete", "problems": ["the tester printed no test events"],
    }  # fmt: skip
    assert isinstance(status["time"], float)
    assert [path.name for path in tmp_path.iterdir()] == ["run.json"]


def test_a_running_record_holds_no_packages_nor_seconds(tmp_path):
    ResultsDir(tmp_path).write_record(RunRecord("run1", RUNNING))
    assert list(json.loads((tmp_path / "run.json").read_text())) == ["run_id", "state", "problems", "time"]


def test_a_finished_run_records_its_packages_and_seconds(tmp_path):
    record = RunRecord.finished("run1", [], packages={"p2": "pass", "p1": "fail"}, seconds=12.345)
    assert (record.state, record.complete) == (COMPLETE, True)
    ResultsDir(tmp_path).write_record(record)
    status = json.loads((tmp_path / "run.json").read_text())
    assert (status["packages"], status["seconds"]) == ({"p1": "fail", "p2": "pass"}, 12.3)


def test_a_record_reads_back_as_written_to_the_tenth_of_a_second(tmp_path):
    directory = ResultsDir(tmp_path)
    problems = ["package ./tests did not finish"]
    directory.write_record(RunRecord.finished("run1", problems, packages={"p": "fail"}, seconds=3.04))
    assert directory.read_record() == RunRecord(
        "run1", INCOMPLETE, ("package ./tests did not finish",), {"p": "fail"}, 3.0
    )


@pytest.mark.parametrize("text", [None, "not json", "[1, 2]"], ids=["missing", "not-json", "not-an-object"])
def test_an_unreadable_record_reads_as_none(tmp_path, text):
    if text is not None:
        (tmp_path / "run.json").write_text(text)
    assert ResultsDir(tmp_path).read_record() is None


def test_a_record_read_back_keeps_only_its_well_formed_fields(tmp_path):
    document = {"state": 3, "problems": "x", "packages": {"p": "pass", "q": "maybe", "r": []}, "seconds": "1"}
    (tmp_path / "run.json").write_text(json.dumps(document))
    assert ResultsDir(tmp_path).read_record() == RunRecord("", "", (), {"p": "pass"}, None)


def test_a_merge_removes_an_earlier_runs_tester_files_only(tmp_path):
    directory = ResultsDir(tmp_path)
    for path in (directory.logs, directory.tester_log, directory.tester_stderr, directory.results):
        path.write_text("earlier\n")
    directory.remove_tester_files()
    assert [path.name for path in tmp_path.iterdir()] == ["results.jsonl"]


def test_the_tester_stderr_tail_is_its_last_lines_or_none_without_a_tester(tmp_path):
    directory = ResultsDir(tmp_path)
    assert directory.tester_stderr_tail(2) is None
    directory.tester_stderr.write_bytes(b"one\ntwo\n\xffthree\n")
    assert directory.tester_stderr_tail(2) == ["two", "\ufffdthree"]


def test_reset_empties_the_directory(tmp_path):
    directory = ResultsDir(tmp_path / "cell")
    directory.reset()
    directory.results.write_text("earlier\n")
    directory.reset()
    assert list(directory.path.iterdir()) == []
