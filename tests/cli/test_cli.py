"""The `inv` entry point: the namespace loads, and bad input is one line with exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

INV = str(Path(sys.executable).with_name("inv"))


def inv(repo_root, *args, env=None):
    return subprocess.run([INV, *args], cwd=repo_root, capture_output=True, text=True, env=env)


def test_list_shows_every_task_with_help(repo_root):
    plain = inv(repo_root, "--list")
    assert plain.returncode == 0, plain.stderr
    result = inv(repo_root, "--list", "--list-format", "json")
    tree = json.loads(result.stdout)
    helps = {t["name"]: t["help"] for t in tree["tasks"]}
    for collection in tree["collections"]:
        helps.update({f"{collection['name']}.{t['name']}": t["help"] for t in collection["tasks"]})
        if collection["default"]:
            helps[collection["name"]] = helps[f"{collection['name']}.{collection['default']}"]
    expected = {
        "build", "complement", "lint", "lint.pin", "engine.up", "engine.status", "engine.down",
        "builder.create", "builder.rm", "builder.status", "builder.ls", "builder.certs",
        "builder.daemon-config", "cache.du", "cache.prune", "cache.status", "complement.import-baseline",
        "complement.merge", "ci.matrix", "publish", "verify", "export",
    }  # fmt: skip
    assert expected <= set(helps)
    assert all(helps.values()), [name for name, text in helps.items() if not text]


def test_tasks_package_imports_outside_invoke(repo_root):
    code = "import tasks.builder.lifecycle, tasks.bake.matrix; print(tasks.builder.lifecycle.__name__)"
    result = subprocess.run([sys.executable, "-c", code], cwd=repo_root, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "tasks.builder.lifecycle"


def test_unknown_matrix_dimension_is_one_line_exit_2(repo_root):
    result = inv(repo_root, "build", "--print", "--matrix", "rust_toolchain=stable")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "bakehouse: unknown matrix dimension 'rust_toolchain' (known: sys_name/sys_names, "
        "sys_version/sys_versions, feat_set/feat_sets, sys_arch/sys_archs)"
    ]


def test_invalid_plural_json_is_exit_2(repo_root):
    import os

    result = inv(repo_root, "build", "--print", env={**os.environ, "sys_versions": "[trixie-slim"})
    assert result.returncode == 2
    assert "sys_versions: not a JSON array" in result.stderr
    assert "Traceback" not in result.stderr


def test_verify_and_export_without_any_target_are_one_line_exit_2(repo_root, tmp_path):
    config = tmp_path / "no-targets.yaml"
    config.write_text("bakehouse:\n  release:\n    targets: []\n")
    for task in (["verify"], ["export", "--oci", str(tmp_path / "out")]):
        result = inv(repo_root, "-f", str(config), *task)
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip().splitlines() == [
            "bakehouse: release.targets is empty and no --target was given: "
            "name the targets or groups to build"
        ]
    assert not (tmp_path / "out").exists()


LEGACY_ROWS = [
    '{"Action":"pass","Test":"TestLogin"}',
    '{"Action":"pass","Test":"TestLogin"}',
    '{"Action":"fail","Test":"TestB/sub"}',
    "not json",
    "",
    '{"Action":"skip","Package":"github.com/matrix-org/complement/tests","Test":"TestA"}',
]


def test_import_baseline_converts_a_legacy_file(repo_root, tmp_path):
    source = tmp_path / "legacy.jsonl"
    source.write_text("\n".join(LEGACY_ROWS) + "\n")
    output = tmp_path / "out" / "results.jsonl"
    result = inv(repo_root, "complement.import-baseline", str(source), "--output", str(output))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"imported {source} into {output}: 5 row(s) read, 3 kept, 1 duplicate(s), 1 malformed; "
        "3 row(s) without a package: left without one (matched by test name)"
    ]
    assert output.read_text().splitlines() == [
        '{"Action":"fail","Package":"","Test":"TestB/sub"}',
        '{"Action":"pass","Package":"","Test":"TestLogin"}',
        '{"Action":"skip","Package":"github.com/matrix-org/complement/tests","Test":"TestA"}',
    ]
    assert [p.name for p in output.parent.iterdir()] == ["results.jsonl"]  # no temp file left


def test_import_baseline_defaults_to_the_configured_baseline_and_assigns_a_package(repo_root, tmp_path):
    source = tmp_path / "legacy.jsonl"
    source.write_text("\n".join(LEGACY_ROWS) + "\n")
    baseline = tmp_path / "baseline.jsonl"
    baseline.write_text("old\n")
    env = {**os.environ, "INVOKE_BAKEHOUSE_COMPLEMENT_BASELINE": str(baseline)}
    result = inv(repo_root, "complement.import-baseline", str(source), "--package", "tests/csapi", env=env)
    assert result.returncode == 0, result.stderr
    csapi = "github.com/matrix-org/complement/tests/csapi"
    assert f"3 row(s) without a package: filed under {csapi}" in result.stdout
    assert baseline.read_text().splitlines()[0] == (
        '{"Action":"skip","Package":"github.com/matrix-org/complement/tests","Test":"TestA"}'
    )
    assert len(baseline.read_text().splitlines()) == 3
    # Importing a file onto itself is a no-op rewrite: ours is a fixed point.
    again = inv(repo_root, "complement.import-baseline", str(baseline), "--output", str(baseline))
    assert again.returncode == 0, again.stderr
    assert "3 row(s) read, 3 kept, 0 duplicate(s), 0 malformed" in again.stdout
    assert len(baseline.read_text().splitlines()) == 3


def test_import_baseline_bad_input_is_one_line_exit_2_and_keeps_the_output(repo_root, tmp_path):
    output = tmp_path / "results.jsonl"
    output.write_text("the old baseline\n")
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text('not json\n{"Action":"run","Test":"TestA"}\n')
    not_utf8 = tmp_path / "latin1.jsonl"
    not_utf8.write_bytes(b'{"Action":"pass","Test":"Test\xe9"}\n')
    cases = {
        str(tmp_path / "missing.jsonl"): f"bakehouse: {tmp_path / 'missing.jsonl'}: no such file",
        str(tmp_path): f"bakehouse: {tmp_path}: cannot read it (Is a directory)",
        str(garbage): f"bakehouse: {garbage}: no valid result rows (2 read, 2 malformed); nothing written",
        str(not_utf8): f"bakehouse: {not_utf8}: cannot read it (",
    }
    for source, message in cases.items():
        result = inv(repo_root, "complement.import-baseline", source, "--output", str(output))
        assert result.returncode == 2, (source, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(message), lines
        assert output.read_text() == "the old baseline\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["garbage.jsonl", "latin1.jsonl", "results.jsonl"]


def test_import_baseline_write_failure_leaves_no_temp_file(repo_root, tmp_path):
    source = tmp_path / "legacy.jsonl"
    source.write_text("\n".join(LEGACY_ROWS) + "\n")
    occupied = tmp_path / "occupied"
    (occupied / "inside").mkdir(parents=True)  # a non-empty directory can't be replaced by a file
    result = inv(repo_root, "complement.import-baseline", str(source), "--output", str(occupied))
    assert result.returncode == 1
    assert result.stderr.startswith(f"bakehouse: {occupied}: cannot write it")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["legacy.jsonl", "occupied"]
    assert [p.name for p in occupied.iterdir()] == ["inside"]


def test_complement_is_still_a_task_of_its_own(repo_root):
    # `inv complement` is the collection's default task: its options reach the run as before.
    result = inv(repo_root, "complement", "--accept-regressions")
    assert result.returncode == 2
    assert result.stderr.strip() == "bakehouse: --accept-regressions only makes sense with --update-baseline"
