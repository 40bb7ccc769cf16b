"""buildkitd.toml: validate, apply config overrides, render.

Pure logic: a parsed TOML document (a dict) in, a dict or TOML text out. Every problem is reported
as one line naming the key, so a typo never reaches buildx (which would copy the file into the
builder and only fail at boot, or silently ignore the key).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..shared.errors import bad_input
from ..shared.inputs import check_host_port, check_mirror
from ..shared.settings import BuilderSettings, Scalar
from ..shared.units import go_duration_seconds

# Sizes as BuildKit reads them: plain bytes, a number with a unit, or a percentage of the disk.
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgtp]i?b?|b)?$", re.IGNORECASE)
_PERCENT = re.compile(r"^(\d+(\.\d+)?)%$")
# BuildKit reads "8GB" as 8 GiB (binary units with or without the "i").
_UNIT_BYTES = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40, "p": 2**50}

CACHE_MOUNT_FILTER = "type==exec.cachemount"
OTHER_FILTER = "type!=exec.cachemount"

_SIZE_KEYS = {"reservedSpace", "maxUsedSpace", "minFreeSpace", "gckeepstorage", "keepBytes"}
_DURATION_KEYS = {"keepDuration", "platformsCacheMaxAge"}

_POLICY_KEYS = {
    "all",
    "filters",
    "keepDuration",
    "reservedSpace",
    "maxUsedSpace",
    "minFreeSpace",
    "keepBytes",
}
_WORKER_KEYS = {
    "enabled",
    "platforms",
    "snapshotter",
    "rootless",
    "noProcessSandbox",
    "gc",
    "gckeepstorage",
    "reservedSpace",
    "maxUsedSpace",
    "minFreeSpace",
    "max-parallelism",
    "cniPoolSize",
    "cniConfigPath",
    "cniBinaryPath",
    "binary",
    "apparmor-profile",
    "selinux",
    "labels",
    "gcpolicy",
    "address",
    "namespace",
    "defaultCgroupParent",
    "runtime",
    "network",
}
_REGISTRY_KEYS = {"mirrors", "http", "insecure", "ca", "keypair"}
# Sections whose contents bakehouse passes through untouched (it has no opinion on them).
_OPAQUE_SECTIONS = {"grpc", "log", "dns", "otel", "history", "frontends", "cdi", "containerd", "cache"}
_TOP_SCALARS = {"debug", "trace", "root", "insecure-entitlements", "entitlements"}


def parse_size(value: object, key: str) -> int | str:
    """Check a BuildKit size; return bytes, or the string itself for a percentage."""
    if isinstance(value, bool):
        raise bad_input(f'{key}: expected a size such as "64GB", "10%" or bytes, got {value!r}')
    if isinstance(value, int):
        if value < 0:
            raise bad_input(f"{key}: a size can't be negative ({value})")
        return value
    if isinstance(value, str):
        text = value.strip()
        percent = _PERCENT.match(text)
        if percent:
            if not 0 <= float(percent.group(1)) <= 100:
                raise bad_input(f"{key}: {value!r} is not a percentage between 0 and 100")
            return text
        size = _SIZE.match(text)
        if size:
            digits = size.group(1)
            unit = text[len(digits) :].strip().lower()
            return int(float(digits) * _UNIT_BYTES[unit[:1] if unit not in ("b", "") else ""])
    raise bad_input(f'{key}: {value!r} is not a size (use bytes, "512MB", "64GB" or "10%")')


def parse_duration(value: object, key: str) -> float:
    """Check a Go duration (or integer seconds, which BuildKit also takes); return seconds."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return float(value)
    if not isinstance(value, str):
        raise bad_input(f'{key}: expected a Go duration such as "48h", got {value!r}')
    return go_duration_seconds(value, key)


