"""Branches: how each choice of a union field performed, and how often it was tried."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .._analysis import ParamSpec
from .._records import Trial, TrialRecord, TrialState
from .._space import Space
from ._common import (
    BEST_COLOR,
    COMPLETE_COLOR,
    FAILED_COLOR,
    OTHER_COLOR,
    Prepared,
    choice_label,
    jitter,
    new_figure,
    prepare,
)

if TYPE_CHECKING:
    from .._scheduler import Result

__all__ = ["branches"]

FloatArray = npt.NDArray[np.float64]


def branches(
    trials: Sequence[TrialRecord | Trial[Any]] | Result[Any],
    *,
    direction: str | None = None,
    space: Space[Any] | Sequence[Mapping[str, Any]] | None = None,
) -> Figure:
    """Compare the branches of every union field (e.g. ``model: SVM | Forest``).

    One row per union field: on the left, the objective values of the complete
    trials for each branch (a box plot with every trial as a dot, and a star on the
    branch's best: its lowest value when minimizing, its highest when maximizing;
    the title gives the best over all branches); on the right,
    how many trials took each branch, split into complete, failed and other states.
    A nested union field counts only the trials where it was active.

    Args:
        trials: Trials of one study, in any state, or a ``Result``.
        direction: ``"minimize"`` or ``"maximize"``; ``None`` (the default): a
            ``Result``'s own direction, else ``"minimize"``.
        space: The compiled space or its JSON description; names every branch, even
            one never tried. ``None``: a ``Result``'s own; for trials, union fields are
            recognised by the flat names (``model`` is a union field when
            ``model:SVM.C`` exists).

    Returns:
        A figure with two axes per union field; for a space without union fields,
        one axes that says so.

    Raises:
        NoCompletedTrialsError: No trial completed with a finite value.
        ValueError: ``direction`` is invalid, or differs from the ``Result``'s.
        ParameterError: A trial does not fit ``space``.
    """
    data = prepare(trials, direction, space, "the branches plot")
    unions = [spec for spec in data.specs if spec.is_branch]
    if not unions:
        fig = new_figure(6.0, 2.0)
        ax = fig.add_subplot()
        ax.text(
            0.5,
            0.5,
            "This space has no union fields, so there are no branches\n"
            "to compare (a union field looks like `model: SVM | Forest`).",
            ha="center",
            va="center",
            fontsize=10,
        )
        ax.set_axis_off()
        return fig
    widest = max(len(spec.choices) for spec in unions)
    fig = new_figure(max(9.0, 1.3 * widest + 6.0), 3.4 * len(unions) + 0.3)
    grid = fig.subplots(len(unions), 2, squeeze=False, width_ratios=[3, 2])
    for (values_ax, counts_ax), spec in zip(grid, unions, strict=True):
        _values(values_ax, spec, data)
        _counts(counts_ax, spec, data)
    return fig


def _values(ax: Axes, spec: ParamSpec, data: Prepared) -> None:
    params, values, _ = data.active(spec)
    index = spec.scaled(params).astype(np.intp)
    groups = [values[index == i] for i in range(len(spec.choices))]
    filled = [i for i, group in enumerate(groups) if group.size]
    data.scale.apply(ax)
    for i in filled:
        _box(ax, i, data.scale.clip(groups[i])[0])
    data.scale.draw(
        ax,
        index + jitter(len(index)),
        values,
        s=12,
        color=COMPLETE_COLOR,
        alpha=0.6,
        linewidths=0,
        zorder=3,
    )
    _choice_axis(ax, spec, [f"n={g.size}" for g in groups])
    ax.set_ylabel("objective value")
    ax.grid(axis="y", alpha=0.3)
    if not filled:  # a nested union field active only on trials that did not complete
        ax.set_title(f"{spec.name}: objective by branch (no complete trial)", fontsize=10)
        return
    # The best of a branch is its lowest value when minimizing, its highest otherwise.
    winners = np.array([data.sign * np.min(data.sign * groups[i]) for i in filled])
    data.scale.draw(
        ax,
        np.array(filled, dtype=np.float64),
        winners,
        marker="*",
        s=110,
        color=BEST_COLOR,
        edgecolors="black",
        linewidths=0.5,
        zorder=4,
        gid="branch best",
        label=f"best of branch ({'highest' if data.sign < 0 else 'lowest'})",
    )
    best = data.sign * np.min(data.sign * winners)
    ax.set_title(
        f"{spec.name}: objective by branch (best {best:.4g}, {data.direction})", fontsize=10
    )
    ax.legend(fontsize=8, loc="best", frameon=False)


def _box(ax: Axes, x: float, values: FloatArray, width: float = 0.55) -> None:
    """A box from quartile to quartile, the median, and whiskers to 1.5 IQR.

    Drawn from patches: ``Axes.boxplot`` reads every rcParam, which makes matplotlib
    import pyplot and pick a GUI backend.
    """
    q1, median, q3 = np.percentile(values, [25.0, 50.0, 75.0])
    reach = 1.5 * (q3 - q1)
    low = values[values >= q1 - reach].min()
    high = values[values <= q3 + reach].max()
    left = x - width / 2
    box = Rectangle(
        (left, q1),
        width,
        q3 - q1,
        facecolor="#c6dbef",
        edgecolor="black",
        linewidth=1.0,
        alpha=0.8,
        zorder=2,
    )
    ax.add_patch(box)
    ax.hlines([median], left, left + width, color="black", linewidth=1.2, zorder=2)
    ax.vlines([x, x], [low, q3], [q1, high], color="black", linewidth=1.0, zorder=2)
    ax.hlines([low, high], x - width / 4, x + width / 4, color="black", linewidth=1.0, zorder=2)


def _counts(ax: Axes, spec: ParamSpec, data: Prepared) -> None:
    states = {
        "complete": [TrialState.COMPLETE],
        "failed": [TrialState.FAILED],
        "other": [TrialState.CANCELLED, TrialState.RUNNING, TrialState.WAITING],
    }
    counts = {label: np.zeros(len(spec.choices)) for label in states}
    for trial in data.trials:
        if spec.name not in trial.params:
            continue
        i = spec.index(trial.params[spec.name])
        for label, members in states.items():
            if trial.state in members:
                counts[label][i] += 1
    positions = np.arange(len(spec.choices))
    bottom = np.zeros(len(spec.choices))
    colors = {"complete": COMPLETE_COLOR, "failed": FAILED_COLOR, "other": OTHER_COLOR}
    for label, column in counts.items():
        if label == "complete" or column.any():
            ax.bar(positions, column, 0.6, bottom=bottom, color=colors[label], label=label)
            bottom += column
    for x, total in zip(positions, bottom, strict=True):
        ax.annotate(
            f"{int(total)}",
            (x, total),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_ylim(0, max(bottom.max(), 1.0) * 1.3)  # headroom for the legend
    _choice_axis(ax, spec)
    ax.set_ylabel("trials")
    ax.set_title(f"{spec.name}: trials per branch", fontsize=10)
    ax.legend(fontsize=8, loc="upper center", ncols=3, frameon=False)
    ax.grid(axis="y", alpha=0.3)


def _choice_axis(ax: Axes, spec: ParamSpec, notes: Sequence[str] = ()) -> None:
    labels = [choice_label(c) for c in spec.choices]
    rotate = sum(len(label) for label in labels) > 30
    if notes:
        labels = [f"{label}\n{note}" for label, note in zip(labels, notes, strict=True)]
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=30 if rotate else 0, ha="right" if rotate else "center")
    ax.set_xlim(-0.6, len(labels) - 0.4)
