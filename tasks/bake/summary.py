"""The table that ends a build: every target, built / cached / failed, its time and steps."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

from ..shared.table import align
from .progress import TargetOutcome


def print_summary(
    outcomes: list[TargetOutcome],
    total_seconds: float,
    exit_status: int,
    builders: Sequence[str] | None = None,
    platforms: Mapping[str, str] | None = None,
) -> None:
    """The table on stderr; ``builders`` (one per outcome, a builder pool's) adds a BUILDER column,
    ``platforms`` (by target name, from the plan; "" for the builder's own) a PLATFORM column."""
    rows: list[tuple[str, ...]] = [("TARGET", "STATUS", "TIME", "STEPS RUN/CACHED")]
    for o in outcomes:
        rows.append((o.name, o.status, f"{o.seconds:.1f}s", f"{o.steps_executed}/{o.steps_cached}"))
    if platforms is not None:
        rows = [rows[0] + ("PLATFORM",)] + [
            (*row, platforms.get(o.name) or "native") for row, o in zip(rows[1:], outcomes, strict=True)
        ]
    if builders is not None:
        rows = [(row[0], column, *row[1:]) for row, column in zip(rows, ["BUILDER", *builders], strict=True)]
    print(file=sys.stderr)
    for line in align(rows):
        print(line, file=sys.stderr)
    for o in outcomes:
        if o.status == "failed" and o.error:
            print(f"{o.name}: {o.error.strip().splitlines()[-1]}", file=sys.stderr)
    verdict = "ACCEPT" if exit_status == 0 else "ERROR"
    print(
        f"{verdict}: {len(outcomes)} target(s) in {total_seconds:.1f}s, exit status {exit_status}",
        file=sys.stderr,
    )
