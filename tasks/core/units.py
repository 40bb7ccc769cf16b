"""Go durations, the one syntax BuildKit, buildx filters and `go test -timeout` all take."""

from __future__ import annotations

import re

from tasks.errors import bad_input

GO_DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w)")
_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 604800,
}


def go_duration_seconds(value: str, label: str) -> float:
    """Seconds of a Go duration ("48h", "1h30m"); days and weeks get the fix in the error."""
    text = value.strip()
    parts = _PART.findall(text)
    whole = bool(parts) and "".join(number + unit for number, unit in parts) == text
    seconds = sum(float(number) * _SECONDS[unit] for number, unit in parts) if whole else 0.0
    if whole and GO_DURATION.match(text):
        return seconds
    if whole:
        raise bad_input(
            f"{label} {text}: Go durations have no days or weeks; use {format_go_duration(seconds)}"
        )
    raise bad_input(f"{label} {value!r}: not a Go duration (e.g. 168h, 90m, 1h30m)")


def check_go_duration(value: str, label: str) -> str:
    """The duration itself, once checked."""
    go_duration_seconds(value, label)
    return value.strip()


def format_go_duration(seconds: float) -> str:
    """Seconds as Go writes durations: 88200 -> "24h30m"."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{int(hours)}h" if hours else "") + (f"{int(minutes)}m" if minutes else "")
    return text + (f"{secs:g}s" if secs or not text else "")
