"""Run objectives on the event loop itself (the I/O-bound case)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ._base import Executor
from ._context import TrialContext, use_trial_context

__all__ = ["AsyncExecutor"]


class AsyncExecutor(Executor):
    """Awaits ``async def`` objectives in the scheduler's own task, on the event loop.

    This is the default for ``async def`` objectives: thousands of trials that wait on
    the network cost no threads. A plain function given to this executor also runs on
    the loop and blocks it while it runs; use :class:`ThreadExecutor` for those.
    Cancelling the trial (a ``trial_timeout``, a cancelled study) cancels the coroutine.
    """

    def __repr__(self) -> str:
        return "AsyncExecutor()"

    async def run(
        self,
        objective: Callable[[Any], Any],
        config: Any,
        context: Any,
    ) -> Any:
        """Call ``objective(config)`` and await the result if it is awaitable.

        Args:
            objective: The objective.
            config: The configuration to evaluate.
            context: The trial's :class:`TrialContext`.

        Returns:
            The objective's raw return value.
        """
        assert isinstance(context, TrialContext)
        with use_trial_context(context):
            result = objective(config)
            if inspect.isawaitable(result):
                result = await result
            return result
