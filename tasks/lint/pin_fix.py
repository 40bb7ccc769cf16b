"""The digest-pinning rule over a tree's Dockerfiles, and the registry digests that fix it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..shared.dockerfile import is_pinned
from ..shared.errors import BakehouseError
from ..shared.local_registry import hub_image, recorded_mode, registry_address, registry_digest
from ..shared.process import run, say
from ..shared.settings import Settings
from . import bake_checks as lint_bake
from . import files as lint_files
from . import pin_rule as lint_pins
from .bake_tree import BakeTree, full_plan
from .findings import ToolResult, relative_path
from .tree import excluded_patterns, tree_files


def pin_allowed(config: Settings) -> list[str]:
    return list(config.lint.pin_allowed)


def unpinned_references(
    config: Settings, root: Path, dockerfiles: Sequence[str], printed: Mapping[str, Any]
) -> list[lint_pins.UnpinnedReference]:
    bindings = lint_bake.bindings_from_print(printed, root) if printed else {}
    allowed = pin_allowed(config)
    issues: list[lint_pins.UnpinnedReference] = []
    for dockerfile in dockerfiles:
        text = (root / dockerfile).read_text(errors="replace")
        issues += lint_pins.check_syntax(dockerfile, text, config.lint.syntax_allowed)[0]
        issues += lint_pins.check_dockerfile(dockerfile, text, allowed, bindings.get(dockerfile, ()))
    return issues


def syntax_outside_allowlist(
    config: Settings, root: Path, dockerfiles: Sequence[str]
) -> list[lint_pins.SyntaxOutsideAllowlist]:
    outside: list[lint_pins.SyntaxOutsideAllowlist] = []
    for dockerfile in dockerfiles:
        text = (root / dockerfile).read_text(errors="replace")
        outside += lint_pins.check_syntax(dockerfile, text, config.lint.syntax_allowed)[1]
    return outside


def run_pins(
    config: Settings, root: Path, dockerfiles: Sequence[str], printed: Mapping[str, Any]
) -> ToolResult:
    result = ToolResult("pins", files_checked=len(dockerfiles))
    result.findings = [issue.finding() for issue in unpinned_references(config, root, dockerfiles, printed)]
    result.findings += [issue.finding() for issue in syntax_outside_allowlist(config, root, dockerfiles)]
    return result


def mirrored_digest(config: Settings, reference: str) -> str | None:
    """Registry-free, a Docker Hub image's digest as the local registry (the builders' docker.io
    mirror) serves it, so a pin names what builds here pull; None: ask the image's own registry."""
    image = hub_image(reference)
    if recorded_mode(config) != "registry-free" or image is None:
        return None
    digest = registry_digest(registry_address(config), image.repository, image.reference)
    if digest is None:
        raise BakehouseError(
            f"{reference}: not in the local registry {registry_address(config)} (inv build supplies it)"
        )
    return digest


def image_digest(reference: str) -> str:
    """The registry's digest for ``reference`` (index digest for multi-platform images)."""
    result = run(
        ["docker", "buildx", "imagetools", "inspect", "--format", "{{json .Manifest}}", reference],
        check=False,
        timeout=60,
    )
    if not result.ok:
        raise BakehouseError(f"{reference}: {result.reason()}")
    digest = str(json.loads(result.stdout).get("digest", ""))
    if not is_pinned("@" + digest):
        raise BakehouseError(f"{reference}: the registry answered without a sha256 digest")
    return digest


def pin_tree(config: Settings, tree: BakeTree, *, dry_run: bool) -> None:
    """Look up digests of the tree's unpinned images and write them into its Dockerfiles."""
    root = tree.root
    dockerfiles = lint_files.dockerfiles(tree_files(root, excluded_patterns(config, root)))
    issues = unpinned_references(config, root, dockerfiles, resolved_plan(config, tree))
    if not issues:
        print("pins: every registry image is pinned or allowed; nothing to do")
        return
    digests, failures = look_up_digests(config, issues)
    written = write_pins(root, issues, digests, dry_run=dry_run)
    for failure in failures:
        print(f"unresolved: {failure}")
    if failures and not digests:
        raise BakehouseError(
            f"no registry reachable for {len(failures)} image(s); nothing written (first: {failures[0]})"
        )
    pinned = f"{written} line(s) {'would be ' if dry_run else ''}pinned"
    if failures:
        raise BakehouseError(f"{len(failures)} image(s) could not be resolved; {pinned}")
    say(f"pins: {pinned} in {relative_path(str(root), config.root)}")


def resolved_plan(config: Settings, tree: BakeTree) -> dict[str, Any]:
    """The full plan, which says what build args bind; without it, pins come from the Dockerfiles."""
    if not tree.files or tree.missing:
        return {}
    try:
        return full_plan(config, tree)
    except BakehouseError as exc:
        say(f"bake definition not resolved ({exc.reason}); pinning from the Dockerfiles alone")
        return {}


def look_up_digests(
    config: Settings, issues: Sequence[lint_pins.UnpinnedReference]
) -> tuple[dict[str, str], list[str]]:
    """The registry digest of every image named literally; the reasons of those not found."""
    digests: dict[str, str] = {}
    failures: list[str] = []
    for reference in sorted({issue.reference for issue in issues if issue.literal}):
        try:
            digests[reference] = mirrored_digest(config, reference) or image_digest(reference)
        except BakehouseError as exc:
            failures.append(exc.reason)
    return digests, failures


def write_pins(
    root: Path, issues: Sequence[lint_pins.UnpinnedReference], digests: Mapping[str, str], *, dry_run: bool
) -> int:
    """Pin each reference where it is written (say where it isn't); return the lines changed."""
    written = 0
    for issue in issues:
        location = f"{issue.path}:{issue.line}"
        if not issue.literal:
            print(f"{location}: {issue.finding().message}: pin it where the value is set")
            continue
        digest = digests.get(issue.reference)
        if digest is None:
            continue
        file_path = root / issue.path
        # Split at "\n" only, as the Dockerfile reader counts lines (splitlines also breaks at \f, \x1c...).
        lines = file_path.read_text().split("\n")
        updated = lint_pins.pinned_line(lines[issue.line - 1], issue.reference, digest)
        print(f"{location}: {issue.reference} -> {issue.reference}@{digest}{' (dry run)' if dry_run else ''}")
        if updated == lines[issue.line - 1]:
            continue
        written += 1
        if not dry_run:
            lines[issue.line - 1] = updated
            file_path.write_text("\n".join(lines))
    return written
