"""`inv complement`'s options: the suite settings they make over the config, checked before anything
is built."""

from __future__ import annotations

import pytest

from tasks.complement.options import RunOptions, parse_testee_env, positive_int, suite_settings
from tasks.complement.select import Selection, anchored_names
from tasks.shared.errors import BAD_INPUT, BakehouseError

KNOWN = ("./tests/csapi", "./tests")


@pytest.fixture(autouse=True)
def no_compiled_packages_variable(monkeypatch):
    # The environment's complement_packages would override the configured bake variable.
    monkeypatch.delenv("complement_packages", raising=False)


@pytest.mark.parametrize(("value", "number"), [("3", 3), (1, 1), ("12", 12)])
def test_positive_int_takes_whole_numbers_from_one(value, number):
    assert positive_int(value, "parallel") == number


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5", ""])
def test_positive_int_refuses_anything_else_naming_the_option(value):
    with pytest.raises(BakehouseError) as caught:
        positive_int(value, "count")
    assert caught.value.code == BAD_INPUT
    assert str(caught.value) == f"--count {value!r}: expected a positive whole number"


def test_testee_env_pairs_split_at_the_first_equals_sign():
    assert parse_testee_env(["A=1", "B_2=x=y", "_C="]) == {"A": "1", "B_2": "x=y", "_C": ""}
    assert parse_testee_env([]) == {}


@pytest.mark.parametrize("pair", ["NOVALUE", "=x", "1A=x", "A-B=1", "A B=1"])
def test_testee_env_refuses_pairs_without_a_valid_name(pair):
    with pytest.raises(BakehouseError) as caught:
        parse_testee_env([pair])
    assert caught.value.code == BAD_INPUT
    assert str(caught.value) == f"--testee-env {pair!r}: expected NAME=VALUE"


def test_settings_without_options_are_the_configured_ones(make_settings):
    c = make_settings()
    settings, selection = suite_settings(c, RunOptions())
    conf = c.complement
    assert settings.run == anchored_names(conf.run)
    assert (settings.skip, settings.packages, settings.timeout) == ("", KNOWN, "30m")
    assert (settings.parallel, settings.count, settings.shuffle, settings.spawn_timeout) == (2, 1, "off", 120)
    assert (settings.dirty, settings.share_env_prefix, settings.always_print_server_logs) == (
        False, "BAKEHOUSE_TESTEE_", False,
    )  # fmt: skip
    assert settings.base_image == ""  # set per cell
    assert selection == Selection(KNOWN, run=settings.run, skip="")


def test_options_win_over_the_config(make_settings):
    options = RunOptions(
        run="TestLogin", skip="TestLogin/x", packages="./tests/csapi, ./tests", timeout="1h30m",
        parallel="4", count="2", shuffle="1234", dirty=True,
    )  # fmt: skip
    settings, selection = suite_settings(make_settings(), options)
    assert (settings.run, settings.skip, settings.packages) == ("TestLogin", "TestLogin/x", KNOWN)
    assert (settings.timeout, settings.parallel, settings.count, settings.shuffle) == ("1h30m", 4, 2, "1234")
    assert settings.dirty
    assert selection == Selection(KNOWN, run="TestLogin", skip="TestLogin/x")


def test_an_empty_run_option_selects_everything_instead_of_the_curated_subset(make_settings):
    settings, _ = suite_settings(make_settings(), RunOptions(run="", packages="tests/csapi"))
    assert (settings.run, settings.packages) == ("", ("tests/csapi",))


def test_all_selects_every_test_and_keeps_the_skip_list(make_settings):
    c = make_settings(complement={"skip": ["TestFlaky"]})
    settings, selection = suite_settings(c, RunOptions(all_tests=True))
    assert (settings.run, settings.skip) == ("", "TestFlaky")
    assert selection.test_selected("TestAnything") and not selection.test_selected("TestFlaky")


def test_all_with_run_is_bad_input(make_settings):
    with pytest.raises(BakehouseError) as caught:
        suite_settings(make_settings(), RunOptions(all_tests=True, run="TestLogin"))
    assert caught.value.code == BAD_INPUT
    assert str(caught.value).startswith("--all selects every test of the packages: leave out --run")


def test_packages_are_checked_against_what_the_tester_compiled(make_settings, monkeypatch):
    with pytest.raises(BakehouseError) as caught:
        suite_settings(make_settings(), RunOptions(packages="./tests/other"))
    assert str(caught.value) == (
        "--packages './tests/other': the tester has no such package (compiled: ./tests ./tests/csapi)"
    )
    # The bake variable from the environment wins over the configured one.
    monkeypatch.setenv("complement_packages", "./tests/other")
    settings, _ = suite_settings(make_settings(), RunOptions(packages="./tests/other"))
    assert settings.packages == ("./tests/other",)


def test_configured_packages_are_refused_under_the_config_name(make_settings):
    with pytest.raises(BakehouseError) as caught:
        suite_settings(make_settings(complement={"packages": ["./tests/other"]}), RunOptions())
    assert str(caught.value).startswith("complement.packages './tests/other': the tester has no such package")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"run": "Test("}, "--run 'Test(': invalid regular expression (missing ), unterminated subpattern"),
        ({"skip": "Test(?=x)"}, "--skip 'Test(?=x)': invalid regular expression (Go regexps (RE2) have no "
                                "lookahead '(?='"),
        ({"timeout": "3d"}, "--timeout 3d: Go durations have no days or weeks; use 72h"),
        ({"shuffle": "maybe"}, "--shuffle 'maybe': expected off, on or a seed number"),
        ({"parallel": "0"}, "--parallel '0': expected a positive whole number"),
        ({"count": "x"}, "--count 'x': expected a positive whole number"),
    ],
)  # fmt: skip
def test_bad_options_are_refused_before_anything_is_built(make_settings, options, message):
    with pytest.raises(BakehouseError) as caught:
        suite_settings(make_settings(), RunOptions(**options))
    assert caught.value.code == BAD_INPUT
    assert str(caught.value).startswith(message)


def test_a_bad_configured_spawn_timeout_is_refused(make_settings):
    with pytest.raises(BakehouseError) as caught:
        suite_settings(make_settings(complement={"spawn_timeout": 0}), RunOptions())
    assert str(caught.value) == "--spawn-timeout 0: expected a positive whole number"
