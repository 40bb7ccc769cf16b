"""The cache service's parts that need no engine: settings, local layouts, exported-cache garbage,
and the checks `inv cache.prune` makes of its options before it touches a builder."""

from __future__ import annotations

import hashlib
import json

import pytest
from invoke.exceptions import Exit

from tasks.cache.bake_cache import bake_cache_args, cache_settings, collect_exported_garbage, prepare_layout
from tasks.cache.export import CacheSettings
from tasks.cache.tasks import prune
from tasks.shared.errors import BAD_INPUT, BakehouseError

MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def test_cache_settings_come_from_the_cache_section(make_settings, tmp_path):
    c = make_settings(cache={"backend": "local", "dir": str(tmp_path), "mode": "min"})
    assert cache_settings(c) == CacheSettings(backend="local", directory=str(tmp_path), mode="min")
    assert cache_settings(make_settings()) == CacheSettings()


def test_bad_cache_settings_are_bad_input(make_settings):
    with pytest.raises(BakehouseError) as caught:
        cache_settings(make_settings(cache={"compression": "lz4"}))
    assert caught.value.code == BAD_INPUT
    assert str(caught.value) == "cache.compression 'lz4': expected one of gzip, zstd, estargz, uncompressed"


def test_no_backend_adds_no_bake_arguments(make_settings):
    # Without a backend the builder isn't even looked up.
    assert bake_cache_args(make_settings(), ["app", "base"], "some-builder") == []


def test_a_layout_links_its_blobs_to_the_shared_store(tmp_path):
    layout = tmp_path / "cache" / "app"
    prepare_layout(layout)
    prepare_layout(layout)  # idempotent
    assert (tmp_path / "cache" / "blobs" / "sha256").is_dir()
    assert (layout / "blobs").is_symlink()
    assert str((layout / "blobs").readlink()) == "../blobs"
    assert (layout / "blobs").resolve() == (tmp_path / "cache" / "blobs").resolve()


def test_a_layout_whose_blobs_is_a_directory_is_refused_with_the_fix(tmp_path):
    layout = tmp_path / "cache" / "app"
    (layout / "blobs").mkdir(parents=True)
    with pytest.raises(BakehouseError) as caught:
        prepare_layout(layout)
    assert str(caught.value) == (
        f"{layout / 'blobs'}: expected a link to {tmp_path / 'cache' / 'blobs'}; "
        f"remove the directory {tmp_path / 'cache'}"
    )


def write_blob(store, content):
    digest = hashlib.sha256(content).hexdigest()
    (store / digest).write_bytes(content)
    return {"digest": f"sha256:{digest}", "size": len(content)}


def test_exported_garbage_is_the_blobs_no_targets_index_reaches(make_settings, tmp_path):
    store = tmp_path / "blobs" / "sha256"
    store.mkdir(parents=True)
    layer = write_blob(store, b"layer")
    stale = write_blob(store, b"a layer of an export no index points to any more")
    manifest = write_blob(store, json.dumps({"layers": [layer]}).encode())
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "index.json").write_text(
        json.dumps({"manifests": [{"mediaType": MANIFEST, **manifest}]})
    )
    c = make_settings(cache={"backend": "local", "dir": str(tmp_path)})
    assert collect_exported_garbage(c) == (1, stale["size"])
    assert sorted(path.name for path in store.iterdir()) == sorted(
        descriptor["digest"].removeprefix("sha256:") for descriptor in (layer, manifest)
    )
    assert collect_exported_garbage(c) == (0, 0)


def test_exported_garbage_is_only_collected_for_the_local_backend(make_settings, tmp_path):
    store = tmp_path / "blobs" / "sha256"
    store.mkdir(parents=True)
    write_blob(store, b"unreferenced")
    assert collect_exported_garbage(make_settings(cache={"backend": "", "dir": str(tmp_path)})) == (0, 0)
    assert len(list(store.iterdir())) == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"orphans": True, "all": True}, "--orphans removes state volumes only; run the other prune options"),
        ({"orphans": True, "exported": True}, "--orphans removes state volumes only"),
        ({"dry_run": True}, "--dry-run only works with --orphans"),
        ({"exported": True, "builder": "b1"}, "--exported cleans the cache export directory only"),
        ({"exported": True, "until": "24h"}, "--exported cleans the cache export directory only"),
        ({"orphans": True, "builder": "Bad Name"}, "invalid builder name 'Bad Name'"),
    ],
)
def test_prune_refuses_bad_options_and_combinations_before_touching_the_engine(
    make_context, options, message
):
    with pytest.raises(Exit) as caught:
        prune(make_context(), **options)
    assert caught.value.code == BAD_INPUT
    assert str(caught.value.message).startswith(f"bakehouse: {message}")


def test_prune_exported_without_a_local_backend_removes_nothing(make_context, capsys):
    prune(make_context(), exported=True)
    assert capsys.readouterr().out == "exported cache: 0 unreferenced blob(s) removed, 0B freed\n"
