"""The one door to other programs: every process bakehouse starts is started here.

- ``run``: a command to its end, output captured; a failure raises ``CommandFailed``.
- ``start``: the same, but this process goes on while the command runs; ``finish`` collects it.
- ``stream``: a command whose output is read line by line while it runs (bake's rawjson progress,
  ``docker logs --follow``, ``docker events``).
- ``spawn``: a daemon that outlives this process (the private dockerd, the local registry).
- ``pipe``: one command's output into another's input (``tar | docker import``).

Nothing started here may prompt: stdin is closed unless the caller gives the input. Output is
decoded as UTF-8 with undecodable bytes replaced: a tool's odd byte must not crash a task.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Literal

from .command import Command
from .errors import FAILED, BakehouseError

# bakehouse's own checkout (tasks/shared/process.py -> tasks/shared -> tasks -> the root): its tests and
# benchmarks run there. Tasks never use it: their paths resolve against the project's root (Settings.root).
REPO_ROOT = Path(__file__).resolve().parents[2]

# How much of a failed command's output CommandFailed keeps: enough for the cause, not a whole log.
OUTPUT_TAIL = 4000

Argv = Sequence[str] | Command


def say(message: str) -> None:
    """Progress for humans: stderr, so stdout stays clean for --print/--json."""
    print(f"bakehouse: {message}", file=sys.stderr, flush=True)


def failure_reason(stderr: str, stdout: str = "", exit_code: int | None = None) -> str:
    """Why a command failed, in one line: buildx's last ``ERROR:`` line without its prefix, else
    the last line the command printed (stderr before stdout), else its exit status."""
    for text in (stderr, stdout):
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if not lines:
            continue
        errors = [line for line in lines if line.startswith("ERROR:")]
        chosen = errors[-1] if errors else lines[-1]
        return chosen.removeprefix("ERROR:").strip() or chosen
    return f"exit {exit_code}" if exit_code is not None else "unknown error"


@dataclass(frozen=True)
class Completed:
    """How a command ended, with its output (empty where it went elsewhere)."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def reason(self) -> str:
        """The one line that says why it failed (see ``failure_reason``)."""
        return failure_reason(self.stderr, self.stdout, self.returncode)


class CommandFailed(BakehouseError):
    """A command that failed (exit status, not found, timed out): the one line for the user, and
    for whoever handles it the command, its exit status (None if it never ended) and its output's tail.
    """

    def __init__(
        self,
        argv: Sequence[str],
        message: str,
        why: str,
        *,
        exit_code: int | None = None,
        stdout: str = "",
        stderr: str = "",
        code: int = FAILED,
    ) -> None:
        super().__init__(message, code)
        self.argv = tuple(argv)
        self.why = why
        self.exit_code = exit_code
        self.stdout = stdout[-OUTPUT_TAIL:]
        self.stderr = stderr[-OUTPUT_TAIL:]

    @classmethod
    def exited(cls, completed: Completed, what: str | None = None) -> CommandFailed:
        """``<what> failed: <reason>``; ``what`` defaults to the command's first three words."""
        why = completed.reason()
        subject = what or shlex.join(completed.argv[:3])
        return cls(
            completed.argv,
            f"{subject} failed: {why}",
            why,
            exit_code=completed.returncode,
            stdout=completed.stdout,
            stderr=completed.stderr,
        )

    @classmethod
    def not_found(cls, argv: Sequence[str]) -> CommandFailed:
        return cls(argv, f"{argv[0]}: command not found", "command not found")

    @classmethod
    def timed_out(cls, argv: Sequence[str], timeout: float, what: str | None) -> CommandFailed:
        why = f"timed out after {timeout:.0f}s"
        return cls(argv, f"{what or shlex.join(argv)}: {why}", why)


def _environment(env: Mapping[str, str] | None) -> dict[str, str] | None:
    # Variables are set over this process's environment, never instead of it.
    return {**os.environ, **env} if env else None


def run(
    command: Argv,
    *,
    check: bool = True,
    capture: bool = True,
    output: IO[str] | None = None,
    env: Mapping[str, str] | None = None,
    input_text: str | None = None,
    timeout: float | None = None,
    cwd: Path | None = None,
    what: str | None = None,
) -> Completed:
    """Run ``command`` to its end. Output is captured unless ``capture`` is off (the terminal sees
    it) or ``output`` is given (stdout and stderr go there, in order). With ``check``, an exit
    status other than 0 raises CommandFailed naming ``what`` failed and why."""
    argv = list(command)
    if output is not None:
        stdout: IO[str] | int | None = output
        stderr: IO[str] | int | None = subprocess.STDOUT
    else:
        stdout = stderr = subprocess.PIPE if capture else None
    try:
        finished = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL if input_text is None else None,
            input=input_text,
            stdout=stdout,
            stderr=stderr,
            text=True,
            errors="replace",
            env=_environment(env),
            timeout=timeout,
            cwd=cwd,
            check=False,
        )
    except FileNotFoundError as exc:
        raise CommandFailed.not_found(argv) from exc
    except subprocess.TimeoutExpired as exc:
        raise CommandFailed.timed_out(argv, timeout or 0, what) from exc
    completed = Completed(tuple(argv), finished.returncode, finished.stdout or "", finished.stderr or "")
    if check and not completed.ok:
        raise CommandFailed.exited(completed, what)
    return completed


