"""The task layer's side of invoke: the settings of a Context, the `task` decorator, a Context for
scripts and tests outside `inv`.

A task module decides its values at the top of each task (``settings(c)`` and its options, turned
into a request) and passes them down; nothing below the task layer sees a Context.
"""

from __future__ import annotations

import functools
import gc
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from invoke import Config, Context, Task
from invoke import task as invoke_task
from invoke.exceptions import Exit

from ..shared import config_files
from ..shared.errors import BakehouseError
from ..shared.settings import Settings, registered_defaults

_CACHED = "_bakehouse_settings"


def settings(c: Context) -> Settings:
    """The settings of this Context, built and checked on first use.

    invoke makes a Context per task call, after its config is complete; changes to ``c.config``
    after the first call are not seen.
    """
    cached = vars(c).get(_CACHED)
    if isinstance(cached, Settings):
        return cached
    built = Settings.from_mapping(c.config.get(config_files.SECTION) or {}, root=project_root(c))
    c._set(**{_CACHED: built})  # a real attribute: DataProxy would store a plain one in the config
    return built


def project_root(c: Context) -> Path:
    """The project this Context's config was loaded for: the directory invoke took the project
    config from (tasks.py's, or the one the `bakehouse` program found); else the current one."""
    prefix = getattr(c.config, "_project_prefix", None)
    return Path(prefix).resolve() if prefix else Path.cwd()


def as_exit(error: BakehouseError) -> Exit:
    """invoke prints an Exit's message as one line on stderr and exits with its code, no traceback."""
    return Exit(f"bakehouse: {error.reason}", error.code)


def task(**kwargs: Any) -> Callable[[Callable[..., Any]], Task[Any]]:
    """invoke's ``@task(...)``, with bakehouse's expected failures turned into one line and an exit
    code."""

    def decorate(body: Callable[..., Any]) -> Task[Any]:
        @functools.wraps(body)
        def run(*call_args: Any, **call_kwargs: Any) -> Any:
            try:
                return body(*call_args, **call_kwargs)
            except BakehouseError as error:
                raise as_exit(error) from None
            except BrokenPipeError:
                # The reader stopped early (`| head`): no traceback; what is still buffered for
                # stdout goes nowhere, and the exit status is a pipe's (128 + SIGPIPE).
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                raise Exit(code=128 + signal.SIGPIPE) from None
            finally:
                # What is alive now (invoke, the modules, the task's records) mostly lives until the
                # process ends: frozen out of the cyclic GC, it isn't walked again by later
                # collections nor by the ones Python runs on its way out (~15 ms of every command).
                gc.freeze()

        made: Task[Any] = invoke_task(**kwargs)(run)
        return made

    return decorate


def project_context(root: Path) -> Context:
    """Config as `inv` would load it: the registered defaults, invoke.yaml beside tasks.py, then
    INVOKE_* env vars."""
    config = Config(project_location=root)
    config.load_collection({config_files.SECTION: registered_defaults()})
    config.load_project()
    config.load_shell_env()
    return Context(config)


def project_settings(root: Path) -> Settings:
    """The settings `inv` would see in ``root`` (registered defaults, invoke.yaml, INVOKE_* vars)."""
    return settings(project_context(root))
