"""What a tree's build pulls, read from its bake plan: the base images its FROM lines and
``docker-image://`` contexts name and the Dockerfile frontends its ``# syntax=`` lines name, and
which of them registry-free mode can make (pure logic; supply.py makes them).

Registry-free, a docker-container builder pulls through the local registry, its docker.io mirror.
What can be made there: Debian base images (``debian:<suite>[-slim]``, debootstrap, any suite the
archive has) and the Dockerfile frontend (``docker/dockerfile:<tag>``, built from BuildKit's Go module;
one binary serves every 1.x tag up to the syntax version it implements, mainline and -labs).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..shared.dockerfile import (
    SYNTAX,
    UNRESOLVED,
    directives,
    dockerfile_of,
    expand,
    from_image,
    instructions,
    is_pinned,
    split_arg,
)
from ..shared.local_registry import HubImage, hub_image

FRONTEND_REPOSITORY = "docker/dockerfile"
# BuildKit's own override of a Dockerfile's syntax line (a build arg).
SYNTAX_ARG = "BUILDKIT_SYNTAX"
# 1, 1.11, 1.11.0, each optionally -labs; or the moving tags.
_FRONTEND_TAG = re.compile(r"^(?P<major>\d+)(?:\.(?P<minor>\d+))?(?:\.\d+)?(?:-labs)?$")
_MOVING_FRONTEND_TAGS = ("latest", "labs")
# Debian suite names: codenames and stable/testing/unstable/oldstable..., lower case.
_SUITE = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass(frozen=True)
class ImageUse:
    """One place a tree names an image: the Dockerfile (tree-relative), its line, and how."""

    dockerfile: str
    line: int
    directive: str  # "# syntax=", "FROM", "context <name>" or "arg BUILDKIT_SYNTAX"
    image: str

    def where(self) -> str:
        return f"{self.dockerfile}:{self.line}: {self.directive} {self.image}"


def debian_suite(image: HubImage) -> str | None:
    """The suite of a ``debian:<suite>[-slim]`` image (None for any other image)."""
    if image.repository != "library/debian":
        return None
    suite = image.tag.removesuffix("-slim")
    return suite if _SUITE.match(suite) else None


def frontend_serves(tag: str, syntax_version: str) -> bool:
    """Whether the frontend implementing ``syntax_version`` (e.g. 1.27) answers a
    ``docker/dockerfile:<tag>`` request: same major version, minor not newer."""
    if tag in _MOVING_FRONTEND_TAGS:
        return True
    match = _FRONTEND_TAG.match(tag)
    if not match:
        return False
    major, _, minor = syntax_version.partition(".")
    if int(match["major"]) != int(major):
        return False
    return match["minor"] is None or int(match["minor"]) <= int(minor or 0)


def _uses_in_dockerfile(
    path: str, text: str, args: Mapping[str, str], contexts: Mapping[str, str]
) -> list[ImageUse]:
    uses: list[ImageUse] = []
    syntax = [d for d in directives(text) if d.name == "syntax"]
    if args.get(SYNTAX_ARG):
        uses.append(ImageUse(path, 1, f"arg {SYNTAX_ARG}", args[SYNTAX_ARG]))
    elif syntax:
        uses.append(ImageUse(path, syntax[0].line, SYNTAX, syntax[0].value))
    global_args: dict[str, str | None] = {}
    stages: set[str] = set()
    seen_from = False
    for instruction in instructions(text):
        if instruction.keyword == "ARG" and not seen_from:
            for name, default in split_arg(instruction.arguments):
                global_args[name] = args.get(name, default)
        elif instruction.keyword == "FROM":
            seen_from = True
            raw, stage = from_image(instruction.arguments)
            value = expand(raw, global_args)
            if value in contexts:
                source = contexts[value]
                if source.startswith("docker-image://"):
                    uses.append(
                        ImageUse(path, instruction.line, f"context {value}", source[len("docker-image://") :])
                    )
            elif value.lower() not in ("", "scratch", *stages) and UNRESOLVED not in value:
                uses.append(ImageUse(path, instruction.line, "FROM", value))
            if stage:
                stages.add(stage.lower())
    return uses


def images_needed(plan: Mapping[str, Any], root: Path) -> list[ImageUse]:
    """Every image the plan's targets pull, once per (Dockerfile, line, image), in file order."""
    found: dict[tuple[str, int, str], ImageUse] = {}
    for _, target in sorted((plan.get("target") or {}).items()):
        dockerfile = dockerfile_of(target, root)
        if dockerfile is None or not (root / dockerfile).is_file():
            continue
        args = {str(k): str(v) for k, v in (target.get("args") or {}).items() if v is not None}
        contexts = {str(k): str(v) for k, v in (target.get("contexts") or {}).items()}
        text = (root / dockerfile).read_text(errors="replace")
        for use in _uses_in_dockerfile(dockerfile, text, args, contexts):
            found.setdefault((use.dockerfile, use.line, use.image), use)
    return sorted(found.values(), key=lambda use: (use.dockerfile, use.line, use.image))


@dataclass(frozen=True)
class Supply:
    """How one missing image is made: a Debian suite (debootstrap) or the frontend under a tag."""

    image: HubImage
    suite: str = ""  # debootstrap this suite
    frontend: bool = False  # tag the frontend image as this image


def supply_for(use: ImageUse) -> Supply | str:
    """How the image of ``use`` can be made registry-free, or why it can't (one phrase)."""
    image = hub_image(use.image)
    if image is None:
        return "only Docker Hub images are served (the local registry mirrors docker.io)"
    if image.digest and not is_pinned(f"@{image.digest}"):
        return f"{image.digest} is not a sha256 digest"
    if image.digest:
        return "pinned to a digest the local registry doesn't hold (only an image made here has its digest)"
    if image.repository == FRONTEND_REPOSITORY:
        return Supply(image, frontend=True)
    suite = debian_suite(image)
    if suite is not None:
        return Supply(image, suite=suite)
    if use.directive in (SYNTAX, f"arg {SYNTAX_ARG}"):
        return f"only {FRONTEND_REPOSITORY} frontends are built here"
    return "only debian:<suite>[-slim] base images are made here (debootstrap)"
