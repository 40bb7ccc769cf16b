"""`inv builder.*`: the buildx docker-container builder, created idempotently with drift detection."""

from __future__ import annotations

import getpass
import os
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..shared import whales
from ..shared.buildx import BuilderRecord, buildx_config_dir, disk_usage, list_builders
from ..shared.checkout import Commit
from ..shared.command import Command
from ..shared.engine import require_engine
from ..shared.errors import BakehouseError, bad_input
from ..shared.inputs import check_host_port, check_image_reference, check_mirror
from ..shared.local_registry import recorded_mode, registry_address, registry_answers, start_registry
from ..shared.process import docker, failure_reason, git_output, run, say
from ..shared.settings import Settings
from . import buildkitd_config
from . import gc_policy as cache_gc
from .naming import ci_identity, isolation_key, validate_builder_name

CONFIG_NAME = "buildkitd.toml"
# builder.config_file's default names a project file that may be absent: then the one shipped beside
# this module is used.
DEFAULT_CONFIG_FILE = CONFIG_NAME
PACKAGED_CONFIG_FILE = Path(__file__).with_name(CONFIG_NAME)
# Where the docker-container driver puts the files buildx copies in (CA files under certs/).
BUILDER_CONFIG_DIR = "/etc/buildkit/"
BUILDKITD_FLAGS_PREFIX = "--allow-insecure-entitlement="
# The entitlements buildkitd can allow (BuildKit >= 0.20 for device).
INSECURE_ENTITLEMENTS = ("network.host", "security.insecure", "device")


def default_builder_name(root: Path, commit: Commit | None = None) -> str:
    """bakehouse-<actor>-<repo>-<branch>: from CI variables, else from the project's git and the
    login name. ``commit``: the checkout's commit when the caller read it already (its branch,
    and its origin URL where known, save git processes)."""
    identity = ci_identity(os.environ)
    if identity is None:
        known = commit.origin if commit is not None else None
        origin = known if known is not None else git_output("remote", "get-url", "origin", cwd=root)
        repo = Path(origin.removesuffix(".git")).name if origin else root.name
        if commit is not None:
            branch = commit.branch
        else:
            branch = git_output("rev-parse", "--abbrev-ref", "HEAD", cwd=root) or "detached"
        actor = getpass.getuser()
        identity = (actor, repo, branch)
    return isolation_key(*identity)


def resolve_builder_name(config: Settings, name: str | None, commit: Commit | None = None) -> str:
    """The builder to use: an explicit name, else the configured one, else the isolation key."""
    chosen = name or config.builder.name or default_builder_name(config.root, commit)
    return chosen if chosen == "default" else validate_builder_name(chosen)


def check_builder_option(config: Settings, name: str | None) -> None:
    """The names a build could use are valid (no git, nothing asked of buildx): for the modes that
    build nothing (--print, --list), where a typo must not pass silently either."""
    for given in (name, config.builder.name):
        if given and given != "default":
            validate_builder_name(given)


@dataclass(frozen=True)
class BuilderChoice:
    """The builder a build runs on, decided once per command."""

    name: str
    # The configured builder (or the isolation key): made by the first build that needs it. Any
    # other named builder must exist already: a typo must not quietly make a new, empty builder.
    made_on_first_use: bool


def choose_builder(config: Settings, option: str | None, commit: Commit | None = None) -> BuilderChoice:
    """``--builder`` (or the configured one) resolved and checked; only reads (a builder named
    explicitly, not 'default', not the configured one, must exist)."""
    name = resolve_builder_name(config, option, commit)
    if name == "default":
        return BuilderChoice(name, made_on_first_use=False)
    if not option or builder_recorded(name):
        return BuilderChoice(name, made_on_first_use=not option)
    # Named explicitly and unknown to buildx's config dir: it is the configured one or must exist.
    configured = name == resolve_builder_name(config, None, commit)
    if not configured:
        require_builder(name)
    return BuilderChoice(name, made_on_first_use=configured)


