"""Which files each linter looks at: shell scripts by extension and shebang, Dockerfiles by name."""

from __future__ import annotations

import pytest

from tasks.lint.files import (
    dockerfiles,
    is_dockerfile,
    is_excluded,
    is_shell_script,
    mypy_config_names_files,
    mypy_sources,
    python_files,
    shebang_interpreter,
    shell_scripts,
    walk_tree,
)


@pytest.mark.parametrize(
    ("line", "interpreter"),
    [
        (b"#!/bin/sh\n", "sh"),
        (b"#!/usr/bin/env bash\n", "bash"),
        (b"#! /bin/bash -eu\n", "bash"),
        (b"#!/usr/bin/env -S bash -e\n", "bash"),
        (b"#!/bin/busybox sh\n", "sh"),
        (b"#!/usr/bin/python3\n", "python3"),
        (b"# not a shebang\n", ""),
        (b"", ""),
    ],
)
def test_the_shebang_names_the_interpreter_past_env_and_options(line, interpreter):
    assert shebang_interpreter(line) == interpreter


@pytest.mark.parametrize(
    ("name", "first_line", "expected"),
    [
        ("scripts/run.sh", b"", True),
        ("scripts/run.bash", b"echo", True),
        ("scripts/entrypoint", b"#!/bin/sh\n", True),
        ("bin/tool", b"#!/usr/bin/env dash\n", True),
        ("bin/tool", b"#!/usr/bin/env python3\n", False),
        ("bin/tool", b"#!/usr/bin/zsh\n", False),
        ("README", b"hello\n", False),
    ],
)
def test_shell_scripts_by_extension_and_shebang(name, first_line, expected):
    assert is_shell_script(name, first_line) is expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("images/Dockerfile", True),
        ("images/Dockerfile.system", True),
        ("images/app.Dockerfile", True),
        ("Containerfile", True),
        ("images/Dockerfile.dockerignore", False),
        ("images/Dockerfile.md", False),
        ("images/bake.hcl", False),
    ],
)
def test_dockerfiles_are_recognised_by_name(name, expected):
    assert is_dockerfile(name) is expected


def test_excludes_match_the_path_or_a_parent_directory():
    assert is_excluded("tests/fixtures/lint/scripts/greet", ["tests/fixtures"])
    assert is_excluded("build/out.sh", ["build/"])
    assert is_excluded("a/b/generated.sh", ["*/generated.sh"])
    assert not is_excluded("tests/unit/test_x.py", ["tests/fixtures"])


def test_walk_tree_finds_scripts_dockerfiles_and_python(tmp_path):
    (tmp_path / "images" / "scripts").mkdir(parents=True)
    (tmp_path / "images" / "Dockerfile.base").write_text("FROM input\n")
    (tmp_path / "images" / "scripts" / "entrypoint").write_text("#!/bin/sh\necho hi\n")
    (tmp_path / "images" / "scripts" / "setup.sh").write_text("echo hi\n")
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "x.py").write_text("print(1)\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "hook.sh").write_text("#!/bin/sh\n")
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "third.sh").write_text("#!/bin/sh\n")
    (tmp_path / "link.sh").symlink_to(tmp_path / "images" / "scripts" / "setup.sh")

    files = walk_tree(tmp_path, exclude=["vendor"])

    assert files == [
        "images/Dockerfile.base",
        "images/scripts/entrypoint",
        "images/scripts/setup.sh",
        "tasks/x.py",
    ]
    assert shell_scripts(tmp_path, files) == ["images/scripts/entrypoint", "images/scripts/setup.sh"]
    assert dockerfiles(files) == ["images/Dockerfile.base"]
    assert python_files(files) == ["tasks/x.py"]


def test_mypy_takes_a_stub_instead_of_its_module():
    assert mypy_sources(["a.py", "a.pyi", "b.py", "c.pyi"]) == ["a.pyi", "b.py", "c.pyi"]


@pytest.mark.parametrize(
    ("configs", "expected"),
    [
        ({}, False),
        ({"pyproject.toml": '[tool.mypy]\nfiles = ["src"]\n'}, True),
        ({"pyproject.toml": "[tool.mypy]\nstrict = true\n"}, False),
        # A pyproject.toml without a mypy section is not mypy's config: setup.cfg's [mypy] is.
        ({"pyproject.toml": "[tool.ruff]\n", "setup.cfg": "[mypy]\nfiles = src\n"}, True),
        ({"setup.cfg": "[flake8]\nfiles = src\n"}, False),
        # mypy.ini comes first, whatever pyproject.toml says.
        ({"mypy.ini": "[mypy]\nstrict = True\n", "pyproject.toml": '[tool.mypy]\nfiles = ["src"]\n'}, False),
        ({".mypy.ini": "[mypy]\nfiles = src, tests\n"}, True),
        # Broken: mypy reports it; the files are named on the command line meanwhile.
        ({"pyproject.toml": "[tool.mypy\n"}, False),
    ],
)
def test_mypy_config_names_the_files_to_check(tmp_path, configs, expected):
    for name, text in configs.items():
        (tmp_path / name).write_text(text)
    assert mypy_config_names_files(tmp_path) is expected
