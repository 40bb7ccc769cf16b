"""The start-up benchmark's figures and row, and how it finds (or skips) a command line."""

from __future__ import annotations

import sys

from bench.bench_startup import Startup, describe, program, row


def test_a_figure_is_seconds_and_the_ratio_to_the_floor_with_its_goal():
    goal = Startup("inv --list", ("inv", "--list"), goal=1.6)
    assert describe(goal, 0.21, 0.14) == "inv --list 0.21 s (ratio 1.50, goal ≤ 1.6: met)"
    assert describe(goal, 0.53, 0.14) == "inv --list 0.53 s (ratio 3.79, goal ≤ 1.6: NOT met)"
    assert describe(Startup("other", ("other",)), 0.28, 0.14) == "other 0.28 s (ratio 2.00)"


def test_a_command_that_is_not_installed_is_a_note_in_the_row():
    missing = Startup("bakehouse --list", ("bakehouse", "--list"))
    assert row(0.14, ["inv --list 0.21 s (ratio 1.50)"], [missing], 9, 0.5) == (
        "start-up: the command lines against python -c 'import invoke', side by side (median of 9, "
        "load 0.5) | floor 0.14 s; inv --list 0.21 s (ratio 1.50); "
        "bakehouse --list: skipped, `bakehouse` is not installed"
    )


def test_programs_are_found_beside_this_python_or_not_at_all():
    assert program("python") == sys.executable
    assert program("inv") is not None  # the venv the tests run in has invoke
    assert program("no-such-program-bakehouse-bench") is None