def prepare_builder(config: Settings, choice: BuilderChoice) -> str:
    """The chosen builder, made first when it is the configured one and doesn't exist yet."""
    if choice.made_on_first_use and not builder_recorded(choice.name) and current_state(choice.name) is None:
        say(f"builder {choice.name} doesn't exist yet: creating it")
        ensure_builder(config, choice.name)
    return choice.name


@dataclass(frozen=True)
class BuilderSpec:
    """Everything that makes two builders the same: compared against the running one."""

    name: str
    config_text: str
    driver_opts: dict[str, str] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    # The registry CA files the config names, path -> content (None: unreadable), so that drift
    # compares what the builder trusts: buildx stores copies under other paths.
    ca_files: dict[str, str | None] = field(default_factory=dict)

    @property
    def flags_text(self) -> str:
        return " ".join(self.flags)


def config_source(config: Settings) -> Path:
    """The buildkitd.toml a builder starts from: the project's, else (for the default name only) the
    one bakehouse ships, so a project needs no copy of its own. A file the project names must exist."""
    configured = config.builder.config_file
    source = config.path(configured)
    if source.exists():
        return source
    if configured == DEFAULT_CONFIG_FILE:
        return PACKAGED_CONFIG_FILE
    raise bad_input(f"{source}: no such file (builder.config_file)")


def render_config(
    config: Settings, mirrors: tuple[str, ...] = (), insecure: tuple[str, ...] = ()
) -> dict[str, Any]:
    cfg = config.builder
    source = config_source(config)
    doc = buildkitd_config.load(source.read_text(), cfg.config_file)
    overrides = buildkitd_config.Overrides.from_config(
        cfg, extra_mirrors=mirrors, extra_insecure=insecure, ca_root=config.root
    )
    return buildkitd_config.apply_overrides(doc, overrides)


def desired_spec(
    config: Settings, name: str, image: str | None, mirrors: tuple[str, ...], network: str | None
) -> BuilderSpec:
    """Config, driver options and flags for this builder, registry-free mode filled in automatically."""
    cfg = config.builder
    # Options first, then the config they fall back to: each refused under the name it was given by.
    for mirror in mirrors:
        check_mirror(mirror, "--mirror")
    if image:
        check_image_reference(image, "--image")
    if network not in (None, "host"):
        raise bad_input(f"--network {network!r}: only 'host' is supported (or leave it unset)")
    configured_image = cfg.image
    if configured_image:
        check_image_reference(configured_image, "builder.image")
    image = image or configured_image or None
    network = network or cfg.network or None
    if network not in (None, "host"):
        raise bad_input(f"builder.network {network!r}: only 'host' is supported (or leave it empty)")
    insecure: tuple[str, ...] = ()
    if recorded_mode(config) == "registry-free":
        # No registry: BuildKit runs from the locally built image, base images come from the local
        # registry as a docker.io mirror, reached over the host network.
        local = check_host_port(registry_address(config), "supply.registry")
        image = image or check_image_reference(config.supply.buildkit_image, "supply.buildkit_image")
        mirrors = (*mirrors, local)
        insecure = (local,)
        network = network or "host"
    doc = render_config(config, mirrors, insecure)
    driver_opts = {}
    if image:
        driver_opts["image"] = image
    if network:
        driver_opts["network"] = network
    # Passing any --allow-insecure-entitlement turns off buildx's automatic network.host one,
    # so every entitlement is listed explicitly.
    for entitlement in cfg.entitlements:
        if entitlement not in INSECURE_ENTITLEMENTS:
            # buildkitd would refuse to start, after a drifted builder had already been removed.
            raise bad_input(
                f"builder.entitlements: {entitlement!r} is not one of {', '.join(INSECURE_ENTITLEMENTS)}"
            )
    flags = tuple(f"{BUILDKITD_FLAGS_PREFIX}{e}" for e in cfg.entitlements)
    return BuilderSpec(name, buildkitd_config.render(doc), driver_opts, flags, _read_ca_files(doc))


def _ca_paths(doc: Mapping[str, Any]) -> list[str]:
    registries = doc.get("registry", {})
    return [
        path for table in registries.values() if isinstance(table, Mapping) for path in table.get("ca", [])
    ]


