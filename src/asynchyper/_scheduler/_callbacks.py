"""Observing a run: trial start/finish callbacks and the progress hook."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .._executor._inspect import call_problem
from .._records import Trial

if TYPE_CHECKING:
    from ._result import Result
    from ._study import Study

__all__ = ["TrialCallback", "as_callbacks", "call"]

T = TypeVar("T")


class TrialCallback(Generic[T]):
    """Observes a run of :meth:`Study.optimize`; override the methods you need.

    Every method may be a plain method or ``async def``. An exception raised by a
    callback stops the run (running trials are cancelled) and is re-raised. To stop
    the run from a callback without an error, call :meth:`Study.stop`.

    A progress display is a callback too: pass it as ``progress=``.
    """

    def on_run_start(self, study: Study[T], budget: int) -> Any:
        """Called once when the run starts, with the study's total trial budget.

        Args:
            study: The study being optimized.
            budget: The run's ``trials``: the study's total budget of completed trials.
        """

    def on_trial_start(self, study: Study[T], trial: Trial[T]) -> Any:
        """Called when a trial starts running (state ``RUNNING``).

        Args:
            study: The study being optimized.
            trial: The trial that starts.
        """

    def on_trial_finish(self, study: Study[T], trial: Trial[T]) -> Any:
        """Called when a trial finished (``COMPLETE``, ``FAILED`` or ``CANCELLED``).

        Args:
            study: The study being optimized.
            trial: The finished trial, with its value or error.
        """

    def on_run_end(self, study: Study[T], result: Result[T]) -> Any:
        """Called once when the run ends normally, with its result.

        Args:
            study: The study that was optimized.
            result: What the run returns; ``result.stop_reason`` says why it ended.
        """


class _FinishCallback(TrialCallback[T]):
    """Adapts a plain ``callback(study, trial)`` to :class:`TrialCallback`."""

    def __init__(self, function: Callable[[Study[T], Trial[T]], Any]) -> None:
        self.function = function

    def on_trial_finish(self, study: Study[T], trial: Trial[T]) -> Any:
        return self.function(study, trial)


def as_callbacks(
    callbacks: Sequence[TrialCallback[T] | Callable[[Study[T], Trial[T]], Any]],
) -> list[TrialCallback[T]]:
    """Wrap plain functions (called when each trial finishes) as callbacks.

    Raises:
        TypeError: ``callbacks`` is not a list, or an element is neither a
            TrialCallback nor a function that takes ``(study, trial)``.
    """
    given: object = callbacks  # checked at run time: callers may pass anything
    if callable(given) or not isinstance(given, Sequence) or isinstance(given, str | bytes):
        name = getattr(given, "__qualname__", None) or type(given).__qualname__
        hint = f" (wrap it: callbacks=[{name}])" if callable(given) else ""
        msg = f"callbacks= takes a list of callbacks; got {type(given).__qualname__} {name}{hint}"
        raise TypeError(msg)
    wrapped: list[TrialCallback[T]] = []
    items: Sequence[object] = callbacks
    for index, callback in enumerate(items):
        if isinstance(callback, TrialCallback):
            wrapped.append(callback)
        elif callable(callback):
            problem = call_problem(callback, 2)
            if problem is not None:
                msg = (
                    f"callbacks[{index}] is called as callback(study, trial) when each trial "
                    f"finishes, but {problem}; give it those two parameters"
                )
                raise TypeError(msg)
            wrapped.append(_FinishCallback(callback))
        else:
            msg = (
                f"callbacks[{index}] must be a function callback(study, trial) or a "
                f"TrialCallback; got {type(callback).__name__} {callback!r}"
            )
            raise TypeError(msg)
    return wrapped


async def call(result: Any) -> None:
    """Await a callback's result when it is awaitable."""
    if inspect.isawaitable(result):
        await result
