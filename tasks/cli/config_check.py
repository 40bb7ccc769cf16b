"""The configuration `inv` is about to load, checked before invoke reads it.

invoke imports tasks.py before it reads the project's invoke.yaml and the runtime file (`-f`), and
it turns an `Exit` raised during that import into its message and exit code. Checked here, a YAML
typo is one line naming file and line instead of a traceback, a missing `-f` file is refused
instead of silently ignored, and an environment value invoke can't cast is refused before the
executor crashes on it.

Every file is checked against the code's defaults (tasks.shared.settings), which the namespace
registers with invoke: the project's invoke.yaml is one more source of values, and a tree without
one (or with one holding only some settings) runs on the defaults.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from invoke.main import program

from ..shared import config_files
from ..shared.errors import BakehouseError
from ..shared.settings import DEFAULTS, registered_defaults
from .context import as_exit

# Where invoke looks for system and user config files (invoke.Config's default prefixes).
SYSTEM_PREFIX = Path("/etc/invoke")
USER_PREFIX = Path("~/.invoke")


def first_config_file(prefix: Path) -> Path | None:
    """The file invoke would load for this prefix: the first suffix that exists."""
    for suffix in config_files.SUFFIXES:
        candidate = prefix.expanduser().with_name(f"{prefix.name}.{suffix}")
        if candidate.exists():
            return candidate
    return None


def runtime_file() -> Path | None:
    """The `-f` file of this `inv` run, or INVOKE_RUNTIME_CONFIG; None outside `inv`."""
    # invoke.main.program is the Program the `inv` entry point runs; it has parsed its core
    # arguments (-f among them) by the time it imports tasks.py. Imported elsewhere it has none.
    if getattr(program, "core", None) is None:
        return None
    given = program.args.config.value or os.environ.get("INVOKE_RUNTIME_CONFIG")
    return Path(given).expanduser() if given else None


def check(project_dir: Path, env: dict[str, str] | None = None) -> None:
    """Refuse, with one line, config `inv` would choke on or misread; change nothing."""
    sources = [
        first_config_file(SYSTEM_PREFIX),
        first_config_file(USER_PREFIX),
        first_config_file(project_dir / "invoke"),
        runtime_file(),
    ]
    check_sources(sources, env)


def check_sources(sources: list[Path | None], env: dict[str, str] | None = None) -> None:
    """The config files a command will load (in its order; None: absent) and the environment,
    checked against the code's defaults."""
    # What invoke will hold: the registered defaults, then each file in invoke's order.
    settings: dict[str, Any] = registered_defaults()
    for path in (p for p in sources if p is not None):
        override = (config_files.load_document(path) or {}).get(config_files.SECTION) or {}
        config_files.check_settings(DEFAULTS, override, str(path))
        settings = config_files.merged(settings, override)
    config_files.check_environment(settings, os.environ if env is None else env)


def check_or_exit(project_dir: Path) -> None:
    """``check`` for an entry point that invoke imports: a refusal becomes invoke's one-line Exit."""
    try:
        check(project_dir)
    except BakehouseError as error:
        raise as_exit(error) from None
