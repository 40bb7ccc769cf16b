"""Matrix cells: their ids, the overrides that select them, and what `--cell ID` becomes."""

from __future__ import annotations

import pytest

from tasks.bake import cells, matrix
from tasks.shared.errors import BAD_INPUT, BakehouseError

DEFAULTS = {"sys_names": ["debian"], "sys_versions": ["trixie-slim"], "feat_sets": ["default"]}
# The sample tree's full matrix (invoke.yaml's lint.full_matrix).
FULL = {
    "sys_names": ["debian"],
    "sys_versions": ["trixie-slim", "bookworm-slim"],
    "feat_sets": ["default", "postgres", "sentry"],
}
# The configured matrices: those above with the architecture last.
CONFIGURED_FULL = {**FULL, "sys_archs": ["amd64", "arm64"]}
DIMENSIONS = ("sys_name", "sys_version", "feat_set", "sys_arch")


def bad_input(call, match: str) -> BakehouseError:
    with pytest.raises(BakehouseError, match=match) as err:
        call()
    assert err.value.code == BAD_INPUT
    return err.value


def test_a_cell_per_combination_in_the_vectors_order_with_fixed_ids():
    # Written out: an id depends on the values alone, so it is the same in every run and on every machine.
    assert [cell.id for cell in cells.cells_of(FULL)] == [
        "debian--trixie-slim--default",
        "debian--trixie-slim--postgres",
        "debian--trixie-slim--sentry",
        "debian--bookworm-slim--default",
        "debian--bookworm-slim--postgres",
        "debian--bookworm-slim--sentry",
    ]


def test_a_cells_overrides_are_its_singular_values():
    postgres = cells.cells_of(FULL)[1]
    assert postgres.overrides == {"sys_name": "debian", "sys_version": "trixie-slim", "feat_set": "postgres"}
    assert list(postgres.overrides) == list(DIMENSIONS[:3])
    assert postgres.matrix_options() == ["sys_name=debian", "sys_version=trixie-slim", "feat_set=postgres"]


def test_the_id_is_the_suffix_of_the_cells_target_names():
    # bake's elem(): characters outside [a-zA-Z0-9_-] become "_", values joined with "--".
    assert cells.cell_id(["linux/amd64", "py3.12", "a-b"]) == "linux_amd64--py3_12--a-b"


def test_two_cells_with_one_id_are_refused():
    clashing = {"platforms": ["linux/amd64", "linux_amd64"]}
    error = bad_input(lambda: cells.cells_of(clashing), "both have the id 'linux_amd64'")
    assert "(platform=linux/amd64) and (platform=linux_amd64)" in str(error)


def test_union_keeps_the_first_matrix_order_and_adds_the_rest():
    narrowed = {"sys_names": ["debian"], "sys_versions": ["bookworm-slim"], "feat_sets": ["extra"]}
    assert cells.union(narrowed, FULL) == {
        "sys_names": ["debian"],
        "sys_versions": ["bookworm-slim", "trixie-slim"],
        "feat_sets": ["extra", "default", "postgres", "sentry"],
    }


@pytest.mark.parametrize("cell", cells.cells_of(FULL), ids=lambda cell: cell.id)
def test_every_cell_id_selects_exactly_that_cell(cell):
    options = cells.select_cell(cell.id, FULL, [])
    resolved = matrix.resolve(DEFAULTS, {}, options)
    assert cells.cells_of(resolved) == [cell]


def test_the_cell_wins_over_the_environment():
    options = cells.select_cell("debian--trixie-slim--sentry", FULL, [])
    env = {"sys_version": "bookworm-slim", "feat_sets": '["default","postgres"]'}
    assert [cell.id for cell in cells.cells_of(matrix.resolve(DEFAULTS, env, options))] == [
        "debian--trixie-slim--sentry"
    ]


