"""`inv engine.*`: a Docker engine anywhere, and registry-free supply where pulling is impossible.

On a machine with a usable engine (DOCKER_HOST or the default socket, buildx >= the configured
minimum) nothing is provisioned. Otherwise, on a Debian host as root, a private engine is unpacked
from Debian's archive (dockerd from a newer suite: Complement needs API >= 1.45) and started in the
background with its state under one fixed directory.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import time
from pathlib import Path

from ..shared import whales
from ..shared.engine import socket_answers
from ..shared.errors import BakehouseError, bad_input
from ..shared.host import apt_install_host, pid_alive, wait_until
from ..shared.inputs import check_host_port, check_image_reference
from ..shared.local_registry import registry_address
from ..shared.private_state import paths
from ..shared.process import pipe, run, say, spawn
from ..shared.settings import Settings
from . import base_index

CLI_PLUGIN_DIR = Path("/usr/local/lib/docker/cli-plugins")
DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
DEBOOTSTRAP_SCRIPTS = Path("/usr/share/debootstrap/scripts")


# --- reachability ----------------------------------------------------------------------------


# --- provisioning from Debian's archive ------------------------------------------------------


def require_debian_root() -> None:
    reasons = []
    if os.geteuid() != 0:
        reasons.append("root")
    if not Path("/etc/debian_version").exists() or shutil.which("apt-get") is None:
        reasons.append("a Debian host (apt-get)")
    if reasons:
        raise BakehouseError(
            "no usable Docker engine here and bakehouse can only provision one as "
            + " on ".join(reasons)
            + "; install Docker Engine >= 26 with buildx >= 0.17 yourself, or run as root on Debian"
        )


class PrivateApt:
    """apt with its own sources and lists, so newer suites never leak into the host's apt."""

    def __init__(self, base: Path, suites: list[str], mirror: str) -> None:
        self.base = base
        self.suites = suites
        self.mirror = mirror

    def _options(self) -> list[str]:
        return [
            "-o", f"Dir::Etc::SourceList={self.base / 'sources.list'}",
            "-o", "Dir::Etc::SourceParts=/nonexistent",
            "-o", f"Dir::State::Lists={self.base / 'lists'}",
            "-o", f"Dir::Cache={self.base / 'cache'}",
            "-o", "Debug::NoLocking=1",
            "-o", "APT::Sandbox::User=root",
        ]  # fmt: skip

    def update(self) -> None:
        (self.base / "lists" / "partial").mkdir(parents=True, exist_ok=True)
        (self.base / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
        lines = [f"deb [signed-by={DEBIAN_KEYRING}] {self.mirror} {suite} main" for suite in self.suites]
        (self.base / "sources.list").write_text("\n".join(lines) + "\n")
        say(f"reading Debian package lists: {', '.join(self.suites)}")
        run(["apt-get", *self._options(), "-qq", "update"], what="apt-get update (private lists)")

    def download(self, package_suites: list[str], dest: Path) -> list[Path]:
        dest.mkdir(parents=True, exist_ok=True)
        for old in dest.glob("*.deb"):
            old.unlink()
        run(
            ["apt-get", *self._options(), "-qq", "download", *package_suites],
            cwd=dest,
            what="apt-get download",
        )
        return sorted(dest.glob("*.deb"))


def unpack_engine(config: Settings) -> None:
    """dockerd (+ docker-proxy, docker-init) and the newest buildx plugin, unpacked under our root."""
    cfg = config.engine
    p = paths(config)
    plugin = CLI_PLUGIN_DIR / "docker-buildx"
    # docker-init (tini) is what buildx's builder containers run as init.
    unpacked = [p.unpacked / "usr/sbin/dockerd", p.unpacked / "usr/bin/tini-static"]
    want_cli = shutil.which("docker") is None
    if all(f.exists() for f in unpacked) and plugin.exists() and not want_cli:
        return
    suites = sorted({cfg.dockerd_suite, cfg.buildx_suite})
    apt = PrivateApt(p.apt, suites, config.supply.mirror_suite_url)
    apt.update()
    wanted = [
        f"docker.io/{cfg.dockerd_suite}",
        f"tini/{cfg.dockerd_suite}",
        f"docker-buildx/{cfg.buildx_suite}",
    ]
    if want_cli:
        wanted.append(f"docker-cli/{cfg.dockerd_suite}")
    say(f"downloading {', '.join(wanted)}")
    for deb in apt.download(wanted, p.root / "debs"):
        run(["dpkg-deb", "-x", str(deb), str(p.unpacked)], what=f"unpacking {deb.name}")
    CLI_PLUGIN_DIR.mkdir(parents=True, exist_ok=True)
    # Copy then rename: a running buildx keeps its old file ("text file busy" otherwise).
    staged = plugin.with_suffix(".new")
    shutil.copy2(p.unpacked / "usr/libexec/docker/cli-plugins/docker-buildx", staged)
    staged.replace(plugin)
    if want_cli:
        Path("/usr/local/bin/docker").symlink_to(p.unpacked / "usr/bin/docker")


def _stop_orphaned_containerd(pid_file: Path, exec_root: Path) -> None:
    """dockerd killed with -9 can leave its containerd running; a new dockerd's containerd would
    wait forever on the state it holds. Only ours: its command line names our exec root."""
    pid = pid_alive(pid_file)
    if pid is None:
        return
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return
    if str(exec_root) not in command:
        return
    say(f"stopping containerd {pid} left behind by a dockerd that died")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not wait_until(lambda: pid_alive(pid_file) is None, 10):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def start_private_engine(config: Settings) -> None:
    cfg = config.engine
    p = paths(config)
    sock = Path(cfg.socket)
    if pid_alive(p.pid_file) is None:
        # A previous run killed without cleanup leaves its pid file and socket behind.
        p.pid_file.unlink(missing_ok=True)
        if sock.exists() and not socket_answers(str(sock)):
            say(f"removing stale socket {sock}")
            sock.unlink()
        _stop_orphaned_containerd(p.exec_root / "containerd" / "containerd.pid", p.exec_root)
        for stale in (p.exec_root / "docker.pid", p.exec_root / "containerd" / "containerd.pid"):
            stale.unlink(missing_ok=True)
    elif socket_answers(str(sock)):
        return
    if sock.exists() and socket_answers(str(sock)):
        raise BakehouseError(f"{sock} is served by another engine; set DOCKER_HOST to use it")
    for d in (p.data, p.exec_root):
        d.mkdir(parents=True, exist_ok=True)
    sbin = p.unpacked / "usr/sbin"
    env = {"PATH": f"{sbin}:{p.unpacked / 'usr/bin'}:{os.environ.get('PATH', '')}"}
    cmd = [
        str(sbin / "dockerd"),
        f"--data-root={p.data}",
        f"--exec-root={p.exec_root}",
        f"--pidfile={p.pid_file}",
        f"--host=unix://{sock}",
    ]
    say(f"starting dockerd (data in {p.data}, log in {p.log_file})")
    spawn(cmd, log=p.log_file, env=env)
    if wait_until(lambda: socket_answers(str(sock)), float(cfg.start_timeout)):
        return
    tail = p.log_file.read_text(errors="replace").strip().splitlines()[-1:] if p.log_file.exists() else []
    raise BakehouseError(
        f"dockerd did not answer within {cfg.start_timeout}s: {tail[0] if tail else 'no log'} "
        f"(full log: {p.log_file})"
    )


def stop_private_engine(config: Settings) -> bool:
    p = paths(config)
    pid = pid_alive(p.pid_file)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and pid_alive(p.pid_file) == pid:
        time.sleep(0.3)
    if pid_alive(p.pid_file) == pid:
        os.kill(pid, signal.SIGKILL)
    p.pid_file.unlink(missing_ok=True)
    return True


# --- registry-free supply --------------------------------------------------------------------


SUPPLY_MODES = ("auto", "registry", "registry-free")
_VERSION = re.compile(r"^\d+(\.\d+)*$")


def check_up_config(config: Settings) -> None:
    """What `up` acts on, refused before anything is installed, started, pulled or written."""
    supply, engine = config.supply, config.engine
    if supply.mode not in SUPPLY_MODES:
        raise bad_input(f"supply.mode: {supply.mode!r} is not {', '.join(SUPPLY_MODES)}")
    for image in supply.base_images:
        name, _, tag = image.partition(":")
        if name != "debian" or not tag.removesuffix("-slim"):
            raise bad_input(f"supply.base_images: can only make debian:<suite>[-slim] images, not {image!r}")
    check_host_port(supply.registry, "supply.registry")
    check_image_reference(supply.probe_image, "supply.probe_image")
    check_image_reference(supply.buildkit_image, "supply.buildkit_image")
    versions = {"min_api_version": engine.min_api_version, "min_buildx_version": engine.min_buildx_version}
    for key, value in versions.items():
        if not _VERSION.match(value):
            raise bad_input(f"engine.{key} {value!r}: expected a version such as 1.45")


def decide_mode(config: Settings) -> str:
    """registry or registry-free: configured, or found out by trying a pull (never assumed)."""
    configured = config.supply.mode
    if configured in ("registry", "registry-free"):
        return configured
    if configured != "auto":
        raise BakehouseError(f"supply.mode: {configured!r} is not auto, registry or registry-free", 2)
    probe = config.supply.probe_image
    try:
        whales.client().image.pull(probe, quiet=True)
        return "registry"
    except whales.docker_error():
        return "registry-free"


def foreign_base_name(image: str, arch: str) -> str:
    """The engine's name for a base image of another architecture (a name holds one image there)."""
    return f"{image}--{arch}"


def debootstrap_image(config: Settings, image: str, arch: str | None = None) -> None:
    """Make a Debian base image from the archive: minbase + ca-certificates + the host CA bundle.

    ``arch`` (a Debian architecture, e.g. arm64) makes one for another architecture under QEMU (its
    interpreter registered with binfmt_misc), imported as ``foreign_base_name(image, arch)``."""
    supply = config.supply
    name, _, tag = image.partition(":")
    suite = tag.removesuffix("-slim")
    if name != "debian" or not suite:
        raise BakehouseError(
            f"supply.base_images: can only make debian:<suite>[-slim] images, not {image!r}", 2
        )
    apt_install_host(["debootstrap"])
    target = paths(config).root / "debootstrap" / (f"{suite}-{arch}" if arch else suite)
    shutil.rmtree(target, ignore_errors=True)
    say(f"making {image} with debootstrap (minbase, {suite}{', ' + arch + ' under QEMU' if arch else ''})")
    started = time.monotonic()
    arch_option = [f"--arch={arch}"] if arch else []
    # A suite newer than the host's debootstrap (no script of its name) is made like sid.
    script = [] if (DEBOOTSTRAP_SCRIPTS / suite).exists() else [str(DEBOOTSTRAP_SCRIPTS / "sid")]
    run(["debootstrap", *arch_option, "--variant=minbase", "--include=ca-certificates", suite, str(target),
         supply.mirror_suite_url, *script], what=f"debootstrap {suite}")  # fmt: skip
    bundle = Path(supply.host_ca_bundle)
    if bundle.exists():
        # TLS may be intercepted: trust the host's CAs inside the image too.
        shutil.copy(bundle, target / "usr/local/share/ca-certificates/bakehouse-host-ca.crt")
        run(["chroot", str(target), "update-ca-certificates"], what="update-ca-certificates")
    # Slim like Debian's -slim images: no package lists, downloaded .debs, docs or man pages.
    for pattern in ("var/lib/apt/lists/*", "var/cache/apt/*.bin", "var/cache/apt/archives/*.deb",
                    "usr/share/doc/*", "usr/share/man/*"):  # fmt: skip
        for junk in target.glob(pattern):
            shutil.rmtree(junk) if junk.is_dir() and not junk.is_symlink() else junk.unlink()
    # python-on-whales can't stream stdin into `docker import`; pipe tar into the CLI.
    tar = ["tar", "-C", str(target), "--numeric-owner", "-c", "."]
    name = foreign_base_name(image, arch) if arch else image
    platform = ["--platform", f"linux/{arch}"] if arch else []
    pipe(tar, ["docker", "import", *platform, "-", name], what=f"docker import {name}")
    shutil.rmtree(target, ignore_errors=True)
    say(f"{name} ready ({time.monotonic() - started:.0f}s)")


def registry_repository(image: str) -> tuple[str, str]:
    """The local registry's repository and tag for a base image (docker.io's library/ for short names)."""
    name, _, tag = image.partition(":")
    return (name if "/" in name else f"library/{name}"), (tag or "latest")


def push_to_registry(config: Settings, image: str, tag: str | None = None, source: str = "") -> str:
    """Serve ``image`` (made from the engine's ``source``, by default the image of that name) to
    docker-container builders, which can't see the engine's store: they pull it through the local
    registry, their docker.io mirror. Returns the manifest's digest. ``tag`` pushes it under another
    tag of the image's repository.

    A tag that already holds a manifest list with this image in it is left alone: pushing would
    replace the list (the other architectures) by this one image."""
    repo, own_tag = registry_repository(image)
    address = registry_address(config)
    local = f"{address}/{repo}:{tag or own_tag}"
    client = whales.client()
    engine_image = source or image
    pushed = _repo_digest(client.image.inspect(engine_image).repo_digests, f"{address}/{repo}")
    current = base_index.fetch(address, repo, tag or own_tag)
    if pushed and current is not None and pushed in {m.digest for m in current.members()}:
        return pushed
    client.image.tag(engine_image, local)
    client.image.push(local, quiet=True)
    digest = _repo_digest(client.image.inspect(engine_image).repo_digests, f"{address}/{repo}")
    if not digest:
        raise BakehouseError(f"pushed {local} but the engine names no digest for it")
    return digest


def _repo_digest(repo_digests: list[str], repository: str) -> str:
    for entry in repo_digests:
        name, _, digest = entry.partition("@")
        if name == repository:
            return digest
    return ""
