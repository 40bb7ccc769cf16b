"""The digest-pinning rule: every registry image a Dockerfile pulls must carry ``@sha256:``.

hadolint can't check this (a variable in ``FROM ${X_IMAGE}`` hides the reference), so this module
reads Dockerfiles itself (instructions with their line numbers come from tasks.shared.dockerfile):
global ARG defaults, stage names.
``FROM``, ``COPY --from=`` and defaults of ``ARG *_IMAGE`` are checked after substituting ARG
defaults and, when known, the args and named contexts a bake target passes to that Dockerfile.
References allowed unpinned (locally built base images, named contexts) come from config.
The ``# syntax=`` line is checked too: its frontend must be pinned and one the project allows.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..shared.dockerfile import (
    SYNTAX,
    UNRESOLVED,
    Instruction,
    directives,
    expand,
    from_image,
    instructions,
    is_pinned,
    split_arg,
)
from .findings import Finding


@dataclass(frozen=True)
class BuildBinding:
    """What a bake target gives a Dockerfile: build args and named contexts (name -> source)."""

    target: str = ""
    args: Mapping[str, str] = field(default_factory=dict)
    contexts: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class UnpinnedReference:
    path: str
    line: int
    reference: str
    instruction: str
    # True when the reference is written literally on that line, so lint.pin can rewrite it in place.
    literal: bool
    detail: str = ""

    def finding(self) -> Finding:
        if self.detail.startswith("unresolved"):
            message = f"{self.instruction} cannot be checked for a digest: {self.detail}"
            rule = "pin-unresolved"
        else:
            where = f" ({self.detail})" if self.detail else ""
            message = f"{self.instruction} image {self.reference} is not pinned by digest (@sha256:…){where}"
            rule = "pin-digest"
        return Finding(self.path, self.line, 0, "pins", rule, "error", message)


@dataclass(frozen=True)
class SyntaxOutsideAllowlist:
    """A ``# syntax=`` line naming a frontend image the project doesn't allow."""

    path: str
    line: int
    reference: str
    allowed: tuple[str, ...]

    def finding(self) -> Finding:
        allowed = ", ".join(self.allowed) or "nothing"
        message = (
            f"{SYNTAX} names the frontend {self.reference}, not one lint.syntax_allowed lists ({allowed})"
        )
        return Finding(self.path, self.line, 0, "pins", "syntax-allowlist", "error", message)


def image_repository(reference: str) -> str:
    """``docker.io/docker/dockerfile:1@sha256:…`` -> ``docker.io/docker/dockerfile`` (tag, digest dropped)."""
    name = reference.partition("@")[0]
    colon = name.rfind(":")
    return name[:colon] if colon > name.rfind("/") else name


def check_syntax(
    path: str, text: str, allowed: Sequence[str]
) -> tuple[list[UnpinnedReference], list[SyntaxOutsideAllowlist]]:
    """The ``# syntax=`` line of a Dockerfile: its frontend unpinned, and outside ``allowed``
    (repositories; ``docker/dockerfile`` also allows ``docker.io/docker/dockerfile``)."""
    unpinned: list[UnpinnedReference] = []
    outside: list[SyntaxOutsideAllowlist] = []
    for directive in directives(text):
        if directive.name != "syntax":
            continue
        reference = directive.value
        repositories = normalized_names(image_repository(reference))
        if not any(fnmatch.fnmatchcase(name, pattern) for name in repositories for pattern in allowed):
            outside.append(SyntaxOutsideAllowlist(path, directive.line, reference, tuple(allowed)))
        if not is_pinned(reference):
            unpinned.append(UnpinnedReference(path, directive.line, reference, SYNTAX, True))
    return unpinned, outside


def normalized_names(reference: str) -> set[str]:
    """The forms of a Docker Hub reference, so `debian:*` also allows `docker.io/library/debian:x`."""
    names = {reference}
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"):
        if reference.startswith(prefix):
            names.add(reference[len(prefix) :])
    return names


def is_allowed(reference: str, allowed: Sequence[str]) -> bool:
    return any(
        fnmatch.fnmatchcase(name, pattern) for name in normalized_names(reference) for pattern in allowed
    )


