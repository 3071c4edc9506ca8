"""Run CPU-bound objectives in worker processes."""

from __future__ import annotations

import asyncio
import inspect
import pickle
import traceback
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_process
import attrs

from .._errors import ExecutorError
from .._types import JSONValue
from ._base import Executor
from ._checks import check_max_workers
from ._context import TrialContext, use_trial_context

__all__ = ["ProcessExecutor", "WorkerDiedError"]


class WorkerDiedError(RuntimeError):
    """The worker process running a trial died (killed, crashed, out of memory)."""


class _RemoteTraceback(Exception):
    """Carries the worker's traceback text as the cause of a re-raised exception."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return f'\n"""\n{self.text}"""'


class _RemoteError(Exception):
    """Stands in for a worker exception that could not be pickled back."""


@attrs.frozen
class _Outcome:
    """What a worker sends back: the raw value or the failure, plus user attributes."""

    value: Any
    attrs: dict[str, JSONValue]
    error: BaseException | None = None
    error_text: str | None = None


def _run_in_worker(objective: Callable[[Any], Any], config: Any, context: TrialContext) -> _Outcome:
    """Entry point inside the worker: install the context, run, ship everything back."""
    with use_trial_context(context):
        try:
            value = objective(config)
            if inspect.iscoroutine(value):
                value = asyncio.run(value)
        except Exception as exc:
            text = "".join(traceback.format_exception(exc))
            try:
                pickle.dumps(exc)
            except Exception:
                error: BaseException = _RemoteError(f"{type(exc).__qualname__}: {exc}")
            else:
                error = exc
            return _Outcome(None, dict(context.user_attrs), error, text)
    return _Outcome(value, dict(context.user_attrs))


class ProcessExecutor(Executor):
    """Runs plain functions in a pool of worker processes (``executor="process"``).

    For pure-Python CPU-bound objectives, which threads cannot run in parallel. The
    objective and each configuration are pickled, so the objective must be a
    module-level function and the space class importable; scripts that define them in
    ``__main__`` need an ``if __name__ == "__main__":`` guard. This is checked before
    any trial starts. ``async def`` objectives are run with ``asyncio.run`` inside the
    worker.

    When a trial is cancelled (``trial_timeout`` or a cancelled study) its worker
    process is killed (SIGKILL) and replaced on the next trial. Idle workers exit by
    themselves after a few minutes and when the event loop ends.

    Args:
        max_workers: Most worker processes at once; ``None`` means one per CPU core.
            Trials beyond that wait for a free worker (their ``trial_timeout``
            includes the wait, and the first trial in each new worker also pays for
            starting it and importing the objective's module: seconds for a module
            that imports scikit-learn; leave that margin).

    Raises:
        ValueError: ``max_workers`` is not a positive integer.
    """

    def __init__(self, max_workers: int | None = None) -> None:
        check_max_workers(max_workers)
        self.max_workers = max_workers
        self._limiter: anyio.CapacityLimiter | None = None

    def __repr__(self) -> str:
        return f"ProcessExecutor(max_workers={self.max_workers!r})"

    async def start(self) -> None:
        """Create the worker limiter (it must belong to the running event loop)."""
        if self.max_workers is None:
            self._limiter = anyio.to_process.current_default_process_limiter()
        else:
            self._limiter = anyio.CapacityLimiter(self.max_workers)

    async def stop(self) -> None:
        """Forget the limiter; the worker pool is shut down with the event loop."""
        self._limiter = None

    def check(self, objective: Callable[..., Any], *, config: Any = None) -> None:
        """Check that the objective (and an example configuration) can be pickled.

        Args:
            objective: The objective to run.
            config: An example configuration, when known.

        Raises:
            ExecutorError: Either cannot be pickled; the message says how to fix it.
        """
        try:
            pickle.dumps(objective)
        except Exception as exc:
            msg = (
                f"executor='process' cannot send the objective {objective!r} to a worker "
                f"process: it cannot be pickled ({exc}). Define it as a module-level "
                "function (not a lambda, closure or local function), or use "
                "executor='thread'"
            )
            raise ExecutorError(msg) from exc
        if config is not None:
            try:
                pickle.dumps(config)
            except Exception as exc:
                msg = (
                    f"executor='process' cannot send configurations of "
                    f"{type(config).__qualname__} to a worker process: they cannot be "
                    f"pickled ({exc}). Define the space class at module level, or use "
                    "executor='thread'"
                )
                raise ExecutorError(msg) from exc

    async def run(
        self,
        objective: Callable[[Any], Any],
        config: Any,
        context: Any,
    ) -> Any:
        """Call ``objective(config)`` in a worker process with ``context`` installed.

        Attributes the objective sets through ``current_trial()`` are copied back into
        ``context``. An exception raised in the worker is re-raised here with the
        worker's traceback as its cause.

        Args:
            objective: A module-level function.
            config: The configuration to evaluate (picklable).
            context: The trial's :class:`TrialContext`.

        Returns:
            The objective's raw return value.

        Raises:
            WorkerDiedError: The worker process died while running the trial.
            ExecutorError: The objective or the configuration cannot be pickled.
        """
        assert isinstance(context, TrialContext)
        if self._limiter is None:
            await self.start()
        try:
            outcome = await anyio.to_process.run_sync(
                _run_in_worker, objective, config, context, cancellable=True, limiter=self._limiter
            )
        except anyio.BrokenWorkerProcess as exc:
            msg = (
                f"the worker process running trial {context.number} died (killed, crashed "
                "or out of memory)"
            )
            raise WorkerDiedError(msg) from exc
        except (pickle.PicklingError, AttributeError, TypeError) as exc:
            if _is_pickling_failure(exc):
                msg = f"executor='process' cannot send trial {context.number}: {exc}"
                raise ExecutorError(msg) from exc
            raise
        assert isinstance(outcome, _Outcome)
        context.user_attrs.update(outcome.attrs)
        if outcome.error is not None:
            outcome.error.__cause__ = _RemoteTraceback(outcome.error_text or "")
            raise outcome.error
        return outcome.value


def _is_pickling_failure(exc: BaseException) -> bool:
    """Whether ``exc`` came from pickling the request (not from the objective)."""
    return isinstance(exc, pickle.PicklingError) or "pickle" in str(exc).lower()
