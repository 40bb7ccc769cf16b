"""Platforms a builder lacks: judged against the host, provided by QEMU where it can be, refused where not.

A BuildKit worker runs a foreign binary through the kernel's binfmt_misc: a static interpreter
registered with the F flag (the kernel opens it at registration, so it works inside containers that
don't have it). Debian's qemu-user-static ships such interpreters and their entries
(/usr/lib/binfmt.d/qemu-<arch>.conf, flags OPF); bakehouse writes them to the register file itself,
so neither systemd nor binfmt-support is needed. amd64 levels (v2/v3/v4) are never emulated: the CPU
has them or not.

BuildKit finds its emulated platforms when it starts and keeps the answer (a builder started before the
handler was registered keeps listing `linux/amd64 (+4), linux/386`). Restarting the builder's container
makes it look again and keeps its state: 1.4 s here, against 6.3 s for `buildx rm --keep-state` and a
create (measured on two fresh builders, 2026-12-05).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..bake.platforms import Platform, parse_platform
from ..shared import whales
from ..shared.buildx import BuilderRecord, list_builders
from ..shared.errors import BakehouseError
from ..shared.host import apt_install_host
from ..shared.process import docker, run, say

BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
BINFMT_CONFIGS = Path("/usr/lib/binfmt.d")
QEMU_PACKAGE = "qemu-user-static"
MACHINE_LACKS = 1

# OCI architecture -> QEMU's name for it (its binfmt entry is qemu-<name>).
QEMU_NAMES = {
    "arm64": "aarch64",
    "arm": "arm",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
    "mips64le": "mips64el",
    "loong64": "loongarch64",
    "386": "i386",
    "amd64": "x86_64",
}
# The host's machine -> the architectures its CPU runs without emulation.
NATIVE = {"x86_64": ("amd64", "386"), "aarch64": ("arm64",)}
# x86-64 micro-architecture levels: the CPU flags (as /proc/cpuinfo names them) each adds.
AMD64_LEVELS = {
    "v2": ("cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3"),
    "v3": ("avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"),
    "v4": ("avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"),
}


def elsewhere(arches: Iterable[str]) -> str:
    """What to run on a host bakehouse can't provision (not Debian, or not root)."""
    names = ",".join(sorted(set(arches)))
    return (
        f"as root, register static QEMU interpreters with the F flag (`docker run --privileged --rm "
        f"tonistiigi/binfmt --install {names}`, or your distribution's qemu-user-static), then "
        "`inv builder.create`"
    )


@dataclass(frozen=True)
class HostFacts:
    """What decides whether a platform can be provided here."""

    machine: str
    cpu_flags: frozenset[str] = frozenset()
    # QEMU names with an enabled binfmt entry carrying the F flag.
    registered: frozenset[str] = frozenset()
    # Root on Debian: bakehouse may install qemu-user-static and register it.
    can_provision: bool = False


@dataclass(frozen=True)
class Verdict:
    """Per needed platform the builder lacks: what it takes."""

    # QEMU names to register (installing the package where needed).
    emulate: tuple[str, ...] = ()
    # Platforms the host can run but the builder doesn't list yet: it has to look again.
    refresh: tuple[Platform, ...] = ()
    # Platform -> why nobody here can provide it, and the fix.
    impossible: dict[Platform, str] = field(default_factory=dict)
    # Platforms it lacks that need emulation (for the messages).
    lacking: tuple[Platform, ...] = ()


def _amd64_level_missing(variant: str, flags: frozenset[str]) -> list[str]:
    levels = list(AMD64_LEVELS)
    if variant not in AMD64_LEVELS:
        return []
    needed = [flag for level in levels[: levels.index(variant) + 1] for flag in AMD64_LEVELS[level]]
    return [flag for flag in needed if flag not in flags]


