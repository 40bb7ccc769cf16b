from __future__ import annotations

import tomllib

import pytest

from tasks.builder import buildkitd_config as bk
from tasks.shared.errors import BAD_INPUT, BakehouseError
from tasks.shared.settings import BuilderSettings


def test_repo_buildkitd_toml_is_valid(repo_root):
    doc = bk.load((repo_root / "tasks" / "builder" / "buildkitd.toml").read_text())
    policies = doc["worker"]["oci"]["gcpolicy"]
    assert [p.get("filters") for p in policies] == [[bk.CACHE_MOUNT_FILTER], [bk.OTHER_FILTER], None]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1024, 1024),
        ("512MB", 512 * 2**20),
        ("64GB", 64 * 2**30),
        ("2GiB", 2 * 2**30),
        ("10%", "10%"),
        ("0", 0),
    ],
)
def test_sizes_read_as_binary_bytes_and_percentages_stay(value, expected):
    assert bk.parse_size(value, "k") == expected


@pytest.mark.parametrize("value", ["64 gigs", "-1", "120%", True, "GB", ""])
def test_a_bad_size_is_bad_input_naming_the_key(value):
    with pytest.raises(BakehouseError) as err:
        bk.parse_size(value, "worker.maxUsedSpace")
    assert err.value.code == BAD_INPUT
    assert "worker.maxUsedSpace" in str(err.value)


@pytest.mark.parametrize(("value", "seconds"), [("48h", 172800), ("1h30m", 5400), ("500ms", 0.5), (60, 60)])
def test_go_durations_and_numbers_read_as_seconds(value, seconds):
    assert bk.parse_duration(value, "k") == seconds


def test_days_are_not_go_durations_and_the_fix_is_named():
    with pytest.raises(BakehouseError) as err:
        bk.parse_duration("7d", "keepDuration")
    assert err.value.code == BAD_INPUT
    assert str(err.value) == "keepDuration 7d: Go durations have no days or weeks; use 168h"


def test_keep_duration_in_days_rejected_in_a_file():
    text = '[worker.oci]\ngc = true\n[[worker.oci.gcpolicy]]\nkeepDuration = "7d"\n'
    with pytest.raises(BakehouseError, match=r"gcpolicy #1\.keepDuration"):
        bk.load(text)


@pytest.mark.parametrize(
    "text",
    [
        "[worker.oci]\nmaxUsedSpaces = 1\n",
        '[system]\nplatformCacheMaxAge = "1h"\n',
        "bogus = 1\n",
        "[[worker.oci.gcpolicy]]\nkeep = 1\n",
        '[registry."docker.io"]\nmirror = ["x"]\n',
    ],
)
def test_unknown_keys_rejected(text):
    with pytest.raises(BakehouseError, match="unknown key"):
        bk.load(text)


def test_invalid_toml_is_bad_input():
    with pytest.raises(BakehouseError) as err:
        bk.load("[worker.oci\n")
    assert err.value.code == BAD_INPUT


def test_overrides_replace_file_values_and_add_registries():
    doc = bk.load(
        '[worker.oci]\ngc = true\nmaxUsedSpace = "48GB"\n'
        '[[worker.oci.gcpolicy]]\nfilters = ["type==exec.cachemount"]\nkeepDuration = "336h"\n'
    )
    merged = bk.apply_overrides(
        doc,
        bk.Overrides(
            max_used_space="20GB",
            other_keep_duration="12h",
            floor_min_free_space="5%",
            mirrors=("127.0.0.1:5000",),
            insecure_registries=("127.0.0.1:5000",),
        ),
    )
    worker = merged["worker"]["oci"]
    assert worker["maxUsedSpace"] == "20GB"
    assert worker["gcpolicy"][0] == {"filters": ["type==exec.cachemount"], "keepDuration": "336h"}
    assert worker["gcpolicy"][1] == {"filters": ["type!=exec.cachemount"], "keepDuration": "12h"}
    assert worker["gcpolicy"][2] == {"all": True, "minFreeSpace": "5%"}
    assert merged["registry"]["docker.io"]["mirrors"] == ["127.0.0.1:5000"]
    assert merged["registry"]["127.0.0.1:5000"]["http"] is True
    # the input document is left alone
    assert doc["worker"]["oci"]["maxUsedSpace"] == "48GB"


