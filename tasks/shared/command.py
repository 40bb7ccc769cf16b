"""Argument lists for docker, buildx and other tools, built from options instead of by hand.

Each method returns a new Command, so a base command (bake's files and settings) can be extended
per call (per target, per progress mode) without one call's words leaking into another's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


class Command:
    """An argv under construction: ``Command("docker", "buildx", "prune").flag("--all", everything)``."""

    __slots__ = ("_words",)

    def __init__(self, *words: str) -> None:
        self._words: tuple[str, ...] = words

    def args(self, *words: str) -> Command:
        """Words as they are: subcommands, positional arguments, targets."""
        return Command(*self._words, *words)

    def flag(self, name: str, enabled: bool = True) -> Command:
        """``name`` alone (``--all``), when ``enabled``."""
        return self.args(name) if enabled else self

    def option(self, name: str, value: str | int | None, *, joined: bool = False) -> Command:
        """``name value`` (or ``name=value`` when ``joined``); nothing when the value is None or empty."""
        if value is None or value == "":
            return self
        return self.args(f"{name}={value}") if joined else self.args(name, str(value))

    def options(self, name: str, values: Iterable[str], *, joined: bool = False) -> Command:
        """The option once per value, in order (``-f a.hcl -f b.hcl``)."""
        command = self
        for value in values:
            command = command.option(name, value, joined=joined)
        return command

    @property
    def argv(self) -> list[str]:
        return list(self._words)

    def __iter__(self) -> Iterator[str]:
        return iter(self._words)

    def __len__(self) -> int:
        return len(self._words)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Command) and other._words == self._words

    def __hash__(self) -> int:
        return hash(self._words)

    def __repr__(self) -> str:
        return f"Command{self._words!r}"
