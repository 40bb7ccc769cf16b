"""`-run`/`-skip` pairs that Go's own matching of the gomatch fixture is checked against (selection
and shards): top-level names, anchors, subtest levels, alternatives, skips of a level below."""

from __future__ import annotations

GO_PATTERN_CASES = [
    ("", ""),
    ("TestAlpha", ""),
    ("^TestAlpha$", ""),
    ("Alpha/two", ""),
    ("Alpha/two/y z", ""),
    ("^TestAlpha$/^one$", ""),
    ("TestBeta/a/b", ""),
    ("TestAlpha/one|TestBeta", ""),
    ("^(TestAlphabet|TestBeta)$", ""),
    ("", "TestAlpha"),
    ("", "TestAlpha/two"),
    ("", "^TestAlpha$/two/x"),
    ("TestAlpha", "TestAlpha/one"),
    ("", "TestBeta/a|Alphabet"),
    ("Test[AB]", "two"),
]
