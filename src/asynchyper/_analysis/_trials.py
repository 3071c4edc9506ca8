"""Reading trials for analysis: what counts as complete, and which way is better."""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from .._errors import NoCompletedTrialsError
from .._executor._remote import short_repr
from .._records import Trial, TrialLike, TrialRecord, TrialState

if TYPE_CHECKING:
    from .._scheduler import Result
    from ._params import SpaceLike

__all__ = ["TrialLike", "check_direction", "completed", "require_completed", "trials_of"]


def trials_of(
    source: Sequence[TrialRecord | Trial[Any]] | Result[Any],
    direction: str | None,
    space: SpaceLike = None,
) -> tuple[Sequence[TrialRecord | Trial[Any]], str, SpaceLike]:
    """The trials to analyse, the direction and the space: a ``Result`` brings its own.

    Args:
        source: Trials (``Result.trials``, ``await study.trials()``, storage records)
            or a ``Result``.
        direction: ``None``: the ``Result``'s direction, or ``"minimize"`` for trials.
        space: ``None``: the ``Result``'s space description (bounds, log scales and
            every choice), or nothing for trials (inferred from their values).

    Raises:
        TypeError: ``source`` is neither (a Study, a coroutine, a file name...), or
            ``space`` is a class instead of its compiled space.
        ValueError: ``direction`` differs from the ``Result``'s.
    """
    _check_space_argument(space)
    given: object = source  # checked at run time: callers may pass anything
    if isinstance(given, Sequence) and not isinstance(given, str | bytes):
        for index, item in enumerate(given):
            if not isinstance(item, Trial | TrialRecord):
                msg = (
                    f"trials[{index}] is {type(item).__qualname__} {short_repr(item)}, not a "
                    "trial; pass a Result or a list of trials (result.trials, await "
                    "study.trials())"
                )
                raise TypeError(msg)
        return (
            cast("Sequence[TrialRecord | Trial[Any]]", given),
            ("minimize" if direction is None else direction),
            space,
        )
    if (
        not hasattr(given, "trials")
        or not hasattr(given, "direction")
        or callable(getattr(given, "trials", None))
    ):
        raise TypeError(_not_trials(given))
    source = cast("Result[Any]", given)
    if direction is not None and direction != source.direction:
        msg = (
            f"direction={direction!r} differs from the result's direction "
            f"{source.direction!r}; leave direction out to use the result's"
        )
        raise ValueError(msg)
    return source.trials, source.direction, source.space if space is None else space


def check_direction(direction: str) -> float:
    """The sign that turns values into losses (lower is better).

    Raises:
        ValueError: ``direction`` is neither ``"minimize"`` nor ``"maximize"``.
    """
    if direction == "minimize":
        return 1.0
    if direction == "maximize":
        return -1.0
    msg = f"direction must be 'minimize' or 'maximize'; got {direction!r}"
    raise ValueError(msg)


def completed(trials: Sequence[TrialLike]) -> list[TrialLike]:
    """The complete trials with a finite value, ordered by number."""
    done = [
        t
        for t in trials
        if t.state is TrialState.COMPLETE and t.value is not None and math.isfinite(t.value)
    ]
    return sorted(done, key=lambda t: t.number)


def require_completed(trials: Sequence[TrialLike], what: str) -> list[TrialLike]:
    """:func:`completed`, raising when there is none.

    Args:
        trials: Every trial of a study (any state).
        what: What needs them, for the message (e.g. ``"the history plot"``).

    Raises:
        NoCompletedTrialsError: No trial completed with a finite value.
    """
    done = completed(trials)
    if not done:
        counts: dict[str, int] = {}
        for t in trials:
            counts[t.state.value] = counts.get(t.state.value, 0) + 1
        broken = counts.get("failed", 0) + counts.get("cancelled", 0)
        fix = (
            "see the failed trials' error for why (e.g. [t.error for t in result.trials])"
            if broken
            else "run the study first"
        )
        msg = (
            f"{what} needs at least one complete trial with a finite value; got "
            f"{len(trials)} trial(s) with states {counts}: {fix}"
        )
        raise NoCompletedTrialsError(msg)
    return done


def _not_trials(source: object) -> str:
    """Why ``source`` is not something to analyse, and what to pass instead."""
    kind = type(source).__qualname__
    wanted = "expected a Result or a list of trials"
    if inspect.iscoroutine(source):
        source.close()  # never awaited: no "was never awaited" warning on top
        return f"{wanted}, got a coroutine: await it first (await study.trials())"
    if isinstance(source, Trial | TrialRecord):
        return f"{wanted}, got one {kind}: put it in a list, or pass result.trials"
    if callable(getattr(source, "trials", None)):  # a Study
        return f"{wanted}, got a {kind}: pass await study.trials() or await study.result()"
    if isinstance(source, str | bytes):
        return (
            f"{wanted}, got {kind} {short_repr(source)}: open the study first "
            "(asynchyper.open_study) and pass await study.result(), or use the command "
            "line: asynchyper plot KIND STUDY"
        )
    return f"{wanted}, got {kind} {short_repr(source)}"


def _check_space_argument(space: object) -> None:
    if isinstance(space, type):
        msg = (
            f"space= takes the compiled space, not the class: "
            f"space=asynchyper.compile_space({space.__qualname__})"
        )
        raise TypeError(msg)
