"""bakehouse adopted by a repository that is not ours: the wheel installed into a fresh venv outside
the checkout, run in a temporary git repository holding a small tree this test writes.

Two ways in: the `bakehouse` command (root found from bakehouse.yaml, config from `bakehouse init`),
and a project's own tasks.py mounting the collection for `inv`. One wheel and one venv for the session.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from enginekit import docker

from tests.wheelkit import build_distributions

pytestmark = pytest.mark.engine

# Two JSON-array dimensions in the elem(prefix, dims) style, a smoke target, a suite-like group.
BAKE_HCL = """\
variable "distros" {
  description = "Debian images the tree starts from"
  default     = "[\\"trixie-slim\\"]"
}

variable "flavors" {
  default = "[\\"plain\\", \\"tools\\"]"
}

function "elem" {
  params = [prefix, dims]
  result = join("--", concat([prefix], dims))
}

target "base" {
  name       = elem("base", [distro])
  matrix     = { distro = jsondecode(distros) }
  context    = "docker"
  dockerfile = "Dockerfile.base"
  args       = { distro = distro }
}

target "app" {
  name       = elem("app", [distro, flavor])
  matrix     = { distro = jsondecode(distros), flavor = jsondecode(flavors) }
  context    = "docker"
  dockerfile = "Dockerfile.app"
  contexts   = { base = "target:${elem("base", [distro])}" }
  args       = { flavor = flavor }
}

target "check" {
  name         = elem("check", [distro, flavor])
  matrix       = { distro = jsondecode(distros), flavor = jsondecode(flavors) }
  context      = "docker"
  dockerfile   = "Dockerfile.check"
  contexts     = { app = "target:${elem("app", [distro, flavor])}" }
  entitlements = ["network.host"]
}

group "default" {
  targets = ["app"]
}

group "suite" {
  targets = ["check"]
}
"""

TREE = {
    "docker/bake.hcl": BAKE_HCL,
    "docker/Dockerfile.base": (
        'FROM debian:trixie-slim\nARG distro\nRUN echo "${distro}" > /etc/tree-distro\n'
    ),
    "docker/Dockerfile.app": 'FROM base\nARG flavor\nRUN echo "${flavor}" > /etc/tree-flavor\n',
    "docker/Dockerfile.check": "FROM app\nRUN test -s /etc/tree-flavor && test -s /etc/tree-distro\n",
    # `FROM base` / `FROM app` name bake contexts (target:...), not images to tag.
    ".hadolint.yaml": "ignored: [DL3006]\n",
    "src/app/README": "the project's own code lives here\n",
}

# A project's own tasks.py: the collection mounted beside its task, defaults overridden by ns.configure.
PROJECT_TASKS = """\
from invoke import task

from bakehouse.namespace import namespace


@task
def hello(c):
    \"\"\"The project's own task.\"\"\"
    print("hello from the project")


ns = namespace()
ns.add_task(hello)
ns.configure(
    {
        "bakehouse": {
            "bake": {
                "files": ["docker/bake.hcl"],
                "matrix": {"distros": ["trixie-slim"], "flavors": ["plain", "tools"]},
            }
        }
    }
)
"""

CELLS = [
    {"id": "trixie-slim--plain", "overrides": {"distro": "trixie-slim", "flavor": "plain"}},
    {"id": "trixie-slim--tools", "overrides": {"distro": "trixie-slim", "flavor": "tools"}},
]
SUITE_TARGETS = [
    "app--trixie-slim--plain",
    "app--trixie-slim--tools",
    "base--trixie-slim",
    "check--trixie-slim--plain",
    "check--trixie-slim--tools",
]


@pytest.fixture(scope="session")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv outside the checkout with the built wheel installed (dependencies from the index)."""
    work = tmp_path_factory.mktemp("adoption-wheel")
    wheel, _ = build_distributions(work)
    target = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)
    subprocess.run(
        [str(target / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(wheel)],
        check=True,
        capture_output=True,
    )
    return target


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without bakehouse settings or matrix variables of our own tree."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVOKE_") and k != "VIRTUAL_ENV"}
    for name in ("sys_name", "sys_names", "sys_version", "sys_versions", "feat_set", "feat_sets"):
        env.pop(name, None)
    return {**env, **extra}


def write_repository(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "tree"], check=True)
    return root


