"""The `inv` namespace: every domain's tasks under its name (`build` and `complement` at the top).

The same collection is the `bakehouse` command's, and what a project's own tasks.py mounts
(``from bakehouse.namespace import namespace``, then ``ns.configure({"bakehouse": {...}})``).

It also registers the code's defaults (tasks.shared.settings) with invoke, at the collection level:
below every config file and INVOKE_* variable, so invoke.yaml and the rest override them, and a tree
without our invoke.yaml runs on them.
"""

from __future__ import annotations

from invoke import Collection

from .bake import tasks as build_tasks
from .builder import tasks as builder_tasks
from .cache import tasks as cache_tasks
from .ci import tasks as ci_tasks
from .complement import tasks as complement_tasks
from .engine import tasks as engine_tasks
from .init import tasks as init_tasks
from .lint import tasks as lint_tasks
from .publish import tasks as publish_tasks
from .release import tasks as release_tasks
from .shared import config_files
from .shared.settings import registered_defaults


def namespace() -> Collection:
    ns = Collection()
    ns.add_task(build_tasks.build)
    # `inv verify` and `inv export`, at the top like `inv build`.
    ns.add_task(release_tasks.verify)
    ns.add_task(release_tasks.export)
    # `bakehouse init`: the project's bakehouse.yaml, from its bake tree.
    ns.add_task(init_tasks.init)
    # `inv complement` runs the suite (the default task); `inv complement.import-baseline` converts.
    ns.add_collection(Collection.from_module(complement_tasks, name="complement"))
    # `inv publish` pushes (its default task); later publish.* tasks join it there.
    ns.add_collection(Collection.from_module(publish_tasks, name="publish"))
    ns.add_collection(Collection.from_module(engine_tasks, name="engine"))
    ns.add_collection(Collection.from_module(builder_tasks, name="builder"))
    ns.add_collection(Collection.from_module(lint_tasks, name="lint"))
    ns.add_collection(Collection.from_module(cache_tasks, name="cache"))
    ns.add_collection(Collection.from_module(ci_tasks, name="ci"))
    ns.configure({config_files.SECTION: registered_defaults()})
    return ns
