"""bakehouse: invoke tasks that drive Docker Buildx Bake over a matrix of container images.

One sub-package per domain (engine, builder, bake, cache, ci, lint, complement, publish, release),
each with its thin `tasks.py` and the modules it uses; `shared` holds the infrastructure they all
use, `cli` invoke's side. invoke loads the repository's tasks.py, which takes the namespace from
`tasks.namespace`. docs/architecture.md lists every module.
"""
