"""pytest imports each test module by its basename (rootdir-relative, no packages under tests/): two
test files with one name in different folders stop the whole run at collection."""

from __future__ import annotations

from collections import Counter

from tasks.shared.process import REPO_ROOT


def test_every_test_module_has_a_basename_of_its_own():
    modules = [path for path in (REPO_ROOT / "tests").rglob("test_*.py") if "fixtures" not in path.parts]
    names = Counter(path.name for path in modules)
    assert sorted(name for name, count in names.items() if count > 1) == []
