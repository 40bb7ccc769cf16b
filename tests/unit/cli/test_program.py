"""The `bakehouse` program: where it finds the project, which files and variables it reads, and its
one-line refusals. Run in-process (invoke's Program.run), with the real invoke."""

from __future__ import annotations

import subprocess

import pytest
from invoke import Context

from tasks.cli.context import project_root, settings
from tasks.cli.program import BakehouseConfig, find_project_root, given_root, program
from tasks.shared.errors import BAD_INPUT, BakehouseError
from tasks.shared.settings import registered_defaults


def git_init(path):
    subprocess.run(["git", "init", "-q", str(path)], check=True)


def test_the_root_is_the_nearest_directory_up_with_bakehouse_yaml(tmp_path):
    git_init(tmp_path)
    project = tmp_path / "project"
    (project / "a" / "b").mkdir(parents=True)
    (project / "bakehouse.yaml").write_text("bakehouse: {}\n")
    assert find_project_root(project / "a" / "b") == project
    assert find_project_root(project) == project


def test_without_bakehouse_yaml_the_root_is_git_top_level_else_the_start(tmp_path):
    (tmp_path / "repo" / "sub").mkdir(parents=True)
    git_init(tmp_path / "repo")
    assert find_project_root((tmp_path / "repo" / "sub").resolve()) == (tmp_path / "repo").resolve()
    (tmp_path / "plain").mkdir()
    # tmp_path is in no git repository (pytest's base temp is under /tmp).
    assert find_project_root(tmp_path / "plain") == tmp_path / "plain"


def test_a_python_module_named_bakehouse_marks_no_project(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "bakehouse.py").write_text("")
    assert find_project_root(tmp_path / "sub") == tmp_path / "sub"


def test_a_given_root_must_be_a_directory(tmp_path):
    assert given_root(str(tmp_path)) == tmp_path.resolve()
    with pytest.raises(BakehouseError) as caught:
        given_root(str(tmp_path / "gone"))
    assert caught.value.code == BAD_INPUT
    assert str(caught.value) == f"--root {tmp_path / 'gone'}: no such directory"


def test_the_config_reads_bakehouse_yaml_and_the_invoke_bakehouse_variables(tmp_path, monkeypatch):
    (tmp_path / "bakehouse.yaml").write_text("bakehouse:\n  bake:\n    files: [docker/bake.hcl]\n")
    (tmp_path / "invoke.yaml").write_text("bakehouse:\n  bake:\n    files: [not/read.hcl]\n")
    monkeypatch.setenv("INVOKE_BAKEHOUSE_BUILDER_NAME", "from-env")
    config = BakehouseConfig(project_location=tmp_path)
    config.load_collection({"bakehouse": registered_defaults()})
    config.load_project()
    config.load_shell_env()
    assert config.bakehouse.bake.files == ["docker/bake.hcl"]
    assert config.bakehouse.builder.name == "from-env"


def run_program(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        program().run(["bakehouse", *argv])
    captured = capsys.readouterr()
    return exited.value.code, captured.out, captured.err


def test_version_is_the_distributions(capsys):
    program().run(["bakehouse", "--version"], exit=False)
    assert capsys.readouterr().out.startswith("bakehouse ")


def test_a_broken_project_config_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "bakehouse.yaml").write_text("bakehouse:\n  bake:\n    filez: []\n")
    code, _, err = run_program(["--root", str(tmp_path), "--list"], capsys)
    assert code == BAD_INPUT
    assert err.splitlines() == [
        f"bakehouse: {tmp_path}/bakehouse.yaml: unknown setting bakehouse.bake.filez "
        "(known in bakehouse.bake: allow, default_targets, files, git_variables, matrix, progress, variables)"
    ]


def test_a_missing_root_is_one_line_and_exit_2(tmp_path, capsys):
    code, _, err = run_program(["--root", str(tmp_path / "gone"), "--list"], capsys)
    assert (code, err) == (BAD_INPUT, f"bakehouse: --root {tmp_path / 'gone'}: no such directory\n")


def test_a_bad_variable_is_refused_before_any_task(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("INVOKE_BAKEHOUSE_BAKE_FILES", "a.hcl")
    code, _, err = run_program(["--root", str(tmp_path), "--list"], capsys)
    assert code == BAD_INPUT
    assert err.startswith("bakehouse: INVOKE_BAKEHOUSE_BAKE_FILES: bakehouse.bake.files is a list")


def test_the_tasks_see_the_project_found(tmp_path, monkeypatch):
    (tmp_path / "bakehouse.yaml").write_text("bakehouse:\n  bake:\n    files: [docker/bake.hcl]\n")
    (tmp_path / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "deep" / "er")
    bakehouse = program()
    bakehouse.create_config()
    bakehouse.parse_core(["bakehouse", "--list"])
    bakehouse.parse_collection()
    bakehouse.config.load_collection(bakehouse.collection.configuration())
    c = Context(bakehouse.config)
    assert project_root(c) == tmp_path.resolve()
    assert settings(c).bake.files == ("docker/bake.hcl",)
    assert settings(c).path("docker/bake.hcl") == tmp_path.resolve() / "docker" / "bake.hcl"


def test_a_runtime_file_is_checked_and_read(tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text("bakehouse:\n  builder:\n    name: [a]\n")
    code, _, err = run_program(["--root", str(tmp_path), "-f", str(broken), "--list"], capsys)
    assert (code, err) == (
        BAD_INPUT,
        f"bakehouse: {broken}: bakehouse.builder.name: expected a string, got a list\n",
    )
    runtime = tmp_path / "runtime.yaml"
    runtime.write_text("bakehouse:\n  builder:\n    name: from-runtime\n")
    bakehouse = program()
    bakehouse.create_config()
    bakehouse.parse_core(["bakehouse", "--root", str(tmp_path), "-f", str(runtime), "--list"])
    bakehouse.parse_collection()
    bakehouse.update_config()
    assert bakehouse.config.bakehouse.builder.name == "from-runtime"
