"""Our ``task`` decorator: expected failures and a closed pipe end a task without a traceback."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tasks.shared.process import REPO_ROOT

# A task that writes more than a pipe holds to a reader that has gone away.
CHATTY_TASK = textwrap.dedent(
    """
    from invoke import Collection, Program
    from tasks.cli.context import task

    @task()
    def chatty(c):
        for n in range(100_000):
            print("line", n)

    Program(namespace=Collection(chatty)).run(["inv", "chatty"])
    """
)


def test_a_reader_that_stops_early_ends_the_task_quietly_with_a_pipes_status() -> None:
    shell = f"{sys.executable} -c '{CHATTY_TASK}' | head -n 1; echo status=${{PIPESTATUS[0]}}"
    done = subprocess.run(["bash", "-c", shell], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["line 0", "status=141"]
    assert "Traceback" not in done.stderr, done.stderr