class Started:
    """A command started by ``start``, running while this process goes on."""

    def __init__(self, argv: tuple[str, ...], process: subprocess.Popen[str]) -> None:
        self._argv = argv
        self._process = process
        self._completed: Completed | None = None

    def finish(self, *, check: bool = True, what: str | None = None) -> Completed:
        """Wait for the command's end: how it ended, as ``run`` says it (the same on every call)."""
        if self._completed is None:
            stdout, stderr = self._process.communicate()
            self._completed = Completed(self._argv, self._process.returncode, stdout or "", stderr or "")
        if check and not self._completed.ok:
            raise CommandFailed.exited(self._completed, what)
        return self._completed


def start(command: Argv, *, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Started:
    """Start ``command``, its output captured, and go on; ``finish()`` waits for it. For commands
    whose answer is needed later, so that they run while this process does other work."""
    argv = list(command)
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            env=_environment(env),
            cwd=cwd,
        )
    except FileNotFoundError as exc:
        raise CommandFailed.not_found(argv) from exc
    return Started(tuple(argv), process)


def docker(
    *args: str,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    what: str | None = None,
) -> Completed:
    """The docker CLI, for what python-on-whales lacks (each caller says what)."""
    return run(["docker", *args], check=check, env=env, timeout=timeout, what=what)


def git(*args: str, cwd: Path, env: Mapping[str, str] | None = None) -> Completed:
    """A git command in the repository holding ``cwd``. Not checked: git
    failing (no repository, no commit yet, no tags) is an answer its callers read."""
    return run(["git", "-C", str(cwd), *args], check=False, env=env)


def start_git(*args: str, cwd: Path, env: Mapping[str, str] | None = None) -> Started:
    """``git`` started: read it with ``finish(check=False)``."""
    return start(["git", "-C", str(cwd), *args], env=env)


def git_output(*args: str, cwd: Path) -> str:
    """Output of a git command in the repository holding ``cwd``; empty when git fails (no repo, no
    tags...)."""
    result = git(*args, cwd=cwd)
    return result.stdout.strip() if result.ok else ""


class Stream:
    """A running command whose output this process reads line by line; a context manager that
    stops the command if it is still running at the end."""

    def __init__(self, process: subprocess.Popen[str], lines: IO[str]) -> None:
        self._process = process
        self._lines = lines

    def lines(self) -> Iterator[str]:
        """The output's lines as they come, until the command closes it."""
        yield from self._lines

    @property
    def returncode(self) -> int | None:
        """The exit status, or None while it runs."""
        return self._process.poll()

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit status once it ends; None if it still runs after ``timeout`` seconds."""
        try:
            return self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL if it hasn't ended within ``grace`` seconds."""
        if self._process.poll() is not None:
            return
        self._process.terminate()
        if self.wait(grace) is None:
            self._process.kill()
            self._process.wait()

    def close(self, grace: float = 5.0) -> None:
        """Stop it if it still runs (see ``stop``) and close the pipe."""
        self.stop(grace)
        self._lines.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def stream(
    command: Argv,
    *,
    read: Literal["stdout", "stderr"] = "stdout",
    other_output: IO[str] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    own_session: bool = False,
) -> Stream:
    """Start ``command`` and read its ``read`` output line by line; the other output goes to
    ``other_output``, or is discarded. ``own_session``: a terminal's Ctrl-C doesn't reach it, so
    the caller decides when it ends."""
    argv = list(command)
    other: IO[str] | int = other_output if other_output is not None else subprocess.DEVNULL
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if read == "stdout" else other,
            stderr=subprocess.PIPE if read == "stderr" else other,
            text=True,
            errors="replace",
            env=_environment(env),
            cwd=cwd,
            start_new_session=own_session,
        )
    except FileNotFoundError as exc:
        raise CommandFailed.not_found(argv) from exc
    lines = process.stdout if read == "stdout" else process.stderr
    assert lines is not None  # piped above
    return Stream(process, lines)


def spawn(command: Argv, *, log: Path, env: Mapping[str, str] | None = None) -> int:
    """Start a daemon in its own session (it outlives this process), its output appended to
    ``log``; its pid."""
    argv = list(command)
    with log.open("ab") as handle:
        try:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                env=_environment(env),
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            raise CommandFailed.not_found(argv) from exc
    return process.pid


def pipe(producer: Argv, consumer: Argv, *, what: str) -> Completed:
    """``producer | consumer``: the bytes go from one to the other directly; the consumer's output
    is captured. Raises CommandFailed when either fails (the producer's stderr is not captured:
    unread, a chatty producer would block on it)."""
    source_argv, sink_argv = list(producer), list(consumer)
    try:
        source = subprocess.Popen(source_argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    except FileNotFoundError as exc:
        raise CommandFailed.not_found(source_argv) from exc
    assert source.stdout is not None  # piped above
    try:
        sink = subprocess.Popen(
            sink_argv,
            stdin=source.stdout,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
    except FileNotFoundError as exc:
        source.kill()
        source.wait()
        raise CommandFailed.not_found(sink_argv) from exc
    finally:
        # Only the consumer reads now: if it stops early, the producer gets SIGPIPE instead of
        # blocking forever on a full pipe.
        source.stdout.close()
    out, err = sink.communicate()
    source.wait()
    consumed = Completed(tuple(sink_argv), sink.returncode, out, err)
    if not consumed.ok:
        raise CommandFailed.exited(consumed, what)
    if source.returncode != 0:
        produced = Completed(tuple(source_argv), source.returncode)
        raise CommandFailed(
            source_argv,
            f"{what} failed: {source_argv[0]} exited with status {source.returncode}",
            produced.reason(),
            exit_code=source.returncode,
        )
    return consumed
