"""`inv verify`: are the images reproducible? Build the targets twice, each time on a builder made
for that build (no cache, no cache import or export: nothing is shared), export both as OCI
layouts and compare their digests; where they differ, name the files. With several platforms
selected, each platform's image is compared and reported with its platform, and each
multi-platform image's index (assembled from both builds' members, as `inv export` does) too.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from ..bake.definition import builder_bake_command, resolve_bake
from ..bake.platforms import platforms_by_target
from ..bake.request import BakeSelection, progress_mode
from ..builder.emulation import ready_for_platforms
from ..shared.engine import require_engine
from ..shared.errors import BakehouseError
from ..shared.process import say
from ..shared.settings import Settings
from .compare import Comparison, compare_index_layouts, compare_layouts
from .oci_build import (
    build_layouts,
    check_destination,
    fresh_builder,
    fresh_builder_specs,
    multi_platform_layouts,
    provide_platforms,
    write_index_layouts,
)

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
    multi = multi_platform_layouts(resolved.plan, resolved.names)
    specs = fresh_builder_specs(config, BUILDS, "verify")
    check_destination(Path(tempfile.gettempdir()), "the temporary directory")
    require_engine()
    needed = provide_platforms(config, resolved, [spec.name for spec in specs], None)
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
                ready_for_platforms(builder, needed)
                ready = time.monotonic() - started
                say(f"build {number} of {BUILDS}: builder ready in {ready:.0f}s, building")
                command = builder_bake_command(resolved, builder).argv
                seconds = build_layouts(command, resolved, root, mode, f"build {number}")
            say(f"build {number} of {BUILDS} done: built in {seconds:.0f}s, builder {spec.name} removed")
            write_index_layouts(root, multi)
            roots.append(root)
        say("comparing the two builds")
        comparisons = [compare_layouts(name, roots[0] / name, roots[1] / name) for name in resolved.names]
        platforms = platforms_by_target(resolved.plan, resolved.names)
        if len(set(platforms.values())) > 1:
            for comparison in comparisons:
                comparison.platform = platforms[comparison.name]
        comparisons.extend(
            compare_index_layouts(image.name, roots[0] / image.name, roots[1] / image.name) for image in multi
        )
        return comparisons


def report(comparisons: Sequence[Comparison]) -> None:
    """Print each target's verdict with its digests or differences; exit 1 when any differs."""
    for comparison in comparisons:
        verdict = "identical" if comparison.identical else "DIFFERENT"
        platform = f" ({comparison.platform})" if comparison.platform else ""
        sys.stdout.write(f"{comparison.name}: {verdict}{platform}\n")
        sys.stdout.writelines(f"  {line}\n" for line in comparison.lines)
    sys.stdout.flush()
    different = [comparison.name for comparison in comparisons if not comparison.identical]
    if different:
        names = ", ".join(different)
        raise BakehouseError(
            f"{len(different)} of {len(comparisons)} image(s) differ between two builds: {names}"
        )
    by_platform = Counter(comparison.platform for comparison in comparisons if comparison.platform)
    counts = f" ({', '.join(f'{platform}: {count}' for platform, count in by_platform.items())})"
    say(f"all {len(comparisons)} image(s) identical in both builds" + (counts if by_platform else ""))
