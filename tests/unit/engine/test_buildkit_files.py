"""The BuildKit image of registry-free mode is baked from the package's own files, whatever project runs."""

from __future__ import annotations

import re
from pathlib import Path

from tasks.engine.supply import SUPPLY_FILE, SUPPLY_ROOT, supply_settings
from tasks.shared.settings import Settings


def test_the_buildkit_target_is_baked_from_the_packaged_file_in_its_directory(tmp_path):
    project = Settings(root=tmp_path)
    config = supply_settings(project)
    assert config.bake.files == (SUPPLY_FILE,) == ("buildkit.hcl",)
    assert config.root == SUPPLY_ROOT
    # Everything else is the project's: supply, builder and cache settings.
    assert (config.supply, config.builder, config.cache) == (project.supply, project.builder, project.cache)


def test_the_packaged_bake_file_names_its_dockerfile_beside_it():
    text = (SUPPLY_ROOT / "buildkit.hcl").read_text()
    context = re.search(r'^\s*context\s*=\s*"([^"]*)"', text, re.MULTILINE)
    dockerfile = re.search(r'^\s*dockerfile\s*=\s*"([^"]*)"', text, re.MULTILINE)
    assert context and dockerfile
    assert (SUPPLY_ROOT / Path(context.group(1)) / dockerfile.group(1)).is_file()
    assert re.search(r'^target "buildkit" \{', text, re.MULTILINE)
