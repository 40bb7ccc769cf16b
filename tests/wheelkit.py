"""Building bakehouse's wheel and sdist for tests, from a copy of what the distribution is made of
(so the checkout gets no build/ or *.egg-info of its own)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# What `python -m build` reads: the project's metadata, its readme and the package.
SOURCES = ("pyproject.toml", "README.md", "tasks")


def build_distributions(workdir: Path) -> tuple[Path, Path]:
    """(wheel, sdist) built with the running interpreter's setuptools (no index needed)."""
    source = workdir / "source"
    source.mkdir(parents=True)
    for name in SOURCES:
        if (REPO_ROOT / name).is_dir():
            shutil.copytree(REPO_ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO_ROOT / name, source / name)
    out = workdir / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        check=True,
        capture_output=True,
        text=True,
    )
    (wheel,) = out.glob("bakehouse-*.whl")
    (sdist,) = out.glob("bakehouse-*.tar.gz")
    return wheel, sdist
