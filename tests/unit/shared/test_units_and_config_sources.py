"""Shared helpers not reached directly elsewhere: Go durations written back, prune flag sizes, and
which config file invoke would load for a prefix."""

from __future__ import annotations

import pytest

from tasks.cli.config_check import first_config_file, runtime_file
from tasks.shared.errors import BAD_INPUT, BakehouseError
from tasks.shared.units import check_flag_size, format_go_duration, go_duration_seconds


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(88200, "24h30m"), (3600, "1h"), (90, "1m30s"), (0.5, "0.5s"), (0, "0s"), (604800, "168h")],
)
def test_seconds_are_written_as_go_durations(seconds, text):
    assert format_go_duration(seconds) == text


@pytest.mark.parametrize("text", ["24h30m", "1h", "1m30s", "168h"])
def test_a_written_duration_reads_back_as_the_same_seconds(text):
    assert format_go_duration(go_duration_seconds(text, "k")) == text


@pytest.mark.parametrize("value", ["1024", "512MB", "10GB", "2GiB", "1.5 kb", " 7b "])
def test_prune_flag_sizes_pass_stripped(value):
    assert check_flag_size(value, "--max-used-space") == value.strip()


@pytest.mark.parametrize("value", ["10%", "-1", "GB", "", "ten"])
def test_a_prune_flag_size_without_bytes_is_bad_input(value):
    with pytest.raises(BakehouseError) as caught:
        check_flag_size(value, "--reserved-space")
    assert caught.value.code == BAD_INPUT
    assert str(caught.value) == f"--reserved-space {value!r}: expected bytes or a size such as 512MB or 10GB"


def test_the_first_existing_suffix_is_the_config_file_invoke_loads(tmp_path):
    prefix = tmp_path / "invoke"
    assert first_config_file(prefix) is None
    (tmp_path / "invoke.py").write_text("")
    assert first_config_file(prefix) == tmp_path / "invoke.py"
    (tmp_path / "invoke.json").write_text("{}")
    assert first_config_file(prefix) == tmp_path / "invoke.json"
    (tmp_path / "invoke.yml").write_text("")
    (tmp_path / "invoke.yaml").write_text("")
    assert first_config_file(prefix) == tmp_path / "invoke.yaml"


def test_outside_inv_there_is_no_runtime_config_file():
    assert runtime_file() is None
