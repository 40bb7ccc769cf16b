"""The one text cleaner every report writer uses."""

from __future__ import annotations

import re

import pytest

from tasks.shared.text_clean import clean_text, for_terminal, one_line, strip_ansi, visible

# XML 1.0's Char production, inverted: what may not appear in a document at all.
XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("\x1b[31mError\x1b[0m", "Error"),  # colours, as Complement prints failures
        ("\x1b[1;38;5;196mbold red\x1b[m", "bold red"),
        ("a\x1b[2K\x1b[1Gb", "ab"),  # erase line, cursor to column 1
        ("\x1b]8;;https://example.org\x1b\\link\x1b]8;;\x1b\\", "link"),  # hyperlink, ST-terminated
        ("\x1b]0;title\x07text", "text"),  # window title, BEL-terminated
        ("\x1b(Bascii", "ascii"),  # charset designation
        ("\x9b31mC1 CSI", "C1 CSI"),
        ("[31m no escape, no change", "[31m no escape, no change"),
    ],
)
def test_ansi_escapes_are_removed_and_plain_text_stays(raw: str, plain: str) -> None:
    assert strip_ansi(raw) == plain


def test_forbidden_characters_are_replaced_visibly() -> None:
    assert visible("nul\x00bel\x07esc\x1bdel\x7f") == "nul␀bel␇esc␛del␡"
    assert visible("c1\x85 nonchar\ufffe\uffff") == "c1\ufffd nonchar\ufffd\ufffd"
    assert visible("lone \ud800 and \udcff") == "lone \ufffd and \ufffd"
    assert visible("tab\tlf\ncr\r ok ✓ 😀 \U0001fffe") == "tab\tlf\ncr\r ok ✓ 😀 \U0001fffe"


def test_clean_text_strips_then_replaces_and_is_idempotent() -> None:
    raw = "\x1b[31mred\x1b[0m \x00 \ud83d lone escape\x1b"
    cleaned = clean_text(raw)
    assert cleaned == "red ␀ \ufffd lone escape␛"
    assert clean_text(cleaned) == cleaned
    assert not XML_FORBIDDEN.search(cleaned)
    cleaned.encode("utf-8")  # strict: no surrogate left


def test_one_line_pictures_line_breaks() -> None:
    assert one_line("Test\nName\r\tx") == "Test␊Name␍␉x"


def test_terminal_keeps_colours_only_on_a_tty() -> None:
    raw = "\x1b[31mred\x1b[0m\x00\ud800"
    assert for_terminal(raw, tty=True) == "\x1b[31mred\x1b[0m␀\ufffd"
    assert for_terminal(raw, tty=False) == "red␀\ufffd"


def test_a_megabyte_of_hostile_text_is_cleaned_whole() -> None:
    chunk = "\x1b[31m" + "x" * 90 + "\x00\ud800\x1b]0;t" + "\n"
    raw = chunk * (1_000_000 // len(chunk))
    cleaned = clean_text(raw)
    assert "\x1b" not in cleaned
    assert not XML_FORBIDDEN.search(cleaned)
    assert cleaned.count("\n") == raw.count("\n")
