"""Benchmark: `inv lint` against the same linters run directly, one after another (goal: ratio ≤ 1.2).

Two trees, side by side in one run: (i) this repository; (ii) a generated tree of 20 small
Dockerfiles, 15 shell scripts (10 `*.sh`, 5 found by their shebang) and a docker-bake.hcl with a
target per Dockerfile, so bake's --print and --call check have work too.

The direct run is the exact tool and bake commands `inv lint` itself starts — argv, working
directory and environment recorded from one in-process lint of the same tree — replayed one after
another: shellcheck, hadolint, ruff check, ruff format --check, mypy, bake --print of the default
targets and of the full matrix, bake --call check. Not replayed is what `inv lint` does to find its
work (git ls-files, the git and Go variables, `bake --list`, `buildx inspect`): that is its cost.
The `inv lint` side is the whole process (Python start-up included). Median of 5 runs each,
interleaved (which side goes first alternates), after one warm-up of each.

Needs the engine and the configured docker-container builder (`inv builder.create`, run here).
Run: .venv/bin/python bench/bench_lint.py [--no-write]
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# The repository root: `tasks` is then the package (a directory wins over tasks.py beside it).
sys.path.insert(0, str(ROOT))

from tasks.cli.context import project_settings  # noqa: E402
from tasks.lint.bake_tree import BakeTree  # noqa: E402
from tasks.lint.suite import lint_tree  # noqa: E402
from tasks.shared.command import Command  # noqa: E402
from tasks.shared.process import run  # noqa: E402

INV = str(Path(sys.executable).with_name("inv"))
REPEATS = 5
GOAL = 1.2
DOCKERFILES = 20
SCRIPTS = 15


@dataclass(frozen=True)
class Recorded:
    """One command `inv lint` started: enough to start it again the same way."""

    argv: tuple[str, ...]
    cwd: str | None
    env: Mapping[str, str] | None
    input_text: str | None


def is_lint_command(argv: tuple[str, ...]) -> bool:
    """A linter or bake check command (replayed), not discovery work (git, go env, --list, inspect)."""
    name = Path(argv[0]).name
    if name in ("shellcheck", "hadolint", "ruff", "mypy"):
        return True
    if argv[:3] == ("docker", "buildx", "bake"):
        return "--print" in argv or "--call" in argv
    return False


@contextmanager
def recording() -> Iterator[list[Recorded]]:
    """Every subprocess.run while inside, recorded (tasks.shared.process starts them all with it)."""
    calls: list[Recorded] = []
    original = subprocess.run

    def record(*args: Any, **kwargs: Any) -> Any:
        env = kwargs.get("env")
        cwd = kwargs.get("cwd")
        calls.append(Recorded(tuple(args[0]), str(cwd) if cwd else None, env, kwargs.get("input")))
        return original(*args, **kwargs)

    subprocess.run = record
    try:
        yield calls
    finally:
        subprocess.run = original


def lint_commands(root: Path) -> list[Recorded]:
    """The lint commands `inv lint` starts on ``root``, in the order they were started."""
    c = project_settings(ROOT)
    with recording() as calls:
        results = lint_tree(c, BakeTree.of(c, root, []), False, None)
    skipped = [f"{result.tool}: {result.skipped}" for result in results if result.skipped]
    if skipped:
        sys.exit(f"bench: a lint step was skipped, so the comparison would be unfair: {skipped}")
    # Sorted into the report's tool order, the order a person running them by hand would use.
    order = ("shellcheck", "hadolint", "ruff", "mypy", "docker")
    commands = [call for call in calls if is_lint_command(call.argv)]
    return sorted(commands, key=lambda call: order.index(Path(call.argv[0]).name))


def timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def replay(commands: list[Recorded]) -> None:
    for call in commands:
        # Findings are not failures: bake and the linters exit 1 for them; 2+ would be a real error
        # (mypy's 2 is a finding too, but the trees here have none).
        result = run(
            list(call.argv),
            check=False,
            cwd=Path(call.cwd) if call.cwd else None,
            env=call.env,
            input_text=call.input_text,
        )
        if result.returncode not in (0, 1):
            sys.exit(f"bench: {' '.join(call.argv[:4])} failed: {result.reason()}")


def inv_lint(root: Path) -> Callable[[], None]:
    command = Command(INV, "lint").option("--path", None if root == ROOT else str(root))

    def lint() -> None:
        result = run(command, check=False, cwd=ROOT)
        if result.returncode not in (0, 1):
            sys.exit(f"bench: inv lint failed: {result.reason()}")

    return lint


def compare(root: Path) -> tuple[float, float, int]:
    """Median seconds of `inv lint` and of the direct sequential run, and how many commands that is."""
    commands = lint_commands(root)
    wrapped = inv_lint(root)

    def direct() -> None:
        replay(commands)

    # Warm-up: the page cache, mypy's cache, the builder's frontend.
    wrapped()
    direct()
    inv_times: list[float] = []
    direct_times: list[float] = []
    for i in range(REPEATS):
        pair = [(inv_times, wrapped), (direct_times, direct)]
        for times, action in pair if i % 2 == 0 else reversed(pair):
            times.append(timed(action))
    return statistics.median(inv_times), statistics.median(direct_times), len(commands)


# --- the generated tree ---------------------------------------------------------------------------

RUNTIMES = ("python3", "curl", "jq", "postgresql-client", "nginx")


def dockerfile(n: int, with_entrypoint: bool) -> str:
    runtime = RUNTIMES[n % len(RUNTIMES)]
    version = "trixie-slim" if n % 2 == 0 else "bookworm-slim"
    # No `# syntax=` line: the frontend would be pulled from docker.io, unreachable in registry-free mode.
    base = f"""# Service {n:02d}: {runtime}.