def test_bad_override_is_rejected():
    with pytest.raises(BakehouseError, match="keepDuration"):
        bk.apply_overrides({}, bk.Overrides(other_keep_duration="2w"))


def test_render_round_trips(repo_root):
    doc = bk.apply_overrides(
        bk.load((repo_root / "tasks" / "builder" / "buildkitd.toml").read_text()),
        bk.Overrides(mirrors=("127.0.0.1:5000",), insecure_registries=("127.0.0.1:5000",)),
    )
    text = bk.render(doc)
    assert tomllib.loads(text) == doc
    assert '[registry."127.0.0.1:5000"]' in text
    assert bk.render(doc) == text  # stable


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1w", "--until 1w: Go durations have no days or weeks; use 168h"),
        ("1d30m", "--until 1d30m: Go durations have no days or weeks; use 24h30m"),
        ("soon", "--until 'soon': not a Go duration (e.g. 168h, 90m, 1h30m)"),
        ("", "--until '': not a Go duration (e.g. 168h, 90m, 1h30m)"),
    ],
)
def test_go_duration_errors_name_the_fix(value, message):
    from tasks.shared.units import go_duration_seconds

    with pytest.raises(BakehouseError) as err:
        go_duration_seconds(value, "--until")
    assert str(err.value) == message


PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def test_a_registry_ca_is_rendered_as_an_https_registry_trusting_the_file(tmp_path):
    (tmp_path / "ca.pem").write_text(PEM)
    settings = BuilderSettings(
        registry_ca={"127.0.0.1:5443": "ca.pem", "reg.example": str(tmp_path / "ca.pem")}
    )
    overrides = bk.Overrides.from_config(settings, ca_root=tmp_path)
    assert overrides.registry_ca == {
        "127.0.0.1:5443": str(tmp_path / "ca.pem"),
        "reg.example": str(tmp_path / "ca.pem"),
    }
    doc = bk.apply_overrides({"registry": {"reg.example": {"ca": ["/other.pem"]}}}, overrides)
    # http = false: BuildKit would reach a localhost registry over plain http otherwise.
    assert doc["registry"]["127.0.0.1:5443"] == {"http": False, "ca": [str(tmp_path / "ca.pem")]}
    assert doc["registry"]["reg.example"] == {"ca": ["/other.pem", str(tmp_path / "ca.pem")], "http": False}
    assert tomllib.loads(bk.render(doc)) == doc


def test_an_insecure_registry_stays_plain_http_with_a_ca(tmp_path):
    (tmp_path / "ca.pem").write_text(PEM)
    settings = BuilderSettings(registry_ca={"h:5000": "ca.pem"}, insecure_registries=("h:5000",))
    doc = bk.apply_overrides({}, bk.Overrides.from_config(settings, ca_root=tmp_path))
    assert doc["registry"]["h:5000"]["http"] is True


@pytest.mark.parametrize(
    ("configured", "message"),
    [
        ({"https://h:5000": "ca.pem"},
         "builder.registry_ca 'https://h:5000': expected host[:port], e.g. 127.0.0.1:5000 or mirror.gcr.io"),
        ({"h:5000": "missing.pem"}, "builder.registry_ca h:5000: {root}/missing.pem: no such file"),
        ({"h:5000": "not-pem.txt"},
         "builder.registry_ca h:5000: {root}/not-pem.txt: "
         "not a PEM certificate (no -----BEGIN CERTIFICATE----- line)"),
        ({"h:5000": "."}, "builder.registry_ca h:5000: {root}: can't read it (Is a directory)"),
    ],
)  # fmt: skip
def test_a_bad_registry_ca_is_bad_input_naming_the_setting(tmp_path, configured, message):
    (tmp_path / "ca.pem").write_text(PEM)
    (tmp_path / "not-pem.txt").write_text("hello\n")
    with pytest.raises(BakehouseError) as caught:
        bk.Overrides.from_config(BuilderSettings(registry_ca=configured), ca_root=tmp_path)
    assert caught.value.code == BAD_INPUT
    assert str(caught.value) == message.format(root=tmp_path)


def test_a_ca_entry_in_the_file_must_be_a_list_of_paths():
    with pytest.raises(BakehouseError, match=r'\[registry."h:5000"\].ca: expected a list of CA file paths'):
        bk.validate({"registry": {"h:5000": {"ca": "/ca.pem"}}})
