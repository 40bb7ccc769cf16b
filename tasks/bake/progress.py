"""Reading `docker buildx bake --progress rawjson`: per-target outcome, timing and executed steps.

Each line is a BuildKit SolveStatus as JSON: vertexes (name "[target step] ...", started,
completed, cached, error) and logs (base64 output of a vertex). Vertex names carry the bake
target in their bracket prefix, which is how steps are attributed to targets.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import datetime

_BRACKET = re.compile(r"^\[(?P<inside>[^\]]*)\]\s*(?P<rest>.*)$")
# First words inside the brackets that are parts of a step label, not a target name
# (bake prefixes the target only when one call solves several targets).
_STEP_WORD = re.compile(r"^(\d+/\d+|stage-\d+|internal|context|auth)$")
# Bookkeeping vertices that every build has; not "steps" of the tree.
_BOOKKEEPING_STEPS = ("internal", "context")
_BOOKKEEPING_REST = ("FROM ", "load metadata", "load build definition", "load .dockerignore")


def _time(text: object) -> float | None:
    """A rawjson time as a timestamp; None when unset (absent, empty or Go's zero time)."""
    if not isinstance(text, str) or not text or text.startswith("0001-"):
        return None
    # Go prints nanoseconds; Python's fromisoformat takes at most microseconds.
    trimmed = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))
    return datetime.fromisoformat(trimmed).timestamp()


@dataclass
class Vertex:
    digest: str
    name: str
    target: str | None = None
    step: str | None = None
    started: float | None = None
    completed: float | None = None
    cached: bool = False
    error: str | None = None
    logs: list[str] = field(default_factory=list)
    rest: str = ""
    # Digests of the vertices this one builds on (its parent layer, a copied stage, ...).
    inputs: tuple[str, ...] = ()

    @property
    def is_step(self) -> bool:
        """A real build step (RUN/COPY/...), not base-image resolution or bake/context bookkeeping."""
        if self.target is None or self.step is None:
            return False
        if self.step.split(" ")[0] in _BOOKKEEPING_STEPS:
            return False
        return not self.rest.startswith(_BOOKKEEPING_REST)

    @property
    def executed(self) -> bool:
        return self.is_step and self.completed is not None and not self.cached and self.started is not None


@dataclass
class TargetOutcome:
    name: str
    status: str  # built | cached | failed | done
    seconds: float
    steps_executed: int
    steps_cached: int
    error: str | None = None


class RawJsonReader:
    """Feed rawjson lines; ask for per-target outcomes and the lines worth echoing."""

    def __init__(self, single_target: str | None = None) -> None:
        # With one target per call, bake prints no target prefix: every step belongs to it.
        self.single_target = single_target
        self.vertices: dict[str, Vertex] = {}
        self.order: list[str] = []
        self.malformed = 0

    def feed(self, line: str) -> list[str]:
        """Update state; return human-readable progress lines for what just finished or logged."""
        line = line.strip()
        if not line:
            return []
        try:
            status = json.loads(line)
        except json.JSONDecodeError:
            self.malformed += 1
            return [line]
        printed: list[str] = []
        for raw in status.get("vertexes") or []:
            printed.extend(self._vertex(raw))
        for log in status.get("logs") or []:
            vertex = self.vertices.get(log.get("vertex", ""))
            text = base64.b64decode(log.get("data") or b"").decode(errors="replace")
            if vertex is not None:
                vertex.logs.append(text)
                label = f"[{vertex.target} {vertex.step}]" if vertex.target else vertex.name
                printed.extend(f"{label} {row}" for row in text.rstrip("\n").splitlines())
        return printed

    def _vertex(self, raw: dict[str, object]) -> list[str]:
        digest = str(raw.get("digest", ""))
        vertex = self.vertices.get(digest)
        if vertex is None:
            name = str(raw.get("name", ""))
            vertex = Vertex(digest=digest, name=name)
            self._attribute(vertex)
            self.vertices[digest] = vertex
            self.order.append(digest)
        was_done = vertex.completed is not None
        vertex.started = vertex.started or _time(raw.get("started"))
        vertex.completed = _time(raw.get("completed")) or vertex.completed
        vertex.cached = vertex.cached or bool(raw.get("cached"))
        inputs = raw.get("inputs")
        if isinstance(inputs, list) and not vertex.inputs:
            vertex.inputs = tuple(str(digest) for digest in inputs)
        if raw.get("error"):
            vertex.error = str(raw["error"])
        if vertex.completed is None or was_done:
            return []
        if vertex.error:
            return [f"{vertex.name} ERROR: {vertex.error}"]
        if not vertex.is_step:
            return []
        if vertex.cached:
            return [f"{vertex.name} CACHED"]
        took = vertex.completed - vertex.started if vertex.started else 0.0
        return [f"{vertex.name} DONE {took:.1f}s"]

    def _attribute(self, vertex: Vertex) -> None:
        match = _BRACKET.match(vertex.name)
        if not match:
            # A one-target call's own bookkeeping has no bracket ("exporting cache to registry"):
            # it is that target's, so a registry refusing the export fails the target in its words.
            vertex.target = self.single_target
            return
        words = match.group("inside").split(" ")
        vertex.rest = match.group("rest")
        if len(words) == 1 and not _STEP_WORD.match(words[0]):
            # "[target] importing cache manifest ...", "[target] exporting cache ...": a target's
            # own bookkeeping, not a step (a one-target call names its dependency targets so too).
            vertex.target = words[0]
        elif len(words) > 1 and not _STEP_WORD.match(words[0]):
            vertex.target, vertex.step = words[0], " ".join(words[1:])
        elif words[0] != "internal":
            vertex.target, vertex.step = self.single_target, " ".join(words)

    def steps(self, target: str | None = None) -> list[Vertex]:
        chosen = [self.vertices[d] for d in self.order]
        return [v for v in chosen if v.is_step and (target is None or v.target == target)]

    def executed_steps(self, targets: set[str] | None = None) -> list[Vertex]:
        return [v for v in self.steps() if v.executed and (targets is None or v.target in targets)]

    def errors(self) -> list[Vertex]:
        return [self.vertices[d] for d in self.order if self.vertices[d].error]

    def outcome(self, target: str, ok: bool) -> TargetOutcome:
        """Outcome of one requested target from the steps attributed to it.

        ``ok`` is whether the bake call that built it succeeded: a failed call fails every target
        whose own steps did not all complete (a parent layer's error shows under the parent's name).
        A call that succeeded fails none: vertices may carry errors BuildKit went on from (a registry
        cache import that finds nothing yet: "importing cache manifest from ...: not found").
        """
        steps = self.steps(target)
        own_errors = [v for v in self.errors() if v.target == target] if not ok else []
        # Cached steps carry the timestamps of the build that made them: only executed ones count.
        times = [t for v in steps if not v.cached for t in (v.started, v.completed) if t is not None]
        seconds = max(times) - min(times) if times else 0.0
        executed = sum(1 for v in steps if v.executed)
        cached = sum(1 for v in steps if v.cached)
        complete = bool(steps) and all(v.completed is not None for v in steps)
        if own_errors or not (ok or complete):
            status = "failed"
        elif executed == 0:
            status = "cached"
        else:
            status = "built"
        if own_errors:
            error = own_errors[0].error
        elif status == "failed":
            error = next((v.error for v in self.errors()), None)
        else:
            error = None
        return TargetOutcome(target, status, seconds, executed, cached, error)
