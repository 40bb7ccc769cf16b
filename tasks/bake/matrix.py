"""Matrix vectors: defaults from config, narrowed by env vars and task options.

Precedence, highest first: task option (`--matrix NAME=VALUE`), then environment variables
(singular `sys_version=bookworm-slim` or plural `sys_versions='["a","b"]'`), then the config
defaults. Setting both the singular and the plural variable of one dimension is ambiguous and
refused rather than silently picking one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from ..shared.errors import bad_input

Matrix = dict[str, list[str]]


def singular(plural: str) -> str:
    return plural[:-1] if plural.endswith("s") else plural


def parse_vector(name: str, text: str) -> list[str]:
    """A plural value: a non-empty JSON array of non-empty strings."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise bad_input(f"{name}: not a JSON array ({exc.msg}): {text!r}") from exc
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise bad_input(f"{name}: expected a non-empty JSON array of strings, got {text!r}")
    return list(dict.fromkeys(value))


def _assign(matrix: Matrix, name: str, value: str, source: str) -> str:
    """Set one dimension from NAME=VALUE; return the plural name it set."""
    plurals = {singular(p): p for p in matrix}
    if name in matrix:
        matrix[name] = parse_vector(f"{source} {name}", value)
        return name
    if name in plurals:
        if not value:
            raise bad_input(f"{source} {name}: empty value")
        matrix[plurals[name]] = [value]
        return plurals[name]
    known = ", ".join(f"{singular(p)}/{p}" for p in matrix)
    raise bad_input(f"unknown matrix dimension {name!r} (known: {known})")


def resolve(
    defaults: Mapping[str, Iterable[str]], env: Mapping[str, str], options: Iterable[str] = ()
) -> Matrix:
    matrix: Matrix = {}
    for plural, values in defaults.items():
        vector = [str(v) for v in values] if not isinstance(values, str) else parse_vector(plural, values)
        if not vector:
            raise bad_input(f"config bake.matrix.{plural}: empty vector")
        matrix[plural] = vector
    for plural in list(matrix):
        one, many = singular(plural), plural
        if one != many and env.get(one) and env.get(many):
            raise bad_input(f"both {one} and {many} are set in the environment; unset one")
        if env.get(many):
            _assign(matrix, many, env[many], "env")
        elif one != many and env.get(one):
            _assign(matrix, one, env[one], "env")
    for option in options:
        name, value = parse_option(option)
        _assign(matrix, name, value, "--matrix")
    return matrix


def parse_option(option: str) -> tuple[str, str]:
    """One ``--matrix NAME=VALUE`` as (name, value)."""
    name, sep, value = option.partition("=")
    if not sep or not name.strip():
        raise bad_input(f"--matrix {option!r}: expected NAME=VALUE")
    return name.strip(), value.strip()


def option_vectors(dimensions: Iterable[str], options: Iterable[str]) -> Matrix:
    """The vectors the ``--matrix`` options set, by plural name (the last option for a dimension wins)."""
    matrix: Matrix = {plural: [] for plural in dimensions}
    chosen: Matrix = {}
    for option in options:
        name, value = parse_option(option)
        plural = _assign(matrix, name, value, "--matrix")
        chosen[plural] = matrix[plural]
    return chosen


def as_bake_variables(matrix: Matrix) -> dict[str, str]:
    """Bake reads variables from the environment; dimensions are JSON strings there."""
    return {name: json.dumps(values) for name, values in matrix.items()}
