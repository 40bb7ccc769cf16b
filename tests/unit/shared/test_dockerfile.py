"""The one Dockerfile reader: instructions with their lines, split as BuildKit's parser splits them."""

from __future__ import annotations

import pytest

from tasks.shared.dockerfile import (
    Directive,
    Instruction,
    directives,
    dockerfile_of,
    expand,
    instructions,
    split_flags,
    split_keyword,
)


def test_continuations_comments_and_heredoc_bodies_keep_each_instruction_on_its_first_line():
    text = (
        "# syntax=docker/dockerfile:1\n"
        "ARG BASE_IMAGE=alpine:3.20\n"
        "\n"
        "FROM ${BASE_IMAGE} \\\n"
        "  # a comment inside the continuation\n"
        "\n"
        "  AS build\n"
        "RUN <<EOF\n"
        "FROM not-an-instruction\n"
        "EOF\n"
        "copy --from=build /a /b\n"
    )
    assert instructions(text) == [
        Instruction(2, "ARG", "BASE_IMAGE=alpine:3.20"),
        # Joined with nothing in between, as BuildKit does: the continuation line's indent stays.
        Instruction(4, "FROM", "${BASE_IMAGE}   AS build"),
        Instruction(8, "RUN", "<<EOF"),
        Instruction(11, "COPY", "--from=build /a /b"),
    ]


def test_the_escape_directive_changes_the_continuation_mark():
    text = "# escape=`\nFROM x\nCOPY a `\n  b C:\\dst\\\n"
    assert instructions(text)[1] == Instruction(3, "COPY", "a   b C:\\dst\\")


@pytest.mark.parametrize(
    "top",
    [
        "# a comment\n# escape=`\n",  # a comment ends the directives
        "\n# escape=`\n",  # so does a blank line
        "# unknown=1\n# escape=`\n",  # and a name BuildKit doesn't know
        "# escape=|\n",  # BuildKit refuses other marks; the default stays
    ],
)
def test_directives_count_only_at_the_very_top(top):
    first_line = top.count("\n") + 1
    assert instructions(top + "FROM x \\\n  AS y\n")[-1] == Instruction(first_line, "FROM", "x   AS y")


def test_an_escaped_mark_at_the_end_of_a_line_does_not_continue_it():
    assert instructions("FROM x\nRUN echo \\\\\nRUN true\n") == [
        Instruction(1, "FROM", "x"),
        Instruction(2, "RUN", "echo \\\\"),
        Instruction(3, "RUN", "true"),
    ]


def test_heredoc_forms_quotes_tabs_and_several_per_instruction():
    text = (
        "FROM x\n"
        "RUN <<'END' sh\n"
        "RUN not-an-instruction\n"
        "END\n"
        'COPY <<"one" <<-two /dst/\n'
        "FROM inside-one\n"
        "one\n"
        "\tFROM inside-two\n"
        "\ttwo\n"
        "RUN 3<<EOF-1 cat <&3\n"
        "EOF-1\n"
        "ONBUILD RUN <<EOF\n"
        "FROM inside-onbuild\n"
        "EOF\n"
        "COPY real /dst\n"
    )
    assert [(item.line, item.keyword) for item in instructions(text)] == [
        (1, "FROM"),
        (2, "RUN"),
        (5, "COPY"),
        (10, "RUN"),
        (12, "ONBUILD"),
        (15, "COPY"),
    ]


@pytest.mark.parametrize(
    "run",
    [
        'RUN ["sh", "-c", "cat <<EOF"]',  # JSON form has no heredocs
        "RUN echo '<<EOF'",  # quoted: a word, not a heredoc
        "RUN cat << EOF",  # `<<` must touch its name
        "RUN echo a<<EOF",  # and start a word
        "LABEL x=<<EOF",  # only RUN, COPY and ADD take heredocs
    ],
)
def test_what_is_not_a_heredoc_leaves_the_next_lines_instructions(run):
    text = f"FROM x\n{run}\nEOF\n"
    assert [item.keyword for item in instructions(text)] == ["FROM", run.split()[0], "EOF"]


def test_lines_break_at_newlines_only_and_a_byte_order_mark_is_dropped():
    text = "\ufeffFROM x\r\nLABEL a=\x0cb\r\nRUN true"
    assert instructions(text) == [
        Instruction(1, "FROM", "x"),
        Instruction(2, "LABEL", "a=\x0cb"),
        Instruction(3, "RUN", "true"),
    ]


def test_a_continuation_at_the_end_of_the_file_still_ends_its_instruction():
    assert instructions("FROM x\nRUN a \\\n") == [Instruction(1, "FROM", "x"), Instruction(2, "RUN", "a")]


def test_keywords_and_flags_split_at_any_blank():
    assert split_keyword("copy\t --chmod=644\tsrc /dst") == ("COPY", "--chmod=644\tsrc /dst")
    assert split_keyword("HEALTHCHECK") == ("HEALTHCHECK", "")
    assert split_flags("--link\t--from=build  a b") == (["--link", "--from=build"], "a b")
    assert split_flags("--mount=type=cache,target=/x") == (["--mount=type=cache,target=/x"], "")


def test_directives_are_read_only_at_the_top_of_the_file():
    text = "\ufeff# syntax = docker/dockerfile:1.11-labs\r\n#check=skip=all\n# escape=`\n"
    text += "# note\n# syntax=x\nFROM a\n"
    assert directives(text) == [
        Directive(1, "syntax", "docker/dockerfile:1.11-labs"),
        Directive(2, "check", "skip=all"),
        Directive(3, "escape", "`"),
    ]
    assert directives("FROM a\n# syntax=docker/dockerfile:1\n") == []
    assert directives("# comment\n# syntax=docker/dockerfile:1\n") == []


@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        ("${a}:${b}", {"a": "debian", "b": "trixie-slim"}, "debian:trixie-slim"),
        ("$a", {"a": "x"}, "x"),
        ("${a:-fallback}", {"a": ""}, "fallback"),
        ("${a-fallback}", {"a": ""}, ""),
        ("${a:+set}", {"a": "1"}, "set"),
        ("${a:+set}", {}, ""),
    ],
)
def test_variables_expand_like_dockerfile_substitution(text, variables, expected):
    assert expand(text, variables) == expected


def test_unknown_variables_stay_visible():
    assert "missing" in expand("${missing}:1", {})


def test_dockerfiles_resolve_against_the_context(tmp_path):
    assert (
        dockerfile_of({"context": "images", "dockerfile": "Dockerfile.system"}, tmp_path)
        == "images/Dockerfile.system"
    )
    assert dockerfile_of({"context": "."}, tmp_path) == "Dockerfile"
    assert (
        dockerfile_of({"context": "https://github.com/o/r.git", "dockerfile": "Dockerfile"}, tmp_path) is None
    )
    assert dockerfile_of({"context": ".", "dockerfile-inline": "FROM scratch\n"}, tmp_path) is None
