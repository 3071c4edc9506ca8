"""The state of one Study.optimize() call, and task-group error collapsing."""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import anyio

from .._executor import Executor
from .._records import TrialState
from .._types import Params
from ._callbacks import TrialCallback
from ._stopping import StopRules

__all__ = ["Run", "collapse"]

T = TypeVar("T")


class Run(Generic[T]):
    """The state of one :meth:`Study.optimize` call."""

    def __init__(
        self,
        *,
        objective: Callable[[Any], Any],
        executor: Executor,
        budget: int,
        concurrency: int,
        trial_timeout: float | None,
        rules: StopRules,
        retries: int,
        callbacks: list[TrialCallback[T]],
    ) -> None:
        self.objective = objective
        self.executor = executor
        self.budget = budget
        self.concurrency = concurrency
        self.trial_timeout = trial_timeout
        self.rules = rules
        self.retries = retries
        self.callbacks = callbacks
        self.busy = 0  # workers asking or running a trial
        self.numbers: set[int] = set()  # trials this run started and has not finished
        self.stop_reason: str | None = None
        self.fatal: BaseException | None = None
        self.scope: anyio.CancelScope | None = None
        self.deadline: float | None = None
        self.retry_queue: deque[tuple[Params, int]] = deque()
        self.attempts: dict[int, int] = {}
        # How often each warning (a failure's error line, a dropped attribute) was
        # logged in this run, numbers masked: repeats go to info level.
        self.repeats: dict[str, int] = {}
        # Wrong-type returns before any trial of this run completed (see Study._account).
        self.wrong_types = 0
        self.completed_any = False
        # Trials this run finished, by state (for the log line at its end).
        self.finished: Counter[TrialState] = Counter()
        self.started_at = time.monotonic()
        self.waiting_logged = False
        self._changed: anyio.Event | None = None

    def stop(self, reason: str, *, cancel: bool = False) -> None:
        """Ask no more trials; with ``cancel`` also cancel the running ones."""
        if self.stop_reason is None:
            self.stop_reason = reason
        if cancel and self.scope is not None:
            self.scope.cancel()
        self.wake()

    def fail(self, exc: BaseException) -> None:
        """Stop everything because of an error that the caller must see."""
        if self.fatal is None:
            self.fatal = exc
        self.stop("error", cancel=True)

    def wake(self) -> None:
        """Wake the asking loop (a trial finished or the run was stopped)."""
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def wait(self, limit: float | None = None) -> None:
        """Sleep until :meth:`wake` (or ``limit`` seconds)."""
        if self._changed is None:
            self._changed = anyio.Event()
        event = self._changed
        if limit is None:
            await event.wait()
        else:
            with anyio.move_on_after(limit):
                await event.wait()

    def cancel_reason(self) -> str:
        """Why a running trial is being cancelled, for its ``error`` field."""
        if self.deadline is not None and anyio.current_time() >= self.deadline:
            return "cancelled: the study's timeout was reached"
        if self.fatal is not None:
            return f"cancelled: the run stopped on an error: {self.fatal!r}"
        if self.stop_reason is not None:
            return f"cancelled: the study was stopped ({self.stop_reason})"
        return "cancelled: the study was cancelled"


def collapse(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The one real exception in a task-group failure, or the group itself.

    A ``KeyboardInterrupt`` wins over everything else: Ctrl-C reaches every worker
    process of the group, so several trials may raise it at once, and the caller's
    ``except KeyboardInterrupt`` must still see a plain one.
    """
    leaves: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        exc = stack.pop()
        if isinstance(exc, BaseExceptionGroup):
            stack.extend(reversed(exc.exceptions))
        else:
            leaves.append(exc)
    cancelled = anyio.get_cancelled_exc_class()
    real = [exc for exc in leaves if not isinstance(exc, cancelled)]
    interrupts = [exc for exc in real if isinstance(exc, KeyboardInterrupt)]
    if interrupts:
        return interrupts[0]
    if len(real) == 1:
        return real[0]
    if not real and leaves:
        return leaves[0]
    return group
