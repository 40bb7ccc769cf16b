"""The engine `inv engine.*` manages: bring one up (a private one only where none is usable), say
what is running, stop what bakehouse started."""

from __future__ import annotations

from ..shared.engine import engine_usable, probe_engine
from ..shared.errors import BakehouseError
from ..shared.host import apt_install_host, pid_alive
from ..shared.local_registry import recorded_mode, registry_address, registry_answers, stop_registry
from ..shared.private_state import paths
from ..shared.process import say
from ..shared.settings import Settings
from .provision import (
    check_up_config,
    require_debian_root,
    start_private_engine,
    stop_private_engine,
    unpack_engine,
)


def ensure_engine(config: Settings) -> None:
    """A usable engine: the one that answers, else a private one from Debian's packages."""
    check_up_config(config)
    cfg = config.engine
    info = probe_engine()
    if info is not None and not engine_usable(info, cfg):
        say(f"engine {info.server_version} (API {info.api_version}), buildx {info.buildx_version}: usable")
    else:
        require_debian_root()
        if info is None:
            apt_install_host(["containerd", "runc", "iptables"])
        unpack_engine(config)
        if info is None:
            start_private_engine(config)
        info = probe_engine()
        if info is None:
            raise BakehouseError("the engine started but does not answer; see `inv engine.status`")
        missing = engine_usable(info, cfg)
        if missing:
            raise BakehouseError("the engine is still not usable: " + ", ".join(missing))
        say(f"engine {info.server_version} (API {info.api_version}), buildx {info.buildx_version}: up")


def print_status(config: Settings) -> None:
    """Which engine is reachable, whether bakehouse started it, and the supply mode."""
    cfg = config.engine
    p = paths(config)
    info = probe_engine()
    ours = pid_alive(p.pid_file)
    if info is None:
        print("engine: not reachable (run `inv engine.up`)")
    else:
        missing = engine_usable(info, cfg)
        print(f"engine: {info.server_version}, API {info.api_version}, buildx {info.buildx_version}")
        print("usable: " + ("yes" if not missing else "no: " + ", ".join(missing)))
    print(f"started by bakehouse: {'yes, pid ' + str(ours) + ', data in ' + str(p.data) if ours else 'no'}")
    print(f"supply mode: {recorded_mode(config)}")
    address = registry_address(config)
    print(f"local registry {address}: {'up' if registry_answers(address) else 'down'}")


def stop_what_up_started(config: Settings) -> None:
    """The private engine and the local registry, if bakehouse started them; nothing else."""
    stopped = []
    if stop_registry(config):
        stopped.append("local registry")
    if stop_private_engine(config):
        stopped.append("private engine")
    say("stopped " + " and ".join(stopped) if stopped else "nothing started by bakehouse is running")
