"""Config files and INVOKE_BAKEHOUSE_* variables, checked the way invoke will read them.

Pure logic: a file path or a parsed document in, a document out or one bad-input line naming the
file (and line, for syntax) or the variable. The project's invoke.yaml is the reference: other
sources may only set the settings it has, with values of the same type.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from .errors import bad_input

SECTION = "bakehouse"
ENV_PREFIX = "INVOKE_"
# Suffixes invoke reads config files with, in its order of preference.
SUFFIXES = ("yaml", "yml", "json", "py")
# Maps whose keys are the user's own (dimensions, bake variables, package namespaces): any key goes.
FREE_FORM = frozenset(
    {
        "bake.matrix",
        "bake.variables",
        "builder.registry_ca",
        "complement.namespaces",
        "lint.full_matrix",
        "ci.runners",
    }
)
# invoke reads a boolean variable as false only when it is "0" or empty; these would silently be true.
_FALSE_WORDS = frozenset({"false", "no", "off", "n", "f"})


# libyaml's parser where PyYAML has it: every command checks invoke.yaml at start-up, ~10x faster
# than the pure-Python one. A document it refuses is parsed again by the pure one, whose line,
# column and words the refusal then carries (as invoke's own pure-Python loader would see it).
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        return yaml.safe_load(text)


def _syntax_error(path: Path, exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    return f"{where}: not valid YAML: {problem}"


def load_document(path: Path) -> dict[str, Any] | None:
    """The settings in a config file; None for a Python one (invoke runs it; nothing to check)."""
    suffix = path.suffix.lstrip(".")
    if suffix not in SUFFIXES:
        raise bad_input(f"{path}: invoke reads config files ending in {', '.join('.' + s for s in SUFFIXES)}")
    if suffix == "py":
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise bad_input(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise bad_input(f"{path}: can't read it ({exc})") from None
    if suffix == "json":
        try:
            document = json.loads(text) if text.strip() else None
        except json.JSONDecodeError as exc:
            raise bad_input(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    else:
        try:
            document = parse_yaml(text)
        except yaml.YAMLError as exc:
            raise bad_input(_syntax_error(path, exc)) from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise bad_input(f"{path}: expected settings (a mapping) at the top, got {_kind(document)}")
    if not isinstance(document.get(SECTION, {}), dict):
        raise bad_input(f"{path}: {SECTION}: expected a mapping, got {_kind(document[SECTION])}")
    return document


def _kind(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _expected(default: object) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return "a whole number"
    if isinstance(default, float):
        return "a number"
    if isinstance(default, str):
        return "a string"
    if isinstance(default, list):
        return "a list"
    return "a mapping"


def _same_type(default: object, value: object) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    if isinstance(default, list):
        # A tuple is a list to the settings loader (config built in Python may hold one).
        return isinstance(value, list | tuple)
    for kind in (int, str, dict):
        if isinstance(default, kind):
            return isinstance(value, kind)
    return True


def _is_scalar(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def check_settings(
    defaults: Mapping[str, Any], values: Mapping[str, Any], source: str | None, path: str = SECTION
) -> None:
    """Every setting of ``values`` exists in ``defaults`` with a value of the same type.

    A null default takes any single value; a list holds single values; the free-form maps take any
    key with a single value or a list of them. ``source`` (a file) starts the message; None for
    settings whose source is no longer known (invoke's merged config).
    """
    relative = path.partition(".")[2]
    prefix = f"{source}: " if source else ""
    for key, value in values.items():
        where = f"{path}.{key}"
        if relative in FREE_FORM:
            if not (_is_scalar(value) or (isinstance(value, list | tuple) and all(map(_is_scalar, value)))):
                raise bad_input(f"{prefix}{where}: expected a value or a list of values, got {_kind(value)}")
            continue
        if key not in defaults:
            known = ", ".join(sorted(str(k) for k in defaults))
            raise bad_input(f"{prefix}unknown setting {where} (known in {path}: {known})")
        default = defaults[key]
        if isinstance(default, Mapping):
            if not isinstance(value, Mapping):
                raise bad_input(f"{prefix}{where}: expected a mapping, got {_kind(value)}")
            check_settings(default, value, source, where)
        elif default is None:
            if not _is_scalar(value):
                raise bad_input(f"{prefix}{where}: expected a single value, got {_kind(value)}")
        elif not _same_type(default, value):
            hint = " (quote it)" if isinstance(default, str) and _is_scalar(value) else ""
            raise bad_input(f"{prefix}{where}: expected {_expected(default)}, got {_kind(value)}{hint}")
        elif isinstance(default, list) and not all(map(_is_scalar, value)):
            inner = next(item for item in value if not _is_scalar(item))
            raise bad_input(f"{prefix}{where}: expected a list of single values, got one with {_kind(inner)}")


def merged(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` over ``base``, mappings merged key by key (as invoke merges config levels)."""
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def _leaves(tree: Mapping[str, Any], path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key, value in tree.items():
        if isinstance(value, Mapping):
            yield from _leaves(value, (*path, str(key)))
        else:
            yield (*path, str(key)), value


def env_variable(path: tuple[str, ...]) -> str:
    """The variable invoke reads a setting from: INVOKE_ + the key path joined by '_', upper-case."""
    return ENV_PREFIX + "_".join(path).upper()


def check_environment(settings: Mapping[str, Any], env: Mapping[str, str]) -> None:
    """Every INVOKE_BAKEHOUSE_* variable names a setting and holds a value invoke can use for it.

    invoke ignores variables that name no setting, can't read lists from the environment, casts
    numbers with int() (a traceback on "soon") and reads every boolean but "0" and "" as true.
    """
    leaves = {env_variable(path): (path, value) for path, value in _leaves(settings, (SECTION,))}
    prefix = env_variable((SECTION,)) + "_"
    for name in sorted(env):
        if not name.startswith(prefix):
            continue
        text = env[name]
        if name not in leaves:
            raise bad_input(f"{name}: no such setting (e.g. INVOKE_BAKEHOUSE_BUILDER_NAME for builder.name)")
        path, default = leaves[name]
        setting = ".".join(path)
        if isinstance(default, list | tuple):
            raise bad_input(
                f"{name}: {setting} is a list, which invoke can't read from the environment; "
                "set it in a config file (inv -f FILE)"
            )
        if isinstance(default, bool):
            if text.strip().lower() in _FALSE_WORDS:
                raise bad_input(
                    f"{name}={text!r}: invoke would read this as true; use 0 for false, 1 for true"
                )
        elif isinstance(default, int | float):
            try:
                type(default)(text)
            except ValueError:
                raise bad_input(f"{name}={text!r}: {setting} expects {_expected(default)}") from None
