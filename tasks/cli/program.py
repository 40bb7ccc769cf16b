"""The `bakehouse` command: every task of `inv`, for the project around the current directory.

An invoke Program with our namespace (the way fabric makes `fab`). Given a namespace, invoke loads
no project config, so the program finds the project itself: walking up from the current directory
to a bakehouse.yaml, else the git top level, else the current directory (``--root DIR`` says it).
That file is the project's config (invoke's project level; it holds a ``bakehouse:`` section, like
invoke.yaml), checked before invoke reads it. Environment variables keep `inv`'s scheme,
``INVOKE_BAKEHOUSE_<SECTION>_<KEY>``, so one variable works for both commands.
"""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path

from invoke import Argument, Config, Program

from ..namespace import namespace
from ..shared.errors import BakehouseError, bad_input
from ..shared.process import git_output
from .config_check import check_sources, first_config_file
from .context import as_exit

# The project's config file (bakehouse.yaml, .yml or .json), also /etc/bakehouse.yaml and
# ~/.bakehouse.yaml like invoke's own levels.
FILE_PREFIX = "bakehouse"
# Suffixes that mark a project root: data only (invoke would also run a bakehouse.py, but a module of
# that name is no sign of a project).
ROOT_MARKERS = tuple(f"{FILE_PREFIX}.{suffix}" for suffix in ("yaml", "yml", "json"))
SYSTEM_PREFIX = Path("/etc") / FILE_PREFIX
USER_PREFIX = Path("~") / f".{FILE_PREFIX}"


class BakehouseConfig(Config):
    """invoke's Config with bakehouse's file names; the environment prefix stays invoke's."""

    prefix = FILE_PREFIX
    # One scheme for `inv` and `bakehouse`: INVOKE_BAKEHOUSE_BUILDER_NAME sets builder.name in both.
    env_prefix = "INVOKE"  # type: ignore[assignment]  # invoke annotates the class default (None) only


def find_project_root(start: Path) -> Path:
    """The nearest directory from ``start`` up holding a bakehouse.yaml; else the git top level of
    ``start``; else ``start``."""
    for directory in (start, *start.parents):
        if any((directory / name).is_file() for name in ROOT_MARKERS):
            return directory
    top = git_output("rev-parse", "--show-toplevel", cwd=start)
    return Path(top) if top else start


def given_root(value: str) -> Path:
    root = Path(value).expanduser().resolve()
    if not root.is_dir():
        raise bad_input(f"--root {value}: no such directory")
    return root


def package_version() -> str:
    """The installed distribution's version; "unknown" when run from a checkout nobody installed."""
    try:
        return metadata.version("bakehouse")
    except metadata.PackageNotFoundError:
        return "unknown"


class BakehouseProgram(Program):
    """`bakehouse`: the namespace, ``--root``, and the project config found from the current directory."""

    def core_args(self) -> list[Argument]:
        root = Argument(
            names=("root",),
            help="The project's directory (default: the nearest one up with bakehouse.yaml, else git's top).",
        )
        return [*super().core_args(), root]

    def parse_collection(self) -> None:
        super().parse_collection()
        try:
            given = self.args.root.value
            root = given_root(given) if given else find_project_root(Path.cwd().resolve())
            check_sources(
                [
                    first_config_file(SYSTEM_PREFIX),
                    first_config_file(USER_PREFIX),
                    first_config_file(root / FILE_PREFIX),
                    self.runtime_file(),
                ]
            )
        except BakehouseError as error:
            raise as_exit(error) from None
        # What invoke's loader does for a tasks.py it found (Program.load_collection): here for the
        # root found above, before the tasks' arguments are parsed.
        self.config.set_project_location(str(root))
        self.config.load_project()

    def runtime_file(self) -> Path | None:
        """The `-f` file, or INVOKE_RUNTIME_CONFIG (its name is fixed in invoke, whatever the prefix)."""
        given = self.args.config.value or os.environ.get("INVOKE_RUNTIME_CONFIG")
        return Path(given).expanduser() if given else None


def program() -> BakehouseProgram:
    return BakehouseProgram(
        namespace=namespace(),
        version=package_version(),
        name="bakehouse",
        binary="bakehouse",
        binary_names=["bakehouse"],
        config_class=BakehouseConfig,
    )


def main() -> None:
    """The console script's entry point."""
    program().run()
