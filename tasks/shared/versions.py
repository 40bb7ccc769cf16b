"""Comparing dotted version strings such as "0.29.1+ds1" or "1.45"."""

from __future__ import annotations

import re


def version_tuple(text: str) -> tuple[int, ...]:
    """Leading numeric parts only: "0.29.1+ds1" -> (0, 29, 1); "v26.1.5" -> (26, 1, 5)."""
    match = re.match(r"v?(\d+(?:\.\d+)*)", text.strip())
    return tuple(int(part) for part in match.group(1).split(".")) if match else ()


def version_at_least(have: str, want: str) -> bool:
    return version_tuple(have) >= version_tuple(want)
