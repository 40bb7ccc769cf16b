"""Terminal tables: columns padded to their widest cell, numbers right-aligned where asked."""

from __future__ import annotations

from tasks.shared.table import align


def test_columns_are_padded_to_the_widest_cell_and_lines_carry_no_trailing_spaces():
    assert align([("NAME", "STATUS"), ("a-long-name", "ok"), ("b", "")]) == [
        "NAME         STATUS",
        "a-long-name  ok",
        "b",
    ]


def test_right_aligned_columns_line_up_on_the_right():
    assert align([("TYPE", "SIZE"), ("layers", "5MB"), ("total", "10.2MB")], right=(1,)) == [
        "TYPE      SIZE",
        "layers     5MB",
        "total   10.2MB",
    ]


def test_cells_may_be_any_value_and_no_rows_is_no_lines():
    assert align([("n", 1), ("m", 22)]) == ["n  1", "m  22"]
    assert align([]) == []
