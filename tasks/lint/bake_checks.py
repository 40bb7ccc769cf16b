"""The bake definition check: what `bake --print` and `bake --call check` say, as lint findings.

Pure logic over bake's JSON: which Dockerfile each target builds with which args and named
contexts (the digest-pinning rule resolves ``FROM ${sys_name}:...`` and ``FROM input`` with them),
the `--call check,format=json` warnings, and whether a failed check means "this builder can't run
checks" rather than "the tree is broken".
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..shared.dockerfile import directives, dockerfile_of
from .findings import Finding, relative_path
from .pin_rule import BuildBinding, normalized_names

# Printed when the builder's Dockerfile frontend is too old for checks and it tries to pull a newer
# frontend image (the engine's embedded BuildKit does this; no registry is reachable here).
_CHECKS_UNSUPPORTED = (
    "unsupported request frontend.lint",
    "docker-image://docker.io/docker/dockerfile",
)


# How BuildKit says it could not fetch a frontend image (the reference may end in a colon).
_FRONTEND_PULL = re.compile(
    r"(?:resolve image config for docker-image://|failed to resolve source metadata for )(\S+)"
)


def full_matrix_variables(dimensions: Mapping[str, Sequence[str]]) -> list[str]:
    """``NAME=VALUE`` overrides selecting every allowed value of every dimension (plural name, JSON array)."""
    return [f"{name}={json.dumps(list(values))}" for name, values in dimensions.items()]


def bindings_from_print(printed: Mapping[str, Any], root: Path) -> dict[str, list[BuildBinding]]:
    """Dockerfile (tree-relative) -> what each printed target passes it."""
    bindings: dict[str, list[BuildBinding]] = {}
    for name, target in sorted((printed.get("target") or {}).items()):
        dockerfile = dockerfile_of(target, root)
        if dockerfile is None:
            continue
        args = {str(k): str(v) for k, v in (target.get("args") or {}).items() if v is not None}
        contexts = {str(k): str(v) for k, v in (target.get("contexts") or {}).items()}
        bindings.setdefault(dockerfile, []).append(BuildBinding(name, args, contexts))
    return bindings


def check_overrides(plan: Mapping[str, Any]) -> list[str]:
    """``--set`` arguments that make `bake --call check` safe and possible for ``plan``'s targets.

    - Outputs become cacheonly: with --call check, buildx 0.29 still runs a target's exporter, and a
      `type=docker` output then loads an *empty* image under the target's tags (seen here: it
      replaced a real image in the engine).
    - ``target:`` named contexts become the target's own build context directory: call requests
      don't build their dependencies, so the frontend gets the raw ``target:`` reference and fails
      ("unsupported context source target"). Checks only read the Dockerfile, so any local
      directory stands in for the parent image.
    """
    overrides = ["--set=*.output=type=cacheonly"]
    for name, target in sorted((plan.get("target") or {}).items()):
        context = str(target.get("context") or ".")
        for key, source in sorted((target.get("contexts") or {}).items()):
            if str(source).startswith("target:"):
                overrides.append(f"--set={name}.contexts.{key}={context}")
    return overrides


def checks_unsupported(error_text: str) -> bool:
    return any(marker in error_text for marker in _CHECKS_UNSUPPORTED)


def syntax_directives(plan: Mapping[str, Any], root: Path) -> list[tuple[str, int, str]]:
    """(Dockerfile, line, frontend image) of every ``# syntax=`` line of the plan's Dockerfiles."""
    found: set[tuple[str, int, str]] = set()
    for dockerfile in bindings_from_print(plan, root):
        if (root / dockerfile).is_file():
            text = (root / dockerfile).read_text(errors="replace")
            found |= {(dockerfile, d.line, d.value) for d in directives(text) if d.name == "syntax"}
    return sorted(found)


def unpulled_frontend(error_text: str, plan: Mapping[str, Any], root: Path) -> str:
    """When a check failed because the frontend image a ``# syntax=`` line names can't be pulled:
    that line and image, as ``Dockerfile:LINE (# syntax=IMAGE)``; else empty."""
    failed = {match.group(1).rstrip(":") for match in _FRONTEND_PULL.finditer(error_text)}
    failed_names = {name for image in failed for name in normalized_names(image)}
    for dockerfile, line, image in syntax_directives(plan, root):
        if normalized_names(image) & failed_names:
            return f"{dockerfile}:{line} (# syntax={image})"
    return ""


def findings_from_check(output: str, root: Path, printed: Mapping[str, Any]) -> list[Finding]:
    """`bake --call check,format=json` output -> one finding per warning and per failed check.

    Per target, buildx 0.29 prints ``check = {sources, warnings, buildError?, error?}``: warnings
    carry ruleName/detail/location, a Dockerfile that doesn't parse gives buildError (message and
    location) plus error (the same message with a source excerpt).
    """
    document = json.loads(output) if output.strip() else {}
    findings: list[Finding] = []
    for name, result in sorted((document.get("target") or {}).items()):
        check = result.get("check") or {}
        if isinstance(check, str):
            check = json.loads(check)
        target = (printed.get("target") or {}).get(name) or (result.get("build") or {})
        default_file = dockerfile_of(target, root) or name
        sources = check.get("sources") or []
        for warning in check.get("warnings") or []:
            path, line = _location(warning.get("location"), sources, default_file, root, target)
            message = warning.get("detail") or warning.get("description") or warning.get("ruleName", "")
            rule = str(warning.get("ruleName") or "check")
            findings.append(Finding(path, line, 0, "bake-check", rule, "warning", message))
        build_error = check.get("buildError")
        error = check.get("error") or result.get("error")
        if build_error or error:
            location = build_error.get("location") if isinstance(build_error, Mapping) else None
            message = build_error.get("message") if isinstance(build_error, Mapping) else None
            message = message or str(error).strip().splitlines()[0]
            path, line = _location(location, sources, default_file, root, target)
            findings.append(
                Finding(path, line, 0, "bake-check", "error", "error", f"{message} (target {name})")
            )
    return findings


def _location(
    location: Mapping[str, Any] | None,
    sources: Sequence[Mapping[str, Any]],
    default_file: str,
    root: Path,
    target: Mapping[str, Any],
) -> tuple[str, int]:
    if not location:
        return default_file, 1
    ranges = location.get("ranges") or [{}]
    line = int(((ranges[0] or {}).get("start") or {}).get("line") or 1)
    index = int(location.get("sourceIndex") or 0)
    path = default_file
    if 0 <= index < len(sources):
        file_name = str(sources[index].get("filename") or sources[index].get("fileName") or "")
        if file_name:
            # The frontend names the file as the target gave it (relative to the context).
            context = str(target.get("context") or ".")
            candidate = Path(file_name) if Path(file_name).is_absolute() else root / context / file_name
            path = relative_path(str(candidate.resolve()), root) if candidate.exists() else default_file
    return path, line
