"""Text from tools, made safe for every report a person or a CI reads.

Tool output carries terminal colours (Complement's failures are red), stray control characters,
bytes that were not UTF-8 (decoded to U+FFFD or to lone surrogates) and anything else a test
prints. XML 1.0 forbids most C0 controls, surrogates and U+FFFE/U+FFFF outright, so one such
character makes a JUnit or checkstyle file unreadable; a lone surrogate can't even be encoded as
UTF-8. Every writer passes its text through here, so no input can make a report invalid; the raw
text stays in `logs.jsonl` and `tester.log`.
"""

from __future__ import annotations

import re

# ECMA-48 escape sequences, longest forms first: string commands (OSC, DCS, SOS, PM, APC) up to
# their terminator, CSI (colours, cursor moves), 8-bit CSI, then any other ESC sequence (whose
# rare space intermediate is left out, so a stray ESC before a word doesn't eat its first letter).
_ANSI = re.compile(
    r"\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
    r"|\x1b[!-/]*[0-~]"
)
# What XML 1.0 forbids (C0 controls but tab, LF, CR; surrogates; U+FFFE, U+FFFF) plus what it only
# discourages and no reader can show (DEL, C1 controls).
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# The same without ESC, for a terminal that shows colours.
_FORBIDDEN_BUT_ESCAPE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_LINE_BREAKS = re.compile("[\t\n\r]")
REPLACEMENT = "\ufffd"
_CONTROL_PICTURES = 0x2400  # U+2400..U+241F picture the C0 controls: NUL is ␀, ESC is ␛
_DELETE_PICTURE = "\u2421"


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(_CONTROL_PICTURES + code)
    if code == 0x7F:
        return _DELETE_PICTURE
    return REPLACEMENT


def strip_ansi(text: str) -> str:
    """Terminal escape sequences removed (colours, cursor moves, titles, hyperlinks)."""
    return _ANSI.sub("", text)


def visible(text: str) -> str:
    """Characters XML 1.0 forbids (and DEL, C1 controls) replaced by something a reader sees:
    a C0 control by its control picture (NUL -> ␀), the others by U+FFFD. Tab, LF, CR stay."""
    return _FORBIDDEN.sub(_picture, text)


def clean_text(text: str) -> str:
    """Text for people and for XML/JSON/HTML readers: no escape sequences, nothing forbidden."""
    return visible(strip_ansi(text))


def one_line(text: str) -> str:
    """`clean_text` for names and table cells: line breaks and tabs shown as pictures too."""
    return _LINE_BREAKS.sub(_picture, clean_text(text))


def for_terminal(text: str, *, tty: bool) -> str:
    """On a terminal, colours are kept (only what can't be shown or encoded is replaced); into a
    file or a pipe (CI logs) it is `clean_text`."""
    return _FORBIDDEN_BUT_ESCAPE.sub(_picture, text) if tty else clean_text(text)
