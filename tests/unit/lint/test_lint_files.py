"""Which files each linter looks at: shell scripts by extension and shebang, Dockerfiles by name."""

from __future__ import annotations

import pytest

from tasks.lint.files import (
    dockerfiles,
    is_dockerfile,
    is_excluded,
    is_shell_script,
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
def test_shebang_interpreter(line, interpreter):
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
def test_dockerfile_names(name, expected):
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
