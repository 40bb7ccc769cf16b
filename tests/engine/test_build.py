from __future__ import annotations

import json
import uuid

import pytest
from enginekit import docker, inv

pytestmark = pytest.mark.engine

TWO_SYSTEMS = '["trixie-slim","bookworm-slim"]'


def summary_rows(stderr: str) -> dict[str, str]:
    """TARGET -> STATUS from the summary table printed at the end of `inv build`."""
    lines = stderr.splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("TARGET "))
    rows = {}
    for line in lines[start + 1 :]:
        if line.startswith(("ACCEPT", "ERROR")):
            break
        words = line.split()
        if len(words) >= 2 and words[1] in ("built", "cached", "failed", "done"):
            rows[words[0]] = words[1]
    return rows


@pytest.mark.parametrize("builder", ["default", None], ids=["engine-builder", "created-builder"])
def test_smoke_test_runs_the_server(builder):
    args = ["build", "--target", "tests-smoke", "--progress", "plain"]
    if builder:
        args += ["--builder", builder]
    # A fresh nonce makes the smoke step run, not come from cache, so its output is in the log.
    result = inv(*args, "--set", f"tests-smoke--*.args.smoke_nonce={uuid.uuid4().hex}")
    assert '"versions": [' in result.stderr
    assert "smoke: PASS" in result.stderr
    assert summary_rows(result.stderr) == {"tests-smoke--debian--trixie-slim--default--amd64": "built"}
    assert "ACCEPT" in result.stderr


def test_print_plans_shared_targets_once_per_system():
    result = inv("build", "--print", "--target", "tests-smoke", env={"sys_versions": TWO_SYSTEMS})
    plan = json.loads(result.stdout)
    assert plan["group"]["tests-smoke"]["targets"] == [
        "tests-smoke--debian--trixie-slim--default--amd64",
        "tests-smoke--debian--bookworm-slim--default--amd64",
    ]
    systems = sorted(name for name in plan["target"] if name.startswith("system--"))
    assert systems == ["system--debian--bookworm-slim--amd64", "system--debian--trixie-slim--amd64"]
    bases = sorted(name for name in plan["target"] if name.startswith("base--"))
    assert bases == ["base--debian--bookworm-slim--amd64", "base--debian--trixie-slim--amd64"]


def test_keep_going_builds_the_healthy_cell_and_reports_both():
    broken = "tests-smoke--debian--bookworm-slim--default--amd64"
    result = inv(
        "build", "--target", "tests-smoke", "--keep-going", "--progress", "quiet", "--builder", "default",
        "--set", f"{broken}.target=no-such-stage",
        env={"sys_versions": TWO_SYSTEMS}, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    rows = summary_rows(result.stderr)
    assert rows[broken] == "failed"
    assert rows["tests-smoke--debian--trixie-slim--default--amd64"] in ("built", "cached")
    assert result.stderr.strip().splitlines()[-1] == "bakehouse: 1 of 2 target(s) failed"


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--matrix", "sys_version=sid"], {}, "sys_versions: unsupported"),
        ([], {"feat_sets": '["default","gpu"]'}, "feat_sets: unsupported"),
        (["--matrix", "colour=blue"], {}, "unknown matrix dimension 'colour'"),
        (["--set", "nonsense"], {}, "expected pattern.key=value"),
    ],
)
def test_bad_overrides_exit_2_with_one_line(args, env, message):
    result = inv("build", "--target", "tests-smoke", *args, env=env, check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_a_repeated_build_uses_its_remembered_plan_and_any_change_makes_a_new_one(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    first = inv("build", "--target", "tests-smoke", "--progress", "quiet", env=env)
    assert "(plan remembered)" not in first.stderr
    plans = list((tmp_path / "bakehouse" / "plans").glob("*.json"))
    assert len(plans) == 1
    again = inv("build", "--target", "tests-smoke", "--progress", "quiet", env=env)
    assert "(plan remembered)" in again.stderr.splitlines()[0]
    # A new value of an input (here a --set override) is a new plan, asked of bake and stored.
    changed = inv("build", "--target", "tests-smoke", "--progress", "quiet",
                  "--set", "tests-smoke*.args.smoke_imports=", env=env)  # fmt: skip
    assert "(plan remembered)" not in changed.stderr
    assert len(list((tmp_path / "bakehouse" / "plans").glob("*.json"))) == 2


def _image_id(tag: str) -> str:
    return docker("image", "inspect", "--format", "{{.Id}}", tag).stdout.strip()


def test_a_build_from_the_remembered_plan_makes_the_image_the_bake_files_make(tmp_path):
    """The second build bakes the remembered plan's JSON file instead of the bake files: the image
    it loads into the engine is the same image (same ID: same config, layers and history)."""
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    tag = f"bakehouse/plan-json-test:{uuid.uuid4().hex[:12]}"  # this test's own tag in the shared engine
    build = ("build", "--target", "install", "--progress", "quiet", "--set", f"install*.tags={tag}")
    first = inv(*build, env=env)
    assert "(plan remembered)" not in first.stderr
    from_bake_files = _image_id(tag)
    docker("image", "rm", tag)  # the second build must load its own image
    try:
        again = inv(*build, env=env)
        assert "(plan remembered)" in again.stderr.splitlines()[0]
        assert "loading 1 changed image(s) into the engine" in again.stderr
        assert _image_id(tag) == from_bake_files
    finally:
        docker("image", "rm", tag, check=False)


def _image_label(tag: str, label: str) -> str:
    out = docker("image", "inspect", "--format", f'{{{{index .Config.Labels "{label}"}}}}', tag, check=False)
    return out.stdout.strip()


def test_a_no_op_build_loads_nothing_and_a_changed_image_still_reaches_the_engine():
    """On the user's builder: unchanged images are not sent to the engine again; changed or missing
    ones are."""
    tag = "bakehouse/install--debian--trixie-slim--default--amd64:latest"
    inv("build", "--target", "install", "--progress", "quiet")
    again = inv("build", "--target", "install", "--progress", "quiet")
    assert "1 image(s) already in the engine, unchanged: nothing to load" in again.stderr
    nonce = uuid.uuid4().hex
    changed = inv("build", "--target", "install", "--progress", "quiet",
                  "--set", f"install*.labels.org.bakehouse.test={nonce}")  # fmt: skip
    assert "loading 1 changed image(s) into the engine" in changed.stderr
    assert _image_label(tag, "org.bakehouse.test") == nonce
    docker("image", "rm", tag)
    missing = inv("build", "--target", "install", "--progress", "quiet")
    assert "loading 1 changed image(s) into the engine" in missing.stderr
    assert _image_label(tag, "org.bakehouse.test") == ""
