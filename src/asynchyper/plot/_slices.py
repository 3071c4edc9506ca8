"""Slice plots: the objective against each parameter, one panel per parameter."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .._analysis import ParamSpec
from .._records import Trial, TrialRecord
from .._space import Space
from ._common import (
    Prepared,
    choice_label,
    jitter,
    log_axis,
    new_figure,
    padded,
    prepare,
    short_name,
)

if TYPE_CHECKING:
    from .._scheduler import Result

__all__ = ["slices"]


def slices(
    trials: Sequence[TrialRecord | Trial[Any]] | Result[Any],
    *,
    direction: str | None = None,
    space: Space[Any] | Sequence[Mapping[str, Any]] | None = None,
) -> Figure:
    """Plot the objective against each parameter, one panel per parameter.

    Points are coloured by trial number, so the search's drift is visible. Log
    parameters get a log axis; categorical ones are spread as jittered columns, one
    per choice. A conditional parameter shows only the trials where it was active
    (the panel title says how many). All panels share the objective axis.

    Args:
        trials: Trials of one study, in any state, or a ``Result``; only complete ones
            are drawn.
        direction: ``"minimize"`` or ``"maximize"``; ``None`` (the default): a
            ``Result``'s own direction, else ``"minimize"``.
        space: The compiled space or its JSON description; gives log axes, bounds
            and every choice. ``None``: a ``Result``'s own, else inferred from the values.

    Returns:
        A figure with one axes per parameter plus a colour bar.

    Raises:
        NoCompletedTrialsError: No trial completed with a finite value.
        ValueError: ``direction`` is invalid, or differs from the ``Result``'s.
        ParameterError: A trial does not fit ``space``.
    """
    data = prepare(trials, direction, space, "the slice plot")
    n = max(len(data.specs), 1)
    ncols = min(math.ceil(math.sqrt(n)), 4)
    nrows = math.ceil(n / ncols)
    fig = new_figure(3.4 * ncols + 1.0, 2.9 * nrows + 0.4)
    grid = fig.subplots(nrows, ncols, sharey=True, squeeze=False)
    panels: list[Axes] = list(grid.flat)
    for extra in panels[n:]:
        fig.delaxes(extra)
    panels = panels[:n]
    numbers = [t.number for t in data.done]
    first, last = min(numbers), max(numbers)
    norm = Normalize(vmin=first, vmax=max(last, first + 1))
    cmap = matplotlib.colormaps["viridis"]
    data.scale.apply(panels[0])
    for ax, spec in zip(panels, data.specs, strict=False):
        _panel(ax, spec, data, norm)
    if not data.specs:
        panels[0].text(0.5, 0.5, "the trials have no parameters", ha="center", va="center")
    for row in grid:
        row[0].set_ylabel("objective value")
    fig.colorbar(
        ScalarMappable(norm=norm, cmap=cmap), ax=panels, label="trial number", shrink=0.8, aspect=40
    )
    fig.suptitle(f"Objective by parameter ({data.direction}, {len(data.done)} complete trials)")
    return fig


def _panel(ax: Axes, spec: ParamSpec, data: Prepared, norm: Normalize) -> None:
    params, values, numbers = data.active(spec)
    title = short_name(spec.name, 34)
    if spec.is_conditional:
        title += f"\n(active in {len(params)} of {len(data.done)})"
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    if not params:
        ax.text(
            0.5,
            0.5,
            "never active in a\ncomplete trial",
            ha="center",
            va="center",
            transform=ax.transAxes,
            fontsize=9,
            color="0.4",
        )
        ax.set_xticks([])
        return
    style: dict[str, Any] = {
        "c": numbers,
        "cmap": "viridis",
        "norm": norm,
        "s": 14,
        "alpha": 0.8,
        "linewidths": 0,
    }
    if spec.is_categorical:
        x = spec.scaled(params) + jitter(len(params))
        data.scale.draw(ax, x, values, **style)
        ax.set_xticks(range(len(spec.choices)))
        labels = [choice_label(c) for c in spec.choices]
        rotate = sum(len(label) for label in labels) > 24
        ax.set_xticklabels(labels, rotation=30 if rotate else 0, ha="right" if rotate else "center")
        ax.set_xlim(-0.6, len(spec.choices) - 0.4)
        return
    x = np.array(params, dtype=np.float64)
    data.scale.draw(ax, x, values, **style)
    low, high = float(x.min()), float(x.max())
    if spec.low is not None and spec.high is not None and spec.high > spec.low:
        low, high = spec.low, spec.high
        ax.set_xlim(*padded(low, high, 0.03, log=spec.log))
    if spec.log:
        ax.set_xscale("log")
        log_axis(ax.xaxis, low, high)
    elif spec.kind == "int":
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
