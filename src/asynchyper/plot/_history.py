"""The optimization history: every value by trial number, and the best so far."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

from .._records import Trial, TrialRecord, TrialState
from .._space import Space
from ._common import BEST_COLOR, COMPLETE_COLOR, FAILED_COLOR, OTHER_COLOR, new_figure, prepare

if TYPE_CHECKING:
    from .._scheduler import Result

__all__ = ["history"]


def history(
    trials: Sequence[TrialRecord | Trial[Any]] | Result[Any],
    *,
    direction: str | None = None,
    space: Space[Any] | Sequence[Mapping[str, Any]] | None = None,
) -> Figure:
    """Plot each complete trial's value by trial number, with the running best.

    Failed trials appear as red crosses along the bottom edge, cancelled ones as grey
    ticks. A positive objective spanning three decades or more gets a log axis;
    otherwise far outliers (beyond the quartiles -/+ 3 interquartile ranges) are
    drawn as triangles at the edge so they do not squash the rest.

    Args:
        trials: Trials of one study (``await study.trials()``, ``Result.trials`` or
            storage records), in any state, or a ``Result``.
        direction: ``"minimize"`` or ``"maximize"``: which way the running best goes;
            ``None`` (the default): a ``Result``'s own direction, else ``"minimize"``.
        space: Accepted for a uniform signature; the history does not need it.

    Returns:
        A figure with one axes.

    Raises:
        NoCompletedTrialsError: No trial completed with a finite value.
        ValueError: ``direction`` is invalid, or differs from the ``Result``'s.
    """
    data = prepare(trials, direction, space, "the history plot")
    fig = new_figure(8.0, 4.5)
    ax = fig.add_subplot()
    numbers = np.array([t.number for t in data.done], dtype=np.float64)
    marked = {
        state: [t.number for t in data.with_state(state)]
        for state in (TrialState.FAILED, TrialState.CANCELLED)
    }
    # room below the lowest value for the failure markers
    data.scale.apply(ax, margin=0.12 if any(marked.values()) else 0.05)
    data.scale.draw(
        ax,
        numbers,
        data.values,
        s=18,
        color=COMPLETE_COLOR,
        alpha=0.7,
        linewidths=0,
        label=f"complete ({len(data.done)})",
        zorder=2,
    )
    best = data.sign * np.minimum.accumulate(data.sign * data.values)
    ax.step(numbers, best, where="post", color=BEST_COLOR, linewidth=2, label="best so far")
    winner = int(np.argmin(data.sign * data.values))
    ax.scatter(
        [numbers[winner]],
        [data.values[winner]],
        marker="*",
        s=180,
        color=BEST_COLOR,
        edgecolors="black",
        linewidths=0.6,
        zorder=3,
        label=f"best: trial {data.done[winner].number} = {data.values[winner]:.4g}",
    )
    for state, marker, color in (
        (TrialState.FAILED, "x", FAILED_COLOR),
        (TrialState.CANCELLED, "|", OTHER_COLOR),
    ):
        numbers_in_state = marked[state]
        if numbers_in_state:
            # along the bottom edge: these trials have no value to place them at
            ax.scatter(
                numbers_in_state,
                np.full(len(numbers_in_state), 0.035),
                transform=ax.get_xaxis_transform(),
                marker=marker,
                s=40,
                color=color,
                clip_on=False,
                zorder=3,
                label=f"{state.value} ({len(numbers_in_state)})",
            )
    ax.set_xlabel("trial number")
    ax.set_ylabel("objective value")
    ax.set_title(f"Optimization history ({data.direction})")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    return fig