def _unresolved_names(value: str) -> list[str]:
    return value.split(UNRESOLVED)[1::2]


def _copy_from(arguments: str) -> str:
    for word in arguments.split():
        if word.startswith("--from="):
            return word[len("--from=") :]
    return ""


def check_dockerfile(
    path: str,
    text: str,
    allowed: Sequence[str],
    bindings: Sequence[BuildBinding] = (),
) -> list[UnpinnedReference]:
    """Unpinned registry references in one Dockerfile, once per (line, reference) across all bindings."""
    parsed = instructions(text)
    found: dict[tuple[int, str], UnpinnedReference] = {}
    for binding in bindings or (BuildBinding(),):
        for issue in _check_with_binding(path, parsed, allowed, binding):
            found.setdefault((issue.line, issue.reference), issue)
    return sorted(found.values(), key=lambda issue: (issue.line, issue.reference))


def _check_with_binding(
    path: str, parsed: Sequence[Instruction], allowed: Sequence[str], binding: BuildBinding
) -> list[UnpinnedReference]:
    issues: list[UnpinnedReference] = []
    global_args: dict[str, str | None] = {}
    image_arg_values: set[str] = set()
    stages: set[str] = set()
    seen_from = False
    via = f"bake target {binding.target}" if binding.target else ""

    def check(line: int, instruction: str, raw: str, *, may_be_stage: bool) -> None:
        value = expand(raw, global_args)
        if not value or value.lower() == "scratch":
            return
        if may_be_stage and (value.lower() in stages or value.isdigit()):
            return
        if value in binding.contexts:
            source = binding.contexts[value]
            if source.startswith("docker-image://"):
                image = source[len("docker-image://") :]
                if not is_pinned(image) and not is_allowed(image, allowed):
                    detail = f"named context {value} of {via}" if via else f"named context {value}"
                    issues.append(UnpinnedReference(path, line, image, instruction, False, detail))
            return
        if UNRESOLVED in value:
            names = ", ".join(f"${{{name}}}" for name in _unresolved_names(value))
            detail = f"unresolved {names}: no ARG default" + (f" and {via} passes none" if via else "")
            issues.append(UnpinnedReference(path, line, raw, instruction, False, detail))
            return
        if is_pinned(value) or is_allowed(value, allowed) or value in image_arg_values:
            return
        literal = value == raw
        detail = "" if literal else (f"from build args of {via}" if via else f"expanded from {raw}")
        issues.append(UnpinnedReference(path, line, value, instruction, literal, detail))

    for instruction in parsed:
        if instruction.keyword == "ARG":
            for name, default in split_arg(instruction.arguments):
                value = binding.args.get(name, default)
                if not seen_from:
                    global_args[name] = value
                if name.upper().endswith("_IMAGE") and value:
                    check(instruction.line, f"ARG {name}", value, may_be_stage=False)
                    if not seen_from:
                        # FROM ${NAME} reports nothing more: the ARG line carries the finding.
                        image_arg_values.add(value)
        elif instruction.keyword == "FROM":
            seen_from = True
            image, stage = from_image(instruction.arguments)
            check(instruction.line, "FROM", image, may_be_stage=True)
            if stage:
                stages.add(stage.lower())
        elif instruction.keyword in ("COPY", "ADD"):
            source = _copy_from(instruction.arguments)
            # A bare `--from=name` is a stage, a named context or an image; without bake's contexts
            # it can't be told apart, so only references that look like images are checked then.
            looks_like_image = any(mark in source for mark in ":/@")
            if source and (looks_like_image or binding.target):
                check(instruction.line, f"{instruction.keyword} --from", source, may_be_stage=True)
    return issues


def pinned_line(line: str, reference: str, digest: str) -> str:
    """``line`` with the first whole-word occurrence of ``reference`` followed by ``@digest``."""
    pattern = re.compile(rf"(?<![\w./:@-]){re.escape(reference)}(?![\w./:@-])")
    return pattern.sub(f"{reference}@{digest}", line, count=1)
