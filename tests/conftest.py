"""Shared test setup: the repo root on sys.path so `import tasks` loads tasks.py (with its __path__)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


# A Terraform file: HCL that is not a bake file (bake-file discovery must skip it).
TERRAFORM_HCL = (
    'provider "aws" {\n  region = "eu-west-1"\n}\n\nresource "aws_s3_bucket" "b" {\n  bucket = "x"\n}\n'
)


@pytest.fixture
def terraform_hcl() -> str:
    return TERRAFORM_HCL


@pytest.fixture
def write_tree() -> Callable[[Path, dict[str, str]], None]:
    """Writes {relative path: text} under a root, making directories."""

    def write(root: Path, files: dict[str, str]) -> None:
        for relative, text in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)

    return write
