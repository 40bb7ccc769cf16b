"""Structure tests as leaves of the tree: every image's spec holds on the real images, and an image
that lacks a file its spec requires fails the build, naming the check and the image."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from enginekit import REPO_ROOT, inv

pytestmark = pytest.mark.engine

CELL = "debian--trixie-slim--default--amd64"
STRUCTURE_TARGETS = {
    f"tests-structure-install--{CELL}": f"install--{CELL}",
    f"tests-structure-complement-testee--{CELL}": f"complement-testee--{CELL}",
    "tests-structure-complement-tester--debian--trixie-slim--amd64": (
        "complement-tester--debian--trixie-slim--amd64"
    ),
}


def summary_rows(stderr: str) -> dict[str, str]:
    """Target -> status from the build's closing table."""
    rows = {}
    for line in stderr.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in STRUCTURE_TARGETS | {f"install--{CELL}": ""}:
            rows[parts[0]] = parts[1]
    return rows


def test_the_real_images_pass_their_specs() -> None:
    # A new nonce re-runs the checks (their step would otherwise come from cache, silently).
    nonce = f"tests-structure-*.args.structure_nonce={uuid.uuid4().hex}"
    result = inv("build", "--target", "tests-structure", "--progress", "plain", "--set", nonce, check=False)
    assert result.returncode == 0, result.stderr[-4000:]
    output = result.stdout + result.stderr
    for target, image in STRUCTURE_TARGETS.items():
        assert summary_rows(result.stderr)[target] == "built"
        summary = re.search(rf"structure test of {re.escape(image)}: all (\d+) check\(s\) passed", output)
        assert summary and int(summary.group(1)) >= 10, f"{image}: no passing summary"
    assert "FAIL [" not in output


def test_an_image_without_a_file_its_spec_requires_fails_the_build_naming_the_check(tmp_path: Path) -> None:
    # The install image as the tree builds it, then the server's console script removed: built
    # only into the builder's cache (never loaded over the real image in the engine).
    broken = tmp_path / "Dockerfile.install-broken"
    broken.write_text(
        (REPO_ROOT / "images" / "Dockerfile.install").read_text(encoding="utf-8")
        + "USER 0:0\nRUN rm /opt/venv/bin/synapse_homeserver\nUSER 991:991\n",
        encoding="utf-8",
    )
    result = inv(
        "build", "--target", f"tests-structure-install--{CELL}", "--progress", "plain",
        "--set", f"install--{CELL}.dockerfile={broken}",
        "--set", f"install--{CELL}.output=type=cacheonly",
        check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr[-4000:]
    output = result.stdout + result.stderr
    image = f"install--{CELL}"
    missing = "/opt/venv/bin/synapse_homeserver does not exist"
    assert f"FAIL [{image}] file: server console script: {missing}" in output
    assert f'structure test of {image}: 1 of 16 check(s) failed: file "server console script"' in output
    assert summary_rows(result.stderr)[f"tests-structure-install--{CELL}"] == "failed"
