"""`inv verify` and `inv export --oci` against the real engine.

test_the_default_cell_verifies_identical is the reproducibility check CI runs: two cold builds of
install and tests-smoke on fresh builders (several minutes on 2 cores).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from enginekit import REPO_ROOT, docker, inv

from tasks.builder.lifecycle import CONFIG_NAME, rendered_configs_dir

pytestmark = pytest.mark.engine

CELL = "debian--trixie-slim--default--amd64"
# The fresh builders verify and export make, and remove themselves.
FRESH_BUILDERS = ("bakehouse-verify-", "bakehouse-export-")


def fresh_builders() -> set[str]:
    """Their names in `buildx ls`, and the buildkitd.toml files rendered for them."""
    listed = docker("buildx", "ls", "--format", "{{.Name}}").stdout.split()
    directory = rendered_configs_dir()
    configs = [path.name for path in directory.iterdir()] if directory.is_dir() else []
    return {name for name in [*listed, *configs] if name.startswith(FRESH_BUILDERS)}


@pytest.fixture
def no_fresh_builders_left():
    """verify and export remove their builders themselves, whatever happened; this checks that (a
    concurrent run's builders are there before and after), then removes any left."""
    before = fresh_builders()
    yield
    left = fresh_builders() - before
    for name in left:
        if name.endswith(CONFIG_NAME):
            (rendered_configs_dir() / name).unlink(missing_ok=True)
        else:
            docker("buildx", "rm", name, check=False)
    assert not left, f"builders left behind: {sorted(left)}"


def test_the_default_cell_verifies_identical(no_fresh_builders_left):
    result = inv("verify", "--progress", "plain", check=False)
    assert result.returncode == 0, result.stdout + result.stderr[-5000:]
    for target in ("install", "tests-smoke"):
        assert f"{target}--{CELL}: identical\n" in result.stdout
    assert result.stdout.count("  manifest sha256:") == 2
    assert "build 1 of 2 done: built in" in result.stderr and "build 2 of 2 done: built in" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "bakehouse: all 2 image(s) identical in both builds"


def test_a_cell_that_compiles_extensions_verifies_identical(no_fresh_builders_left):
    """postgres compiles psycopg2: a C extension's bits must not depend on pip's random build dir."""
    result = inv("verify", "--target", "install", "--matrix", "feat_set=postgres", "--progress", "quiet",
                 check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr[-5000:]
    assert "install--debian--trixie-slim--postgres--amd64: identical\n" in result.stdout


def test_a_file_that_differs_between_builds_is_named(no_fresh_builders_left, tmp_path):
    # The tree's root layer, with one line that writes the build's own nanoseconds.
    dockerfile = tmp_path / "Dockerfile.stamped"
    dockerfile.write_text(
        "ARG sys_name=debian\nARG sys_version=trixie-slim\nFROM ${sys_name}:${sys_version}\n"
        "RUN date +%N > /etc/build-stamp\n"
    )
    result = inv(
        "verify", "--target", "system", "--progress", "quiet",
        "--set", f"system--debian--trixie-slim--amd64.dockerfile={dockerfile}",
        # The Dockerfile lies outside the repository: let bake read it without asking.
        env={"BUILDX_BAKE_ENTITLEMENTS_FS": "0"}, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr[-5000:]
    lines = result.stdout.splitlines()
    assert "system--debian--trixie-slim--amd64: DIFFERENT" in lines
    assert "    1 file(s) differ:" in lines
    position = lines.index("    /etc/build-stamp")
    for number, line in enumerate(lines[position + 1 : position + 3], 1):
        assert line.startswith(f"      build {number}: file, 10 B, mode 0644, mtime ")
        assert "owner 0:0, sha256:" in line
    assert result.stderr.strip().splitlines()[-1] == (
        "bakehouse: 1 of 1 image(s) differ between two builds: system--debian--trixie-slim--amd64"
    )


def blob(layout: Path, digest: str) -> bytes:
    algorithm, _, encoded = digest.partition(":")
    data = (layout / "blobs" / algorithm / encoded).read_bytes()
    assert f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}" == digest
    return data


def test_export_writes_one_valid_oci_layout_per_target(no_fresh_builders_left, tmp_path):
    out = tmp_path / "layouts"
    result = inv("export", "--oci", str(out), "--progress", "quiet")
    names = sorted(path.name for path in out.iterdir())
    assert names == [f"install--{CELL}", f"tests-smoke--{CELL}"], result.stderr
    printed = dict(line.split("\t") for line in result.stdout.splitlines())
    for name in names:
        layout = out / name
        assert json.loads((layout / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
        # Every blob is named by the digest of its bytes, referenced or not.
        for path in (layout / "blobs" / "sha256").iterdir():
            assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name
        [descriptor] = json.loads((layout / "index.json").read_text())["manifests"]
        manifest = json.loads(blob(layout, descriptor["digest"]))
        config = json.loads(blob(layout, manifest["config"]["digest"]))
        for entry in manifest["layers"]:
            assert len(blob(layout, entry["digest"])) == entry["size"]
        assert len(config["rootfs"]["diff_ids"]) == len(manifest["layers"])
        assert printed[str(layout)] == descriptor["digest"]
    # The layers the tree adds to Debian's keep install's zstd; SOURCE_DATE_EPOCH sets the creation time.
    install = out / f"install--{CELL}"
    [descriptor] = json.loads((install / "index.json").read_text())["manifests"]
    manifest = json.loads(blob(install, descriptor["digest"]))
    added = {layer["mediaType"] for layer in manifest["layers"][1:]}
    assert added == {"application/vnd.oci.image.layer.v1.tar+zstd"}
    config = json.loads(blob(install, manifest["config"]["digest"]))
    commit_time = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "log", "-1", "--format=%ct"], capture_output=True, text=True, check=True
    ).stdout
    assert config["created"] == datetime.fromtimestamp(int(commit_time), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_second_export_replaces_the_first(no_fresh_builders_left, tmp_path):
    out = tmp_path / "layouts"
    # The tree's root layer: small, and still a layer of our own on top of Debian's.
    args = ("export", "--oci", str(out), "--target", "system", "--progress", "quiet")
    first, second = inv(*args), inv(*args)
    # Two fresh builders, the same commit: the same image, and nothing else left in the directory.
    assert first.stdout == second.stdout
    assert sorted(path.name for path in out.iterdir()) == ["system--debian--trixie-slim--amd64"]
