"""invoke's entry point: checks the configuration, then hands invoke the bakehouse namespace.

invoke imports this file as the module ``tasks`` (it prefers tasks.py to the ``tasks/`` package);
the ``__path__`` below lets ``tasks.<domain>`` resolve to the package's modules all the same, so
invoke, pytest and mypy see one module tree.
"""

import sys
from pathlib import Path

__path__ = [str(Path(__file__).with_suffix(""))]

# invoke turns bytecode writing off for every `inv` run unless given --write-pyc, so that a
# project's tasks.py leaves no .pyc behind; it set that before importing this file. bakehouse's own
# modules are a package like any other: their bytecode is cached unless Python was told not to (-B,
# PYTHONDONTWRITEBYTECODE), else every command compiles them again (~60 ms of a cached build here).
sys.dont_write_bytecode = bool(sys.dont_write_bytecode and sys.flags.dont_write_bytecode)

from tasks.cli import config_check  # noqa: E402 - after the bytecode setting above
from tasks.namespace import namespace  # noqa: E402

# Before invoke reads invoke.yaml and -f: a broken config is one line and exit 2, not a traceback.
config_check.check_or_exit(Path(__file__).parent)

ns = namespace()
