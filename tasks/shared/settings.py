"""Typed settings: one frozen dataclass per section of ``bakehouse:``, built once per command.

``settings(c).builder.gc.max_used_space`` instead of ``c.config.bakehouse.builder.gc...``: the
whole section is checked once (unknown keys, wrong types: one line, exit 2, in the words the config
file check uses) and every value has the type its field says.

Why all sections live here rather than one module per domain: they are one document, checked as a
whole before invoke reads it (config_sources) and again when a task first asks for it; sections are
read across domains (the builder reads supply, complement reads bake.variables, lint reads bake);
and shared is the one layer every domain may import, so no domain imports another for its config.
The dataclasses hold shape, types, defaults and the values a setting can take; what a value means
(a size, a mirror, a supply mode) is still checked by the domain that uses it, when it uses it.

The field defaults are the code's defaults, registered with invoke by the namespace (so a tree
without our invoke.yaml still works); invoke.yaml holds the same values, documented.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar, get_args, get_origin, get_type_hints

from . import config_files
from .errors import bad_input

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# A setting whose default is null: any single value, read by the domain (a size, a duration...).
Scalar = str | int | float | bool | None
# A matrix dimension: its values, or (as bake reads it) the JSON array text of them.
Vector = tuple[str, ...] | str

_T = TypeVar("_T")


def _frozen(mapping: Mapping[str, _T]) -> Mapping[str, _T]:
    return MappingProxyType(dict(mapping))


def _key(name: str) -> dict[str, str]:
    """Field metadata: the setting's name in invoke.yaml, where it isn't the attribute's."""
    return {"key": name}


# --- the sections -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BakeSettings:
    """``bakehouse.bake``: the tree, its matrix and what bake may be allowed."""

    files: tuple[str, ...] = (
        "images/bake.hcl",
        "images/complement-tester.hcl",
        "images/complement-testee.hcl",
    )
    default_targets: tuple[str, ...] = ("default",)
    matrix: Mapping[str, Vector] = field(
        default_factory=lambda: _frozen(
            {
                "sys_names": ("debian",),
                "sys_versions": ("trixie-slim",),
                "feat_sets": ("default",),
                "sys_archs": ("amd64",),
            }
        )
    )
    allow: tuple[str, ...] = ("network.host",)
    progress: str = "auto"
    git_variables: bool = True
    variables: Mapping[str, str] = field(
        default_factory=lambda: _frozen(
            {
                "complement_version": "v0.0.0-20240925142218-911d7d39773a",
                "complement_sum": "h1:64Aetzo18EO9IguBa9RB3s0l5DDA7mjULlkzstFmBwM=",
                "complement_tags": "synapse_blacklist",
                "complement_packages": "./tests ./tests/csapi",
            }
        )
    )


@dataclass(frozen=True)
class GCPolicySettings:
    """``bakehouse.builder.gc.cache_mounts`` / ``.other``: one policy's overrides (None: the file's)."""

    keep_duration: Scalar = None
    max_used_space: Scalar = None


@dataclass(frozen=True)
class GCFloorSettings:
    """``bakehouse.builder.gc.floor``: the last policy's free-space floor (None: the file's)."""

    min_free_space: Scalar = None


@dataclass(frozen=True)
class GCSettings:
    """``bakehouse.builder.gc``: overrides of buildkitd.toml's GC (None keeps the file's value)."""

    enabled: Scalar = None
    reserved_space: Scalar = None
    max_used_space: Scalar = None
    min_free_space: Scalar = None
    cache_mounts: GCPolicySettings = field(default_factory=GCPolicySettings)
    other: GCPolicySettings = field(default_factory=GCPolicySettings)
    floor: GCFloorSettings = field(default_factory=GCFloorSettings)


@dataclass(frozen=True)
class BuilderSettings:
    """``bakehouse.builder``: the buildx builder and the overrides of its buildkitd.toml."""

    name: str = ""
    config_file: str = "buildkitd.toml"
    image: str = ""
    network: str = ""
    mirrors: tuple[str, ...] = ()
    insecure_registries: tuple[str, ...] = ()
    # host[:port] -> CA file (PEM) the builder trusts for that registry; free-form keys.
    registry_ca: Mapping[str, str] = field(default_factory=lambda: _frozen({}))
    entitlements: tuple[str, ...] = ("network.host",)
    # Remote daemons' TLS files, one folder per host ("": $XDG_CONFIG_HOME/bakehouse/certs).
    certs_dir: str = ""
    platforms_cache_max_age: Scalar = None
    gc: GCSettings = field(default_factory=GCSettings)


