"""What a Dockerfile reads from its build context: the sources of COPY/ADD without --from and of
RUN bind mounts without from=.

The answer is a list of context-relative patterns (globs allowed, as COPY takes them) plus one flag,
``whole_context``, for any source that is the context's root or can't be resolved without running
the build (a variable in the path): then every file of the context counts as read. Reading too
much only makes a content tag change more often; reading too little would let two different
images share a tag, so every doubt goes to the whole context.
"""

from __future__ import annotations

import csv
import json
import posixpath
import re
from dataclasses import dataclass

from ..shared.dockerfile import instructions, split_flags

# ADD fetches these itself: they are not files of the context (the Dockerfile text names them).
_REMOTE_SOURCE = re.compile(r"^([a-z][a-z0-9+.-]*://|git@)", re.IGNORECASE)


@dataclass(frozen=True)
class ContextReads:
    """The context paths a Dockerfile reads: cleaned patterns relative to the context root."""

    patterns: tuple[str, ...] = ()
    whole_context: bool = False


def _clean(source: str) -> str | None:
    """A source as a context-relative path; '' for the context root; None when unresolvable."""
    if "$" in source:
        return None  # a build argument or variable: its value is only known inside the build
    cleaned = posixpath.normpath("/" + source).lstrip("/")
    return "" if cleaned in (".", "") else cleaned


def _copy_sources(instruction: str, rest: str) -> list[str] | None:
    """Build-context sources of COPY/ADD; None when the instruction reads another stage or context."""
    flags, arguments = split_flags(rest)
    if any(flag.startswith("--from=") for flag in flags):
        return None
    if arguments.startswith("["):
        try:
            words = [str(word) for word in json.loads(arguments)]
        except json.JSONDecodeError:
            words = arguments.split()
    else:
        words = arguments.split()
    sources = words[:-1]
    return [
        source
        for source in sources
        if not source.startswith("<<") and not (instruction == "ADD" and _REMOTE_SOURCE.match(source))
    ]


def _bind_mount_sources(rest: str) -> list[str]:
    """Build-context sources of RUN --mount flags: bind mounts (the default type) without from=."""
    flags, _ = split_flags(rest)
    sources: list[str] = []
    for flag in flags:
        if not flag.startswith("--mount="):
            continue
        fields: dict[str, str] = {}
        for item in next(csv.reader([flag.removeprefix("--mount=")])):
            key, _, value = item.partition("=")
            fields[key.strip().lower()] = value.strip()
        if fields.get("type", "bind") != "bind" or "from" in fields:
            continue
        # Without a source a bind mount is the whole context.
        sources.append(fields.get("source") or fields.get("src") or "/")
    return sources


def context_reads(dockerfile_text: str) -> ContextReads:
    """The context paths a Dockerfile's instructions read (every stage's: unused stages count too)."""
    patterns: list[str] = []
    whole = False
    for instruction in instructions(dockerfile_text):
        if instruction.keyword in ("COPY", "ADD"):
            sources = _copy_sources(instruction.keyword, instruction.arguments) or []
        elif instruction.keyword == "RUN":
            sources = _bind_mount_sources(instruction.arguments)
        else:
            continue  # ONBUILD runs in a child image's build, with that build's context
        for source in sources:
            cleaned = _clean(source)
            if not cleaned:
                whole = True
            elif cleaned not in patterns:
                patterns.append(cleaned)
    return ContextReads(tuple(patterns), whole)
