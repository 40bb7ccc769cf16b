"""Platforms on this x86_64 machine: an arm64 cell built and smoke-tested under QEMU on the user's
default builder, starting from a host with no aarch64 emulator; the registry-free arm64 base; what
no builder here can run.

Needs root (binfmt_misc) and a Debian host, as `inv engine.up` does. The test unregisters the aarch64
handler first and leaves one registered at the end (nobody else here builds arm64 meanwhile).
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from enginekit import docker, inv
from test_build import summary_rows

pytestmark = pytest.mark.engine

AARCH64 = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")
DEBIAN_ENTRY = Path("/usr/lib/binfmt.d/qemu-aarch64.conf")
ARM64_SMOKE = "tests-smoke--debian--trixie-slim--default--arm64"
REGISTRY = "127.0.0.1:5000"


@pytest.fixture
def no_emulator() -> Iterator[None]:
    """The aarch64 handler unregistered (as on a host that never had one); one registered afterwards."""
    if os.geteuid() != 0:
        pytest.skip("binfmt_misc needs root")
    if AARCH64.exists():
        AARCH64.write_text("-1")
    # The user's builder, if earlier work made it, started again without the emulator: BuildKit
    # lists what it finds when it starts, as on a host that never had one.
    status = inv("builder.status", check=False).stdout
    if (match := re.search(r"^builder:\s+(\S+)$", status, re.MULTILINE)) and "running" in status:
        docker("restart", f"buildx_buildkit_{match[1]}0")
        docker("buildx", "inspect", "--bootstrap", match[1])
    yield
    if not AARCH64.exists() and DEBIAN_ENTRY.exists():
        line = next(x for x in DEBIAN_ENTRY.read_text().splitlines() if x.startswith(":"))
        Path("/proc/sys/fs/binfmt_misc/register").write_text(line)


def test_arm64_smoke_passes_under_emulation_from_a_host_without_an_emulator(no_emulator: None) -> None:
    result = inv(
        "build", "--matrix", "sys_arch=arm64", "--target", "tests-smoke", "--progress", "plain",
        "--set", f"tests-smoke--*.args.smoke_nonce={uuid.uuid4().hex}",
    )  # fmt: skip
    assert "registering /usr/lib/binfmt.d/qemu-aarch64.conf with binfmt_misc" in result.stderr
    assert "so that BuildKit finds the new platforms (its cache is kept)" in result.stderr
    assert "smoke: timeouts stretched 10x" in result.stderr
    assert "smoke: PASS" in result.stderr
    assert summary_rows(result.stderr) == {ARM64_SMOKE: "built"}
    table = result.stderr[result.stderr.rindex("TARGET ") :].splitlines()
    assert table[0].split()[-1] == "PLATFORM"
    assert table[1].split()[0] == ARM64_SMOKE and table[1].split()[-1] == "linux/arm64"
    assert "F" in AARCH64.read_text().split("flags: ")[1].splitlines()[0]
    status = inv("builder.status").stdout
    assert any(line.split()[:2] == ["linux/arm64", "emulated"] for line in status.splitlines())


def test_the_arm64_install_image_is_arm64() -> None:
    inv("build", "--matrix", "sys_arch=arm64", "--target", "install")
    tag = "bakehouse/install--debian--trixie-slim--default--arm64:latest"
    inspected = json.loads(docker("image", "inspect", tag).stdout)[0]
    assert (inspected["Os"], inspected["Architecture"]) == ("linux", "arm64")


def _manifest(reference: str) -> tuple[str, dict[str, Any]]:
    accept = ", ".join(
        f"application/vnd.docker.distribution.{kind}.v2+json" for kind in ("manifest.list", "manifest")
    )
    request = urllib.request.Request(
        f"http://{REGISTRY}/v2/library/debian/manifests/{reference}", headers={"Accept": accept}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.headers["Docker-Content-Digest"], json.loads(answer.read())


def test_the_local_base_is_one_name_for_both_architectures_and_amd64_kept_its_digest() -> None:
    _, listed = _manifest("trixie-slim")
    members = {m["platform"]["architecture"]: m["digest"] for m in listed["manifests"]}
    assert sorted(members) == ["amd64", "arm64"]
    repo_digests = json.loads(docker("image", "inspect", "debian:trixie-slim").stdout)[0]["RepoDigests"]
    assert f"{REGISTRY}/library/debian@{members['amd64']}" in repo_digests


@pytest.mark.parametrize(
    ("platform", "message"),
    [
        ("linux/sparc", "bakehouse: linux/sparc: QEMU has no emulator for architecture 'sparc'"),
        ("windows/amd64", "bakehouse: windows/amd64: a Linux builder runs linux/* platforms only"),
    ],
)
def test_a_platform_nobody_here_can_provide_is_refused_before_anything_is_built(
    platform: str, message: str
) -> None:
    result = inv("build", "--target", "tests-smoke", "--set", f"*.platform={platform}", check=False)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [message]
