"""Telling a homeserver that crashed from one that Complement stopped, from the engine's events.

Complement starts every homeserver from the per-run image, so each carries the run label and
shows up in `docker events --filter label=…`. A homeserver that dies on its own before it was
ever healthy will never become ready: Complement would wait out its spawn timeout for it, test
after test. Complement stops containers with a signal (`docker stop`/`kill`), which the engine
reports as a `kill` event before `die`; a `die` without one is the container's own doing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Crash:
    """A homeserver container that exited on its own before it was healthy."""

    container_id: str
    name: str
    image: str
    exit_code: str

    def describe(self) -> str:
        return (
            f"homeserver container {self.name or self.container_id[:12]} ({self.image}) exited with "
            f"status {self.exit_code} before it was healthy"
        )


@dataclass
class HomeserverWatch:
    """Feed it the run's container events (JSON lines); it answers the first crash, once."""

    # Containers of the run that are not homeservers (the tester itself).
    ignore_names: frozenset[str] = frozenset()
    _signalled: set[str] = field(default_factory=set)
    _healthy: set[str] = field(default_factory=set)
    crash: Crash | None = None

    def feed(self, line: str) -> Crash | None:
        """Take one event line; return a Crash the first time one is seen, else None."""
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            return None
        if not isinstance(event, dict) or event.get("Type") != "container":
            return None
        actor = event.get("Actor") or {}
        attributes = actor.get("Attributes") or {}
        container = str(actor.get("ID") or event.get("id") or "")
        name = str(attributes.get("name", ""))
        action = str(event.get("Action") or event.get("status") or "")
        if not container or name in self.ignore_names:
            return None
        if action == "kill" or action == "stop":
            self._signalled.add(container)
        elif action.startswith("health_status") and action.endswith("healthy") and "unhealthy" not in action:
            self._healthy.add(container)
        elif action == "start":
            # A blueprint's container may be started again after a stop: judge each life alone.
            self._signalled.discard(container)
        elif action == "die" and self.crash is None:
            if container in self._signalled or container in self._healthy:
                return None
            self.crash = Crash(
                container_id=container,
                name=name,
                image=str(attributes.get("image", "")),
                exit_code=str(attributes.get("exitCode", "?")),
            )
            return self.crash
        return None
