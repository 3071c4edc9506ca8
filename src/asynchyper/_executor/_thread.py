"""Run plain (blocking) objectives in worker threads."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread

from .._errors import ExecutorError
from ._base import Executor
from ._checks import check_max_workers
from ._context import TrialContext, use_trial_context
from ._inspect import is_async_callable

__all__ = ["ThreadExecutor"]


class ThreadExecutor(Executor):
    """Runs plain functions in worker threads (the default for non-async objectives).

    Good for objectives that release the GIL (NumPy, PyTorch, I/O); pure-Python
    CPU-bound code should use :class:`ProcessExecutor`.

    A thread cannot be stopped from outside: when a trial is cancelled (its
    ``trial_timeout`` expires or the study is cancelled) the trial is recorded at once
    and its thread is *abandoned* - it keeps running until the function returns, and
    its result is discarded. A function that never returns keeps its thread (and the
    interpreter, at exit) alive; make such objectives check a deadline themselves, or
    use :class:`ProcessExecutor`, whose workers are killed.

    Args:
        max_workers: Most threads running objectives at once; ``None`` lets the
            study's ``concurrency`` alone decide.

    Raises:
        ValueError: ``max_workers`` is not a positive integer.
    """

    def __init__(self, max_workers: int | None = None) -> None:
        check_max_workers(max_workers)
        self.max_workers = max_workers
        self._limiter: anyio.CapacityLimiter | None = None

    def __repr__(self) -> str:
        return f"ThreadExecutor(max_workers={self.max_workers!r})"

    async def start(self) -> None:
        """Create the thread limiter (it must belong to the running event loop)."""
        tokens: float = math.inf if self.max_workers is None else self.max_workers
        self._limiter = anyio.CapacityLimiter(tokens)

    async def stop(self) -> None:
        """Forget the limiter; threads still running are left to finish."""
        self._limiter = None

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
        if self._limiter is None:
            await self.start()

        def call() -> Any:
            with use_trial_context(context):
                return objective(config)

        return await anyio.to_thread.run_sync(call, abandon_on_cancel=True, limiter=self._limiter)
