"""Reading trials for analysis: what counts as complete, and which way is better."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._errors import NoCompletedTrialsError
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
        ValueError: ``direction`` differs from the ``Result``'s.
    """
    if isinstance(source, Sequence):
        return source, "minimize" if direction is None else direction, space
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
