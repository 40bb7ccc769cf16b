"""bakehouse: invoke tasks that drive Docker Buildx Bake over a matrix of container images.

One sub-package per domain (engine, builder, bake, cache, ci, lint, complement, publish, release),
each with its thin `tasks.py` and the modules it uses; `shared` holds the infrastructure they all
use, `cli` invoke's side. invoke loads the repository's tasks.py, which takes the namespace from
`tasks.namespace`. docs/architecture.md lists every module.

Installed (pip, pipx), this directory is the package `bakehouse`: the `bakehouse` command is
`cli/program.py`, and a project's own tasks.py mounts the collection with
`from bakehouse.namespace import namespace` (docs/adopt.md). Imports inside are relative, so either
name works and a project's `tasks` module is never ours.
"""
