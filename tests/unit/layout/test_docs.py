"""The docs follow the code: the architecture page lists every module under tasks/, the configuration
reference every setting, and every link between pages (and from the README) lands on a heading."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

from tasks.shared.process import REPO_ROOT
from tasks.shared.settings import Settings

PACKAGE = REPO_ROOT / "tasks"
DOCS = REPO_ROOT / "docs"
README = REPO_ROOT / "README.md"


def section(text: str, heading: str) -> str:
    """The body of a `## heading` section: up to the next heading of that level."""
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def first_cells(table: str) -> set[str]:
    """The backticked first cell of every row of a markdown table."""
    return set(re.findall(r"^\| `([^`]+)` \|", table, flags=re.MULTILINE))


def modules_in_tree() -> set[str]:
    """Each package as its directory (`tasks/bake/`), each other module as its file."""
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(REPO_ROOT).as_posix()
        found.add(relative.removesuffix("__init__.py") if path.name == "__init__.py" else relative)
    return found


def test_the_architecture_page_lists_every_module_under_tasks_and_no_other():
    listed = first_cells(section((DOCS / "architecture.md").read_text(), "Modules"))
    tree = modules_in_tree()
    missing, extra = sorted(tree - listed), sorted(listed - tree)
    assert (missing, extra) == ([], []), (
        f"docs/architecture.md, section Modules: add a row for {missing or 'nothing'}; "
        f"remove the row of {extra or 'nothing'}"
    )


def setting_names(section: object, prefix: str = "") -> Iterator[str]:
    """Every setting as it is spelled in config (`builder.gc.floor.min_free_space`)."""
    assert dataclasses.is_dataclass(section)
    for item in dataclasses.fields(section):
        if item.metadata.get("runtime"):
            continue
        name = f"{prefix}{item.metadata.get('key', item.name)}"
        value = getattr(section, item.name)
        if dataclasses.is_dataclass(value):
            yield from setting_names(value, f"{name}.")
        else:
            yield name


def test_the_configuration_reference_lists_every_setting_and_no_other():
    text = (DOCS / "configuration.md").read_text()
    listed = {cell for cell in first_cells(text) if "." in cell}
    settings = set(setting_names(Settings()))
    assert (sorted(settings - listed), sorted(listed - settings)) == ([], [])


def anchor(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.MULTILINE | re.DOTALL)
    return {anchor(line.lstrip("#")) for line in text.splitlines() if re.match(r"#{1,6} ", line)}


def test_links_between_pages_land_on_a_page_and_a_heading():
    broken = []
    for page in [README, *sorted(DOCS.glob("*.md"))]:
        for target, fragment in re.findall(r"\]\(((?:docs/)?[\w-]+\.md)(?:#([\w-]+))?\)", page.read_text()):
            linked = page.parent / target
            if not linked.exists() or (fragment and fragment not in anchors(linked)):
                broken.append(f"{page.relative_to(REPO_ROOT)}: {target}#{fragment}")
    assert broken == []


def test_the_readme_is_short_and_leads_to_every_page():
    text = README.read_text()
    assert len(text.splitlines()) <= 200
    unlinked = [page.name for page in sorted(DOCS.glob("*.md")) if f"](docs/{page.name}" not in text]
    assert unlinked == []