FROM debian:{version} AS base
ARG APP_VERSION=dev
ENV APP_VERSION=${{APP_VERSION}}
RUN apt-get update \\
 && apt-get install -y --no-install-recommends ca-certificates {runtime} \\
 && rm -rf /var/lib/apt/lists/*

FROM base AS app
WORKDIR /srv/app
RUN groupadd --system --gid 10001 app \\
 && useradd --system --uid 10001 --gid app --home-dir /srv/app app
COPY --chown=10001:10001 config/ ./config/
USER 10001
EXPOSE {8000 + n}
"""
    if not with_entrypoint:
        return base + f'CMD ["{runtime}", "--version"]\n'
    return base + (
        "COPY --chown=10001:10001 entrypoint.sh /usr/local/bin/entrypoint.sh\n"
        'HEALTHCHECK --interval=30s CMD ["/usr/local/bin/entrypoint.sh", "health"]\n'
        'ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]\n'
        'CMD ["serve"]\n'
    )


def entrypoint(n: int) -> str:
    return f"""#!/bin/sh
# Entrypoint of service {n:02d}: serve, or answer a health check.
set -eu

: "${{APP_VERSION:=dev}}"
config_dir=/srv/app/config

log() {{
    printf '%s service-{n:02d}: %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2
}}

case "${{1:-serve}}" in
    health)
        test -r "$config_dir/app.conf"
        ;;
    serve)
        log "starting version $APP_VERSION"
        for file in "$config_dir"/*.conf; do
            [ -e "$file" ] || continue
            log "config: $file"
        done
        exec sleep infinity
        ;;
    *)
        exec "$@"
        ;;
esac
"""


def tool_script(n: int) -> str:
    return f"""#!/usr/bin/env bash
# Helper {n}: build one service's image and report its size.
set -euo pipefail

service="${{1:?usage: $0 SERVICE}}"
tag="${{TAG:-dev}}"
root="$(cd "$(dirname "${{BASH_SOURCE[0]}}")/.." && pwd)"

if [[ ! -d "$root/services/$service" ]]; then
    echo "no such service: $service" >&2
    exit 2
fi

docker buildx bake --file "$root/docker-bake.hcl" --set "*.tags=example/$service:$tag" "$service"
size="$(docker image inspect --format '{{{{.Size}}}}' "example/$service:$tag")"
printf '%s:%s is %d bytes\\n' "$service" "$tag" "$size"
"""


def bake_file(services: list[str]) -> str:
    names = ", ".join(f'"{name}"' for name in services)
    targets = "".join(
        f'target "{name}" {{\n  inherits = ["_common"]\n  context = "services/{name}"\n'
        f'  tags = ["example/{name}:${{TAG}}"]\n}}\n\n'
        for name in services
    )
    return (
        'variable "TAG" {\n  default = "dev"\n}\n\n'
        'target "_common" {\n  dockerfile = "Dockerfile"\n  args = { APP_VERSION = TAG }\n'
        '  output = ["type=docker"]\n}\n\n'
        f'group "default" {{\n  targets = [{names}]\n}}\n\n{targets}'
    )


def generate_tree(root: Path) -> None:
    """20 services (a Dockerfile and its config; the first 10 with an entrypoint.sh), 5 helper
    scripts without an extension in bin/, and a bake file with a target per service."""
    services = [f"svc-{n:02d}" for n in range(DOCKERFILES)]
    helpers = 5
    for n, name in enumerate(services):
        service = root / "services" / name
        (service / "config").mkdir(parents=True)
        with_entrypoint = n < SCRIPTS - helpers
        (service / "Dockerfile").write_text(dockerfile(n, with_entrypoint))
        (service / "config" / "app.conf").write_text(f"name = {name}\nport = {8000 + n}\n")
        if with_entrypoint:
            (service / "entrypoint.sh").write_text(entrypoint(n))
    (root / "bin").mkdir()
    for n in range(helpers):
        (root / "bin" / f"build-{n}").write_text(tool_script(n))
    (root / "docker-bake.hcl").write_text(bake_file(services))
    # As real trees do: the suite is the pin for Debian packages.
    (root / ".hadolint.yaml").write_text("ignored:\n  - DL3008\n")


def main() -> None:
    run(Command(INV, "builder.create"), cwd=ROOT, what="inv builder.create")
    load = os.getloadavg()[0]
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-lint-") as temporary:
        tree = Path(temporary)
        generate_tree(tree)
        for label, root in (
            ("this repository", ROOT),
            (f"generated tree ({DOCKERFILES} Dockerfiles, {SCRIPTS} scripts, bake file)", tree),
        ):
            wrapped, direct, count = compare(root)
            ratio = wrapped / direct
            print(
                f"lint, {label}: inv lint {wrapped:.2f} s vs {count} commands directly, sequentially"
                f" {direct:.2f} s: ratio {ratio:.2f} (goal ≤ {GOAL}, median of {REPEATS})"
            )
            rows.append(
                f"lint: inv lint vs the same linters run directly, sequentially, {label} "
                f"(goal ≤ {GOAL}) | {wrapped:.2f} s vs {direct:.2f} s: ratio {ratio:.2f} "
                f"(median of {REPEATS}, load {load:.1f})"
            )
    if "--no-write" not in sys.argv:
        machine = f"{platform.node()} ({platform.machine()}, {os.cpu_count()} cores)"
        with (ROOT / "bench" / "RESULTS.md").open("a") as out:
            for row in rows:
                out.write(f"| {date.today()} | {machine} | {row} |\n")


if __name__ == "__main__":
    main()
