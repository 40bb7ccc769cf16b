"""The package's layering, read from the source: relative imports inside tasks/, invoke only in the
task layer (each domain's tasks.py, tasks/cli/ and the namespace), no Context below it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tasks.shared.process import REPO_ROOT

PACKAGE = REPO_ROOT / "tasks"


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def is_task_layer(path: Path) -> bool:
    relative = path.relative_to(PACKAGE)
    return path.name == "tasks.py" or relative.parts[0] == "cli" or relative.as_posix() == "namespace.py"


def imported_modules(path: Path) -> list[tuple[int, str, int]]:
    """(line, module, level) of every import statement of a module."""
    found: list[tuple[int, str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.lineno, node.module or "", node.level))
    return found


def test_imports_inside_the_package_are_relative():
    """Installed as `bakehouse`, an absolute `tasks.` import would load a project's own tasks.py."""
    absolute = [
        f"{path.relative_to(REPO_ROOT)}:{line}: {module}"
        for path in modules()
        for line, module, level in imported_modules(path)
        if level == 0 and (module == "tasks" or module.startswith("tasks."))
    ]
    assert absolute == []


def test_only_the_task_layer_imports_invoke():
    below = [
        f"{path.relative_to(REPO_ROOT)}:{line}: {module}"
        for path in modules()
        if not is_task_layer(path)
        for line, module, level in imported_modules(path)
        if level == 0 and (module == "invoke" or module.startswith("invoke."))
    ]
    assert below == []


def test_no_context_below_the_task_layer():
    mentions = [
        f"{path.relative_to(REPO_ROOT)}:{number}"
        for path in modules()
        if not is_task_layer(path)
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\bContext\b", line)
    ]
    assert mentions == []
