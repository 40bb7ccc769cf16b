"""Cache export/import settings and the bake arguments they become; what a local export's index holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasks.cache.export import CacheSettings, cache_plan, local_tags, matrix_siblings
from tasks.shared.errors import BAD_INPUT, BakehouseError

ROOT = Path("/repo")
TARGETS = ["system--debian--trixie-slim", "tests-smoke--debian--trixie-slim--default"]


def test_settings_come_from_config_and_bad_values_are_bad_input():
    settings = CacheSettings.from_config({"backend": "local", "dir": ".cache/bake"})
    assert settings.local_dir(ROOT) == ROOT / ".cache/bake"
    assert CacheSettings.from_config({}).backend == ""
    for bad in ({"backend": "s3"}, {"mode": "all"}, {"backend": "registry", "ref": "host:5000/cache:tag"}):
        with pytest.raises(BakehouseError) as err:
            CacheSettings.from_config(bad)
        assert err.value.code == BAD_INPUT


def test_local_export_to_one_layout_per_target_and_import_of_exported_ones():
    settings = CacheSettings(backend="local", directory="/cache")
    plan = cache_plan(settings, TARGETS, ROOT, "docker-container", exported={TARGETS[0]})
    assert plan.layouts == [Path("/cache") / target for target in TARGETS]
    assert plan.allow_args == ["--allow=fs.write=/cache", "--allow=fs.read=/cache"]
    assert plan.set_args == [
        "--set=system--debian--trixie-slim.cache-to=type=local,dest=/cache/system--debian--trixie-slim,"
        "mode=max,compression=zstd,ignore-error=true",
        "--set=tests-smoke--debian--trixie-slim--default.cache-to=type=local,"
        "dest=/cache/tests-smoke--debian--trixie-slim--default,mode=max,compression=zstd,ignore-error=true",
        # Importing a layout without index.json would fail the build, so only exported ones are imported.
        "--set=system--debian--trixie-slim.cache-from=type=local,src=/cache/system--debian--trixie-slim",
    ]
    assert plan.notes == ["1 of 2 targets have no exported cache in /cache yet"]
    assert plan.args == plan.allow_args + plan.set_args


def test_registry_import_reads_the_same_layer_of_the_other_cells_after_its_own():
    settings = CacheSettings(backend="registry", ref="reg:5000/cache", export_cache=False)
    siblings = {"install--trixie--postgres": ["install--trixie--default", "install--trixie--sentry"]}
    plan = cache_plan(settings, ["install--trixie--postgres"], ROOT, "docker-container", siblings=siblings)
    assert plan.set_args == [
        "--set=install--trixie--postgres.cache-from=type=registry,ref=reg:5000/cache:install--trixie--postgres",
        "--set=install--trixie--postgres.cache-from+=type=registry,ref=reg:5000/cache:install--trixie--default",
        "--set=install--trixie--postgres.cache-from+=type=registry,ref=reg:5000/cache:install--trixie--sentry",
    ]


def test_siblings_are_the_targets_made_from_the_same_recipe():
    def target(dockerfile: str, context: str = "images") -> dict[str, str]:
        return {"context": context, "dockerfile": dockerfile}

    full = {
        "system--trixie": target("Dockerfile.system"),
        "install--trixie--default": target("Dockerfile.install"),
        "install--trixie--postgres": target("Dockerfile.install"),
        "install--trixie--sentry": target("Dockerfile.install"),
        "other--x": target("Dockerfile.install", context="elsewhere"),
    }
    siblings = matrix_siblings(["system--trixie", "install--trixie--postgres", "unknown"], full)
    assert siblings == {
        "system--trixie": [],
        "install--trixie--postgres": ["install--trixie--default", "install--trixie--sentry"],
    }


def test_import_only_needs_read_access():
    settings = CacheSettings(backend="local", directory="/cache", export_cache=False)
    plan = cache_plan(settings, TARGETS, ROOT, "docker-container", exported=TARGETS)
    assert plan.allow_args == ["--allow=fs.read=/cache"]
    assert plan.layouts == []
    assert all("cache-from" in arg for arg in plan.set_args)


def test_registry_backend_tags_each_target():
    settings = CacheSettings(backend="registry", ref="127.0.0.1:5000/bakehouse/cache", mode="min")
    plan = cache_plan(settings, TARGETS[:1], ROOT, "remote")
    assert plan.allow_args == []
    assert plan.set_args == [
        "--set=system--debian--trixie-slim.cache-to=type=registry,"
        # No ignore-error: a registry refusing the push must fail the target, not pass unseen.
        "ref=127.0.0.1:5000/bakehouse/cache:system--debian--trixie-slim,mode=min,compression=zstd,"
        "oci-mediatypes=true,image-manifest=true",
        "--set=system--debian--trixie-slim.cache-from=type=registry,"
        "ref=127.0.0.1:5000/bakehouse/cache:system--debian--trixie-slim",
    ]


def test_the_docker_driver_gets_no_cache_arguments_but_a_note():
    plan = cache_plan(CacheSettings(backend="local"), TARGETS, ROOT, "docker")
    assert plan.args == []
    assert "docker driver supports only inline cache" in plan.notes[0]


def test_no_backend_means_no_cache_arguments():
    assert cache_plan(CacheSettings(), TARGETS, ROOT, "docker-container").args == []


def test_local_tags_are_the_ref_names_of_an_index():
    index = json.dumps(
        {
            "schemaVersion": 2,
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": "sha256:" + "0" * 64,
                    "annotations": {"org.opencontainers.image.ref.name": "system--debian--trixie-slim"},
                },
                {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "1" * 64},
            ],
        }
    )
    assert local_tags(index) == {"system--debian--trixie-slim"}
    assert local_tags("") == set()
