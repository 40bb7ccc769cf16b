"""Bad input, over every task: one `bakehouse:` line on stderr, exit 2, and nothing changed.

Each case runs `inv` as a user would and compares a fingerprint of everything a task could change
(work tree, builders and their configs, images, containers, networks, volumes) before and after.
None of them builds anything: every value is refused before the first side effect.
"""

from __future__ import annotations

import json
import shlex
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from enginekit import REPO_ROOT, docker, inv, state_fingerprint

pytestmark = pytest.mark.engine

# A builder name no one has; a case that wrongly created it is cleaned up by the `places` fixture.
FRESH = f"bh-bad-input-{uuid.uuid4().hex[:8]}"
NOSUCH = "bh-no-such-builder"


@dataclass(frozen=True)
class Case:
    args: str  # as typed in a shell; {placeholders} are filled from the `places` fixture
    message: str  # parts of the one line, in order, joined by " … "; {placeholders} as in args
    env: dict[str, str] = field(default_factory=dict)


CASES: dict[str, Case] = {
    # --- build
    "build-progress": Case("build --progress fancy", "--progress 'fancy': choose one of"),
    "build-matrix-value": Case("build --matrix sys_version=sid", "sys_versions: unsupported"),
    "build-matrix-arch": Case("build --matrix sys_arch=s390x", "sys_archs: unsupported"),
    "complement-foreign-arch": Case(
        "complement --matrix sys_arch=arm64",
        "debian--trixie-slim--default--arm64: Complement runs on this machine's own architecture",
    ),
    "build-matrix-dimension": Case("build --matrix colour=blue", "unknown matrix dimension 'colour'"),
    "build-matrix-json": Case("build --matrix 'feat_sets=[default'", "feat_sets: not a JSON array"),
    "build-matrix-env": Case(
        "build",
        "both sys_version and sys_versions are set",
        {"sys_version": "trixie-slim", "sys_versions": '["trixie-slim"]'},
    ),
    "build-set": Case("build --set nonsense", "--set 'nonsense': expected pattern.key=value"),
    "build-target": Case("build --target no-such-target", "bake rejected the definition"),
    "build-builder-name": Case("build --builder 'bad name!'", "invalid builder name 'bad name!'"),
    "build-builder-unknown": Case(f"build --builder {NOSUCH}", f"no builder named {NOSUCH} (builders: "),
    "build-builders-unknown": Case(
        f"build --builders default,{NOSUCH}", f"--builders: no builder named {NOSUCH} (builders: "
    ),
    "build-builders-both": Case("build --builder default --builders default", "--builder and --builders"),
    "build-builders-local-cache": Case(
        "build --builders default,default2",
        "--builders default,default2 with cache.backend local: parallel cells would export",
        {"INVOKE_BAKEHOUSE_CACHE_BACKEND": "local"},
    ),
    "build-cache-backend": Case("build", "cache.backend 's3'", {"INVOKE_BAKEHOUSE_CACHE_BACKEND": "s3"}),
    # --- configuration: files (-f, the project's invoke.yaml) and INVOKE_BAKEHOUSE_* variables
    "config-broken-yaml": Case("-f '{broken}' build", "{broken}:4:4: not valid YAML"),
    "config-missing-file": Case("-f '{missing}' build", "{missing}: no such config file"),
    "config-runtime-env": Case(
        "builder.ls", "{missing}: no such config file", {"INVOKE_RUNTIME_CONFIG": "{missing}"}
    ),
    "config-wrong-type": Case(
        "-f '{wrong_type}' complement", "bakehouse.complement.shuffle: expected a string, got a boolean"
    ),
    "config-unknown-key": Case("-f '{unknown_key}' cache.du", "unknown setting bakehouse.complement.paralel"),
    "config-project-yaml": Case(
        "--search-root '{project}' build", "{project}/invoke.yaml:19:4: not valid YAML"
    ),
    "config-env-number": Case(
        "engine.up",
        "INVOKE_BAKEHOUSE_ENGINE_START_TIMEOUT='soon'",
        {"INVOKE_BAKEHOUSE_ENGINE_START_TIMEOUT": "soon"},
    ),
    "config-env-list": Case(
        "lint", "bakehouse.bake.files is a list", {"INVOKE_BAKEHOUSE_BAKE_FILES": "images/bake.hcl"}
    ),
    "config-env-unknown": Case(
        "builder.status",
        "INVOKE_BAKEHOUSE_BUILDER_NAM: no such setting",
        {"INVOKE_BAKEHOUSE_BUILDER_NAM": "x"},
    ),
    "config-env-false": Case(
        "complement", "invoke would read this as true", {"INVOKE_BAKEHOUSE_COMPLEMENT_DIRTY": "false"}
    ),
    # --- engine.*
    "engine-up-supply-mode": Case(
        "engine.up", "supply.mode: 'sometimes'", {"INVOKE_BAKEHOUSE_SUPPLY_MODE": "sometimes"}
    ),
    "engine-up-registry": Case(
        "engine.up", "supply.registry 'not a host'", {"INVOKE_BAKEHOUSE_SUPPLY_REGISTRY": "not a host"}
    ),
    "engine-status-config": Case("-f '{broken}' engine.status", "not valid YAML"),
    "engine-down-config": Case("-f '{broken}' engine.down", "not valid YAML"),
    # --- builder.*
    "builder-create-mirror": Case(
        f"builder.create --name '{FRESH}' --mirror 'not a host'",
        "--mirror 'not a host': expected host[:port]",
    ),
    "builder-create-mirror-port": Case(
        f"builder.create --name '{FRESH}' --mirror 127.0.0.1:99999", "--mirror '127.0.0.1:99999'"
    ),
    "builder-create-network": Case(
        f"builder.create --name '{FRESH}' --network bridge", "--network 'bridge': only 'host'"
    ),
    "builder-create-image": Case(
        f"builder.create --name '{FRESH}' --image Not//An:Image",
        "--image 'Not//An:Image': not an image reference",
    ),
    "builder-create-name": Case("builder.create --name 'bad name!'", "invalid builder name"),
    "builder-create-default": Case("builder.create --name default", "'default' is the engine's own"),
    "builder-create-gc-duration": Case(
        f"builder.create --name '{FRESH}'",
        "use 168h",
        {"INVOKE_BAKEHOUSE_BUILDER_GC_OTHER_KEEP_DURATION": "7d"},
    ),
    "builder-create-gc-size": Case(
        f"builder.create --name '{FRESH}'",
        "is not a size",
        {"INVOKE_BAKEHOUSE_BUILDER_GC_MAX_USED_SPACE": "lots"},
    ),
    "builder-rm-unknown": Case(f"builder.rm --name {NOSUCH}", f"no builder named {NOSUCH} (builders: "),
    "builder-rm-default": Case("builder.rm --name default", "bakehouse doesn't remove it"),
    "builder-status-unknown": Case(f"builder.status --name {NOSUCH}", f"no builder named {NOSUCH}"),
    "builder-ls-config": Case("-f '{wrong_type}' builder.ls", "expected a string"),
    "builder-create-endpoint": Case(
        f"builder.create --name '{FRESH}' --endpoint http://127.0.0.1:1234", "expected tcp://HOST:PORT"
    ),
    "builder-create-endpoint-files": Case(
        f"builder.create --name '{FRESH}' --endpoint tcp://127.0.0.1:1234 --certs-dir '{{missing}}'",
        "TLS file missing: {missing}/127.0.0.1/client/ca.pem",
    ),
    "builder-certs-host": Case(
        "builder.certs --host 'not a host' --dir '{missing}'", "--host 'not a host': expected an IP address"
    ),
    "builder-certs-port": Case("builder.certs --host 127.0.0.1 --dir '{missing}' --port 0", "--port 0"),
    "builder-daemon-config": Case("-f '{wrong_type}' builder.daemon-config", "expected a string"),
    # --- ci.*
    "ci-matrix-format": Case(
        "ci.matrix --format yaml", "--format yaml: expected one of json, github, gitlab"
    ),
    "ci-matrix-value": Case("ci.matrix --matrix sys_version=sid", "sys_versions: unsupported"),
    "build-cell-unknown": Case("build --cell no-such-cell", "--cell 'no-such-cell': no such cell"),
    # --- cache.*
    "cache-du-unknown": Case(
        f"cache.du --builder {NOSUCH}", f"no builder named {NOSUCH} (builders: … default"
    ),
    "cache-status-unknown": Case(f"cache.status --builder {NOSUCH}", f"no builder named {NOSUCH}"),
    "cache-prune-unknown": Case(f"cache.prune --builder {NOSUCH}", f"no builder named {NOSUCH}"),
    "cache-prune-until": Case(f"cache.prune --builder {NOSUCH} --until 7d", "--until 7d: Go durations"),
    "cache-prune-filter-form": Case(
        f"cache.prune --builder {NOSUCH} --filter typo", "--filter 'typo': expected KEY=VALUE"
    ),
    "cache-prune-filter-key": Case(
        f"cache.prune --builder {NOSUCH} --filter colour=blue", "unknown key 'colour'"
    ),
    "cache-prune-size": Case(f"cache.prune --builder {NOSUCH} --max-used-space lots", "--max-used-space"),
    "cache-prune-dry-run": Case(f"cache.prune --builder {NOSUCH} --dry-run", "--dry-run only works with"),
    "cache-prune-orphans-mix": Case("cache.prune --orphans --all", "--orphans removes state volumes only"),
    "cache-prune-orphans-name": Case("cache.prune --orphans --builder 'bad name!'", "invalid builder name"),
    "cache-prune-exported-mix": Case("cache.prune --exported --all", "--exported cleans"),
    # --- complement
    "complement-packages-parent": Case("complement --packages ../../etc", "can't contain '..'"),
    "complement-packages-absolute": Case("complement --packages /tests", "not an absolute path"),
    "complement-packages-unknown": Case(
        "complement --packages ./tests/nosuch", "the tester has no such package"
    ),
    "complement-timeout": Case("complement --timeout 7d", "--timeout 7d: Go durations"),
    "complement-parallel": Case("complement --parallel 0", "--parallel '0': expected a positive"),
    "complement-count": Case("complement --count many", "--count 'many': expected a positive"),
    "complement-shuffle": Case("complement --shuffle sometimes", "--shuffle 'sometimes'"),
    "complement-run-regex": Case("complement --run 'Test(Login'", "invalid regular expression"),
    "complement-run-not-re2": Case(
        "complement --run 'Test(?!Login)'", "(RE2) have no negative lookahead '(?!'"
    ),
    "complement-skip-regex": Case("complement --skip '[z-a]'", "--skip '[z-a]': invalid regular"),
    "complement-testee-env": Case("complement --testee-env NOVALUE", "--testee-env 'NOVALUE'"),
    "complement-run-id": Case("complement --run-id 'Bad Id!'", "--run-id 'Bad Id!'"),
    "complement-accept": Case("complement --accept-regressions", "only makes sense with --update-baseline"),
    "complement-matrix": Case("complement --matrix feat_set=gpu", "feat_sets: unsupported"),
    "complement-builder": Case(f"complement --builder {NOSUCH}", f"no builder named {NOSUCH}"),
    "complement-progress": Case("complement --progress fancy", "--progress 'fancy'"),
    "complement-import-source": Case("complement.import-baseline '{missing}'", "{missing}: no such file"),
    "complement-shard-range": Case("complement --shard 5/4", "--shard '5/4': K must be between 1 and N"),
    "complement-shard-form": Case("complement --shard half", "--shard 'half': expected K/N"),
    "complement-shard-baseline": Case("complement --shard 1/2 --update-baseline", "a shard can't update"),
    "complement-all-run": Case("complement --all --run TestLogin", "--all selects every … leave out --run"),
    "complement-merge-dir": Case("complement.merge '{missing}'", "{missing}: no such directory"),
    "complement-merge-accept": Case(
        "complement.merge '{project}' --accept-regressions", "only makes sense with --update-baseline"
    ),
    # --- publish (a registry address nothing serves: none of these may get as far as asking it)
    "publish-registry-empty": Case("publish", "publish.registry is empty"),
    "publish-registry-host": Case(
        "publish", "publish.registry 'not a host'", {"INVOKE_BAKEHOUSE_PUBLISH_REGISTRY": "not a host"}
    ),
    "publish-credentials-half": Case(
        "publish",
        "BAKEHOUSE_REGISTRY_USER is set without BAKEHOUSE_REGISTRY_PASSWORD",
        {"INVOKE_BAKEHOUSE_PUBLISH_REGISTRY": "127.0.0.1:9", "BAKEHOUSE_REGISTRY_USER": "someone"},
    ),
    "publish-target": Case(
        "publish --target no-such-target",
        "bake rejected the definition",
        {"INVOKE_BAKEHOUSE_PUBLISH_REGISTRY": "127.0.0.1:9"},
    ),
    "publish-matrix": Case(
        "publish --matrix sys_version=sid",
        "sys_versions: unsupported",
        {"INVOKE_BAKEHOUSE_PUBLISH_REGISTRY": "127.0.0.1:9"},
    ),
    "publish-builder": Case(
        f"publish --builder {NOSUCH}",
        f"no builder named {NOSUCH}",
        {"INVOKE_BAKEHOUSE_PUBLISH_REGISTRY": "127.0.0.1:9"},
    ),
    "publish-merge-no-records": Case(
        "publish.merge '{missing}'",
        "{missing}: no such directory (the cells' digest records)",
        {"INVOKE_BAKEHOUSE_PUBLISH_REGISTRY": "127.0.0.1:9"},
    ),
    # --- verify and export (refused before a builder is made or a directory written)
    "verify-target": Case("verify --target no-such-target", "bake rejected the definition"),
    "verify-matrix": Case("verify --matrix sys_version=sid", "sys_versions: unsupported"),
    "verify-set": Case("verify --set nonsense", "--set 'nonsense': expected pattern.key=value"),
    "verify-progress": Case("verify --progress fancy", "--progress 'fancy': choose one of"),
    "export-no-dir": Case("export", "--oci DIR is required"),
    "export-dir-is-a-file": Case("export --oci '{broken}'", "--oci {broken}: exists and is not a directory"),
    "export-target": Case("export --oci '{missing}' --target no-such-target", "bake rejected the definition"),
    "export-builder-default": Case(
        "export --oci '{missing}' --builder default", "the engine's own builder can't write OCI layouts"
    ),
    "export-builder-unknown": Case(
        f"export --oci '{{missing}}' --builder {NOSUCH}", f"no builder named {NOSUCH}"
    ),
    # --- lint
    # --- init (refused before bake is asked anything and before bakehouse.yaml is written)
    "init-bake-file": Case(
        "init --bake-file docker/none.hcl", "--bake-file docker/none.hcl: no such file in"
    ),
    "lint-path": Case("lint --path /nonexistent/tree", "--path /nonexistent/tree: not a directory"),
    "lint-format": Case("lint --format xml", "--format xml: expected one of"),
    "lint-builder": Case(f"lint --builder {NOSUCH} --fix", f"no builder named {NOSUCH}"),
    "lint-pin-path": Case("lint.pin --path /nonexistent/tree", "not a directory"),
}


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Files outside the work tree the cases point at (the fingerprint would see them inside)."""
    root = tmp_path_factory.mktemp("bad-input")
    broken = root / "broken.yaml"
    broken.write_text("bakehouse:\n  bake:\n    progress: plain\n   files: [x]\n")  # line 4: indent
    wrong_type = root / "wrong-type.yaml"
    wrong_type.write_text("bakehouse:\n  complement:\n    shuffle: off\n")
    unknown_key = root / "unknown-key.yaml"
    unknown_key.write_text("bakehouse:\n  complement:\n    paralel: 4\n")
    # A project whose own invoke.yaml has a typo: this repository's tasks, beside a broken copy.
    project = root / "project"
    project.mkdir()
    (project / "tasks.py").symlink_to(REPO_ROOT / "tasks.py")
    (project / "tasks").symlink_to(REPO_ROOT / "tasks")
    lines = (REPO_ROOT / "invoke.yaml").read_text().splitlines()
    lines.insert(18, "   oops: [")
    (project / "invoke.yaml").write_text("\n".join(lines) + "\n")
    yield {
        "broken": str(broken),
        "missing": str(root / "missing.yaml"),
        "wrong_type": str(wrong_type),
        "unknown_key": str(unknown_key),
        "project": str(project),
    }
    docker("buildx", "rm", FRESH, check=False)


def task_of(args: str) -> str:
    tokens = iter(shlex.split(args))
    for token in tokens:
        if token in ("-f", "--search-root"):
            next(tokens)  # a core option's value
        elif not token.startswith("-"):
            return token
    raise AssertionError(f"no task in {args}")


def test_the_table_covers_every_task() -> None:
    tree = json.loads(inv("--list", "--list-format", "json").stdout)
    tasks = {task["name"] for task in tree["tasks"]}
    aliases = {}
    for collection in tree["collections"]:
        tasks |= {f"{collection['name']}.{task['name']}" for task in collection["tasks"]}
        if collection["default"]:
            aliases[collection["name"]] = f"{collection['name']}.{collection['default']}"
    covered = {aliases.get(task_of(case.args), task_of(case.args)) for case in CASES.values()}
    assert tasks <= covered, f"tasks without a bad-input case: {sorted(tasks - covered)}"
    assert len(CASES) >= 30


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_exit_2_and_changes_nothing(name: str, places: dict[str, str]) -> None:
    case = CASES[name]
    args = shlex.split(case.args.format(**places))
    env = {key: value.format(**places) for key, value in case.env.items()}
    before = state_fingerprint()
    result = inv(*args, env=env, check=False)
    after = state_fingerprint()
    lines = result.stderr.splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("bakehouse: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    position = 0
    for part in case.message.format(**places).split(" … "):
        position = lines[0].find(part, position)
        assert position >= 0, f"{part!r} not in {lines[0]!r}"
    assert after == before