def _check_keys(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise bad_input(f"{where}: unknown key {key!r} (known: {', '.join(sorted(allowed))})")


def _check_values(table: Mapping[str, Any], where: str) -> None:
    for key, value in table.items():
        if key in _SIZE_KEYS:
            parse_size(value, f"{where}.{key}")
        elif key in _DURATION_KEYS:
            parse_duration(value, f"{where}.{key}")


def validate(doc: Mapping[str, Any]) -> None:
    """Raise a one-line bad-input error for the first unknown key or malformed value."""
    known_top = _TOP_SCALARS | _OPAQUE_SECTIONS | {"system", "worker", "registry"}
    _check_keys(doc, known_top, "buildkitd.toml")
    system = doc.get("system", {})
    _check_keys(system, {"platformsCacheMaxAge"}, "[system]")
    _check_values(system, "[system]")
    for worker_name, worker in doc.get("worker", {}).items():
        if worker_name not in ("oci", "containerd"):
            raise bad_input(f"[worker]: unknown worker {worker_name!r} (known: containerd, oci)")
        where = f"[worker.{worker_name}]"
        _check_keys(worker, _WORKER_KEYS, where)
        _check_values(worker, where)
        for index, policy in enumerate(worker.get("gcpolicy", []), start=1):
            policy_where = f"{where} gcpolicy #{index}"
            _check_keys(policy, _POLICY_KEYS, policy_where)
            _check_values(policy, policy_where)
            if "filters" in policy and not all(isinstance(f, str) for f in policy["filters"]):
                raise bad_input(f"{policy_where}.filters: expected a list of strings")
    for host, registry in doc.get("registry", {}).items():
        where = f'[registry."{host}"]'
        check_host_port(host, "buildkitd.toml [registry] table")
        _check_keys(registry, _REGISTRY_KEYS, where)
        mirrors = registry.get("mirrors", [])
        if not isinstance(mirrors, list) or not all(isinstance(m, str) and m for m in mirrors):
            raise bad_input(f"{where}.mirrors: expected a list of host[:port] strings")
        for mirror in mirrors:
            check_mirror(mirror, f"{where}.mirrors")
        ca = registry.get("ca", [])
        if not isinstance(ca, list) or not all(isinstance(path, str) and path for path in ca):
            raise bad_input(f"{where}.ca: expected a list of CA file paths")


def load(text: str, source: str = "buildkitd.toml") -> dict[str, Any]:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise bad_input(f"{source}: not valid TOML: {exc}") from exc
    validate(doc)
    return doc


@dataclass(frozen=True)
class Overrides:
    """Values from invoke config that replace or extend buildkitd.toml; None keeps the file's value."""

    # Sizes and durations as configured (any single value): apply_overrides validates the result.
    platforms_cache_max_age: Scalar = None
    gc_enabled: bool | None = None
    reserved_space: Scalar = None
    max_used_space: Scalar = None
    min_free_space: Scalar = None
    cache_mounts_keep_duration: Scalar = None
    cache_mounts_max_used_space: Scalar = None
    other_keep_duration: Scalar = None
    other_max_used_space: Scalar = None
    floor_min_free_space: Scalar = None
    mirrors: tuple[str, ...] = ()
    insecure_registries: tuple[str, ...] = ()
    # Registry host -> absolute path of a CA file to trust for it (checked: see registry_ca_files).
    registry_ca: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(
        cls,
        builder: BuilderSettings,
        extra_mirrors: tuple[str, ...] = (),
        extra_insecure: tuple[str, ...] = (),
        ca_root: Path | None = None,
    ) -> Overrides:
        """The builder settings as overrides; relative CA paths are taken from ``ca_root``
        (required when any CA is configured)."""
        # Checked here, under their config names, before they are merged into the file's tables.
        for mirror in builder.mirrors:
            check_mirror(mirror, "builder.mirrors")
        for host in builder.insecure_registries:
            check_host_port(host, "builder.insecure_registries")
        registry_ca = registry_ca_files(builder.registry_ca, ca_root) if builder.registry_ca else {}
        gc = builder.gc
        return cls(
            platforms_cache_max_age=builder.platforms_cache_max_age,
            gc_enabled=_as_bool(gc.enabled, "builder.gc.enabled"),
            reserved_space=gc.reserved_space,
            max_used_space=gc.max_used_space,
            min_free_space=gc.min_free_space,
            cache_mounts_keep_duration=gc.cache_mounts.keep_duration,
            cache_mounts_max_used_space=gc.cache_mounts.max_used_space,
            other_keep_duration=gc.other.keep_duration,
            other_max_used_space=gc.other.max_used_space,
            floor_min_free_space=gc.floor.min_free_space,
            mirrors=builder.mirrors + extra_mirrors,
            insecure_registries=builder.insecure_registries + extra_insecure,
            registry_ca=registry_ca,
        )


_PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----"


def registry_ca_files(configured: Mapping[str, str], root: Path | None) -> dict[str, str]:
    """``builder.registry_ca`` checked: each key a registry host[:port], each value a readable PEM
    certificate file (relative to ``root``). Returns host -> absolute path: buildx reads the file
    at create time, from whatever directory it runs in."""
    checked = {}
    for host, value in configured.items():
        check_host_port(host, "builder.registry_ca")
        label = f"builder.registry_ca {host}"
        path = Path(value)
        if not path.is_absolute():
            if root is None:
                raise bad_input(f"{label}: {value!r} is relative and there is no directory to read it from")
            path = root / path
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            raise bad_input(f"{label}: {path}: no such file") from None
        except OSError as exc:
            raise bad_input(f"{label}: {path}: can't read it ({exc.strerror or exc})") from None
        if _PEM_CERTIFICATE not in text:
            raise bad_input(f"{label}: {path}: not a PEM certificate (no {_PEM_CERTIFICATE} line)")
        checked[host] = str(path)
    return checked


def _as_bool(value: object, key: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.lower() in ("true", "1", "yes")
    raise bad_input(f"{key}: expected true or false, got {value!r}")


def _policy_with_filter(policies: list[dict[str, Any]], wanted: str) -> dict[str, Any]:
    for policy in policies:
        if policy.get("filters") == [wanted]:
            return policy
    added: dict[str, Any] = {"filters": [wanted]}
    policies.append(added)
    return added


def _floor_policy(policies: list[dict[str, Any]]) -> dict[str, Any]:
    for policy in policies:
        if policy.get("all") and "filters" not in policy and "minFreeSpace" in policy:
            return policy
    added: dict[str, Any] = {"all": True}
    policies.append(added)
    return added


def _set(table: dict[str, Any], key: str, value: object) -> None:
    if value is not None:
        table[key] = value


def apply_overrides(doc: Mapping[str, Any], overrides: Overrides) -> dict[str, Any]:
    """Return a new document with the overrides merged in, then validated."""
    merged: dict[str, Any] = _deep_copy(doc)
    if overrides.platforms_cache_max_age is not None:
        merged.setdefault("system", {})["platformsCacheMaxAge"] = overrides.platforms_cache_max_age
    worker = merged.setdefault("worker", {}).setdefault("oci", {})
    _set(worker, "gc", overrides.gc_enabled)
    _set(worker, "reservedSpace", overrides.reserved_space)
    _set(worker, "maxUsedSpace", overrides.max_used_space)
    _set(worker, "minFreeSpace", overrides.min_free_space)
    policies: list[dict[str, Any]] = worker.setdefault("gcpolicy", [])
    if overrides.cache_mounts_keep_duration is not None or overrides.cache_mounts_max_used_space is not None:
        policy = _policy_with_filter(policies, CACHE_MOUNT_FILTER)
        _set(policy, "keepDuration", overrides.cache_mounts_keep_duration)
        _set(policy, "maxUsedSpace", overrides.cache_mounts_max_used_space)
    if overrides.other_keep_duration is not None or overrides.other_max_used_space is not None:
        policy = _policy_with_filter(policies, OTHER_FILTER)
        _set(policy, "keepDuration", overrides.other_keep_duration)
        _set(policy, "maxUsedSpace", overrides.other_max_used_space)
    if overrides.floor_min_free_space is not None:
        _floor_policy(policies)["minFreeSpace"] = overrides.floor_min_free_space
    if not policies:
        del worker["gcpolicy"]
    registries = merged.setdefault("registry", {})
    if overrides.mirrors:
        docker_io = registries.setdefault("docker.io", {})
        existing = list(docker_io.get("mirrors", []))
        docker_io["mirrors"] = existing + [m for m in overrides.mirrors if m not in existing]
    for host in overrides.insecure_registries:
        registries.setdefault(host, {})["http"] = True
    for host, ca_file in overrides.registry_ca.items():
        table = registries.setdefault(host, {})
        # A host with a CA is an https one; said explicitly, since BuildKit reaches localhost and
        # 127.0.0.1 over plain http unless the table sets `http` (an insecure_registries entry wins).
        table.setdefault("http", False)
        existing = list(table.get("ca", []))
        table["ca"] = existing + ([ca_file] if ca_file not in existing else [])
    if not registries:
        del merged["registry"]
    validate(merged)
    return merged


def _deep_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


# --- rendering -------------------------------------------------------------------------------


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _string(name)


def _string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    raise TypeError(f"cannot render {value!r} as TOML")


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def render(doc: Mapping[str, Any]) -> str:
    """Serialize the document as TOML (tables after scalars, stable key order)."""
    lines: list[str] = []

    def emit(table: Mapping[str, Any], path: list[str]) -> None:
        scalars = {k: v for k, v in table.items() if not isinstance(v, Mapping) and not _is_table_array(v)}
        for key, value in scalars.items():
            lines.append(f"{'  ' if path else ''}{_key(key)} = {_scalar(value)}")
        for key, value in table.items():
            if isinstance(value, Mapping):
                child = [*path, _key(key)]
                has_scalars = any(
                    not isinstance(v, Mapping) and not _is_table_array(v) for v in value.values()
                )
                if has_scalars or not value:
                    lines.append("")
                    lines.append(f"[{'.'.join(child)}]")
                emit(value, child)
            elif _is_table_array(value):
                for item in value:
                    lines.append("")
                    lines.append(f"[[{'.'.join([*path, _key(key)])}]]")
                    emit(item, [*path, _key(key)])

    emit(doc, [])
    return "\n".join(lines).strip() + "\n"
