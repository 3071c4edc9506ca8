"""Study (ask/tell/optimize), open_study() and minimize()."""
# STUB: signatures fixed by DESIGN.md; bodies to be implemented (issue 4).

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Generic, Literal, TypeAlias, TypeVar

from .._executor import Executor
from .._records import Trial
from .._storage import Storage
from .._suggest import Suggester
from .._types import JSONValue
from ._result import Evaluation, Result

__all__ = ["Objective", "Study", "minimize", "open_study"]

T = TypeVar("T")

#: What an objective may return: a float, or an :class:`Evaluation`.
ObjectiveReturn: TypeAlias = float | Evaluation
#: An objective: ``async def f(cfg) -> float`` or a plain ``def f(cfg) -> float``.
Objective: TypeAlias = (
    Callable[[T], Awaitable[float]]
    | Callable[[T], Awaitable[Evaluation]]
    | Callable[[T], float]
    | Callable[[T], Evaluation]
)


class Study(Generic[T]):
    """An open study: ask for trials, tell their results, or optimize."""

    name: str

    async def ask(self) -> Trial[T]:
        """Start a new trial and return it (RUNNING)."""
        raise NotImplementedError

    async def tell(
        self,
        trial: Trial[T] | int,
        value: float | None = None,
        *,
        error: str | BaseException | None = None,
        attrs: dict[str, JSONValue] | None = None,
    ) -> Trial[T]:
        """Finish a trial with a value, or as failed with ``error``."""
        raise NotImplementedError

    async def trials(self) -> list[Trial[T]]:
        """Every trial, ordered by number."""
        raise NotImplementedError

    async def optimize(
        self,
        objective: Objective[T],
        *,
        trials: int,
        concurrency: int = 1,
    ) -> Result[T]:
        """Run trials until the study holds ``trials`` completed ones."""
        raise NotImplementedError


@asynccontextmanager
async def open_study(
    space: type[T],
    *,
    storage: str | Storage | None = None,
    name: str | None = None,
    suggester: Suggester | None = None,
    direction: Literal["minimize", "maximize"] = "minimize",
    seed: int | None = None,
) -> AsyncIterator[Study[T]]:
    """Open (create or resume) a study over ``space``."""
    raise NotImplementedError
    yield


async def minimize(
    objective: Objective[T],
    space: type[T],
    *,
    trials: int,
    concurrency: int = 1,
    storage: str | Storage | None = None,
    study: str | None = None,
    suggester: Suggester | None = None,
    executor: Literal["thread", "process"] | Executor | None = None,
    seed: int | None = None,
    timeout: float | None = None,
    trial_timeout: float | None = None,
    callbacks: Sequence[Callable[..., Any]] = (),
) -> Result[T]:
    """Minimize ``objective`` over ``space`` with ``concurrency`` trials in flight."""
    raise NotImplementedError
