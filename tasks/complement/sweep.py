"""Sweeping what Complement runs leave on the daemon: containers, networks, images.

Everything a run creates carries its run id: the tester container by name and label, every
homeserver container and blueprint image through the per-run testee image's label (see
tasks/complement/isolation.py). Complement's networks can't carry it, so they are matched by
Complement's own labels and limited to networks this run created (or, before a run, to unused
leftovers of the packages about to run, which Complement would remove itself).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..shared.engine import engine_answers
from ..shared.process import docker, say
from .isolation import COMPLEMENT_CONTEXT_LABEL, COMPLEMENT_PACKAGE_LABEL, RUN_LABEL
from .signals import signals_ignored


@dataclass
class Swept:
    containers: int = 0
    networks: int = 0
    images: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.containers} container(s), {self.networks} network(s), {self.images} image(s)"


def _ids(*args: str) -> list[str]:
    result = docker(*args, what=f"docker {' '.join(args[:2])}")
    return list(dict.fromkeys(line.strip() for line in result.stdout.splitlines() if line.strip()))


def complement_networks(namespaces: Sequence[str]) -> dict[str, int]:
    """Complement's networks of these namespaces: id -> number of attached containers."""
    ids = _ids("network", "ls", "-q", "--no-trunc", "--filter", f"label={COMPLEMENT_CONTEXT_LABEL}")
    if not ids:
        return {}
    result = docker("network", "inspect", *ids, check=False)
    networks: dict[str, int] = {}
    for network in json.loads(result.stdout or "[]"):
        labels = network.get("Labels") or {}
        if labels.get(COMPLEMENT_PACKAGE_LABEL) in namespaces:
            networks[network["Id"]] = len(network.get("Containers") or {})
    return networks


def sweep(
    run_id: str | None, namespaces: Sequence[str], *, keep_networks: Sequence[str] | None = None
) -> Swept:
    """Remove the run's containers and images (any run's with None), then Complement's unused
    networks of these namespaces, except `keep_networks` (those that existed before this run)."""
    swept = Swept()
    label = f"label={RUN_LABEL}={run_id}" if run_id is not None else f"label={RUN_LABEL}"
    containers = _ids("ps", "-aq", "--no-trunc", "--filter", label)
    if containers:
        result = docker("rm", "-f", "-v", *containers, check=False)
        swept.containers = len(containers)
        if not result.ok:
            swept.errors.append(result.reason())
    keep = set(keep_networks or ())
    for network_id, attached in complement_networks(namespaces).items():
        if network_id in keep or attached:
            continue
        result = docker("network", "rm", network_id, check=False)
        if result.ok:
            swept.networks += 1
        else:
            swept.errors.append(result.reason())
    # Blueprint images are children of the run image: remove what can go, repeat while progressing.
    images = _ids("images", "-aq", "--no-trunc", "--filter", label)
    while images:
        remaining = [i for i in images if not docker("image", "rm", "-f", i, check=False).ok]
        swept.images += len(images) - len(remaining)
        if len(remaining) == len(images):
            swept.errors.append(f"could not remove image(s) {', '.join(i[7:19] for i in remaining)}")
            break
        images = remaining
    return swept


def sweep_leftovers(namespaces: Sequence[str]) -> None:
    # Holding the lock, no other run of this host is alive: whatever carries a run label is left
    # over from a run that died (engine killed, process killed), whatever its id.
    swept = sweep(None, namespaces)
    if swept.containers or swept.networks or swept.images:
        say(f"removed leftovers of earlier runs: {swept}")


def clean_up_run(run_id: str, namespaces: Sequence[str], existing_networks: Sequence[str]) -> None:
    """Remove what the run made, whatever happened to it (a second signal can't stop this)."""
    with signals_ignored():
        if engine_answers():
            swept = sweep(run_id, namespaces, keep_networks=existing_networks)
            say(f"cleaned up run {run_id}: {swept}")
            for error in swept.errors:
                say(f"cleanup: {error}")
        else:
            say(f"the engine is gone: run {run_id}'s leftovers are swept by the next run")
