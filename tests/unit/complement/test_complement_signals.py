"""SIGINT and SIGTERM during a run: one exception while it runs, ignored while it cleans up."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tasks.complement.signals import Interrupted, signal_exit_code, signals_ignored, signals_interrupt


@pytest.mark.parametrize(("name", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_an_interruption_exits_128_plus_the_signal_number(name, code):
    assert Interrupted(name).exit_code == code
    assert Interrupted(name).signal_name == name
    assert signal_exit_code(name) == code


class SignalEscaped(Exception):
    pass


def _escaped(signum, _frame):
    raise SignalEscaped(signal.Signals(signum).name)


@pytest.fixture
def guarded_signals():
    """SIGINT and SIGTERM raise SignalEscaped while the test runs: a signal the code under test
    fails to handle fails the test instead of ending pytest. The real handlers come back after."""
    previous = {sig: signal.signal(sig, _escaped) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in previous.items():
        signal.signal(sig, handler)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_sigint_and_sigterm_become_interrupted_and_the_handlers_come_back(guarded_signals, sig):
    with pytest.raises(Interrupted) as caught, signals_interrupt():
        os.kill(os.getpid(), sig)
        time.sleep(5)  # the handler raises as soon as Python runs it, at the latest in here
    assert caught.value.signal_name == sig.name
    assert signal.getsignal(sig) is _escaped


def test_cleanup_ignores_a_second_ctrl_c_and_restores_the_handlers(guarded_signals):
    with signals_ignored():
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)  # time for a handler to run, were there one
    assert signal.getsignal(signal.SIGINT) is _escaped
    assert signal.getsignal(signal.SIGTERM) is _escaped
    with pytest.raises(SignalEscaped):  # restored: the next signal is handled again
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