def _read_ca_files(doc: Mapping[str, Any]) -> dict[str, str | None]:
    contents: dict[str, str | None] = {}
    for path in _ca_paths(doc):
        try:
            contents[path] = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            contents[path] = None
    return contents


@dataclass(frozen=True)
class BuilderState:
    """What drift compares: the builder's driver and its (first) node's settings, config as text."""

    name: str
    driver: str
    status: str
    version: str
    config_text: str
    driver_opts: dict[str, str]
    flags: tuple[str, ...]
    gc_policies: list[dict[str, Any]]
    # The other files buildx copied in (registry CAs under certs/), by name relative to the config dir.
    files: dict[str, str] = field(default_factory=dict)


def builder_recorded(name: str) -> bool:
    """Fast path: buildx keeps one file per builder in its config dir. `buildx ls` takes ~0.4 s;
    when the file is absent (or buildx moves it) callers fall back to `current_state`."""
    return (buildx_config_dir() / "instances" / name).is_file()


def state_of(builder: BuilderRecord) -> BuilderState:
    """A builder's state from its `buildx ls` record."""
    node = builder.node
    return BuilderState(
        name=builder.name,
        driver=builder.driver,
        status=node.status,
        version=node.version,
        config_text=node.files.get(CONFIG_NAME, ""),
        driver_opts=dict(node.driver_opts),
        flags=node.flags,
        gc_policies=list(node.gc_policies),
        files={name: text for name, text in node.files.items() if name != CONFIG_NAME},
    )


def current_state(name: str) -> BuilderState | None:
    for builder in list_builders():
        if builder.name == name:
            return state_of(builder)
    return None


def require_builder(name: str) -> BuilderRecord:
    """The builder's `buildx ls` record; a name that isn't there is bad input naming those that are."""
    builders = list_builders()
    for builder in builders:
        if builder.name == name:
            return builder
    names = ", ".join(sorted(builder.name for builder in builders)) or "none"
    raise bad_input(
        f"no builder named {name} (builders: {names}); `inv builder.create --name {name}` makes one"
    )


def drift(spec: BuilderSpec, state: BuilderState) -> list[str]:
    """What differs between the wanted and the running builder (empty: up to date)."""
    differences = []
    if state.driver != "docker-container":
        differences.append(f"driver {state.driver}")
    # buildx re-serializes the file it stores (sorted keys, nested tables) and moves the CA files
    # it names: compare the content, CA files by theirs.
    running = _with_ca_contents(_toml_or_none(state.config_text), lambda path: _copied_file(state, path))
    wanted = _with_ca_contents(_toml_or_none(spec.config_text), lambda path: spec.ca_files.get(path))
    if running is None or running != wanted:
        differences.append(CONFIG_NAME)
    if state.driver_opts != spec.driver_opts:
        differences.append(f"driver options {state.driver_opts} -> {spec.driver_opts}")
    if " ".join(state.flags) != spec.flags_text:
        differences.append(f"buildkitd flags {' '.join(state.flags)!r} -> {spec.flags_text!r}")
    return differences


def _copied_file(state: BuilderState, path: str) -> str | None:
    """A file buildx copied into the builder, by the path the stored config names it by."""
    return (
        state.files.get(path.removeprefix(BUILDER_CONFIG_DIR))
        if path.startswith(BUILDER_CONFIG_DIR)
        else None
    )


def _with_ca_contents(
    doc: dict[str, Any] | None, content_of: Callable[[str], str | None]
) -> dict[str, Any] | None:
    """The document with each registry's CA paths replaced by the files' contents."""
    if doc is None:
        return None
    for table in doc.get("registry", {}).values():
        if isinstance(table, dict) and isinstance(table.get("ca"), list):
            table["ca"] = [content_of(path) if isinstance(path, str) else path for path in table["ca"]]
    return doc


def _toml_or_none(text: str) -> dict[str, Any] | None:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None


