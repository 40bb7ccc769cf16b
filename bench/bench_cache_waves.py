"""Benchmark: CI waves (issue M, item 4). Three fresh builders start their cells at the same moment.

Side by side in one run, each scenario with a registry cache of its own (trust scopes, this machine
trusted by `cache.trust_local`) on a TLS + htpasswd registry this bench starts (tests/engine/registrykit):
- without a wave: runners 1-3 build cells default, postgres, sentry (target `install`) together;
  nobody has exported the shared parents yet, so each builds them;
- with a wave: `inv ci.matrix --waves` names the targets two or more cells share; a wave runner builds
  and exports them, then runners 1-3 start together and import them.
Figures: shared steps executed more than once across runners (step digests executed by two or more
runners; goal 0 with the wave), the redundant executions, total runner-seconds (each runner's build
time, the wave's included; builder creation excluded, the same in both), and the wall time.
Then trusted -> untrusted sharing: a fresh builder in a pull request's environment (GitHub variables:
untrusted, its own empty scope) builds cell default and takes its steps from the trusted cache the
trusted runs wrote: steps taken from the cache of all steps.

Run from the repo root with the engine up: `.venv/bin/python bench/bench_cache_waves.py [--no-write]`.
"""

from __future__ import annotations

import base64
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "engine"))

from registrykit import running_registry  # noqa: E402

from bench.benchkit import build_pass_progress  # noqa: E402
from tasks.bake.progress import RawJsonReader  # noqa: E402
from tasks.shared.buildx import buildx_config_dir  # noqa: E402

INV = str(Path(sys.executable).with_name("inv"))
CELLS = ("default", "postgres", "sentry")
TARGET = "install"
# Variables that would make the run a CI's (and so untrusted): the bench is a local, trusted run.
CI_VARIABLES = ("CI", "GITHUB_ACTIONS", "GITLAB_CI")


# A pull request's run as GitHub describes it: untrusted, scope bakehouse-bench-homeserver-pull-1-merge.
PULL_REQUEST = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_EVENT_NAME": "pull_request",
    "GITHUB_REF": "refs/pull/1/merge",
    "GITHUB_REF_NAME": "1/merge",
    "GITHUB_ACTOR": "bench",
    "GITHUB_REPOSITORY": "team/homeserver",
}


