"""bakehouse: invoke tasks that drive Docker Buildx Bake over a matrix of container images.

One sub-package per domain (engine, builder, build, cache, lint, complement), each with its thin
`tasks.py` and the modules it uses; `shared` holds the infrastructure they all use. invoke loads
the repository's tasks.py, which takes the namespace from `tasks.namespace`.
"""
