"""What a build is asked to do, decided once per command: the targets and overrides, the builder,
the progress display. The task layer (and each domain that builds: publish, Complement) makes one
frozen request; everything below takes it instead of deciding any of it again."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from ..builder.lifecycle import BuilderChoice, check_builder_option, choose_builder
from ..builder.naming import validate_builder_name
from ..shared.checkout import Commit
from ..shared.errors import bad_input
from ..shared.settings import Settings

PROGRESS_MODES = ("auto", "plain", "tty", "quiet", "rawjson")


def progress_mode(requested: str | None, config: Settings) -> str:
    """The display a build uses: the option, else the configured one; `auto` decided here."""
    mode = requested or config.bake.progress
    if mode not in PROGRESS_MODES:
        raise bad_input(f"--progress {mode!r}: choose one of {', '.join(PROGRESS_MODES)}")
    if os.environ.get("CI", "").lower() == "true" and mode == "auto":
        return "plain"
    if mode == "auto":
        return "tty" if sys.stderr.isatty() else "plain"
    return mode


def check_sets(sets: Sequence[str]) -> tuple[str, ...]:
    for s in sets:
        if "=" not in s or "." not in s.split("=", 1)[0]:
            raise bad_input(f"--set {s!r}: expected pattern.key=value")
    return tuple(sets)


def parse_builders(text: str) -> list[str]:
    """`a,b` -> ["a", "b"]: at least one name, each valid, none twice."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise bad_input(f"--builders {text!r}: expected builder names separated by commas, e.g. a,b")
    for name in names:
        if name != "default":
            validate_builder_name(name)
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise bad_input(f"--builders: {', '.join(twice)} given twice")
    return names


@dataclass(frozen=True)
class BakeSelection:
    """What bake is asked for: targets or groups, matrix overrides (NAME=VALUE) and --set values
    (checked when made)."""

    targets: tuple[str, ...]
    matrix_overrides: tuple[str, ...] = ()
    sets: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, targets: Sequence[str], matrix_overrides: Sequence[str] = (), sets: Sequence[str] = ()
    ) -> BakeSelection:
        return cls(tuple(targets), tuple(matrix_overrides), check_sets(sets))


@dataclass(frozen=True)
class BuildRequest:
    """One build: its selection, the builder (or the pool of builders) and the display."""

    selection: BakeSelection
    # The builder of a serial build; None for a pool.
    builder: BuilderChoice | None
    progress: str
    keep_going: bool = False
    # The builders of `--builders a,b` (each must exist); empty for a serial build.
    pool: tuple[str, ...] = ()

    @property
    def builder_names(self) -> tuple[str, ...]:
        """The builders this build runs on: the pool's, or the serial build's one."""
        return self.pool or ((self.builder.name,) if self.builder else ())


def build_request(
    config: Settings,
    selection: BakeSelection,
    *,
    builder: str | None = None,
    pool: str | None = None,
    progress: str | None = None,
    keep_going: bool = False,
    commit: Commit | None = None,
) -> BuildRequest:
    """Options and settings decided into a request; refuses bad input, changes nothing.
    ``commit``: the checkout's commit, when read already (the default builder name uses its branch)."""
    mode = progress_mode(progress, config)
    if pool is not None and builder:
        raise bad_input("--builder and --builders: give one of them")
    # Checked before the builder may be created: bad cache settings change nothing.
    config.cache.validate()
    if pool is not None:
        names = tuple(parse_builders(pool))
        cache = config.cache
        if cache.backend == "local" and cache.export_cache and len(names) > 1:
            # Cells share their parent targets: parallel bakes would write one layout (index.json and
            # blobs) from several processes at once. A registry takes concurrent pushes.
            raise bad_input(
                f"--builders {','.join(names)} with cache.backend local: parallel cells would export to "
                "one cache directory at once; use cache.backend registry, or one builder"
            )
        # buildx's own display can't share a terminal with another bake's: rows with a builder prefix.
        return BuildRequest(selection, None, "plain" if mode == "tty" else mode, keep_going, names)
    return BuildRequest(selection, choose_builder(config, builder, commit), mode, keep_going)


def check_build_options(
    config: Settings, builder: str | None, pool: str | None, progress: str | None
) -> None:
    """The build options checked without building (--print, --list): a typo is never silently
    ignored, though these modes use none of them. Nothing is asked of git or buildx."""
    progress_mode(progress, config)
    if pool is not None and builder:
        raise bad_input("--builder and --builders: give one of them")
    if pool is not None:
        parse_builders(pool)
    check_builder_option(config, builder)
