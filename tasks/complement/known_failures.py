"""The committed list of known failures: tests the baseline records as failing, each with its cause.

The list only explains; it never changes a verdict. The gate compares with the baseline as always
(a known failure stays `fail` there, so it passes as "unchanged" and a fix shows as one); reports
show the cause beside the failure. A subtest takes its closest listed parent's cause, so one entry
covers a test and everything under it.

Format (YAML): ``known_failures: [{test: NAME, package: tests|tests/csapi (optional), cause: TEXT}]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..shared.errors import BakehouseError
from .events import Key, short_package


@dataclass(frozen=True)
class KnownFailures:
    """Causes by (short package or "", test name); "" matches the test in any package."""

    causes: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def cause_of(self, key: Key) -> str | None:
        """The cause listed for this test or its closest listed parent, if any."""
        package = short_package(key[0])
        parts = key[1].split("/")
        for end in range(len(parts), 0, -1):
            name = "/".join(parts[:end])
            for where in (package, ""):
                cause = self.causes.get((where, name))
                if cause is not None:
                    return cause
        return None


def load_known_failures(path: Path) -> KnownFailures:
    """Read the list; a missing file is an empty list, a malformed one an error naming the file."""
    if not path.exists():
        return KnownFailures()
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise BakehouseError(f"known failures {path}: unreadable: {error}") from error
    entries = document.get("known_failures") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise BakehouseError(f"known failures {path}: expected a mapping with a `known_failures` list")
    causes: dict[tuple[str, str], str] = {}
    for number, entry in enumerate(entries, start=1):
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("test"), str)
            and isinstance(entry.get("cause"), str)
            and isinstance(entry.get("package", ""), str)
            and entry["test"]
            and entry["cause"].strip()
        ):
            raise BakehouseError(f"known failures {path}: entry {number} needs a `test` and a `cause`")
        causes[(short_package(entry.get("package", "")), entry["test"])] = " ".join(entry["cause"].split())
    return KnownFailures(causes)
