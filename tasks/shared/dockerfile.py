"""A Dockerfile split into its instructions the way BuildKit's parser splits it.

What is read, and why it matters to the callers (lint's digest pins, publish's context reads,
registry-free supply of what a tree's `# syntax=` lines and FROM lines name):
- parser directives at the very top; only ``escape`` changes the reading (the continuation mark);
- comment and blank lines are skipped, also inside a continuation;
- continuation lines are joined with nothing in between, as BuildKit joins them (so the whitespace
  around the mark stays);
- heredoc bodies of RUN/COPY/ADD (also behind ONBUILD, never in JSON form) are skipped: their lines
  are a file's or a script's content, not instructions.

Line breaks are ``\\n`` only (a ``\\r`` before one is dropped), as for BuildKit, so line numbers are
the ones its errors name. What an instruction means is left to the caller.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A parser directive: `# name=value`, only before the first instruction, comment or blank line.
_DIRECTIVE = re.compile(r"^#\s*([A-Za-z][A-Za-z0-9]*)\s*=\s*(.+?)\s*$")
# Names BuildKit reads as directives; any other `# x=y` line is a comment that ends the directives.
_DIRECTIVE_NAMES = frozenset({"syntax", "escape", "check"})
_ESCAPE_MARKS = ("\\", "`")
# BuildKit splits the keyword from its arguments at the first run of these (not at newlines).
_KEYWORD_SEPARATOR = re.compile(r"[\t\v\f\r ]+")
# A shell word with its quotes kept: unquoted characters, backslash escapes, quoted strings.
_SHELL_WORD = re.compile(r"""(?:[^\s"'\\]|\\.|"(?:[^"\\]|\\.)*"|'[^']*')+""")
# A heredoc word: an optional file descriptor, <<, `-` to strip the body's leading tabs, the name.
_HEREDOC_WORD = re.compile(r"^\d*<<(-?)([^<]+)$")
_HEREDOC_KEYWORDS = frozenset({"RUN", "COPY", "ADD"})
# A Dockerfile variable reference: $X, ${X}, ${X:-default}, ${X:+alternative} (and without the colon).
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")
# Marks a variable expand() could not resolve: UNRESOLVED name UNRESOLVED.
UNRESOLVED = "\x00"
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
SYNTAX = "# syntax="


@dataclass(frozen=True)
class Instruction:
    line: int  # the 1-based line the instruction starts on
    keyword: str  # upper case
    arguments: str  # everything after the keyword, continuation lines joined


@dataclass(frozen=True)
class _Heredoc:
    name: str
    strips_tabs: bool


@dataclass(frozen=True)
class Directive:
    line: int  # 1-based
    name: str  # lower case: syntax, escape, check
    value: str


def _directives(lines: list[str]) -> list[Directive]:
    found: list[Directive] = []
    for number, line in enumerate(lines, 1):
        match = _DIRECTIVE.match(line.lstrip())
        if not match or match.group(1).lower() not in _DIRECTIVE_NAMES:
            break
        found.append(Directive(number, match.group(1).lower(), match.group(2)))
    return found


def directives(text: str) -> list[Directive]:
    """The parser directives at the top of a Dockerfile (``# syntax=…``, ``# escape=…``, ``# check=…``)."""
    return _directives([line.removesuffix("\r") for line in text.removeprefix("\ufeff").split("\n")])


def _escape_mark(lines: list[str]) -> str:
    escape = "\\"
    for directive in _directives(lines):
        # BuildKit refuses any other mark; such a file never builds, so the default is kept.
        if directive.name == "escape" and directive.value in _ESCAPE_MARKS:
            escape = directive.value
    return escape


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def split_keyword(text: str) -> tuple[str, str]:
    """``'copy  a b'`` -> ``('COPY', 'a b')``."""
    keyword, *rest = _KEYWORD_SEPARATOR.split(text.strip(), maxsplit=1)
    return keyword.upper(), rest[0] if rest else ""


def split_flags(arguments: str) -> tuple[list[str], str]:
    """The leading ``--flag[=value]`` words of an instruction's arguments, and the text after them."""
    flags: list[str] = []
    rest = arguments.strip()
    while rest.startswith("--"):
        flag, *after = rest.split(maxsplit=1)
        flags.append(flag)
        rest = after[0] if after else ""
    return flags, rest


def _is_json_form(arguments: str) -> bool:
    _, rest = split_flags(arguments)
    if not rest.startswith("["):
        return False
    try:
        words = json.loads(rest)
    except ValueError:
        return False
    return isinstance(words, list) and all(isinstance(word, str) for word in words)


def _heredocs(keyword: str, arguments: str) -> list[_Heredoc]:
    """The heredocs an instruction opens, in order (their bodies follow it in that order)."""
    if keyword == "ONBUILD":
        keyword, arguments = split_keyword(arguments)
    if keyword not in _HEREDOC_KEYWORDS or _is_json_form(arguments):
        return []
    found = []
    for word in _SHELL_WORD.findall(arguments):
        match = _HEREDOC_WORD.match(word)
        if not match:
            continue
        try:
            names = shlex.split(match.group(2))  # the name without its quotes
        except ValueError:
            continue
        if len(names) == 1:
            found.append(_Heredoc(names[0], strips_tabs=bool(match.group(1))))
    return found


def instructions(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile in order, each with the line it starts on."""
    lines = [line.removesuffix("\r") for line in text.removeprefix("\ufeff").split("\n")]
    escape = re.escape(_escape_mark(lines))
    # The mark ends a line (trailing blanks allowed) unless the mark itself is escaped.
    continuation = re.compile(rf"(?<!{escape}){escape}[ \t]*$")
    found: list[Instruction] = []
    index = 0
    while index < len(lines):
        start = index + 1
        first = lines[index].lstrip()
        index += 1
        if first.startswith("#"):
            continue
        joined = continuation.sub("", first)
        continued = joined != first
        if not continued and not joined:
            continue
        while continued and index < len(lines):
            line = lines[index]
            index += 1
            if _is_comment(line) or not line.strip():
                continue
            part = continuation.sub("", line)
            continued = part != line
            joined += part
        if not joined.strip():
            continue
        keyword, arguments = split_keyword(joined)
        found.append(Instruction(start, keyword, arguments))
        for heredoc in _heredocs(keyword, arguments):
            while index < len(lines):
                body = lines[index]
                index += 1
                if (body.lstrip("\t") if heredoc.strips_tabs else body) == heredoc.name:
                    break
    return found


# --- what instructions name (lint's digest pins and registry-free supply read them alike) ---


def split_arg(arguments: str) -> list[tuple[str, str | None]]:
    """``ARG A=1 B`` -> [("A", "1"), ("B", None)]; quotes around a default are removed."""
    declarations: list[tuple[str, str | None]] = []
    for word in arguments.split():
        name, equals, value = word.partition("=")
        if equals:
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            declarations.append((name, value))
        else:
            declarations.append((name, None))
    return declarations


def expand(text: str, variables: Mapping[str, str | None]) -> str:
    """Substitute ``$X``, ``${X}``, ``${X:-d}``, ``${X:+a}``; unknown variables become UNRESOLVED markers."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(4)
        operator, word = match.group(2), match.group(3) or ""
        value = variables.get(name)  # None: unset (missing, or declared without a default)
        if operator in (":-", "-"):
            return value if value is not None and (value or operator == "-") else word
        if operator in (":+", "+"):
            return word if value is not None and (value or operator == "+") else ""
        return value if value is not None else f"{UNRESOLVED}{name}{UNRESOLVED}"

    return _VARIABLE.sub(substitute, text)


def is_pinned(reference: str) -> bool:
    return bool(DIGEST.search(reference))


def from_image(arguments: str) -> tuple[str, str]:
    """``FROM --platform=x image AS name`` -> (image, name)."""
    words = [word for word in arguments.split() if not word.startswith("--")]
    image = words[0] if words else ""
    stage = words[2] if len(words) >= 3 and words[1].lower() == "as" else ""
    return image, stage


def dockerfile_of(target: Mapping[str, Any], root: Path) -> str | None:
    """The tree-relative Dockerfile a printed bake target builds, or None (inline, remote context)."""
    if target.get("dockerfile-inline"):
        return None
    context = str(target.get("context") or ".")
    if "://" in context or context.startswith("git@") or context == "-":
        return None
    dockerfile = str(target.get("dockerfile") or "Dockerfile")
    path = (Path(dockerfile) if Path(dockerfile).is_absolute() else root / context / dockerfile).resolve()
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()
