"""The builder service's pure parts: the wanted spec, drift against the running builder, its state."""

from __future__ import annotations

import base64
import tomllib

import pytest

from tasks.builder import buildkitd_config
from tasks.builder.lifecycle import (
    BuilderSpec,
    BuilderState,
    builder_recorded,
    builder_stopped,
    config_path,
    desired_spec,
    drift,
    ensure_builder,
    gc_policy_lines,
    render_config,
    rendered_configs_dir,
    resolve_builder_name,
    state_of,
)
from tasks.shared.buildx import parse_builder
from tasks.shared.errors import BAD_INPUT, BakehouseError

CONFIG = '[worker.oci]\n  gc = true\n  maxUsedSpace = "48GB"\n'
FLAGS = ("--allow-insecure-entitlement=network.host",)


def spec(**changes):
    return BuilderSpec(**{"name": "b1", "config_text": CONFIG, "driver_opts": {}, "flags": FLAGS, **changes})


def state(**changes):
    fields = {
        "name": "b1", "driver": "docker-container", "status": "running", "version": "v0.33.1",
        "config_text": CONFIG, "driver_opts": {}, "flags": FLAGS, "gc_policies": [],
    }  # fmt: skip
    return BuilderState(**{**fields, **changes})


def test_a_builder_like_the_spec_has_no_drift():
    assert drift(spec(), state()) == []
    # Status and version are not part of what was asked for.
    assert drift(spec(), state(status="stopped", version="v0.20.0")) == []


def test_the_config_is_compared_by_content_not_by_text():
    # buildx stores the file re-serialized: other layout, same TOML.
    reserialized = '[worker]\n[worker.oci]\ngc = true\nmaxUsedSpace = "48GB"\n'
    assert drift(spec(), state(config_text=reserialized)) == []
    assert drift(spec(), state(config_text=CONFIG.replace("48GB", "20GB"))) == ["buildkitd.toml"]


def test_an_unreadable_stored_config_is_drift():
    assert drift(spec(), state(config_text="not [toml")) == ["buildkitd.toml"]


def test_every_difference_is_named_with_old_and_new_values():
    running = state(driver="docker", driver_opts={"network": "host"}, flags=())
    assert drift(spec(driver_opts={"image": "moby/buildkit:v0.33.1"}), running) == [
        "driver docker",
        "driver options {'network': 'host'} -> {'image': 'moby/buildkit:v0.33.1'}",
        "buildkitd flags '' -> '--allow-insecure-entitlement=network.host'",
    ]


def test_state_of_reads_the_first_node_of_a_buildx_ls_entry():
    entry = {
        "Name": "b1",
        "Driver": "docker-container",
        "Nodes": [
            {
                "Name": "b10",
                "Status": "running",
                "Version": "v0.33.1",
                "Files": {"buildkitd.toml": base64.b64encode(CONFIG.encode()).decode()},
                "DriverOpts": {"network": "host"},
                "Flags": list(FLAGS),
                "GCPolicy": [{"all": True, "minFreeSpace": 1000}],
            }
        ],
    }
    assert state_of(parse_builder(entry)) == state(
        driver_opts={"network": "host"}, gc_policies=[{"all": True, "minFreeSpace": 1000}]
    )


def test_state_of_an_entry_without_nodes_is_empty_but_named():
    assert state_of(parse_builder({"Name": "b2", "Driver": "docker"})) == BuilderState(
        name="b2", driver="docker", status="", version="", config_text="", driver_opts={}, flags=(),
        gc_policies=[],
    )  # fmt: skip


def test_gc_policy_lines_number_the_policies_in_words():
    policies = [
        {"filter": ["type==exec.cachemount"], "keepDuration": 3600 * 10**9, "maxUsedSpace": 8 * 2**30},
        {"all": True, "minFreeSpace": 10 * 10**9},
    ]
    assert gc_policy_lines(state(gc_policies=policies)) == [
        "1. cache mounts (except internal, frontend and shared records): kept up to 8GiB,"
        " unused > 1 hour removed",
        "2. all records: pruned while less than 10GB of the disk is free",
    ]


def test_a_builder_without_gc_policies_says_gc_is_off():
    assert gc_policy_lines(state()) == ["no GC policies (garbage collection off)"]


def test_desired_spec_from_the_project_config(make_settings):
    c = make_settings(supply={"mode": "registry"})
    wanted = desired_spec(c, "b1", None, (), None)
    assert wanted.name == "b1"
    assert wanted.config_text == buildkitd_config.render(render_config(c))
    assert wanted.driver_opts == {}
    assert wanted.flags == FLAGS


