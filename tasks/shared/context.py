"""An invoke Context with the project's configuration, for scripts and tests outside `inv`."""

from __future__ import annotations

from pathlib import Path

from invoke import Config, Context

from tasks.shared.process import REPO_ROOT


def project_context(root: Path = REPO_ROOT) -> Context:
    """Config as `inv` would load it: invoke.yaml beside tasks.py, then INVOKE_* env vars."""
    config = Config(project_location=str(root))
    config.load_project()
    config.load_shell_env()
    return Context(config)
