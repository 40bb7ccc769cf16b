from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from enginekit import REPO_ROOT, docker, inv

from tasks.bake.progress import RawJsonReader
from tasks.builder.lifecycle import CONFIG_NAME, rendered_configs_dir

pytestmark = pytest.mark.engine

HOST_NETWORK_DOCKERFILE = """\
FROM debian:trixie-slim
ARG nonce
RUN echo "$nonce" > /nonce
# On the host network the engine's bridge is visible; in a sandboxed network it is not.
RUN --network=host grep -q docker0 /proc/net/dev
"""


def write_tree(tmp: Path, nonce: str) -> Path:
    (tmp / "Dockerfile").write_text(HOST_NETWORK_DOCKERFILE)
    bake = tmp / "bake.hcl"
    bake.write_text(
        'target "probe" {\n  dockerfile = "Dockerfile"\n  output = ["type=cacheonly"]\n'
        f'  args = {{ nonce = "{nonce}" }}\n  entitlements = ["network.host"]\n}}\n'
    )
    return bake


def bake_steps(builder: str, bake: Path) -> RawJsonReader:
    result = subprocess.run(
        ["docker", "buildx", "bake", "--builder", builder, "--allow", "network.host", "--progress", "rawjson",
         "-f", str(bake), "probe"],
        cwd=bake.parent, capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    reader = RawJsonReader(single_target="probe")
    for line in result.stderr.splitlines():
        reader.feed(line)
    return reader


def nonce_step_cached(reader: RawJsonReader) -> bool:
    steps = [v for v in reader.steps() if "echo" in v.name]
    assert steps, "the nonce step did not run"
    return all(v.cached for v in steps)


def container_id(name: str) -> str:
    return docker("inspect", "--format", "{{.Id}}", f"buildx_buildkit_{name}0").stdout.strip()


def test_create_is_idempotent_recreates_on_drift_and_force_drops_the_cache(builder_name, tmp_path):
    config = tmp_path / "buildkitd.toml"
    shutil.copy(REPO_ROOT / "tasks" / "builder" / "buildkitd.toml", config)
    env = {"INVOKE_BAKEHOUSE_BUILDER_CONFIG_FILE": str(config)}

    created = inv("builder.create", "--name", builder_name, env=env)
    assert "created" in created.stdout
    status = inv("builder.status", "--name", builder_name, env=env).stdout
    assert re.search(r"status:\s+running", status)
    assert "driver:   docker-container" in status
    assert (
        "cache mounts (except internal, frontend and shared records): kept up to 8GiB, unused > 14 days"
        in status
    )
    assert (
        "everything but cache mounts (except internal, frontend and shared records): kept up to 40GiB"
        in status
    )

    tree = tmp_path / "tree"
    tree.mkdir()
    bake = write_tree(tree, nonce=builder_name)
    assert not nonce_step_cached(bake_steps(builder_name, bake))

    first_id = container_id(builder_name)
    again = inv("builder.create", "--name", builder_name, env=env)
    assert again.stdout.strip() == f"builder {builder_name}: up to date"
    assert container_id(builder_name) == first_id

    config.write_text(config.read_text().replace('maxUsedSpace = "40GB"', 'maxUsedSpace = "30GB"'))
    drifted = inv("builder.create", "--name", builder_name, env=env)
    assert "recreated (cache kept)" in drifted.stdout
    assert container_id(builder_name) != first_id
    assert "kept up to 30GiB" in inv("builder.status", "--name", builder_name, env=env).stdout
    assert nonce_step_cached(bake_steps(builder_name, bake))

    forced = inv("builder.create", "--name", builder_name, "--force", env=env)
    assert "--force" in forced.stdout
    assert not nonce_step_cached(bake_steps(builder_name, bake))

    rendered = rendered_configs_dir() / f"{builder_name}.{CONFIG_NAME}"
    assert rendered.is_file()
    inv("builder.rm", "--name", builder_name)
    assert builder_name not in docker("buildx", "ls").stdout
    assert not rendered.exists(), "the removed builder's rendered config was left behind"


def test_bad_builder_name_is_bad_input():
    result = inv("builder.create", "--name", "bad name!", check=False)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "invalid builder name" in result.stderr
    assert "Traceback" not in result.stderr


def test_days_in_keep_duration_is_bad_input(tmp_path, builder_name):
    config = tmp_path / "buildkitd.toml"
    packaged = REPO_ROOT / "tasks" / "builder" / "buildkitd.toml"
    config.write_text(packaged.read_text().replace('"336h"', '"7d"'))
    before = config.read_text()
    result = inv("builder.create", "--name", builder_name, check=False,
                 env={"INVOKE_BAKEHOUSE_BUILDER_CONFIG_FILE": str(config)})  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "bakehouse: [worker.oci] gcpolicy #1.keepDuration 7d: Go durations have no days or weeks; use 168h"
    )
    assert config.read_text() == before
    assert builder_name not in docker("buildx", "ls").stdout