def test_desired_spec_options_become_driver_options_and_mirrors(make_settings):
    c = make_settings(supply={"mode": "registry"})
    wanted = desired_spec(c, "b1", "moby/buildkit:v0.33.1", ("mirror.gcr.io",), "host")
    assert wanted.driver_opts == {"image": "moby/buildkit:v0.33.1", "network": "host"}
    assert tomllib.loads(wanted.config_text)["registry"]["docker.io"]["mirrors"] == ["mirror.gcr.io"]


def test_desired_spec_falls_back_to_the_configured_image_and_network(make_settings):
    c = make_settings(
        supply={"mode": "registry"}, builder={"image": "moby/buildkit:v0.20.0", "network": "host"}
    )
    assert desired_spec(c, "b1", None, (), None).driver_opts == {
        "image": "moby/buildkit:v0.20.0", "network": "host",
    }  # fmt: skip


def test_registry_free_mode_uses_the_local_buildkit_image_and_registry(make_settings):
    c = make_settings(supply={"mode": "registry-free"})
    wanted = desired_spec(c, "b1", None, ("mirror.gcr.io",), None)
    assert wanted.driver_opts == {"image": "bakehouse/buildkit:v0.33.1", "network": "host"}
    registries = tomllib.loads(wanted.config_text)["registry"]
    assert registries["docker.io"]["mirrors"] == ["mirror.gcr.io", "127.0.0.1:5000"]
    assert registries["127.0.0.1:5000"] == {"http": True}


def test_every_configured_entitlement_is_a_buildkitd_flag(make_settings):
    c = make_settings(
        supply={"mode": "registry"}, builder={"entitlements": ["network.host", "security.insecure"]}
    )
    assert desired_spec(c, "b1", None, (), None).flags == (
        "--allow-insecure-entitlement=network.host",
        "--allow-insecure-entitlement=security.insecure",
    )


@pytest.mark.parametrize(
    ("sections", "options", "message"),
    [
        ({}, {"network": "bridge"}, "--network 'bridge': only 'host' is supported (or leave it unset)"),
        ({"builder": {"network": "none"}}, {},
         "builder.network 'none': only 'host' is supported (or leave it empty)"),
        ({}, {"image": "Moby/BuildKit"}, "--image 'Moby/BuildKit': not an image reference"),
        ({"builder": {"image": "UPPER"}}, {}, "builder.image 'UPPER': not an image reference"),
        ({}, {"mirrors": ("http://mirror",)}, "--mirror 'http://mirror': expected host[:port][/path]"),
        (
            {"builder": {"entitlements": ["network.host", "fs.write"]}},
            {},
            "builder.entitlements: 'fs.write' is not one of network.host, security.insecure, device",
        ),
    ],
)  # fmt: skip
def test_desired_spec_refuses_bad_options_and_config_under_their_names(
    make_settings, sections, options, message
):
    c = make_settings(supply={"mode": "registry"}, **sections)
    arguments = {"image": None, "mirrors": (), "network": None, **options}
    with pytest.raises(BakehouseError) as caught:
        desired_spec(c, "b1", arguments["image"], arguments["mirrors"], arguments["network"])
    assert caught.value.code == BAD_INPUT
    assert str(caught.value).startswith(message)


def test_render_config_refuses_a_missing_config_file(make_settings):
    with pytest.raises(BakehouseError) as caught:
        render_config(make_settings(builder={"config_file": "no-such.toml"}))
    assert caught.value.code == BAD_INPUT
    assert str(caught.value).endswith("no-such.toml: no such file (builder.config_file)")


def test_default_is_the_engines_builder_and_other_names_are_checked(make_settings):
    c = make_settings()
    assert resolve_builder_name(c, "default") == "default"
    with pytest.raises(BakehouseError) as caught:
        resolve_builder_name(c, "Bad Name")
    assert caught.value.code == BAD_INPUT