def classify(
    needed: Sequence[Platform], builder_has: Sequence[Platform], host: HostFacts, *, on_this_host: bool = True
) -> Verdict:
    """What each needed platform the builder lacks takes: pure, from the facts given.

    A builder ``on_this_host`` lists the emulated platforms it found when it started: one whose
    interpreter has been unregistered since is not there any more (its builds would fail with
    `exec format error`)."""
    native = NATIVE.get(host.machine, ())
    has = {
        p.normalized
        for p in builder_has
        if not on_this_host or p.architecture in native or QEMU_NAMES.get(p.architecture) in host.registered
    }
    emulate: dict[str, None] = {}
    refresh: dict[Platform, None] = {}
    impossible: dict[Platform, str] = {}
    lacking: list[Platform] = []
    for wanted in dict.fromkeys(p.normalized for p in needed):
        if wanted in has:
            continue
        if wanted.os != "linux":
            impossible[wanted] = f"{wanted}: a Linux builder runs linux/* platforms only"
            continue
        if wanted.architecture == "amd64" and wanted.variant and wanted.variant not in AMD64_LEVELS:
            impossible[wanted] = f"{wanted}: no such x86-64 level (there are {', '.join(AMD64_LEVELS)})"
            continue
        if wanted.architecture in native:
            missing = (
                _amd64_level_missing(wanted.variant, host.cpu_flags) if wanted.architecture == "amd64" else []
            )
            if missing:
                impossible[wanted] = (
                    f"{wanted}: this CPU lacks {' '.join(missing)} and amd64 levels are never emulated; "
                    "build it on a CPU that has them, or use a lower level"
                )
            else:
                refresh[wanted] = None
            continue
        qemu = QEMU_NAMES.get(wanted.architecture)
        if qemu is None:
            impossible[wanted] = f"{wanted}: QEMU has no emulator for architecture {wanted.architecture!r}"
        elif qemu in host.registered:
            refresh[wanted] = None
        elif host.can_provision:
            emulate[qemu] = None
            lacking.append(wanted)
        else:
            impossible[wanted] = (
                f"{wanted}: no {qemu} interpreter is registered and bakehouse registers one only as root "
                f"on Debian; {elsewhere([wanted.architecture])}"
            )
    return Verdict(tuple(emulate), tuple(refresh), impossible, tuple(lacking))


# --- the host --------------------------------------------------------------------------------


def _binfmt_entry(name: str) -> dict[str, str] | None:
    try:
        lines = (BINFMT_DIR / f"qemu-{name}").read_text().splitlines()
    except OSError:
        return None
    entry = {"state": lines[0].strip()} if lines else {}
    for line in lines[1:]:
        key, _, value = line.partition(" ")
        entry[key.rstrip(":")] = value.strip()
    return entry


def registered_emulators() -> frozenset[str]:
    """QEMU names with an enabled binfmt entry that has the F flag (usable from containers)."""
    found = set()
    for name in set(QEMU_NAMES.values()):
        entry = _binfmt_entry(name)
        if entry and entry.get("state") == "enabled" and "F" in entry.get("flags", ""):
            found.add(name)
    return frozenset(found)


def _cpu_flags() -> frozenset[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def host_facts() -> HostFacts:
    debian = Path("/etc/debian_version").exists() and shutil.which("apt-get") is not None
    return HostFacts(
        machine=os.uname().machine,
        cpu_flags=_cpu_flags(),
        registered=registered_emulators(),
        can_provision=debian and os.geteuid() == 0,
    )


def register_line(conf_text: str) -> str:
    """The entry of a binfmt.d file (its one non-comment line), with the F flag added if it lacks it."""
    lines = [line for line in conf_text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if len(lines) != 1:
        raise BakehouseError(f"expected one binfmt entry, found {len(lines)}")
    # ":name:type:offset:magic:mask:interpreter:flags" (it starts with its delimiter).
    fields = lines[0].split(":")
    if len(fields) != 8 or fields[0]:
        name = fields[1] if len(fields) > 1 else "?"
        raise BakehouseError(f"binfmt entry {name} is not :name:type:offset:magic:mask:interpreter:flags")
    if "F" not in fields[7]:
        fields[7] += "F"
    return ":".join(fields)


def provide_emulators(names: Sequence[str]) -> None:
    """qemu-user-static from the host's suite, binfmt_misc mounted, each entry registered with F."""
    apt_install_host([QEMU_PACKAGE])
    if not (BINFMT_DIR / "register").exists():
        say(f"mounting binfmt_misc on {BINFMT_DIR}")
        run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT_DIR)], what="mount binfmt_misc")
    for name in names:
        entry = _binfmt_entry(name)
        usable = entry is not None and entry.get("state") == "enabled" and "F" in entry.get("flags", "")
        if usable:
            continue
        if entry is not None:
            # Disabled, or registered without F (by hand, binfmt-support): useless inside a builder
            # container, and a name can't be registered twice.
            (BINFMT_DIR / f"qemu-{name}").write_text("-1")
        conf = BINFMT_CONFIGS / f"qemu-{name}.conf"
        say(f"registering {conf} with binfmt_misc (flag F: usable inside containers)")
        (BINFMT_DIR / "register").write_text(register_line(conf.read_text()))


# --- the builder -----------------------------------------------------------------------------


