"""Shared set-up of the Complement unit tests."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tasks.complement.run_cells import SuiteSettings

# A Go test package whose tests Go's own -run/-skip matching is checked against.
GOMATCH = Path(__file__).parents[1] / "fixtures" / "gomatch"


@pytest.fixture
def suite_settings() -> SuiteSettings:
    """Settings of a one-package, one-test run (csapi, TestLogin), dirty, as a run would have."""
    return SuiteSettings(
        base_image="bakehouse-complement-testee:r1",
        packages=("./tests/csapi",),
        run="^(TestLogin)$",
        skip="",
        timeout="30m",
        parallel=2,
        count=1,
        shuffle="off",
        spawn_timeout=120,
        dirty=True,
        share_env_prefix="BAKEHOUSE_TESTEE_",
    )


@pytest.fixture(scope="session")
def go_ran(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], set[str]]:
    """What Go itself runs of the gomatch fixture for `-test.run RUN -test.skip SKIP` (passed tests,
    all of them pass). A subprocess of Go's toolchain, not `inv` nor the engine; skipped without Go."""
    if shutil.which("go") is None:
        pytest.skip("go is not installed")
    binary = tmp_path_factory.mktemp("gomatch") / "gomatch.test"
    subprocess.run(["go", "test", "-c", "-o", str(binary), "."], cwd=GOMATCH, check=True)

    def ran(run: str, skip: str) -> set[str]:
        args = [str(binary), "-test.v"]
        if run:
            args.append(f"-test.run={run}")
        if skip:
            args.append(f"-test.skip={skip}")
        output = subprocess.run(args, capture_output=True, text=True, check=True).stdout
        return set(re.findall(r"--- PASS: (\S+) \(", output))

    return ran
