"""Start-up: building the namespace (what `inv --list` and every command do first) loads the task
layer and a few light shared modules, never a domain's logic; task modules import that when a task
runs, and no other module imports one of ours inside a function (tasks/cli/__init__.py)."""

from __future__ import annotations

import ast
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.builder import certs
from tasks.builder import tasks as builder_tasks
from tasks.ci import formats
from tasks.ci import tasks as ci_tasks
from tasks.lint import findings
from tasks.lint import tasks as lint_tasks
from tasks.shared.process import REPO_ROOT

PACKAGE = REPO_ROOT / "tasks"
DOMAINS = sorted(
    path.parent.name for path in PACKAGE.glob("*/tasks.py")
)  # builder, bake, cache, ci, complement, engine, lint, publish, release (and any new one)

# What a task module may load when imported: invoke's side of the task layer and the shared modules
# the settings are made of. Anything else is logic, which a task imports when it runs.
LIGHT_SHARED = {"command", "config_files", "errors", "process", "settings"}


def allowed(module: str) -> bool:
    parts = module.split(".")
    if parts[0] != "tasks" or len(parts) == 1 or parts[1] in ("cli", "namespace"):
        return True
    if parts[1] == "shared":
        return len(parts) == 2 or parts[2] in LIGHT_SHARED
    return len(parts) == 2 or parts[2:] == ["tasks"]  # the domain package and its task module


# Imports each task module in a fresh interpreter, bake's last (it may import others' logic), and
# prints the `tasks.*` modules each import added, so a failure names the task module to blame.
PER_TASK_MODULE = """
import importlib, json, sys
loaded, added = set(sys.modules), {}
for domain in sys.argv[1:]:
    importlib.import_module(f"tasks.{domain}.tasks")
    added[domain] = sorted(m for m in set(sys.modules) - loaded if m.startswith("tasks"))
    loaded = set(sys.modules)
print(json.dumps(added))
"""

# Loads tasks.py as `inv` does (as the module `tasks`, by its file) and builds the namespace.
AS_INV_DOES = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("tasks", "tasks.py")
module = importlib.util.module_from_spec(spec)
sys.modules["tasks"] = module
spec.loader.exec_module(module)
print(json.dumps(sorted(m for m in sys.modules if m.startswith("tasks"))))
"""


def python(script: str, *args: str) -> object:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def added_by_task_module() -> dict[str, list[str]]:
    added = python(PER_TASK_MODULE, *DOMAINS)
    assert isinstance(added, dict)
    return added


@pytest.mark.parametrize("domain", DOMAINS)
def test_a_task_module_imports_no_logic_when_imported(domain, added_by_task_module):
    assert [module for module in added_by_task_module[domain] if not allowed(module)] == []


def test_inv_loading_tasks_py_and_building_the_namespace_loads_no_logic():
    loaded = python(AS_INV_DOES)
    assert isinstance(loaded, list)
    assert "tasks.namespace" in loaded
    assert [module for module in loaded if not allowed(module)] == []


def imports_inside_functions(path: Path) -> list[int]:
    """Lines of the imports of our own modules (relative ones) inside a function of ``path``."""
    lines: list[int] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines += [
                inner.lineno
                for inner in ast.walk(node)
                if isinstance(inner, ast.ImportFrom) and inner.level > 0
            ]
    return lines


def test_only_task_modules_import_our_modules_inside_a_function():
    found = [
        f"{path.relative_to(REPO_ROOT)}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "tasks.py"
        for line in imports_inside_functions(path)
    ]
    assert found == []


def test_what_a_task_module_states_for_its_help_is_what_its_logic_uses():
    """Values the --help text needs live in the task module (its logic is not loaded then)."""
    assert ci_tasks.FORMATS == formats.FORMATS
    assert lint_tasks.FORMATS == findings.FORMATS
    defaults = inspect.signature(builder_tasks.certs_.body).parameters
    assert (defaults["port"].default, defaults["days"].default) == (certs.DEFAULT_PORT, certs.DEFAULT_DAYS)