def test_an_unknown_id_lists_the_valid_ones():
    error = bad_input(lambda: cells.select_cell("debian--trixie", FULL, []), "no such cell")
    assert str(error) == (
        "--cell 'debian--trixie': no such cell; valid ids: debian--trixie-slim--default, "
        "debian--trixie-slim--postgres, debian--trixie-slim--sentry, debian--bookworm-slim--default, "
        "debian--bookworm-slim--postgres, debian--bookworm-slim--sentry"
    )


def test_an_empty_id_is_refused():
    bad_input(lambda: cells.select_cell("  ", FULL, []), "expected a cell id")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["sys_version=trixie-slim"],
            'has sys_version=bookworm-slim, but --matrix selects sys_versions=\\["trixie-slim"\\]',
        ),
        (['feat_sets=["default","sentry"]'], "has feat_set=postgres, but --matrix selects feat_sets="),
        # The last option for a dimension is the one that counts, as in the matrix itself.
        (["feat_set=postgres", "feat_set=default"], "has feat_set=postgres"),
    ],
)
def test_matrix_options_that_leave_the_cell_out_contradict_it(options, message):
    bad_input(lambda: cells.select_cell("debian--bookworm-slim--postgres", FULL, options), message)


def test_matrix_options_that_include_the_cell_are_kept_before_it():
    options = ['sys_versions=["trixie-slim","bookworm-slim"]', "feat_set=postgres"]
    selected = cells.select_cell("debian--bookworm-slim--postgres", FULL, options)
    assert selected == [*options, "sys_name=debian", "sys_version=bookworm-slim", "feat_set=postgres"]


def test_bad_matrix_options_are_still_bad_input_with_a_cell():
    bad_input(lambda: cells.select_cell("debian--trixie-slim--default", FULL, ["rust=1"]), "unknown matrix")
    bad_input(lambda: cells.select_cell("debian--trixie-slim--default", FULL, ["feat_set"]), "NAME=VALUE")


# --- over the project's configuration ---------------------------------------------------------


@pytest.fixture
def clean_matrix_env(monkeypatch):
    for name in (*DIMENSIONS, *(f"{name}s" for name in DIMENSIONS)):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_known_cells_are_the_resolved_matrix_and_the_full_one(make_settings, clean_matrix_env):
    known = cells.known_matrix(make_settings(), ["feat_set=extra"])
    assert known == {**CONFIGURED_FULL, "feat_sets": ["extra", "default", "postgres", "sentry"]}


def test_the_selected_cells_are_the_resolved_matrix(make_settings, clean_matrix_env):
    c = make_settings()
    assert [cell.id for cell in cells.selected_cells(c, [])] == ["debian--trixie-slim--default--amd64"]
    clean_matrix_env.setenv("feat_sets", '["default","postgres"]')
    selected = cells.selected_cells(c, ["sys_version=bookworm-slim"])
    assert [cell.id for cell in selected] == [
        "debian--bookworm-slim--default--amd64",
        "debian--bookworm-slim--postgres--amd64",
    ]


def test_without_a_cell_the_options_are_unchanged(make_settings, clean_matrix_env):
    assert cells.with_cell(make_settings(), None, ["feat_set=postgres"]) == ["feat_set=postgres"]


def test_a_cell_of_the_full_matrix_needs_no_matrix_option(make_settings, clean_matrix_env):
    selected = cells.with_cell(make_settings(), "debian--bookworm-slim--sentry--arm64", [])
    assert selected == ["sys_name=debian", "sys_version=bookworm-slim", "feat_set=sentry", "sys_arch=arm64"]


def test_a_dimension_without_a_singular_name_is_selected_by_a_one_value_array():
    known = {"arch": ["amd64", "arm64"], "feat_sets": ["default"]}
    arm = cells.cells_of(known)[1]
    assert (arm.id, arm.overrides) == ("arm64--default", {"arch": "arm64", "feat_set": "default"})
    options = cells.select_cell("arm64--default", known, [])
    assert options == ['arch=["arm64"]', "feat_set=default"]
    assert matrix.resolve(known, {}, options) == {"arch": ["arm64"], "feat_sets": ["default"]}
