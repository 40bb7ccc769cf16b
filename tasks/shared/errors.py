"""The one error type for expected failures.

It subclasses invoke's ``Exit`` so that invoke prints the message as one line on stderr
and exits with the given code, without a traceback.
"""

from __future__ import annotations

from invoke.exceptions import Exit

BAD_INPUT = 2
FAILED = 1


class BakehouseError(Exit):
    """An expected failure: bad input (exit 2) or a failed operation (exit 1)."""

    def __init__(self, message: str, code: int = FAILED) -> None:
        super().__init__(f"bakehouse: {message}", code)
        self.reason = message

    def __str__(self) -> str:
        return self.reason


def bad_input(message: str) -> BakehouseError:
    return BakehouseError(message, BAD_INPUT)
