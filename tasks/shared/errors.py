"""The one error type for expected failures.

It carries a one-line reason and an exit code; the task layer (tasks.cli.context.task) turns it into
invoke's ``Exit``, which prints the line on stderr and exits with the code, without a traceback.
"""

from __future__ import annotations

BAD_INPUT = 2
FAILED = 1


class BakehouseError(Exception):
    """An expected failure: bad input (exit 2) or a failed operation (exit 1)."""

    def __init__(self, message: str, code: int = FAILED) -> None:
        super().__init__(message)
        self.reason = message
        self.code = code

    def __str__(self) -> str:
        return self.reason


def bad_input(message: str) -> BakehouseError:
    return BakehouseError(message, BAD_INPUT)