@dataclass(frozen=True)
class EngineSettings:
    """``bakehouse.engine``: the private engine, and what makes any engine usable."""

    root: str = "/var/lib/bakehouse"
    socket: str = "/var/run/docker.sock"
    dockerd_suite: str = "trixie"
    buildx_suite: str = "sid"
    min_api_version: str = "1.45"
    min_buildx_version: str = "0.17.0"
    start_timeout: int = 60


@dataclass(frozen=True)
class SupplySettings:
    """``bakehouse.supply``: where base images and BuildKit come from when nothing can be pulled."""

    mode: str = "auto"
    base_images: tuple[str, ...] = ("debian:trixie-slim", "debian:bookworm-slim")
    mirror_suite_url: str = "http://deb.debian.org/debian"
    host_ca_bundle: str = "/etc/ssl/certs/ca-certificates.crt"
    registry: str = "127.0.0.1:5000"
    probe_image: str = "moby/buildkit:buildx-stable-1"
    buildkit_target: str = "buildkit"
    buildkit_image: str = "bakehouse/buildkit:v0.33.1"
    # bakehouse's own target (tasks/engine/buildkit/buildkit.hcl) of the frontend served as
    # docker/dockerfile:<tag>.
    frontend_target: str = "dockerfile-frontend"


@dataclass(frozen=True)
class LintSettings:
    """``bakehouse.lint``: what `inv lint` skips and allows, and the tree's full matrix."""

    exclude: tuple[str, ...] = ("tests/fixtures",)
    pin_allowed: tuple[str, ...] = ("debian:*", "input")
    # Frontends a `# syntax=` line may name (repositories, globs allowed); each must carry a digest.
    syntax_allowed: tuple[str, ...] = ("docker/dockerfile",)
    # Empty: the bake.matrix vectors. Not the sample tree's full matrix (invoke.yaml has that): it
    # describes one tree's validation blocks, and a tree of its own would get our dimensions.
    full_matrix: Mapping[str, Vector] = field(default_factory=lambda: _frozen({}))
    check_builder: str = ""


# The values a cache setting can take.
CACHE_BACKENDS = ("", "local", "registry")
CACHE_MODES = ("min", "max")
CACHE_COMPRESSIONS = ("gzip", "zstd", "estargz", "uncompressed")


@dataclass(frozen=True)
class CacheSettings:
    """``bakehouse.cache``: exporting the build cache and importing it into other builders."""

    backend: str = ""
    directory: str = field(default=".cache/bake", metadata=_key("dir"))
    ref: str = ""
    mode: str = "max"
    compression: str = "zstd"
    import_cache: bool = field(default=True, metadata=_key("import"))
    export_cache: bool = field(default=True, metadata=_key("export"))
    # Trust scopes (tasks.cache.trust), instead of the one shared ``ref``: trusted runs import and
    # export ``trusted_ref``; others import their scope and ``trusted_ref``, export their scope.
    trusted_ref: str = ""
    scope_ref: str = ""
    trusted_repository: str = ""
    trusted_refs: tuple[str, ...] = ()
    trust_local: bool = False

    def __post_init__(self) -> None:
        # An empty value has always meant the default (INVOKE_BAKEHOUSE_CACHE_DIR= included).
        defaults = {item.name: item.default for item in dataclasses.fields(self)}
        for name in ("directory", "mode", "compression"):
            if not getattr(self, name):
                object.__setattr__(self, name, defaults[name])

    @classmethod
    def from_config(cls, cache_config: Mapping[str, Any]) -> CacheSettings:
        """Settings from a ``cache:`` mapping, types and values checked."""
        where = f"{config_files.SECTION}.cache"
        config_files.check_settings(DEFAULTS["cache"], cache_config, None, where)
        settings = _build(cls, cache_config, where)
        settings.validate()
        return settings

    def validate(self) -> None:
        """The values the bake runner can use (checked where the cache is used, as before)."""
        if self.backend not in CACHE_BACKENDS:
            raise bad_input(f"cache.backend {self.backend!r}: expected local, registry or empty (off)")
        if self.mode not in CACHE_MODES:
            raise bad_input(f"cache.mode {self.mode!r}: expected min or max")
        if self.compression not in CACHE_COMPRESSIONS:
            raise bad_input(
                f"cache.compression {self.compression!r}: expected one of {', '.join(CACHE_COMPRESSIONS)}"
            )
        if (
            self.backend == "registry"
            and not self.scoped
            and (not self.ref or ":" in self.ref.rsplit("/", 1)[-1])
        ):
            raise bad_input(
                f"cache.ref {self.ref!r}: expected a repository without tag, e.g. host:5000/team/cache"
            )

    @property
    def scoped(self) -> bool:
        """Whether trust scopes are configured (checked by tasks.cache.trust where they are used)."""
        return bool(self.trusted_ref or self.scope_ref)

    def local_dir(self, repo_root: Path) -> Path:
        path = Path(self.directory)
        return path if path.is_absolute() else repo_root / path


