"""Benchmark for platforms (issue K), side by side in one run on this x86_64 machine:

1. the Complement tester's compile step for arm64: cross-compiled on the build platform (the tree's
   way) vs compiled under QEMU (`compile_platform=linux/arm64`), each on a fresh builder;
2. a cold `tests-smoke` for arm64 (under QEMU) vs amd64 (native), each on a fresh builder;
3. (`--only go`, no builder: cheap where the whole step can't be afforded) the same compiler work at
   small scale on the host: `go build cmd/test2json` for arm64 with cold caches, by the host's Go
   (cross) vs Go's own arm64 toolchain (from the Go module proxy) run under QEMU.

Step times come from the build's rawjson progress (the compile step's start to end). Needs the
engine up in registry-free mode with arm64 bases (`inv engine.up --matrix sys_arch=arm64`).
Run from the repo root: `.venv/bin/python bench/bench_platforms.py [--no-write] [--only smoke|compile|go]`.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.benchkit import build_pass_progress  # noqa: E402

INV = str(Path(sys.executable).with_name("inv"))
TESTER = "complement-tester--debian--trixie-slim--arm64"
# The compile step's command starts like this in Dockerfile.complement-tester.
COMPILE_STEP = "go mod download"


def fresh_builder(name: str) -> None:
    subprocess.run(["docker", "buildx", "rm", name], capture_output=True)
    subprocess.run([INV, "builder.create", "--name", name], cwd=ROOT, check=True, capture_output=True)


def build(builder: str, *args: str) -> tuple[float, str]:
    """One `inv build` with rawjson progress on the builder; wall time and stderr."""
    started = time.monotonic()
    result = subprocess.run(
        [INV, "build", "--builder", builder, "--progress", "rawjson", *args],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.monotonic() - started
    if result.returncode != 0:
        tail = [line for line in result.stderr.splitlines() if not line.startswith("{")][-30:]
        sys.exit(f"bench: inv build {' '.join(args)} on {builder} failed:\n" + "\n".join(tail))
    return seconds, result.stderr


def compile_seconds(stderr: str) -> float:
    reader = build_pass_progress(stderr)
    steps = [v for v in reader.steps(TESTER) if v.executed and COMPILE_STEP in v.name]
    if len(steps) != 1:
        sys.exit(f"bench: expected one executed compile step of {TESTER}, found {len(steps)}")
    started, completed = steps[0].started, steps[0].completed
    if started is None or completed is None:
        sys.exit("bench: the compile step has no start or end time")
    return float(completed - started)


def tester_compile(builder: str, emulated: bool) -> float:
    fresh_builder(builder)
    where = ["--set", f"{TESTER}.args.compile_platform=linux/arm64"] if emulated else []
    try:
        _, stderr = build(builder, "--matrix", "sys_arch=arm64", "--target", TESTER, *where)
    finally:
        subprocess.run(["docker", "buildx", "rm", builder], capture_output=True)
    return compile_seconds(stderr)


def cold_smoke(builder: str, arch: str) -> float:
    fresh_builder(builder)
    try:
        seconds, _ = build(builder, "--matrix", f"sys_arch={arch}", "--target", "tests-smoke")
    finally:
        subprocess.run(["docker", "buildx", "rm", builder], capture_output=True)
    return seconds


def go_build_test2json(go: str, work: Path) -> float:
    """`go build cmd/test2json` for linux/arm64 with empty caches; wall time."""
    env = {**os.environ, "GOCACHE": str(work / "cache"), "GOOS": "linux", "GOARCH": "arm64",
           "CGO_ENABLED": "0", "GOTOOLCHAIN": "local", "GOFLAGS": ""}  # fmt: skip
    env.pop("GOROOT", None)
    started = time.monotonic()
    subprocess.run([go, "build", "-trimpath", "-o", str(work / "test2json"), "cmd/test2json"],
                   env=env, cwd=work, check=True, capture_output=True)  # fmt: skip
    seconds = time.monotonic() - started
    kind = subprocess.run(["file", "-b", str(work / "test2json")], capture_output=True, text=True).stdout
    if "aarch64" not in kind:
        sys.exit(f"bench: {go} did not build an arm64 binary: {kind}")
    return seconds


def go_cross_vs_emulated() -> tuple[float, float]:
    toolchain = "golang.org/toolchain@v0.0.1-go1.26.8.linux-arm64"
    # The same Go release as the host's, for arm64: a module the Go proxy serves.
    downloaded = subprocess.run(["go", "mod", "download", "-json", toolchain], capture_output=True, text=True)
    with tempfile.TemporaryDirectory() as cross, tempfile.TemporaryDirectory() as emulated:
        # The module cache keeps files read-only and not executable: a copy with its programs runnable.
        goroot = Path(emulated) / "goroot"
        shutil.copytree(json.loads(downloaded.stdout)["Dir"], goroot)
        for program in [*goroot.glob("bin/*"), *goroot.glob("pkg/tool/linux_arm64/*")]:
            program.chmod(0o755)
        return go_build_test2json("go", Path(cross)), go_build_test2json(
            str(goroot / "bin" / "go"), Path(emulated)
        )


def main() -> None:
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else ""
    machine = f"{platform.node()} ({platform.machine()}, {os.cpu_count()} cores)"
    rows = []
    if only in ("", "compile"):
        cross = tester_compile("bakehouse-bench-cross", emulated=False)
        emulated = tester_compile("bakehouse-bench-emulated", emulated=True)
        rows.append(
            f"| {date.today()} | {machine} | platforms: Complement tester compile step for arm64, "
            f"cross-compiled on amd64 vs under QEMU (fresh builders, load {os.getloadavg()[0]:.1f}) | "
            f"{cross:.1f} s vs {emulated:.1f} s: emulated/cross ratio {emulated / cross:.1f} |"
        )
    if only in ("", "smoke"):
        amd64 = cold_smoke("bakehouse-bench-amd64", "amd64")
        arm64 = cold_smoke("bakehouse-bench-arm64", "arm64")
        rows.append(
            f"| {date.today()} | {machine} | platforms: cold tests-smoke, arm64 under QEMU vs amd64 native "
            f"(fresh builders, load {os.getloadavg()[0]:.1f}) | {arm64:.1f} s vs {amd64:.1f} s: ratio "
            f"{arm64 / amd64:.1f} |"
        )
    if only == "go":
        cross, emulated = go_cross_vs_emulated()
        rows.append(
            f"| {date.today()} | {machine} | platforms: go build cmd/test2json for arm64, cold cache: "
            f"host Go cross-compiling vs arm64 Go under QEMU (load {os.getloadavg()[0]:.1f}) | "
            f"{cross:.1f} s vs {emulated:.1f} s: emulated/cross ratio {emulated / cross:.1f} |"
        )
    for row in rows:
        print(row)
    if "--no-write" not in sys.argv:
        with (ROOT / "bench" / "RESULTS.md").open("a") as results:
            results.writelines(row + "\n" for row in rows)


if __name__ == "__main__":
    main()