def builder_platforms(record: BuilderRecord) -> list[Platform]:
    """Every platform the builder's nodes list."""
    return [
        parse_platform(text, f"builder {record.name}") for node in record.nodes for text in node.platforms
    ]


def _record(name: str) -> BuilderRecord | None:
    return next((b for b in list_builders() if b.name == name), None)


def look_again(record: BuilderRecord) -> str:
    """Make the builder find its platforms again: its container restarted (state kept), or nothing
    for the engine's own builder (the engine asks the kernel each time). What was done, in words."""
    if record.driver == "docker":
        return ""
    if record.driver != "docker-container":
        raise BakehouseError(
            f"builder {record.name} ({record.driver}) lists its platforms from when its daemon started: "
            "restart that daemon",
            MACHINE_LACKS,
        )
    container = f"buildx_buildkit_{record.node.name}"
    say(f"restarting {container} so that BuildKit finds the new platforms (its cache is kept)")
    whales.client().container.restart(container)
    docker("buildx", "inspect", "--bootstrap", record.name, what=f"booting builder {record.name}")
    return "restarted to detect its platforms"


def refuse_impossible(verdict: Verdict) -> None:
    if verdict.impossible:
        raise BakehouseError("; ".join(verdict.impossible.values()), MACHINE_LACKS)


def foreign(needed: Sequence[Platform], host: HostFacts) -> list[Platform]:
    """The platforms this host's CPU doesn't run as it is (the rest needs no look at any builder:
    asking buildx costs ~0.4 s a build)."""
    native = NATIVE.get(host.machine, ())
    return [
        p
        for p in needed
        if p.os != "linux"
        or p.architecture not in native
        or (p.architecture == "amd64" and p.variant and (
            p.variant not in AMD64_LEVELS or _amd64_level_missing(p.variant, host.cpu_flags)))
    ]  # fmt: skip


def _judge(builder: str | None, needed: Sequence[Platform]) -> tuple[BuilderRecord | None, Verdict]:
    host = host_facts()
    unusual = foreign(needed, host)
    if not unusual:
        return None, Verdict()
    record = _record(builder) if builder else None
    local = record is None or record.driver in ("docker", "docker-container")
    listed = builder_platforms(record) if record else []
    return record, classify(unusual, listed, host, on_this_host=local)


def check_host_can_provide(needed: Sequence[Platform], builder: str | None = None) -> None:
    """Before any builder is made: refuse what neither ``builder`` (when it exists: a remote one
    runs what its own host runs) nor this host could run."""
    refuse_impossible(_judge(builder, needed)[1])


def ensure_platforms(builder: str, needed: Sequence[Platform]) -> list[str]:
    """The builder lists every needed platform afterwards, or this raises naming platform and fix.
    Returns what was done, in words (nothing when it already had them)."""
    record, verdict = _judge(builder, needed)
    if record is None:
        return []
    refuse_impossible(verdict)
    if not verdict.emulate and not verdict.refresh:
        return []
    done = []
    if verdict.emulate:
        provide_emulators(verdict.emulate)
        done.append(f"QEMU registered for {', '.join(str(p) for p in verdict.lacking)}")
    if looked := look_again(record):
        done.append(looked)
    after = _record(builder)
    has = {p.normalized for p in builder_platforms(after)} if after else set()
    still = [str(p) for p in needed if p.normalized not in has]
    if still:
        raise BakehouseError(
            f"builder {builder} still lacks {', '.join(still)} after {' and '.join(done)}: see "
            f"{BINFMT_DIR} and `docker buildx inspect {builder}`",
            MACHINE_LACKS,
        )
    return done


def ready_for_platforms(builder: str, needed: Sequence[Platform]) -> None:
    """``builder`` lists every platform needed (a builder made before QEMU was registered is
    restarted to find it), each thing done said in one line."""
    for done in ensure_platforms(builder, needed):
        say(f"builder {builder}: {done}")


def describe_platforms(record: BuilderRecord, host: HostFacts) -> list[tuple[str, str]]:
    """Each platform the builder lists, and how it runs: native, or emulated (by which interpreter)."""
    native = NATIVE.get(host.machine, ())
    rows = []
    for p in dict.fromkeys(builder_platforms(record)):
        if p.architecture in native:
            rows.append((str(p), "native"))
        else:
            qemu = QEMU_NAMES.get(p.architecture, p.architecture)
            entry = _binfmt_entry(qemu) or {}
            rows.append((str(p), f"emulated ({entry.get('interpreter', 'qemu-' + qemu)})"))
    return rows