@dataclass(frozen=True)
class ComplementSettings:
    """``bakehouse.complement``: the suite's targets, default selection, run limits and files."""

    targets: tuple[str, ...] = ("complement",)
    tester_target: str = "complement-tester"
    testee_target: str = "complement-testee"
    packages: tuple[str, ...] = ("./tests/csapi", "./tests")
    namespaces: Mapping[str, str] = field(
        default_factory=lambda: _frozen({"tests": "fed", "tests/csapi": "csapi"})
    )
    module: str = "github.com/matrix-org/complement"
    run: tuple[str, ...] = (
        "TestLogin",
        "TestLogout",
        "TestRegistration",
        "TestCanRegisterAdmin",
        "TestChangePassword",
        "TestDeactivateAccount",
        "TestVersionStructure",
        "TestServerCapabilities",
        "TestRequestEncodingFails",
        "TestJson",
        "TestFilter",
        "TestProfileDisplayName",
        "TestProfileAvatarURL",
        "TestDisplayNameUpdate",
        "TestAvatarUrlUpdate",
        "TestDeviceManagement",
        "TestAddAccountData",
        "TestRoomState",
        "TestRoomAlias",
        "TestRoomsInvite",
        "TestPowerLevels",
        "TestSendAndFetchMessage",
        "TestTxnIdempotency",
        "TestEvent",
        "TestRelations",
        "TestRoomReceipts",
        "TestTyping",
        "TestToDeviceMessages",
        "TestMediaConfig",
        "TestInboundFederationKeys",
        "TestInboundFederationProfile",
        "TestOutboundFederationProfile",
        "TestUnknownEndpoints",
        "TestRemoteTyping",
        "TestJoinFederatedRoomFromApplicationServiceBridgeUser",
    )
    skip: tuple[str, ...] = ()
    timeout: str = "30m"
    parallel: int = 2
    count: int = 1
    shuffle: str = "off"
    spawn_timeout: int = 120
    dirty: bool = False
    always_print_server_logs: bool = False
    share_env_prefix: str = "BAKEHOUSE_TESTEE_"
    baseline: str = "tests/complement/results.jsonl"
    known_failures: str = "tests/complement/known-failures.yaml"
    results_dir: str = "build/complement"
    name_prefix: str = "bakehouse-complement"
    lock_dir: str = "/var/lock"
    stop_timeout: int = 10
    failure_log_lines: int = 200


@dataclass(frozen=True)
class ReleaseSettings:
    """``bakehouse.release``: what `inv verify` and `inv export` build when no --target is given."""

    targets: tuple[str, ...] = ("install", "tests-smoke")


@dataclass(frozen=True)
class CiSettings:
    """``bakehouse.ci``: what `inv ci.matrix` adds to each cell for the CI."""

    # Platform (as the tree writes it, e.g. linux/arm64) -> the runner label of a machine that runs it
    # natively; "default" for every other platform. Empty: no runner key in the matrix.
    runners: Mapping[str, str] = field(default_factory=lambda: _frozen({}))


# The human tags `inv publish` can add beside the content tag.
HUMAN_TAGS = ("describe", "branch", "latest")


