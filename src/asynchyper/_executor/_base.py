"""The executor interface: where an objective runs."""

from __future__ import annotations

import abc
from collections.abc import Callable
from types import TracebackType
from typing import Any, ClassVar, Self

from .._errors import AsynchyperError

__all__ = ["Executor", "ReturnValueError"]


class ReturnValueError(AsynchyperError, TypeError):
    """The objective's return value cannot be brought back from where it ran.

    An executor raises it from :meth:`Executor.run` (e.g. a worker process returned
    something that cannot be pickled); the scheduler fails that trial with the
    message alone, as for any other unusable return value, and the run goes on.
    """


class Executor(abc.ABC):
    """Runs one objective call and returns its raw result (or raises its exception).

    The scheduler calls :meth:`run` from many tasks at once; an executor limits or
    forwards that concurrency as it sees fit. Cancelling the calling task must stop
    (or abandon, where the platform cannot stop it) the work. Use as an async
    context manager so that pools and clients are released.
    """

    #: What becomes of an objective call cancelled at ``trial_timeout``, as the trial's
    #: error says it ("trial 3 exceeded trial_timeout=30 s and was cancelled").
    _timed_out: ClassVar[str] = "was cancelled"

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Acquire resources (pools, clients)."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Release resources. Safe to call twice."""

    def check(  # noqa: B027 - optional hook
        self, objective: Callable[..., Any], *, config: Any = None
    ) -> None:
        """Reject an objective this executor cannot run, before any trial starts.

        Args:
            objective: The objective to run.
            config: An example configuration (an instance of the space class), when
                one is available, so that executors which ship work elsewhere can
                check that configurations travel too.

        Raises:
            ExecutorError: e.g. the objective cannot be pickled for a process pool.
        """

    @abc.abstractmethod
    async def run(
        self,
        objective: Callable[[Any], Any],
        config: Any,
        context: Any,
    ) -> Any:
        """Evaluate ``objective(config)`` with the per-trial ``context`` installed.

        Args:
            objective: The objective.
            config: The configuration to evaluate.
            context: The trial's :class:`~asynchyper.TrialContext`; install it with
                ``use_trial_context`` where the objective runs so that
                ``current_trial()`` works, and bring back attributes set on it.

        Returns:
            The objective's raw return value; the scheduler interprets it.
        """
