"""Run plain (blocking) objectives in worker threads."""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread

from .._backend import on_asyncio
from .._errors import ExecutorError
from ._base import Executor
from ._checks import check_max_workers
from ._context import TrialContext, use_trial_context
from ._inspect import is_async_callable

__all__ = ["ThreadExecutor"]


def _call_soon_threadsafe() -> Callable[..., object]:
    """``f(fn, *args)`` schedules ``fn(*args)`` on the calling task's event loop from any
    thread, without waiting for it (unlike ``anyio.from_thread.run_sync``, which would
    block forever once that loop has stopped running)."""
    if on_asyncio():
        return asyncio.get_running_loop().call_soon_threadsafe
    import trio  # noqa: PLC0415 - not on asyncio, so trio is installed and running

    return trio.lowlevel.current_trio_token().run_sync_soon


class ThreadExecutor(Executor):
    """Runs plain functions in worker threads (the default for non-async objectives).

    Good for objectives that release the GIL (NumPy, PyTorch, I/O); pure-Python
    CPU-bound code should use :class:`ProcessExecutor`.

    A thread cannot be stopped from outside: when a trial is cancelled (its
    ``trial_timeout`` expires or the study is cancelled) the trial is recorded at once
    and its thread is *abandoned* - it keeps running until the function returns, and
    its result is discarded; until then it keeps its place among ``max_workers``
    (trials waiting for that place count the wait toward their ``trial_timeout``). A
    function that never returns keeps its thread (and the interpreter, at exit)
    alive; make such objectives check a deadline themselves, or use
    :class:`ProcessExecutor`, whose workers are killed.

    Args:
        max_workers: Most threads running objectives at once; ``None`` lets the
            study's ``concurrency`` alone decide.

    Raises:
        ValueError: ``max_workers`` is not a positive integer.
    """

    _timed_out = "was abandoned: a thread cannot be stopped, it runs on until the function returns"

    def __init__(self, max_workers: int | None = None) -> None:
        check_max_workers(max_workers)
        self.max_workers = max_workers
        self._limiter: anyio.CapacityLimiter | None = None
        self._threads: anyio.CapacityLimiter | None = None

    def __repr__(self) -> str:
        return f"ThreadExecutor(max_workers={self.max_workers!r})"

    async def start(self) -> None:
        """Create the limiters (they must belong to the running event loop)."""
        tokens: float = math.inf if self.max_workers is None else self.max_workers
        self._limiter = anyio.CapacityLimiter(tokens)
        # Threads themselves are not limited (anyio's default would cap them at 40):
        # ``_limiter`` counts objective calls, until each one really returns.
        self._threads = anyio.CapacityLimiter(math.inf)

    async def stop(self) -> None:
        """Forget the limiters; threads still running are left to finish."""
        self._limiter = None
        self._threads = None

    def check(self, objective: Callable[..., Any], *, config: Any = None) -> None:
        """Reject ``async def`` objectives, which belong on the event loop.

        Args:
            objective: The objective to run.
            config: Unused.

        Raises:
            ExecutorError: ``objective`` is a coroutine function.
        """
        del config
        if is_async_callable(objective):
            msg = (
                f"executor='thread' cannot run the async objective {objective!r}: async "
                "objectives run on the event loop; drop executor= (or make the objective "
                "a plain def)"
            )
            raise ExecutorError(msg)

    async def run(
        self,
        objective: Callable[[Any], Any],
        config: Any,
        context: Any,
    ) -> Any:
        """Call ``objective(config)`` in a worker thread with ``context`` installed.

        Args:
            objective: A plain function.
            config: The configuration to evaluate.
            context: The trial's :class:`TrialContext`.

        Returns:
            The objective's raw return value.
        """
        assert isinstance(context, TrialContext)
        if self._limiter is None or self._threads is None:
            await self.start()
        limiter, threads = self._limiter, self._threads
        assert limiter is not None
        assert threads is not None
        # The call holds its place in ``max_workers`` until the function returns, also
        # when the trial is cancelled and its thread abandoned: the place is freed once,
        # by whichever of this task and the function ends last (by this task when the
        # function never started; it then never starts).
        borrower = object()
        soon = _call_soon_threadsafe()
        await limiter.acquire_on_behalf_of(borrower)
        lock = threading.Lock()
        state = {"started": False, "returned": False, "gone": False}

        def call() -> Any:
            with lock:
                too_late = state["gone"]
                state["started"] = not too_late
            if too_late:
                return None  # the trial was cancelled before its thread began
            try:
                with use_trial_context(context):
                    return objective(config)
            except GeneratorExit as exc:
                # Thrown into the waiting task, GeneratorExit would close every
                # coroutine on its await chain, cleanup included: raised below instead.
                return _Raised(exc)
            finally:
                with lock:
                    state["returned"] = True
                    abandoned = state["gone"]
                if abandoned:  # nobody waits for this thread: free its place from here
                    # Without waiting: the event loop may have stopped (then nothing
                    # runs it, and nothing needs to) or closed (RuntimeError).
                    with contextlib.suppress(RuntimeError):
                        soon(limiter.release_on_behalf_of, borrower)

        try:
            returned = await anyio.to_thread.run_sync(call, abandon_on_cancel=True, limiter=threads)
        finally:
            with lock:
                state["gone"] = True
                free_here = state["returned"] or not state["started"]
            if free_here:
                limiter.release_on_behalf_of(borrower)
        if isinstance(returned, _Raised):
            raise returned.exception
        return returned


class _Raised:
    """A ``GeneratorExit`` the objective raised, carried out of its thread as a value."""

    __slots__ = ("exception",)

    def __init__(self, exception: GeneratorExit) -> None:
        self.exception = exception
