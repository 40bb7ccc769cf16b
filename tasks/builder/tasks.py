"""`inv builder` tasks: thin wrappers over tasks.builder.lifecycle, .remote and .certs (imported when
a task runs: see tasks/cli/__init__.py)."""

from __future__ import annotations

import shlex
import sys

from invoke import Context

from ..cli.context import settings, task
from ..shared.errors import bad_input

# The defaults of `builder.certs`, here for its --help; tests/unit/layout checks they are certs'.
CERTS_PORT = 1234
CERTS_DAYS = 365


@task(
    iterable=["mirror", "append_endpoint", "matrix"],
    help={
        "name": "builder name (default: bakehouse-<actor>-<repo>-<branch>)",
        "image": "BuildKit image for the builder container",
        "mirror": "docker.io registry mirror host:port (repeatable)",
        "network": "'host' to run the builder on the host network",
        "force": "remove the builder (and a docker-container builder's cache), then create it fresh",
        "endpoint": "tcp://HOST:PORT of a BuildKit daemon: a `remote` builder over mutual TLS",
        "append_endpoint": "tcp://HOST:PORT of another daemon, added as a node (repeatable)",
        "certs_dir": "TLS files, one folder per host (default: builder.certs_dir)",
        "cacert": "CA that signed the daemon's certificate (default: <certs dir>/<host>/client/ca.pem)",
        "cert": "client certificate (default: <certs dir>/<host>/client/cert.pem)",
        "key": "client certificate's key (default: <certs dir>/<host>/client/key.pem)",
        "matrix": "the cells whose platforms it must run (emulated where needed): NAME=VALUE, like inv build",
    },
)
def create(
    c: Context,
    name: str | None = None,
    image: str | None = None,
    mirror: list[str] | None = None,
    network: str | None = None,
    force: bool = False,
    endpoint: str | None = None,
    append_endpoint: list[str] | None = None,
    certs_dir: str | None = None,
    cacert: str | None = None,
    cert: str | None = None,
    key: str | None = None,
    matrix: list[str] | None = None,
) -> None:
    """Create the builder: docker-container from buildkitd.toml, or remote with --endpoint (idempotent);
    platforms the selected cells need and it lacks are emulated (QEMU; as root on Debian)."""
    from ..bake.definition import default_targets_platforms
    from .emulation import check_host_can_provide, ensure_platforms
    from .lifecycle import ensure_builder, resolve_builder_name
    from .remote import ExplicitTLS, ensure_remote_builder

    container_options = {"--image": image, "--mirror": mirror, "--network": network}
    tls_options = {"--certs-dir": certs_dir, "--cacert": cacert, "--cert": cert, "--key": key}
    if endpoint or append_endpoint:
        given = [option for option, value in container_options.items() if value]
        if given:
            raise bad_input(f"{', '.join(given)}: only for docker-container builders, not with --endpoint")
        explicit = ExplicitTLS(cacert=cacert, cert=cert, key=key)
        lines = ensure_remote_builder(
            settings(c), name, endpoint, tuple(append_endpoint or ()), explicit, certs_dir, force
        )
        resolved = resolve_builder_name(settings(c), name)
        for line in lines:
            print(f"builder {resolved}: {line}")
        return
    given = [option for option, value in tls_options.items() if value]
    if given:
        raise bad_input(f"{', '.join(given)}: only with --endpoint or --append-endpoint")
    # The tree's platforms for the selected cells, refused before anything is made if no builder
    # here could run them.
    config = settings(c)
    needed = default_targets_platforms(config, matrix or ())
    resolved = resolve_builder_name(config, name)
    check_host_can_provide(needed, resolved)
    outcome = ensure_builder(config, resolved, image, tuple(mirror or ()), network, force)
    print(f"builder {resolved}: {outcome}")
    for done in ensure_platforms(resolved, needed):
        print(f"builder {resolved}: {done}")