@dataclass(frozen=True)
class PublishSettings:
    """``bakehouse.publish``: where `inv publish` pushes, what, and under which tags."""

    registry: str = ""
    namespace: str = "bakehouse"
    targets: tuple[str, ...] = ("install",)
    human_tags: tuple[str, ...] = HUMAN_TAGS
    default_branch: str = "main"
    ignore_args: tuple[str, ...] = ("nprocs",)
    # Labels filled per commit (images/bake.hcl's oci_labels), not from what the image holds.
    ignore_labels: tuple[str, ...] = (
        "org.opencontainers.image.version",
        "org.opencontainers.image.revision",
        "org.opencontainers.image.created",
    )


@dataclass(frozen=True)
class Settings:
    """Everything under ``bakehouse:``, one attribute per section."""

    bake: BakeSettings = field(default_factory=BakeSettings)
    builder: BuilderSettings = field(default_factory=BuilderSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    supply: SupplySettings = field(default_factory=SupplySettings)
    lint: LintSettings = field(default_factory=LintSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    complement: ComplementSettings = field(default_factory=ComplementSettings)
    publish: PublishSettings = field(default_factory=PublishSettings)
    release: ReleaseSettings = field(default_factory=ReleaseSettings)
    ci: CiSettings = field(default_factory=CiSettings)
    # Not a setting: the project's root, found when the command starts. Every relative path of the
    # settings (bake files, baselines, results, certificates, cache directories) is relative to it.
    root: Path = field(default_factory=Path.cwd, metadata={"runtime": True})

    @classmethod
    def from_mapping(cls, values: object, root: Path | None = None) -> Settings:
        """Settings from what invoke holds under ``bakehouse:``; missing ones take the defaults."""
        if not isinstance(values, Mapping):
            kind = "a list" if isinstance(values, list | tuple) else repr(values)
            raise bad_input(f"{config_files.SECTION}: expected a mapping, got {kind}")
        config_files.check_settings(DEFAULTS, values, None)
        built = _build(cls, values, config_files.SECTION)
        return dataclasses.replace(built, root=root) if root is not None else built

    def path(self, configured: str | Path) -> Path:
        """A configured path as the project means it: relative ones under the project root."""
        return self.root / Path(configured).expanduser()


# --- defaults as config, and building from config ---------------------------------------------


def _setting_name(item: dataclasses.Field[Any]) -> str:
    return str(item.metadata.get("key", item.name))


def _as_config(value: object) -> Any:
    """A default as invoke holds it: mappings as dicts, sequences as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            _setting_name(f): _as_config(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not f.metadata.get("runtime")
        }
    if isinstance(value, Mapping):
        return {str(k): _as_config(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_as_config(v) for v in value]
    return value


DEFAULTS: dict[str, Any] = _as_config(Settings())
"""The code's defaults, keyed like invoke.yaml: the reference every config source is checked against."""


def registered_defaults() -> dict[str, Any]:
    """The defaults registered with invoke: all of them but the free-form maps.

    invoke merges mappings key by key, so a registered ``bake.matrix`` would add our dimensions to a
    project's own; the settings loader fills in an absent free-form map from DEFAULTS instead.
    """
    return {
        section: {
            # A copy: invoke's config is changed in place (c.config.x = ...), DEFAULTS must not be.
            key: copy.deepcopy(value)
            for key, value in values.items()
            if f"{section}.{key}" not in config_files.FREE_FORM
        }
        for section, values in DEFAULTS.items()
    }


def _value(hint: Any, value: Any, where: str) -> Any:
    """``value`` (already type-checked against the defaults) as the field's type."""
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, value, where)
    origin = get_origin(hint)
    if origin is tuple:
        return tuple(str(item) for item in value)
    if origin is Mapping:
        item_hint = get_args(hint)[1]
        if item_hint is str:
            return _frozen({str(k): str(v) for k, v in value.items()})
        # A dimension: its values, or one JSON array text (any other single value is read as text).
        return _frozen(
            {str(k): tuple(map(str, v)) if isinstance(v, list | tuple) else str(v) for k, v in value.items()}
        )
    return value


_D = TypeVar("_D", bound="DataclassInstance")


def _build(cls: type[_D], values: Mapping[str, Any], where: str) -> _D:
    """The dataclass ``cls`` from a config mapping checked by check_settings; absent keys: defaults."""
    hints = get_type_hints(cls)
    kwargs = {
        item.name: _value(hints[item.name], values[name], f"{where}.{name}")
        for item in dataclasses.fields(cls)
        if not item.metadata.get("runtime") and (name := _setting_name(item)) in values
    }
    return cls(**kwargs)
