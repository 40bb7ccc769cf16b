"""An invoke Context with the project's configuration, for scripts and tests outside `inv`."""

from __future__ import annotations

from pathlib import Path

from invoke import Config, Context

from tasks.shared import config_files
from tasks.shared.process import REPO_ROOT
from tasks.shared.settings import registered_defaults


def project_context(root: Path = REPO_ROOT) -> Context:
    """Config as `inv` would load it: the registered defaults, invoke.yaml beside tasks.py, then
    INVOKE_* env vars."""
    config = Config(project_location=root)
    config.load_collection({config_files.SECTION: registered_defaults()})
    config.load_project()
    config.load_shell_env()
    return Context(config)