@task(
    name="certs",  # the function can't be `certs`: that is the module it uses
    help={
        "host": "the daemon's host as clients reach it: an IP address or a DNS name",
        "dir": "where to write (default: builder.certs_dir); the files go to <dir>/<host>/",
        "port": f"the daemon's TCP port, for the flags printed (default {CERTS_PORT})",
        "days": f"validity of the certificates (default {CERTS_DAYS})",
        "force": "replace existing certificates (the daemon host then needs the new daemon/ files)",
    },
)
def certs_(
    c: Context,
    host: str | None = None,
    dir: str | None = None,  # noqa: A002 - the option is --dir
    port: int = CERTS_PORT,
    days: int = CERTS_DAYS,
    force: bool = False,
) -> None:
    """Make a CA, a daemon and a client certificate for a remote BuildKit host; print its buildkitd flags."""
    from . import certs
    from .remote import certs_root

    if not host:
        raise bad_input("--host is required: the daemon's IP address or DNS name")
    host = certs.check_host(host)
    if not 0 < port < 65536:
        raise bad_input(f"--port {port}: expected 1-65535")
    dirs = certs.dirs_for(certs_root(settings(c), dir), host)
    certs.refuse_overwrite(dirs, force)
    certs.write(dirs, certs.issue(host, days))
    flags = certs.daemon_flags(dirs, port, settings(c).builder.entitlements)
    print(f"certificates for {host} in {dirs.host_dir} (valid {days} days; the CA's key is not kept):")
    print(f"  {dirs.daemon.relative_to(dirs.host_dir)}/  ca.pem cert.pem key.pem: copy to the daemon host")
    print(f"  {dirs.client.relative_to(dirs.host_dir)}/  ca.pem cert.pem key.pem: for this side, read by")
    address = f"[{host}]" if ":" in host else host  # an IPv6 address in a URL
    print(f"           `inv builder.create --endpoint tcp://{address}:{port}`")
    print("the daemon (paths as here; its config: `inv builder.daemon-config`):")
    print(shlex.join(["buildkitd", *flags]))


@task()
def daemon_config(c: Context) -> None:
    """Print the buildkitd.toml a remote daemon should run with (what this machine's builders get)."""
    from .remote import daemon_config_text

    sys.stdout.write(daemon_config_text(settings(c)))


@task(help={"name": "builder name", "keep_state": "keep the cache volume for a later create"})
def rm(c: Context, name: str | None = None, keep_state: bool = False) -> None:
    """Remove the builder (with --keep-state its cache survives)."""
    from ..shared.engine import require_engine
    from .lifecycle import remove_builder, require_builder, resolve_builder_name

    resolved = resolve_builder_name(settings(c), name)
    if resolved == "default":
        raise bad_input("'default' is the engine's own builder; bakehouse doesn't remove it")
    require_engine()
    require_builder(resolved)
    remove_builder(resolved, keep_state)
    print(f"builder {resolved}: removed{' (cache kept)' if keep_state else ''}")


@task(help={"name": "builder name"})
def status(c: Context, name: str | None = None) -> None:
    """Driver, status, BuildKit version, GC policies in words and disk used."""
    from ..shared.engine import require_engine
    from ..shared.table import align
    from .emulation import describe_platforms, host_facts
    from .lifecycle import (
        builder_disk_usage,
        gc_policy_lines,
        require_builder,
        resolve_builder_name,
        state_of,
    )
    from .remote import REMOTE_DRIVER

    resolved = resolve_builder_name(settings(c), name)
    require_engine()
    record = require_builder(resolved)
    state = state_of(record)
    used = builder_disk_usage(resolved)
    print(f"builder:  {resolved}")
    print(f"driver:   {state.driver}")
    print(f"status:   {state.status}")
    print(f"buildkit: {state.version or 'unknown'}")
    if len(record.nodes) > 1 or record.driver == REMOTE_DRIVER:
        # Builds go to the first node whose platforms fit; the others serve other platforms.
        print("nodes:")
        for line in align([(n.name, n.endpoint, n.status, n.version) for n in record.nodes]):
            print(f"  {line}")
    if state.driver_opts:
        print("options:  " + ", ".join(f"{k}={v}" for k, v in sorted(state.driver_opts.items())))
    print("platforms:")
    for line in align(describe_platforms(record, host_facts())):
        print(f"  {line}")
    print("gc:")
    for line in gc_policy_lines(state):
        print(f"  {line}")
    print(f"disk:     {used / 1e9:.2f} GB used" if used is not None else "disk:     unknown")


@task()
def ls(c: Context) -> None:
    """List builders with driver, status and BuildKit version."""
    from ..shared.buildx import list_builders
    from ..shared.engine import require_engine
    from ..shared.table import align

    require_engine()
    rows = [("NAME", "DRIVER", "STATUS", "BUILDKIT")]
    for builder in list_builders():
        rows.append((builder.name, builder.driver, builder.node.status, builder.node.version))
    print("\n".join(align(rows)))
