"""`inv builder` tasks: thin wrappers over tasks.builder.service."""

from __future__ import annotations

from invoke import Context, task

from tasks.builder.service import (
    builder_disk_usage,
    ensure_builder,
    gc_policy_lines,
    remove_builder,
    require_builder,
    resolve_builder_name,
    state_of,
)
from tasks.shared.buildx import list_builders
from tasks.shared.engine import require_engine
from tasks.shared.errors import bad_input
from tasks.shared.table import align


@task(
    iterable=["mirror"],
    help={
        "name": "builder name (default: bakehouse-<actor>-<repo>-<branch>)",
        "image": "BuildKit image for the builder container",
        "mirror": "docker.io registry mirror host:port (repeatable)",
        "network": "'host' to run the builder on the host network",
        "force": "remove the builder and its cache, then create it fresh",
    },
)
def create(
    c: Context,
    name: str | None = None,
    image: str | None = None,
    mirror: list[str] | None = None,
    network: str | None = None,
    force: bool = False,
) -> None:
    """Create the buildx builder from buildkitd.toml (idempotent; recreates on drift, cache kept)."""
    resolved = resolve_builder_name(c, name)
    outcome = ensure_builder(c, resolved, image, tuple(mirror or ()), network, force)
    print(f"builder {resolved}: {outcome}")


@task(help={"name": "builder name", "keep_state": "keep the cache volume for a later create"})
def rm(c: Context, name: str | None = None, keep_state: bool = False) -> None:
    """Remove the builder (with --keep-state its cache survives)."""
    resolved = resolve_builder_name(c, name)
    if resolved == "default":
        raise bad_input("'default' is the engine's own builder; bakehouse doesn't remove it")
    require_engine()
    require_builder(resolved)
    remove_builder(resolved, keep_state)
    print(f"builder {resolved}: removed{' (cache kept)' if keep_state else ''}")


@task(help={"name": "builder name"})
def status(c: Context, name: str | None = None) -> None:
    """Driver, status, BuildKit version, GC policies in words and disk used."""
    resolved = resolve_builder_name(c, name)
    require_engine()
    state = state_of(require_builder(resolved))
    used = builder_disk_usage(resolved)
    print(f"builder:  {resolved}")
    print(f"driver:   {state.driver}")
    print(f"status:   {state.status}")
    print(f"buildkit: {state.version or 'unknown'}")
    if state.driver_opts:
        print("options:  " + ", ".join(f"{k}={v}" for k, v in sorted(state.driver_opts.items())))
    print("gc:")
    for line in gc_policy_lines(state):
        print(f"  {line}")
    print(f"disk:     {used / 1e9:.2f} GB used" if used is not None else "disk:     unknown")


@task
def ls(c: Context) -> None:
    """List builders with driver, status and BuildKit version."""
    require_engine()
    rows = [("NAME", "DRIVER", "STATUS", "BUILDKIT")]
    for builder in list_builders():
        rows.append((builder.name, builder.driver, builder.node.status, builder.node.version))
    print("\n".join(align(rows)))
