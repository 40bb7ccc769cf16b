"""Units: Go durations (BuildKit, buildx filters, `go test -timeout`) and sizes (buildx, buildkitd.toml)."""

from __future__ import annotations

import re

from .errors import bad_input

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


# go-units HumanSize (what buildx prints) is decimal; buildkitd.toml and the prune flags parse
# sizes with go-units RAMInBytes, where "GB" means GiB.
_DECIMAL = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15, "e": 10**18}
_BINARY = {"k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40, "p": 2**50, "e": 2**60}
_HUMAN_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtpe]?)(i?)(b?)\s*\*?\s*$", re.IGNORECASE)
_FLAG_SIZE = re.compile(r"^\d+(\.\d+)?\s*([kmgtp]i?b?|b)?$", re.IGNORECASE)


def parse_human_size(text: str) -> int:
    """Bytes from buildx's rounded size ("5.243MB", "0B", "4.096kB"; a trailing * marks shared)."""
    match = _HUMAN_SIZE.match(text)
    if not match:
        raise ValueError(f"not a size: {text!r}")
    number, prefix, binary, _ = match.groups()
    table = _BINARY if binary else _DECIMAL
    return round(float(number) * table[prefix.lower()])


def format_size(size: int | float) -> str:
    """Decimal units like buildx's own output: 262.6MB, 4.096kB, 0B."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if abs(value) < 1000 or unit == "PB":
            return f"{value:.4g}{unit}" if unit != "B" else f"{int(value)}B"
        value /= 1000
    raise AssertionError("unreachable")


def check_flag_size(value: str, option: str) -> str:
    """A size for the prune flags (bytes or a number with a unit, no percentages); returned unchanged."""
    if not _FLAG_SIZE.match(value.strip()):
        raise bad_input(f"{option} {value!r}: expected bytes or a size such as 512MB or 10GB")
    return value.strip()
