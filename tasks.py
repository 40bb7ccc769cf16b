"""invoke's entry point: assembles the bakehouse namespace and nothing else.

invoke imports this file as the module ``tasks``, which would hide the ``tasks/``
package beside it; giving the module a ``__path__`` makes ``tasks.<concern>`` importable.
"""

from pathlib import Path

__path__ = [str(Path(__file__).with_suffix(""))]

from invoke import Collection

from tasks import bake, builder, cache, complement, config_sources, engine, lint

# Before invoke reads invoke.yaml and -f: a broken config is one line and exit 2, not a traceback.
config_sources.check(Path(__file__).parent)

ns = Collection()
ns.add_task(bake.build)
ns.add_collection(Collection.from_module(complement))  # default task: the run; also import-baseline
ns.add_collection(Collection.from_module(engine))
ns.add_collection(Collection.from_module(builder))
ns.add_collection(Collection.from_module(lint))
ns.add_collection(Collection.from_module(cache))