class Project:
    """A repository and the env bakehouse runs with there (its own builder)."""

    def __init__(self, root: Path, venv: Path, builder: str) -> None:
        self.root = root
        self.venv = venv
        self.env = clean_env(INVOKE_BAKEHOUSE_BUILDER_NAME=builder)

    def run(self, program: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.venv / "bin" / program), *args],
            cwd=cwd or self.root,
            capture_output=True,
            text=True,
            env=self.env,
        )

    def ok(self, program: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        result = self.run(program, *args, cwd=cwd)
        assert result.returncode == 0, f"{program} {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result


@pytest.fixture(scope="module")
def project(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """The tree in a git repository, `bakehouse init` run in it, its builder created."""
    root = write_repository(tmp_path_factory.mktemp("adopter") / "homeserver", TREE)
    builder = f"bh-adopt-{uuid.uuid4().hex[:8]}"
    adopted = Project(root, venv, builder)
    try:
        yield adopted
    finally:
        docker("buildx", "rm", builder, check=False)


@pytest.fixture(scope="module")
def initialized(project: Project) -> subprocess.CompletedProcess[str]:
    # From a subdirectory: the root is git's top level (no bakehouse.yaml yet).
    found = project.ok("bakehouse", "init", cwd=project.root / "src" / "app")
    project.ok("bakehouse", "builder.create")
    return found


def test_init_reports_the_tree_and_writes_its_config(project, initialized):
    assert initialized.stdout.splitlines() == [
        "bake files: docker/bake.hcl",
        'matrix dimensions: distros=["trixie-slim"]; flavors=["plain", "tools"]',
        "groups: default, suite",
        "default targets: default",
        "entitlements: network.host",
        f"wrote {project.root}/bakehouse.yaml",
    ]
    text = (project.root / "bakehouse.yaml").read_text()
    assert 'files: ["docker/bake.hcl"]' in text
    assert 'distros: ["trixie-slim"]  # Debian images the tree starts from' in text
    again = project.run("bakehouse", "init")
    assert again.returncode == 2
    assert again.stderr == f"bakehouse: {project.root}/bakehouse.yaml exists; --force replaces it\n"
    assert (project.root / "bakehouse.yaml").read_text() == text


def test_build_of_the_smoke_target_runs_for_real(project, initialized):
    built = project.ok("bakehouse", "build", "--target", "check")
    for cell in ("plain", "tools"):
        assert re.search(rf"^check--trixie-slim--{cell} +built ", built.stderr, re.MULTILINE), built.stderr
    assert re.search(r"^ACCEPT: 2 target\(s\) in [0-9.]+s, exit status 0$", built.stderr, re.MULTILINE)


def test_print_from_a_subdirectory_plans_what_the_root_plans(project, initialized):
    from_root = json.loads(project.ok("bakehouse", "build", "--print", "--target", "suite").stdout)
    deep = project.root / "src" / "app"
    from_deep = json.loads(project.ok("bakehouse", "build", "--print", "--target", "suite", cwd=deep).stdout)
    assert sorted(from_deep["target"]) == SUITE_TARGETS
    assert from_deep == from_root


def test_lint_and_ci_matrix_run_on_the_tree(project, initialized):
    linted = project.ok("bakehouse", "lint", cwd=project.root / "src")
    assert "hadolint: 3 files checked, 0 findings" in linted.stdout
    assert "bake-check: 2 files checked, 0 findings" in linted.stdout
    assert json.loads(project.ok("bakehouse", "ci.matrix").stdout) == CELLS


def test_version_and_completion_script(project):
    assert project.ok("bakehouse", "--version").stdout.startswith("bakehouse 0.")
    script = project.ok("bakehouse", "--print-completion-script", "bash").stdout
    assert "complete -F" in script and "bakehouse" in script


def test_a_repository_without_bake_files_is_told_to_init(venv, tmp_path):
    bare = Project(write_repository(tmp_path / "bare", {"README": "no images\n"}), venv, "unused")
    printed = bare.run("bakehouse", "build", "--print")
    assert printed.returncode == 2
    assert printed.stderr.splitlines() == [
        f"bakehouse: bake file images/bake.hcl not found in {bare.root}: "
        "set bake.files (bakehouse.yaml or invoke.yaml) or run `bakehouse init`"
    ]
    init = bare.run("bakehouse", "init")
    assert init.returncode == 2
    assert init.stderr == (
        f"bakehouse: no bake file (*.hcl or *.json defining a target) under {bare.root}; "
        "name one with --bake-file\n"
    )


def test_a_project_tasks_py_mounts_the_collection_for_inv(venv, tmp_path):
    root = write_repository(tmp_path / "with-tasks", {**TREE, "tasks.py": PROJECT_TASKS})
    own = Project(root, venv, "unused")
    listed = own.ok("inv", "--list").stdout
    assert "hello" in listed and "build" in listed and "ci.matrix" in listed
    assert own.ok("inv", "hello").stdout == "hello from the project\n"
    # invoke finds tasks.py by walking up; the project root is its directory.
    deep = root / "src" / "app"
    printed = json.loads(own.ok("inv", "build", "--print", "--target", "suite", cwd=deep).stdout)
    assert sorted(printed["target"]) == SUITE_TARGETS
    assert json.loads(own.ok("inv", "ci.matrix").stdout) == CELLS
