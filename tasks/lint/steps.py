"""Lint steps run side by side: each step waits for the steps it needs, and no more than ``workers``
run at once.

Threads are enough: every step is mostly a tool's subprocess, and Python gives up the GIL while it
waits for one. Steps start in the order they were added whenever they are ready, so a caller adds
its longest chain first. A step that raises doesn't stop the others: its exception comes back from
``Step.result()``, where the caller reads results in its own order, exactly where a sequential run
would have raised it. A step still runs when a prerequisite failed: it gets that exception only if
it reads that prerequisite's result (a result it may not need).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Step(Generic[T]):
    """One unit of work in a ``Steps`` run, and, once the run is over, its outcome."""

    def __init__(self, name: str, work: Callable[[], T], after: Sequence[Step[Any]]) -> None:
        self.name = name
        self._work = work
        self.after = tuple(after)
        self._settled = False
        # A 1-tuple once settled with a value: T itself may be None.
        self._value: tuple[T] | None = None
        self._error: BaseException | None = None

    @property
    def settled(self) -> bool:
        return self._settled

    def result(self) -> T:
        """The step's value; its exception (or its failed prerequisite's) raised again."""
        if not self._settled:
            raise RuntimeError(f"step {self.name} has not run")
        if self._error is not None:
            raise self._error
        assert self._value is not None  # settled without an error: the work returned
        return self._value[0]

    def run(self) -> None:
        """Do the work here and now (the caller's thread)."""
        try:
            value = self._work()
        except Exception as exc:  # kept for result(): raised where the caller reads it
            self.fail(exc)
        else:
            self._value, self._settled = (value,), True

    def fail(self, error: BaseException) -> None:
        self._error, self._settled = error, True

    def ready(self) -> bool:
        return all(step.settled for step in self.after)


class Steps:
    """Steps added with their prerequisites, then ``run`` once."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.workers = workers
        self._steps: list[Step[Any]] = []

    def add(self, name: str, work: Callable[[], T], after: Sequence[Step[Any]] = ()) -> Step[T]:
        for prerequisite in after:
            if prerequisite not in self._steps:
                raise ValueError(f"step {name}: {prerequisite.name} is not a step of this run")
        step = Step(name, work, after)
        self._steps.append(step)
        return step

    def run(self) -> None:
        """Every step, each once its prerequisites are settled; returns when all are settled."""
        pending = list(self._steps)
        running: dict[Future[None], Step[Any]] = {}
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="lint-step") as pool:
            while pending or running:
                for step in next_steps(pending, self.workers - len(running)):
                    pending.remove(step)
                    running[pool.submit(step.run)] = step
                if not running:
                    # Prerequisites are added before their dependents, so something is always ready.
                    raise RuntimeError(f"no step can start: {', '.join(s.name for s in pending)}")
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    del running[future]
                    # step.run keeps its own exception; one here is the pool's (e.g. shut down).
                    future.result()


def next_steps(pending: Sequence[Step[Any]], free: int) -> list[Step[Any]]:
    """The steps to start now: the first ``free`` ready ones, in the order they were added."""
    return [step for step in pending if step.ready()][: max(free, 0)]
