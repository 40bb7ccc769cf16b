"""SIGINT and SIGTERM during a Complement run: turned into one exception while the run goes on,
ignored while it cleans up (a second Ctrl-C must not leave half of the run behind)."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType


def signal_exit_code(signal_name: str) -> int:
    """The exit status of a command a signal ended: 128 + the signal's number (SIGINT: 130)."""
    return 128 + int(getattr(signal, signal_name))


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived during a run (BaseException, like KeyboardInterrupt)."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name

    @property
    def exit_code(self) -> int:
        return signal_exit_code(self.signal_name)


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into Interrupted so one code path cleans up after both."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise Interrupted(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """Cleanup must finish: a second Ctrl-C must not leave half of the run behind."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
