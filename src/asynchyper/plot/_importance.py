"""A bar chart of parameter importance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from matplotlib.figure import Figure

from .._analysis import parameter_importance, require_completed, trials_of
from .._records import Trial, TrialRecord
from .._space import Space
from ._common import COMPLETE_COLOR, new_figure

if TYPE_CHECKING:
    from .._scheduler import Result

__all__ = ["importance"]


def importance(
    trials: Sequence[TrialRecord | Trial[Any]] | Result[Any],
    *,
    direction: str | None = None,
    space: Space[Any] | Sequence[Mapping[str, Any]] | None = None,
) -> Figure:
    """Plot :func:`~asynchyper.parameter_importance` as horizontal bars, largest on top.

    Args:
        trials: Trials of one study, in any state, or a ``Result``; only complete ones
            are used.
        direction: ``"minimize"`` or ``"maximize"``; ``None`` (the default): a
            ``Result``'s own direction, else ``"minimize"``.
        space: The compiled space or its JSON description; gives log scales and
            every parameter (even those never active). ``None``: a ``Result``'s own,
            else inferred.

    Returns:
        A figure with one axes.

    Raises:
        NoCompletedTrialsError: No trial completed with a finite value.
        ValueError: ``direction`` is invalid, or differs from the ``Result``'s.
        ParameterError: A trial does not fit ``space``.
    """
    records, direction, space = trials_of(trials, direction, space)
    shares = parameter_importance(records, direction=direction, space=space)
    n_done = len(require_completed(records, "the importance plot"))
    names = list(shares)[::-1]  # barh draws bottom-up: most important on top
    longest = max((len(name) for name in names), default=10)
    fig = new_figure(min(5.5 + 0.085 * longest, 15.0), 1.5 + 0.3 * max(len(names), 1))
    ax = fig.add_subplot()
    percent = [100.0 * shares[name] for name in names]
    bars = ax.barh(names, percent, color=COMPLETE_COLOR, height=0.6)
    ax.bar_label(bars, labels=[f"{p:.1f}%" for p in percent], padding=3, fontsize=8)
    ax.set_xlim(0, max(percent, default=100.0) * 1.15 or 1.0)
    ax.set_ylim(-0.6, len(names) - 0.4)
    ax.set_xlabel("share of the variance explained by main effects (%)")
    ax.set_title(f"Parameter importance\n(fANOVA of main effects, {n_done} complete trials)")
    ax.tick_params(axis="y", labelsize=9)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    return fig
