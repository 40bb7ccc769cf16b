"""A small self-contained HTML page for reports people open in a browser.

No scripts, no external styles (a CI artifact viewer may block both); every piece of text goes
through `text` or `code`, which clean it and escape it.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from .text_clean import clean_text, one_line

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 75em; padding: 0 1em; }
table { border-collapse: collapse; margin: .5em 0 1em; }
th, td { border: 1px solid #ccc; padding: .2em .6em; text-align: left; vertical-align: top; }
td.n { text-align: right; }
pre { background: #f6f6f6; padding: .6em; overflow-x: auto; white-space: pre-wrap; }
details { margin: .3em 0; }
summary { cursor: pointer; }
.bad { color: #b00020; } .good { color: #0a7a2f; } .muted { color: #666; }
""".strip()


def text(value: object) -> str:
    """Escaped text that stays on one line (names, cells)."""
    return html.escape(one_line(str(value)))


def block(value: str) -> str:
    """Escaped multi-line text, for a <pre>."""
    return html.escape(clean_text(value))


def code(value: object) -> str:
    return f"<code>{text(value)}</code>"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    """A table of cells that are already HTML (made with `text`/`code`)."""
    head = "".join(f"<th>{text(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="n">{cell}</td>' if index in numeric else f"<td>{cell}</td>"
            for index, cell in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def page(title: str, sections: Iterable[str]) -> str:
    """A whole document; `sections` are HTML fragments in order."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{text(title)}</title>\n<style>\n{_STYLE}\n</style>\n</head>\n<body>\n"
        + "\n".join(sections)
        + "\n</body>\n</html>\n"
    )
