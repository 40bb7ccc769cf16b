"""Shared set-up of the Complement unit tests."""

from __future__ import annotations

import pytest

from tasks.complement.plan import SuiteSettings


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
