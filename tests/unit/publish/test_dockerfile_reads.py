"""Which context paths a Dockerfile reads: COPY/ADD sources and RUN bind mounts, parsed as BuildKit does."""

from __future__ import annotations

from tasks.publish.dockerfile_reads import ContextReads, context_reads


def test_copy_and_add_sources_are_read_without_their_destination():
    text = "FROM input\nCOPY a.txt b/ /dst/\nADD --chmod=0644 c.tar /opt/\n"
    assert context_reads(text) == ContextReads(("a.txt", "b", "c.tar"))


def test_sources_of_other_stages_and_contexts_are_not_read():
    text = "FROM input\nCOPY --link --from=venv /opt/venv /opt/venv\nCOPY --from=build /out/ /usr/\n"
    assert context_reads(text) == ContextReads()


def test_json_form_and_continuation_lines_are_joined():
    text = 'FROM x\nCOPY ["with space.txt", "/d/"]\nCOPY one \\\n  # a comment inside\n  two /d/\n'
    assert context_reads(text).patterns == ("with space.txt", "one", "two")


def test_a_bind_mount_without_from_reads_its_source_and_the_default_type_is_bind():
    text = (
        "FROM x\n"
        "RUN --mount=type=bind,source=scripts/smoke.sh,target=/tmp/smoke.sh \\\n"
        "    --mount=src=tools,target=/tools \\\n"
        "    --mount=type=cache,target=/root/.cache \\\n"
        "    --mount=type=bind,from=build,source=/out,target=/out \\\n"
        "    sh /tmp/smoke.sh\n"
    )
    assert context_reads(text) == ContextReads(("scripts/smoke.sh", "tools"))


def test_the_root_a_bind_mount_without_source_or_a_variable_means_the_whole_context():
    for text in (
        "FROM x\nCOPY . /app\n",
        "FROM x\nCOPY ./ /app\n",
        "FROM x\nRUN --mount=type=bind,target=/src make\n",
        "FROM x\nARG dir=a\nCOPY ${dir}/ /app\n",
    ):
        assert context_reads(text).whole_context, text


def test_paths_are_cleaned_and_cannot_leave_the_context():
    assert context_reads("FROM x\nCOPY ./a/../b/c /d\nCOPY /abs /d\nCOPY ../up /d\n").patterns == (
        "b/c",
        "abs",
        "up",
    )


def test_heredoc_bodies_are_not_instructions_and_heredoc_sources_are_not_files():
    text = (
        "FROM x\n"
        "COPY <<EOF /etc/conf\n"
        "COPY not-an-instruction /nowhere\n"
        "EOF\n"
        "RUN <<-'END' sh\n"
        "\tCOPY neither /x\n"
        "\tEND\n"
        "COPY real.txt /d\n"
    )
    assert context_reads(text) == ContextReads(("real.txt",))


def test_add_of_urls_and_git_reads_no_context_file():
    text = "FROM x\nADD https://example.org/a.tgz /a\nADD git@github.com:o/r.git /r\nADD local.tgz /l\n"
    assert context_reads(text).patterns == ("local.tgz",)


def test_the_escape_directive_changes_the_continuation_character():
    text = "# escape=`\nFROM x\nCOPY a `\n  b C:\\dst\\\n"
    assert context_reads(text).patterns == ("a", "b")


def test_onbuild_is_a_child_builds_business():
    assert context_reads("FROM x\nONBUILD COPY . /app\n") == ContextReads()


def test_the_tree_s_own_dockerfiles_read_what_they_copy(repo_root):
    images = repo_root / "images"
    assert context_reads((images / "Dockerfile.install").read_text()) == ContextReads()
    assert context_reads((images / "Dockerfile.tests-smoke").read_text()).patterns == ("scripts/smoke.sh",)
    assert context_reads((images / "Dockerfile.complement-testee").read_text()).patterns == (
        "scripts/complement-testee-entrypoint.sh",
        "scripts/complement-testee-homeserver.yaml",
        "scripts/complement-testee-log.yaml",
    )
