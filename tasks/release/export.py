"""`inv export --oci DIR`: targets as OCI image layouts, one subdirectory of DIR per concrete
target (matrix cell), exported as verify exports them (rewrite-timestamp, SOURCE_DATE_EPOCH).
With several platforms selected, each platform's target is its own layout as before (one image
per layout), and each multi-platform image gets one more: `DIR/<name without the platform value>`,
its index over those images (tasks.release.index_layout).

By default the build runs on a fresh builder, removed afterwards: the layouts are the bits `inv
verify` checks, whatever the local cache holds. `--builder NAME` builds on that builder with its
cache instead (faster), with one caveat: rewrite-timestamp only clamps mtimes newer than
SOURCE_DATE_EPOCH, so a step cached from a build before the commit time keeps its older mtimes and
its layer differs from a fresh build's. Layouts are written into a staging directory inside DIR
and moved into place only once the whole bake succeeded, so a failed export leaves DIR as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..bake.definition import ResolvedBake, bake_invocation, builder_bake_command, resolve_bake
from ..bake.platforms import MultiPlatformImage
from ..bake.request import BakeSelection, progress_mode
from ..builder.emulation import ready_for_platforms
from ..builder.lifecycle import choose_builder, prepare_builder
from ..shared.engine import require_engine
from ..shared.errors import BakehouseError, bad_input
from ..shared.oci_layout import Descriptor
from ..shared.process import say
from ..shared.settings import Settings
from .index_layout import index_of
from .layout_check import Image, images, is_layout, layout_problems
from .oci_build import (
    build_layouts,
    check_destination,
    fresh_builder,
    fresh_builder_specs,
    multi_platform_layouts,
    provide_platforms,
    write_index_layouts,
)


@dataclass(frozen=True)
class Exported:
    name: str
    path: Path
    images: list[Image]
    # A multi-platform image's layout: the index its images are listed in.
    index: Descriptor | None = None


def check_directory(directory: Path) -> None:
    """DIR must be a directory or not exist yet."""
    check_destination(directory, "--oci")
    if directory.exists() and not directory.is_dir():
        raise bad_input(f"--oci {directory}: exists and is not a directory")


def check_replaceable(directory: Path, names: Sequence[str]) -> None:
    """A target's subdirectory may hold an earlier export (replaced) or nothing; anything else is
    someone's data."""
    for name in names:
        existing = directory / name
        if not existing.exists() and not existing.is_symlink():
            continue
        empty = existing.is_dir() and not existing.is_symlink() and not any(existing.iterdir())
        if not (empty or (existing.is_dir() and not existing.is_symlink() and is_layout(existing))):
            raise bad_input(f"--oci: {existing} exists and is not an OCI image layout; not replacing it")


def export_layouts(
    config: Settings,
    directory: Path,
    targets: list[str],
    *,
    matrix_overrides: Sequence[str] = (),
    sets: Sequence[str] = (),
    builder: str | None = None,
    progress: str | None = None,
) -> list[Exported]:
    """Export on a fresh builder (the bits `inv verify` checks), or on ``builder`` with its cache."""
    mode = progress_mode(progress, config)
    check_directory(directory)
    selection = BakeSelection.of(targets, matrix_overrides, sets)
    choice = choose_builder(config, builder) if builder is not None else None
    if choice is not None and choice.name == "default":
        raise bad_input(
            "--builder default: the engine's own builder can't write OCI layouts; "
            "leave --builder out (a fresh builder) or name a docker-container builder"
        )
    if choice is not None:
        # Its cache is exported and imported as a build's: the settings checked before anything runs.
        config.cache.validate()
    resolved = resolve_bake(config, selection)
    multi = multi_platform_layouts(resolved.plan, resolved.names)
    check_replaceable(directory, [*resolved.names, *(image.name for image in multi)])
    require_engine()
    names = ", ".join(resolved.names)
    if choice is None:
        fresh = fresh_builder_specs(config, 1, "export")[0]
        needed = provide_platforms(config, resolved, [fresh.name], None)
        say(f"exporting {names} into {directory} from a fresh builder, {fresh.name}")
        with fresh_builder(config, fresh) as name:
            ready_for_platforms(name, needed)
            command = builder_bake_command(resolved, name).argv
            return _write_layouts(directory, resolved, multi, command, mode)
    needed = provide_platforms(config, resolved, [choice.name], choice.name)
    prepared = prepare_builder(config, choice)
    ready_for_platforms(prepared, needed)
    invocation = bake_invocation(config, resolved, prepared)
    say(f"exporting {names} into {directory} from builder {invocation.builder} and its cache")
    return _write_layouts(directory, resolved, multi, invocation.cmd, mode)


def _write_layouts(
    directory: Path,
    resolved: ResolvedBake,
    multi: Sequence[MultiPlatformImage],
    command: Sequence[str],
    mode: str,
) -> list[Exported]:
    """Bake into a staging directory inside ``directory``, assemble the multi-platform images'
    layouts there, check them, then move each layout into place."""
    directory.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".bakehouse-export-", dir=directory))
    try:
        seconds = build_layouts(command, resolved, staging, mode, "the export")
        write_index_layouts(staging, multi)
        for image in multi:
            if problems := layout_problems(staging / image.name):
                raise BakehouseError(f"{image.name}: the index layout is invalid: {'; '.join(problems)}")
        exported = [_move(staging, directory, name) for name in resolved.names]
        indexes = [_move(staging, directory, image.name) for image in multi]
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    written = f"{len(exported)} layout(s)"
    if indexes:
        written += f" and {len(indexes)} multi-platform image layout(s)"
    say(f"exported {written}, built in {seconds:.0f}s")
    return [*exported, *indexes]


def _move(staging: Path, directory: Path, name: str) -> Exported:
    """A layout from the staging directory into ``directory``, replacing an earlier export."""
    final = directory / name
    if final.exists():
        shutil.rmtree(final)
    os.replace(staging / name, final)
    return Exported(name, final, images(final), index_of(final))
