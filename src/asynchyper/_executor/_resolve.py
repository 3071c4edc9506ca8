"""Turn an ``executor=`` argument into an Executor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._errors import ExecutorError
from ._base import Executor
from ._coroutine import AsyncExecutor
from ._inspect import is_async_callable
from ._process import ProcessExecutor
from ._thread import ThreadExecutor

__all__ = ["resolve_executor"]


def resolve_executor(executor: str | Executor | None, objective: Callable[..., Any]) -> Executor:
    """The executor an ``executor=`` argument names, for this objective.

    ``None`` picks by the objective: ``async def`` runs on the loop, a plain function
    in worker threads.

    Raises:
        ExecutorError: An unknown name, or a combination that cannot work.
    """
    if isinstance(executor, Executor):
        return executor
    if executor is None:
        return AsyncExecutor() if is_async_callable(objective) else ThreadExecutor()
    if executor == "thread":
        return ThreadExecutor()
    if executor == "process":
        return ProcessExecutor()
    if executor in ("async", "coroutine", "loop"):
        return AsyncExecutor()
    msg = f"executor must be 'thread', 'process', an Executor object or None; got {executor!r}"
    raise ExecutorError(msg)
