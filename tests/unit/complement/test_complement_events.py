"""The go test -json stream parser on hand-made streams, malformed input included."""

from __future__ import annotations

import json

from tasks.complement.events import FAIL, PASS, SKIP, EventParser, parse_listing, short_package

CSAPI = "github.com/matrix-org/complement/tests/csapi"
FED = "github.com/matrix-org/complement/tests"


def ev(action: str, package: str = CSAPI, test: str = "", output: str | None = None) -> str:
    event: dict[str, object] = {"Time": "2026-01-01T00:00:00Z", "Action": action, "Package": package}
    if test:
        event["Test"] = test
    if output is not None:
        event["Output"] = output
    return json.dumps(event)


def test_parent_and_subtests_are_recorded_per_package() -> None:
    parser = EventParser()
    parser.feed_all(
        [
            ev("start"),
            ev("run", test="TestLogin"),
            ev("run", test="TestLogin/parallel"),
            ev("pass", test="TestLogin/parallel"),
            ev("pass", test="TestLogin"),
            ev("run", FED, "TestLogin"),
            ev("skip", FED, "TestLogin"),
            ev("fail", test="TestSync"),
            ev("pass"),
            ev("fail", FED),
        ]
    )
    state = parser.finish()
    assert state.results == {
        (CSAPI, "TestLogin"): PASS,
        (CSAPI, "TestLogin/parallel"): PASS,
        (FED, "TestLogin"): SKIP,
        (CSAPI, "TestSync"): FAIL,
    }
    assert state.packages == {CSAPI: PASS, FED: FAIL}
    assert state.counts() == {PASS: 2, FAIL: 1, SKIP: 1}
    assert state.malformed == 0


def test_malformed_lines_are_counted_not_fatal() -> None:
    parser = EventParser()
    lines = [
        "go: downloading something",  # not JSON
        "[1, 2]",  # JSON, not an object
        '{"Package": "x"}',  # no Action
        '{"Action": 3, "Test": "T"}',  # wrong type
        '{"Action": "output", "Test": "T", "Output": 5}',  # wrong output type
        '{"Action": "pass", "Package": "p", "Test": "T"',  # truncated
        "",  # blank lines are not events and not malformed
        ev("pass", test="TestOk"),
    ]
    state = parser.feed_all(lines)
    assert state.malformed == 6
    assert state.results == {(CSAPI, "TestOk"): PASS}
    assert state.malformed_samples[0] == "go: downloading something"


def test_output_streams_to_the_sink_and_failures_keep_theirs() -> None:
    seen: list[tuple[str, str, str]] = []
    parser = EventParser(lambda package, test, output: seen.append((package, test, output)))
    parser.feed_all(
        [
            ev("run", test="TestA"),
            ev("output", test="TestA", output="=== RUN TestA\n"),
            ev("output", test="TestA", output="server log: boom\n"),
            ev("fail", test="TestA"),
            ev("run", test="TestB"),
            ev("output", test="TestB", output="fine\n"),
            ev("pass", test="TestB"),
            ev("output", output="FAIL\n"),
        ]
    )
    state = parser.finish()
    assert len(seen) == 4
    assert seen[-1] == (CSAPI, "", "FAIL\n")
    assert state.failure_output == {(CSAPI, "TestA"): ["=== RUN TestA\n", "server log: boom\n"]}
    assert not state.running


def test_result_hook_sees_tests_and_packages_with_elapsed() -> None:
    seen: list[tuple[str, str, str, float | None]] = []
    parser = EventParser(on_result=lambda *args: seen.append(args))
    parser.feed('{"Action":"pass","Package":"p","Test":"T","Elapsed":1.5}')
    parser.feed('{"Action":"fail","Package":"p","Elapsed":"x"}')
    parser.feed('{"Action":"output","Package":"p","Test":"T","Output":"x"}')
    assert seen == [("p", "T", "pass", 1.5), ("p", "", "fail", None)]


def test_top_level_tests_keep_their_duration_summed_over_repeats() -> None:
    parser = EventParser()
    parser.feed('{"Action":"pass","Package":"p","Test":"T/sub","Elapsed":0.5}')
    parser.feed('{"Action":"pass","Package":"p","Test":"T","Elapsed":1.5}')
    parser.feed('{"Action":"fail","Package":"p","Test":"T","Elapsed":2}')
    parser.feed('{"Action":"pass","Package":"p","Test":"U"}')
    parser.feed('{"Action":"pass","Package":"p","Elapsed":9}')
    assert parser.state.durations == {("p", "T"): 3.5}


def test_repeated_runs_keep_the_worst_outcome() -> None:
    parser = EventParser()
    parser.feed_all([ev("pass", test="T"), ev("fail", test="T"), ev("pass", test="T"), ev("skip", test="S")])
    parser.feed_all([ev("pass", test="S")])
    assert parser.state.results == {(CSAPI, "T"): FAIL, (CSAPI, "S"): PASS}


def test_tests_without_a_result_fail_at_the_end_of_the_stream() -> None:
    parser = EventParser()
    parser.feed_all([ev("run", test="TestHang"), ev("output", test="TestHang", output="waiting\n")])
    state = parser.finish()
    assert state.results == {(CSAPI, "TestHang"): FAIL}
    assert state.failure_output[(CSAPI, "TestHang")][0] == "waiting\n"
    assert "no result" in state.failure_output[(CSAPI, "TestHang")][-1]


def test_bytes_and_undecodable_input() -> None:
    parser = EventParser()
    parser.feed(ev("pass", test="T").encode())
    parser.feed(b"\xff\xfe not json")
    assert parser.state.results == {(CSAPI, "T"): PASS}
    assert parser.state.malformed == 1


def test_output_is_bounded_per_test() -> None:
    parser = EventParser()
    parser.state.output_limit = 3
    parser.feed_all([ev("run", test="T")] + [ev("output", test="T", output=f"{i}\n") for i in range(10)])
    parser.feed(ev("fail", test="T"))
    assert parser.state.failure_output[(CSAPI, "T")] == ["0\n", "1\n", "2\n"]


def test_short_package_drops_the_complement_module_prefix() -> None:
    assert short_package(CSAPI) == "tests/csapi"
    assert short_package("example.com/other") == "example.com/other"


def test_listing_from_a_test_list_run() -> None:
    lines = [
        ev("start"),
        ev("output", output="2026/11/22 07:00:00 config: &{BaseImageURI:none}\n"),
        ev("output", output="TestLogin\n"),
        ev("output", output="TestRegistration\n"),
        ev("pass"),
        ev("start", FED),
        ev("output", FED, output="TestACLs\n"),
        "not json",
        ev("pass", FED),
        ev("start", "example.com/empty"),
    ]
    assert parse_listing(lines) == {
        CSAPI: frozenset({"TestLogin", "TestRegistration"}),
        FED: frozenset({"TestACLs"}),
        "example.com/empty": frozenset(),
    }
