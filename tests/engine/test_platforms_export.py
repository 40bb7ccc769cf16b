"""`inv export --oci` and `inv verify` with two platforms: one layout per platform (one image each,
of its platform) plus one layout holding the multi-platform image's index; each platform verified.

Runs after test_platforms_built.py (file order), which builds the sample tree's arm64 cell on the
user's default builder: the sample-tree export builds on that builder (`--builder`) and reuses its
layers. Verify builds twice on fresh builders by design (nothing cached): an arm64 Synapse cell
under QEMU takes ~37 min a build here, so verify runs on a small tree of its own (one Dockerfile on
debian:trixie-slim, one COPY, one RUN that runs under QEMU for arm64).
"""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
from enginekit import INV, REPO_ROOT, inv
from platform_tree import per_arch_bake
from test_foreign_tree import clean_env
from test_release import blob, no_fresh_builders_left  # noqa: F401 - a fixture, used by name

from tasks.builder.lifecycle import resolve_builder_name
from tasks.cli.context import project_settings

pytestmark = pytest.mark.engine

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
BOTH = '["amd64","arm64"]'

TREE_BAKE = per_arch_bake("hello", "arches")
TREE_DOCKERFILE = """\
FROM debian:trixie-slim
COPY hello.txt /etc/hello.txt
RUN uname -m > /etc/machine
"""


def top_entry(layout: Path) -> dict[str, Any]:
    [entry] = json.loads((layout / "index.json").read_text())["manifests"]
    return dict(entry)


def architecture_of(layout: Path, manifest_digest: str) -> str:
    manifest = json.loads(blob(layout, manifest_digest))
    return str(json.loads(blob(layout, manifest["config"]["digest"]))["architecture"])


def machine_of(layout: Path, manifest_digest: str) -> bytes:
    """/etc/machine, which the tree's last step writes with `uname -m` (QEMU's answer for arm64)."""
    manifest = json.loads(blob(layout, manifest_digest))
    last = gzip.decompress(blob(layout, manifest["layers"][-1]["digest"]))
    with tarfile.open(fileobj=io.BytesIO(last)) as archive:
        member = archive.extractfile("etc/machine")
        assert member is not None
        return member.read()


def check_platform_layouts(out: Path, image: str) -> dict[str, str]:
    """Each per-platform layout holds one image of its platform; the index layout lists both,
    each entry's platform its config's. The members' manifest digests by architecture."""
    members: dict[str, str] = {}
    for arch in ("amd64", "arm64"):
        layout = out / f"{image}--{arch}"
        entry = top_entry(layout)
        assert entry["mediaType"] == MANIFEST
        assert entry["platform"] == {"architecture": arch, "os": "linux"}
        assert architecture_of(layout, entry["digest"]) == arch
        members[arch] = entry["digest"]
    index_layout = out / image
    assert json.loads((index_layout / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    entry = top_entry(index_layout)
    assert entry["mediaType"] == INDEX
    index = json.loads(blob(index_layout, entry["digest"]))
    assert index["mediaType"] == INDEX
    listed = {item["platform"]["architecture"]: item["digest"] for item in index["manifests"]}
    assert listed == members
    for arch, digest in listed.items():
        # The index layout holds every member's blobs: its config, read from there, says the same.
        assert architecture_of(index_layout, digest) == arch
    return members


@pytest.fixture
def hello_tree(tmp_path: Path) -> Path:
    """A project of its own (our tasks through symlinks, its bakehouse config), committed in git:
    SOURCE_DATE_EPOCH is its commit's time."""
    tree = tmp_path / "hello"
    tree.mkdir()
    (tree / "bake.hcl").write_text(TREE_BAKE)
    (tree / "Dockerfile").write_text(TREE_DOCKERFILE)
    (tree / "hello.txt").write_text("hello from both platforms\n")
    (tree / "tasks.py").symlink_to(REPO_ROOT / "tasks.py")
    (tree / "tasks").symlink_to(REPO_ROOT / "tasks")
    config = {
        "bakehouse": {
            "bake": {"files": ["bake.hcl"], "matrix": {"arches": ["amd64"]}, "variables": {}},
            "builder": {"config_file": str(REPO_ROOT / "buildkitd.toml")},
            "release": {"targets": ["hello"]},
        }
    }
    (tree / "invoke.yaml").write_text(json.dumps(config, indent=2) + "\n")
    git = ["git", "-C", str(tree), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "hello"], check=True)
    return tree


def inv_in(tree: Path, *args: str, arches: str = BOTH) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [INV, *args], cwd=tree, capture_output=True, text=True, env={**clean_env(), "arches": arches}
    )


