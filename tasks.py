"""invoke's entry point: checks the configuration, then hands invoke the bakehouse namespace.

invoke imports this file as the module ``tasks`` (it prefers tasks.py to the ``tasks/`` package);
the ``__path__`` below lets ``tasks.<domain>`` resolve to the package's modules all the same, so
invoke, pytest and mypy see one module tree.
"""

from pathlib import Path

__path__ = [str(Path(__file__).with_suffix(""))]

from tasks.cli import config_check
from tasks.namespace import namespace

# Before invoke reads invoke.yaml and -f: a broken config is one line and exit 2, not a traceback.
config_check.check_or_exit(Path(__file__).parent)

ns = namespace()