def test_builder_recorded_looks_for_buildx_instance_file(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.delenv("BUILDX_CONFIG", raising=False)
    assert not builder_recorded("b1")
    (tmp_path / "buildx" / "instances").mkdir(parents=True)
    (tmp_path / "buildx" / "instances" / "b1").write_text("{}")
    assert builder_recorded("b1")
    assert not builder_recorded("b2")


def test_builder_recorded_follows_buildx_config(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    monkeypatch.setenv("BUILDX_CONFIG", str(tmp_path / "state"))
    (tmp_path / "docker" / "buildx" / "instances").mkdir(parents=True)
    (tmp_path / "docker" / "buildx" / "instances" / "b1").write_text("{}")
    assert not builder_recorded("b1")  # buildx doesn't look there while BUILDX_CONFIG is set
    (tmp_path / "state" / "instances").mkdir(parents=True)
    (tmp_path / "state" / "instances" / "b1").write_text("{}")
    assert builder_recorded("b1")


def test_rendered_configs_live_under_the_cache_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert rendered_configs_dir() == tmp_path / "bakehouse" / "builders"
    assert config_path("b1") == tmp_path / "bakehouse" / "builders" / "b1.buildkitd.toml"
    assert (tmp_path / "bakehouse" / "builders").is_dir()


def test_the_engines_own_builder_is_never_reported_stopped():
    assert builder_stopped("default") is None


def test_ensure_builder_never_touches_the_engines_own_builder(make_settings):
    with pytest.raises(BakehouseError) as caught:
        ensure_builder(make_settings(), "default")
    assert caught.value.code == BAD_INPUT
    assert str(caught.value) == "'default' is the engine's own builder; bakehouse doesn't create or change it"


def test_ensure_builder_refuses_a_bad_spec_before_asking_for_the_engine(make_settings):
    # No engine answers in unit tests: the refusal must come first.
    with pytest.raises(BakehouseError) as caught:
        ensure_builder(make_settings(supply={"mode": "registry"}), "b1", network="bridge")
    assert caught.value.code == BAD_INPUT
    assert str(caught.value).startswith("--network 'bridge'")


CA = "-----BEGIN CERTIFICATE-----\nMIIB-one\n-----END CERTIFICATE-----\n"
CA_CONFIG = '[registry."127.0.0.1:5443"]\n  http = false\n  ca = ["/home/u/ca.pem"]\n'
# What buildx stores for it: the file copied in, the path rewritten.
STORED_CA_CONFIG = (
    '[registry."127.0.0.1:5443"]\nca = ["/etc/buildkit/certs/127.0.0.1_5443/ca.pem"]\nhttp = false\n'
)


def test_a_registry_ca_is_compared_by_the_files_content_not_its_path():
    wanted = spec(config_text=CA_CONFIG, ca_files={"/home/u/ca.pem": CA})
    copied = {"certs/127.0.0.1_5443/ca.pem": CA}
    assert drift(wanted, state(config_text=STORED_CA_CONFIG, files=copied)) == []
    changed = {"certs/127.0.0.1_5443/ca.pem": CA.replace("one", "two")}
    assert drift(wanted, state(config_text=STORED_CA_CONFIG, files=changed)) == ["buildkitd.toml"]
    assert drift(wanted, state(config_text=STORED_CA_CONFIG)) == ["buildkitd.toml"]
    # A builder made before the CA was configured.
    assert drift(wanted, state()) == ["buildkitd.toml"]


def test_state_of_keeps_the_copied_files_beside_the_config():
    entry = {
        "Name": "b1", "Driver": "docker-container",
        "Nodes": [{"Files": {
            "buildkitd.toml": base64.b64encode(STORED_CA_CONFIG.encode()).decode(),
            "certs/127.0.0.1_5443/ca.pem": base64.b64encode(CA.encode()).decode(),
        }}],
    }  # fmt: skip
    builder = state_of(parse_builder(entry))
    assert builder.config_text == STORED_CA_CONFIG
    assert builder.files == {"certs/127.0.0.1_5443/ca.pem": CA}


def test_desired_spec_renders_the_registry_ca_and_reads_it(make_settings, tmp_path):
    (tmp_path / "ca.pem").write_text(CA)
    c = make_settings(
        supply={"mode": "registry"}, builder={"registry_ca": {"127.0.0.1:5443": str(tmp_path / "ca.pem")}}
    )
    wanted = desired_spec(c, "b1", None, (), None)
    assert tomllib.loads(wanted.config_text)["registry"]["127.0.0.1:5443"] == {
        "http": False, "ca": [str(tmp_path / "ca.pem")],
    }  # fmt: skip
    assert wanted.ca_files == {str(tmp_path / "ca.pem"): CA}


def test_ensure_builder_refuses_a_bad_registry_ca_before_asking_for_the_engine(make_settings):
    c = make_settings(
        supply={"mode": "registry"}, builder={"registry_ca": {"127.0.0.1:5443": "no/such/ca.pem"}}
    )
    with pytest.raises(BakehouseError) as caught:
        ensure_builder(c, "b1")
    assert caught.value.code == BAD_INPUT
    assert str(caught.value).startswith("builder.registry_ca 127.0.0.1:5443: ")
    assert str(caught.value).endswith("no/such/ca.pem: no such file")