class Scenario:
    """One scenario's cache namespace, config, credentials and builders."""

    def __init__(self, tmp: Path, registry_address: str, ca: Path, auth: str, name: str) -> None:
        namespace = f"{registry_address}/bench-{uuid.uuid4().hex[:8]}-{name}"
        config = {
            "bakehouse": {
                "bake": {"matrix": {"feat_sets": list(CELLS)}, "default_targets": [TARGET]},
                "builder": {"registry_ca": {registry_address: str(ca)}},
                "cache": {
                    "backend": "registry",
                    "trusted_ref": f"{namespace}/trusted",
                    "scope_ref": f"{namespace}/scopes/{{scope}}",
                    "trust_local": True,
                },
            }
        }
        self.config = tmp / f"{name}.yaml"
        self.config.write_text(json.dumps(config))  # JSON is YAML
        docker_config = tmp / f"docker-{name}"
        docker_config.mkdir()
        (docker_config / "config.json").write_text(json.dumps({"auths": {registry_address: {"auth": auth}}}))
        self.env = {key: value for key, value in os.environ.items() if key not in CI_VARIABLES}
        self.env.update({"DOCKER_CONFIG": str(docker_config), "BUILDX_CONFIG": str(buildx_config_dir())})
        self.builders: list[str] = []

    def builder(self) -> str:
        name = f"bh-bench-wave-{uuid.uuid4().hex[:8]}"
        self.builders.append(name)
        self.inv("builder.create", "--name", name)
        return name

    def inv(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [INV, "-f", str(self.config), *args], cwd=ROOT, capture_output=True, text=True,
            env={**self.env, **(env or {})}, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        if result.returncode != 0:
            sys.exit(f"bench: inv {' '.join(args)} failed:\n{result.stderr[-3000:]}")
        return result

    def build(
        self, builder: str, *options: str, env: dict[str, str] | None = None
    ) -> tuple[float, RawJsonReader]:
        started = time.monotonic()
        result = self.inv("build", "--builder", builder, "--progress", "rawjson", *options, env=env)
        return time.monotonic() - started, build_pass_progress(result.stderr)

    def remove_builders(self) -> None:
        for name in self.builders:
            subprocess.run(["docker", "buildx", "rm", name], capture_output=True, env=self.env)


def cells_together(scenario: Scenario, builders: list[str]) -> list[tuple[float, RawJsonReader]]:
    """Runners 1-3 started at the same moment, one cell each."""
    with ThreadPoolExecutor(len(CELLS)) as pool:
        runs = [
            pool.submit(scenario.build, builder, "--matrix", f"feat_set={cell}")
            for builder, cell in zip(builders, CELLS, strict=True)
        ]
        return [run.result() for run in runs]


def repeated(readers: list[RawJsonReader], label: str) -> tuple[int, int]:
    """(step digests executed by two or more runners, executions beyond the first of each); prints
    each such step's name."""
    counts = Counter(digest for reader in readers for digest in {v.digest for v in reader.executed_steps()})
    again = {digest: count for digest, count in counts.items() if count > 1}
    names = {v.digest: v.name for reader in readers for v in reader.executed_steps()}
    for digest, count in again.items():
        print(f"  {label}: executed by {count} runners: {names[digest]}")
    return len(again), sum(count - 1 for count in again.values())


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bakehouse-bench-waves-") as tmp_dir:
        tmp = Path(tmp_dir)
        with running_registry(tmp / "registry") as registry:
            auth = base64.b64encode(f"{registry.user}:{registry.password}".encode()).decode()
            plain = Scenario(tmp, registry.address, registry.ca, auth, "nowave")
            waved = Scenario(tmp, registry.address, registry.ca, auth, "wave")
            try:
                measure(plain, waved)
            finally:
                plain.remove_builders()
                waved.remove_builders()


def measure(plain: Scenario, waved: Scenario) -> None:
    # Without a wave.
    builders = [plain.builder() for _ in CELLS]
    started = time.monotonic()
    runs = cells_together(plain, builders)
    plain_wall = time.monotonic() - started
    plain_seconds = sum(took for took, _ in runs)
    plain_repeated = repeated([reader for _, reader in runs], "without a wave")

    # With a wave: the targets come from `inv ci.matrix --waves`, as in the workflow.
    wave = json.loads(waved.inv("ci.matrix", "--waves").stdout)["wave"]
    wave_builder, *builders = [waved.builder() for _ in range(len(CELLS) + 1)]
    started = time.monotonic()
    wave_time, wave_reader = waved.build(wave_builder, *(f"--target={target}" for target in wave))
    runs = cells_together(waved, builders)
    waved_wall = time.monotonic() - started
    waved_seconds = wave_time + sum(took for took, _ in runs)
    waved_repeated = repeated([wave_reader, *(reader for _, reader in runs)], "with a wave")

    # Trusted -> untrusted: a pull request's fresh builder after the trusted runs exported.
    _, untrusted = waved.build(waved.builder(), "--matrix", f"feat_set={CELLS[0]}", env=PULL_REQUEST)
    steps = untrusted.steps()
    from_cache = sum(1 for vertex in steps if vertex.cached)

    machine = f"{platform.node()} ({platform.machine()}, {os.cpu_count()} cores)"
    load = os.getloadavg()[0]
    cell_times = ", ".join(f"{took:.0f}" for took, _ in runs)
    row = (
        f"| {date.today()} | {machine} | CI waves: 3 fresh builders start cells {'/'.join(CELLS)} "
        f"(`{TARGET}`) at the same moment, registry cache (trust scopes), without vs with a wave job "
        f"({len(wave)} shared targets: {', '.join(wave)}) (goal: shared steps executed more than once 0) | "
        f"without: {plain_repeated[0]} shared steps executed more than once ({plain_repeated[1]} redundant "
        f"executions), {plain_seconds:.0f} runner-s, wall {plain_wall:.0f} s; with: {waved_repeated[0]} "
        f"({waved_repeated[1]}), {waved_seconds:.0f} runner-s (wave {wave_time:.0f} s + cells "
        f"{cell_times} s), wall {waved_wall:.0f} s; runner-s ratio {waved_seconds / plain_seconds:.2f} "
        f"(load {load:.1f}) |"
    )
    sharing = (
        f"| {date.today()} | {machine} | trusted -> untrusted sharing: a fresh builder in a pull request's "
        f"environment (untrusted: imports its empty scope, then the trusted ref) builds cell {CELLS[0]} "
        f"(`{TARGET}`) after the trusted runs above | {from_cache} of {len(steps)} steps from the trusted "
        f"cache, {len(steps) - from_cache} executed (load {os.getloadavg()[0]:.1f}) |"
    )
    print(row)
    print(sharing)
    if "--no-write" not in sys.argv:
        with (ROOT / "bench" / "RESULTS.md").open("a") as out:
            out.write(row + "\n" + sharing + "\n")


if __name__ == "__main__":
    main()
