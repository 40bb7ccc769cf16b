"""`inv verify`: are the images reproducible? Build the targets twice, each time on a builder made
for that build (no cache, no cache import or export: nothing is shared), export both as OCI
layouts and compare their digests; where they differ, name the files.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from ..bake.definition import builder_bake_command, resolve_bake
from ..bake.request import BakeSelection, progress_mode
from ..shared.engine import require_engine
from ..shared.errors import BakehouseError
from ..shared.process import say
from ..shared.settings import Settings
from .compare import Comparison, compare_layouts
from .oci_build import build_layouts, check_destination, fresh_builder, fresh_builder_specs

BUILDS = 2


def verify_targets(
    config: Settings,
    targets: list[str],
    *,
    matrix_overrides: Sequence[str] = (),
    sets: Sequence[str] = (),
    progress: str | None = None,
) -> list[Comparison]:
    """Build ``targets`` twice on fresh builders and compare each concrete target's two images."""
    mode = progress_mode(progress, config)
    resolved = resolve_bake(config, BakeSelection.of(targets, matrix_overrides, sets))
    specs = fresh_builder_specs(config, BUILDS, "verify")
    check_destination(Path(tempfile.gettempdir()), "the temporary directory")
    require_engine()
    epoch = resolved.env.get("SOURCE_DATE_EPOCH")
    say(
        f"verifying {', '.join(resolved.names)}: {BUILDS} builds on fresh builders, "
        + (
            f"SOURCE_DATE_EPOCH={epoch}"
            if epoch
            else "no SOURCE_DATE_EPOCH (no git commit): times will differ"
        )
    )
    with tempfile.TemporaryDirectory(prefix="bakehouse-verify-") as scratch:
        roots = []
        for number, spec in enumerate(specs, 1):
            root = Path(scratch) / f"build-{number}"
            say(f"build {number} of {BUILDS}: creating builder {spec.name}")
            started = time.monotonic()
            with fresh_builder(config, spec) as builder:
                ready = time.monotonic() - started
                say(f"build {number} of {BUILDS}: builder ready in {ready:.0f}s, building")
                command = builder_bake_command(resolved, builder).argv
                seconds = build_layouts(command, resolved, root, mode, f"build {number}")
            say(f"build {number} of {BUILDS} done: built in {seconds:.0f}s, builder {spec.name} removed")
            roots.append(root)
        say("comparing the two builds")
        return [compare_layouts(name, roots[0] / name, roots[1] / name) for name in resolved.names]


def report(comparisons: Sequence[Comparison]) -> None:
    """Print each target's verdict with its digests or differences; exit 1 when any differs."""
    for comparison in comparisons:
        verdict = "identical" if comparison.identical else "DIFFERENT"
        sys.stdout.write(f"{comparison.name}: {verdict}\n")
        sys.stdout.writelines(f"  {line}\n" for line in comparison.lines)
    sys.stdout.flush()
    different = [comparison.name for comparison in comparisons if not comparison.identical]
    if different:
        names = ", ".join(different)
        raise BakehouseError(
            f"{len(different)} of {len(comparisons)} image(s) differ between two builds: {names}"
        )
    say(f"all {len(comparisons)} image(s) identical in both builds")