def rendered_configs_dir() -> Path:
    """Where each builder's rendered buildkitd.toml is kept (buildx copies it in at create time)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "bakehouse" / "builders"


def rendered_config_file(name: str) -> Path:
    return rendered_configs_dir() / f"{name}.{CONFIG_NAME}"


def config_path(name: str) -> Path:
    """The builder's rendered config file, its directory made."""
    path = rendered_config_file(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def create_builder(spec: BuilderSpec) -> None:
    path = config_path(spec.name)
    path.write_text(spec.config_text)
    try:
        whales.client().buildx.create(
            name=spec.name,
            driver="docker-container",
            driver_options=spec.driver_opts,
            buildkitd_flags=spec.flags_text,
            config=path,
            bootstrap=True,
        )
    except whales.docker_error() as exc:
        why = failure_reason(exc.stderr or "") if (exc.stderr or "").strip() else str(exc)
        raise BakehouseError(f"creating builder {spec.name} failed: {why}") from exc


def remove_builder(name: str, keep_state: bool) -> None:
    # python-on-whales' buildx.remove has no --keep-state.
    remove = Command("docker", "buildx", "rm").flag("--keep-state", keep_state).args(name)
    run(remove, what=f"docker buildx rm {name}")
    # buildx copied it in at create time; kept only while the builder exists.
    rendered_config_file(name).unlink(missing_ok=True)


def builder_stopped(name: str, wait: float = 0.0) -> str | None:
    """Why a failed build failed, when the cause is the builder's container having stopped.

    buildx sees the connection drop before the engine has marked a killed container stopped:
    `wait` gives the engine that long to catch up (only worth it when the connection was lost)."""
    if name == "default":
        return None
    container = f"buildx_buildkit_{name}0"
    deadline = time.monotonic() + wait
    while True:
        # The CLI: one inspect with a format is cheaper than python-on-whales' full container model.
        state = "{{.State.Running}} {{.State.ExitCode}}"
        result = docker("inspect", "--format", state, container, check=False)
        running, _, exit_code = result.stdout.strip().partition(" ")
        if result.returncode != 0 or running == "false" or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    if result.returncode != 0 or running != "false":
        return None
    return (
        f"builder {name}'s container {container} stopped during the build (exit {exit_code}); "
        "the next `inv build` starts it again with its cache"
    )


def ensure_registry_for(config: Settings) -> None:
    if recorded_mode(config) == "registry-free" and not registry_answers(registry_address(config)):
        start_registry(config)


def ensure_builder(
    config: Settings,
    name: str | None = None,
    image: str | None = None,
    mirrors: tuple[str, ...] = (),
    network: str | None = None,
    force: bool = False,
) -> str:
    """Create the builder if missing or drifted; return what happened in a few words."""
    name = resolve_builder_name(config, name)
    if name == "default":
        raise bad_input("'default' is the engine's own builder; bakehouse doesn't create or change it")
    spec = desired_spec(config, name, image, mirrors, network)
    require_engine()
    ensure_registry_for(config)
    state = current_state(name)
    started = time.monotonic()
    if state is not None and force:
        remove_builder(name, keep_state=False)
        outcome = "recreated from scratch (--force: cache dropped)"
    elif state is not None:
        differences = drift(spec, state)
        if not differences:
            if state.status != "running":
                # Stopped builders boot on demand; boot now so status and builds are predictable.
                docker("buildx", "inspect", "--bootstrap", name, what=f"booting builder {name}")
            return "up to date"
        say(f"builder {name} drifted: {'; '.join(differences)}")
        remove_builder(name, keep_state=True)
        outcome = "recreated (cache kept)"
    else:
        outcome = "created"
    create_builder(spec)
    return f"{outcome} in {time.monotonic() - started:.1f}s"


# --- tasks -----------------------------------------------------------------------------------


def builder_disk_usage(name: str) -> int | None:
    try:
        return sum(record.size for record in disk_usage(name))
    except BakehouseError:
        return None


def gc_policy_lines(state: BuilderState) -> list[str]:
    """The policies BuildKit actually applies (as the builder reports them), in words."""
    if not state.gc_policies:
        return ["no GC policies (garbage collection off)"]
    policies = cache_gc.parse_policies(state.gc_policies)
    return [f"{i}. {cache_gc.describe(policy)}" for i, policy in enumerate(policies, 1)]