def test_two_platforms_verify_identical_each_and_their_index(no_fresh_builders_left, hello_tree, tmp_path):  # noqa: F811
    result = inv_in(hello_tree, "verify", "--progress", "plain")
    assert result.returncode == 0, result.stdout + result.stderr[-5000:]
    lines = result.stdout.splitlines()
    assert "hello--amd64: identical (linux/amd64)" in lines
    assert "hello--arm64: identical (linux/arm64)" in lines
    position = lines.index("hello: identical (multi-platform)")
    assert lines[position + 1].startswith("  index    sha256:")
    # Each platform's manifest, as its own verdict shows it, is the one the index lists for it.
    manifests = {
        arch: lines[lines.index(f"hello--{arch}: identical (linux/{arch})") + 1].split()[1]
        for arch in ("amd64", "arm64")
    }
    assert lines[position + 2 : position + 4] == [
        f"  linux/amd64  {manifests['amd64']}",
        f"  linux/arm64  {manifests['arm64']}",
    ]
    assert result.stderr.strip().splitlines()[-1] == (
        "bakehouse: all 3 image(s) identical in both builds "
        "(linux/amd64: 1, linux/arm64: 1, multi-platform: 1)"
    )
    # The export of the same commit on another fresh builder: the bits verify checked.
    out = tmp_path / "layouts"
    exported = inv_in(hello_tree, "export", "--oci", str(out), "--progress", "quiet")
    assert exported.returncode == 0, exported.stderr[-5000:]
    assert sorted(path.name for path in out.iterdir()) == ["hello", "hello--amd64", "hello--arm64"]
    members = check_platform_layouts(out, "hello")
    assert members == manifests
    assert machine_of(out / "hello", members["amd64"]) == b"x86_64\n"
    assert machine_of(out / "hello", members["arm64"]) == b"aarch64\n"
    printed = dict(line.split("\t") for line in exported.stdout.splitlines())
    assert printed[str(out / "hello")] == top_entry(out / "hello")["digest"] == lines[position + 1].split()[1]


def test_one_platform_exports_as_before(no_fresh_builders_left, hello_tree, tmp_path):  # noqa: F811
    out = tmp_path / "layouts"
    result = inv_in(hello_tree, "export", "--oci", str(out), "--progress", "quiet", arches='["arm64"]')
    assert result.returncode == 0, result.stderr[-5000:]
    assert [path.name for path in out.iterdir()] == ["hello--arm64"]
    entry = top_entry(out / "hello--arm64")
    assert architecture_of(out / "hello--arm64", entry["digest"]) == "arm64"
    assert result.stderr.strip().splitlines()[-1].startswith("bakehouse: exported 1 layout(s), built in ")


def test_the_sample_tree_exports_a_layout_per_platform_and_one_for_the_index(tmp_path):
    """On the user's default builder (which test_platforms_built.py filled with the arm64 cell)."""
    builder = resolve_builder_name(project_settings(REPO_ROOT), None)
    out = tmp_path / "layouts"
    result = inv(
        "export", "--oci", str(out), "--target", "install", "--builder", builder,
        "--progress", "quiet", env={"sys_archs": BOTH},
    )  # fmt: skip
    cell = "install--debian--trixie-slim--default"
    assert sorted(path.name for path in out.iterdir()) == [cell, f"{cell}--amd64", f"{cell}--arm64"]
    check_platform_layouts(out, cell)
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("bakehouse: exported 2 layout(s) and 1 multi-platform image layout(s), built in ")
    )
