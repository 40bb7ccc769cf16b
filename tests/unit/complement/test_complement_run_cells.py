"""Cells from a bake plan, and the tester's environment."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tasks.complement import run_cells as complement_plan
from tasks.complement.run_cells import cells_from_plan


def target(tag: str | None) -> dict[str, object]:
    return {"context": "images", "tags": [tag] if tag else []}


PLAN = {
    "group": {"complement": {"targets": ["complement-tester", "complement-testee"]}},
    "target": {
        "complement-tester--debian--trixie-slim": target(
            "bakehouse/complement-tester--debian--trixie-slim:latest"
        ),
        "complement-tester--debian--bookworm-slim": target(
            "docker.io/bakehouse/complement-tester--debian--bookworm-slim:latest"
        ),
        "complement-testee--debian--trixie-slim--default": target(
            "bakehouse/complement-testee--debian--trixie-slim--default:latest"
        ),
        "complement-testee--debian--trixie-slim--postgres": target(
            "bakehouse/complement-testee--debian--trixie-slim--postgres:latest"
        ),
        "complement-testee--debian--bookworm-slim--default": target(
            "bakehouse/complement-testee--debian--bookworm-slim--default:latest"
        ),
        "install--debian--trixie-slim--default": target(
            "bakehouse/install--debian--trixie-slim--default:latest"
        ),
    },
}


def test_each_testee_gets_the_tester_of_its_system() -> None:
    cells = cells_from_plan(PLAN, "complement-tester", "complement-testee")
    assert [(c.label, c.tester_target) for c in cells] == [
        ("debian--bookworm-slim--default", "complement-tester--debian--bookworm-slim"),
        ("debian--trixie-slim--default", "complement-tester--debian--trixie-slim"),
        ("debian--trixie-slim--postgres", "complement-tester--debian--trixie-slim"),
    ]
    assert cells[0].tester_image == "bakehouse/complement-tester--debian--bookworm-slim:latest"
    assert cells[1].testee_image == "bakehouse/complement-testee--debian--trixie-slim--default:latest"


def test_the_tester_of_a_cell_is_that_of_its_system_and_architecture() -> None:
    plan = {
        "target": {
            "complement-tester--debian--trixie-slim--amd64": target("t-amd64:latest"),
            "complement-tester--debian--trixie-slim--arm64": target("t-arm64:latest"),
            "complement-testee--debian--trixie-slim--default--amd64": target("e-amd64:latest"),
            "complement-testee--debian--trixie-slim--default--arm64": target("e-arm64:latest"),
        }
    }
    cells = cells_from_plan(plan, "complement-tester", "complement-testee")
    assert [(c.label, c.tester_image) for c in cells] == [
        ("debian--trixie-slim--default--amd64", "t-amd64:latest"),
        ("debian--trixie-slim--default--arm64", "t-arm64:latest"),
    ]


def test_a_tester_without_dimensions_serves_every_cell() -> None:
    plan = {
        "target": {
            "complement-tester": target("t:latest"),
            "complement-testee--a--b": target("e:latest"),
        }
    }
    (cell,) = cells_from_plan(plan, "complement-tester", "complement-testee")
    assert cell.tester_image == "t:latest" and cell.label == "a--b"


def test_missing_tester_or_tag_is_an_error() -> None:
    with pytest.raises(ValueError, match="no complement-tester target"):
        cells_from_plan(
            {"target": {"complement-testee--x": target("e")}}, "complement-tester", "complement-testee"
        )
    with pytest.raises(ValueError, match="has no tags"):
        cells_from_plan(
            {"target": {"complement-tester": target(None), "complement-testee--x": target("e")}},
            "complement-tester",
            "complement-testee",
        )


def test_tester_environment_carries_the_settings_and_the_prefixed_testee_env(suite_settings) -> None:
    settings = replace(suite_settings, packages=("./tests/csapi", "./tests"))
    env = complement_plan.tester_environment(
        settings, {"SYNAPSE_CONFIG_EXTRA": "enable_registration: false\n"}
    )
    assert env["COMPLEMENT_BASE_IMAGE"] == "bakehouse-complement-testee:r1"
    assert env["COMPLEMENT_SPAWN_HS_TIMEOUT_SECS"] == "120"
    assert env["COMPLEMENT_ENABLE_DIRTY_RUNS"] == "1"
    assert env["COMPLEMENT_SHARE_ENV_PREFIX"] == "BAKEHOUSE_TESTEE_"
    assert env["BAKEHOUSE_TESTEE_SYNAPSE_CONFIG_EXTRA"] == "enable_registration: false\n"
    assert env["TESTER_PACKAGES"] == "csapi tests"
    assert env["TESTER_RUN"] == "^(TestLogin)$"


def test_tester_package_names_are_last_elements_except_import_paths() -> None:
    assert complement_plan.tester_package_name("./tests/csapi") == "csapi"
    assert complement_plan.tester_package_name("./tests") == "tests"
    assert complement_plan.tester_package_name("csapi") == "csapi"
    full = "github.com/matrix-org/complement/tests/csapi"
    assert complement_plan.tester_package_name(full) == full
