"""Parallel coordinates: every trial as a line across one axis per parameter."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure

from .._analysis import ParamSpec
from .._records import Trial, TrialRecord
from .._space import Space
from ._common import FloatArray, Prepared, choice_label, new_figure, prepare, short_name

if TYPE_CHECKING:
    from .._scheduler import Result

__all__ = ["parallel_coordinates"]

FloatRows = list[list[tuple[float, float]]]

#: Height where lines cross the axis of a parameter that is inactive for them.
_INACTIVE = -0.14


def parallel_coordinates(
    trials: Sequence[TrialRecord | Trial[Any]] | Result[Any],
    *,
    direction: str | None = None,
    space: Space[Any] | Sequence[Mapping[str, Any]] | None = None,
) -> Figure:
    """Plot each complete trial as a line across normalised parameter axes.

    The first axis is the objective; then one axis per parameter, scaled to its
    domain (log parameters on a log scale, categorical ones one level per choice).
    Lines are coloured by objective value, and the best trials are drawn last, on
    top, in the darkest colour. Below each conditional parameter's axis sits an
    "inactive" slot that the trials where it was not active pass through.

    As in :func:`history`, a positive objective spanning three decades or more is
    drawn on a log axis (and a log colour scale), and values far outside the rest
    (beyond the quartiles -/+ 3 interquartile ranges, e.g. a diverged run) do not
    squash the objective axis: their lines start at its edge, which is labelled
    ``≥`` (or ``≤``) the edge value and marked with a triangle, and the legend says
    how many trials were cut off and how far they reach. The colour bar gets a pointed end for them.

    Args:
        trials: Trials of one study, in any state, or a ``Result``; only complete ones
            are drawn.
        direction: ``"minimize"`` or ``"maximize"``: which values count as best;
            ``None`` (the default): a ``Result``'s own direction, else ``"minimize"``.
        space: The compiled space or its JSON description; gives bounds, log scales
            and every choice. ``None``: a ``Result``'s own, else inferred from the values.

    Returns:
        A figure with one axes plus a colour bar.

    Raises:
        NoCompletedTrialsError: No trial completed with a finite value.
        ValueError: ``direction`` is invalid, or differs from the ``Result``'s.
        ParameterError: A trial does not fit ``space``.
    """
    data = prepare(trials, direction, space, "the parallel coordinates plot")
    n_axes = 1 + len(data.specs)
    fig = new_figure(min(max(7.0, 1.25 * n_axes + 1.5), 28.0), 5.5)
    ax = fig.add_subplot()
    low, high = _objective_range(data)
    objective = _objective_position(data.values, low, high, log=data.scale.log)
    lines: FloatRows = [[(0.0, float(y))] for y in objective]
    for column, spec in enumerate(data.specs, start=1):
        for row, trial in enumerate(data.done):
            if spec.name in trial.params:
                position = _normalise(spec, [trial.params[spec.name]])[0]
            else:
                # a slot below the axis, so a skipped parameter never looks like a value
                position = _INACTIVE
            lines[row].append((float(column), position))
    # worst first, so the best lines end up on top
    order = np.argsort(-data.sign * data.values, kind="stable")
    cmap = matplotlib.colormaps["viridis" if data.direction == "minimize" else "viridis_r"]
    alpha = 0.75 if len(data.done) <= 100 else max(0.25, 75.0 / len(data.done))
    collection = LineCollection(
        [lines[i] for i in order],
        colors=cmap(objective[order]),
        linewidths=1.2,
        alpha=alpha,
        gid="trials",
    )
    ax.add_collection(collection)
    _draw_axes(ax, data, low, high)
    _mark_cut_off(fig, ax, data, low, high)
    below, above = bool((data.values < low).any()), bool((data.values > high).any())
    norm, label = _colour_scale(low, high, log=data.scale.log)
    fig.colorbar(
        ScalarMappable(norm=norm, cmap=cmap),
        ax=ax,
        label=label,
        # a pointed end stands for the values beyond the colour range
        extend="both" if below and above else "min" if below else "max" if above else "neither",
    )
    ax.set_title(f"Parallel coordinates ({data.direction}, {len(data.done)} complete trials)")
    return fig


def _objective_range(data: Prepared) -> tuple[float, float]:
    if data.scale.limits is not None:
        low, high = data.scale.limits
    else:
        low, high = float(data.values.min()), float(data.values.max())
    if not high > low:
        return low - 0.5, high + 0.5
    return low, high


def _objective_position(values: FloatArray, low: float, high: float, *, log: bool) -> FloatArray:
    """Heights on the objective axis, 0 at ``low`` and 1 at ``high`` (log: in decades)."""
    if log:  # the scale is log only for positive values
        values, low, high = np.log(values), math.log(low), math.log(high)
    else:
        # scaled first, so that a range near the largest floats does not overflow
        size = max(abs(low), abs(high))
        values, low, high = values / size, low / size, high / size
    return np.clip((values - low) / (high - low), 0.0, 1.0)


def _colour_scale(low: float, high: float, *, log: bool) -> tuple[Normalize, str]:
    """The colour bar's scale and label (in units of a power of ten if the span overflows)."""
    if log:
        return LogNorm(vmin=low, vmax=high), "objective value (log scale)"
    if math.isfinite(high - low):
        return Normalize(vmin=low, vmax=high), "objective value"
    unit = 10.0 ** math.floor(math.log10(max(abs(low), abs(high))))
    return Normalize(vmin=low / unit, vmax=high / unit), f"objective value / {unit:.0e}"


def _mark_cut_off(fig: Figure, ax: Axes, data: Prepared, low: float, high: float) -> None:
    """Triangles at the objective axis' ends where trials beyond them were cut off."""
    handles = []
    for y, cut, marker, side, reach in (
        (1.0, data.values > high, "^", f"above {high:.4g} (up to", np.max),
        (0.0, data.values < low, "v", f"below {low:.4g} (down to", np.min),
    ):
        count = int(cut.sum())
        if count:
            handles.append(
                ax.scatter(
                    [0.0],
                    [y],
                    marker=marker,
                    s=60,
                    color="black",
                    zorder=5,
                    clip_on=False,
                    gid="cut off",
                    label=f"{count} trial{'s' if count > 1 else ''} {side} "
                    f"{float(reach(data.values[cut])):.4g}), drawn at the axis end",
                )
            )
    if handles:
        fig.legend(handles=handles, loc="outside lower left", fontsize=8, frameon=False)


def _normalise(spec: ParamSpec, values: Sequence[Any]) -> list[float]:
    scaled = spec.scaled(values)
    low, high = spec.scaled_bounds()
    if not high > low:
        return [0.5] * len(values)
    return [float(v) for v in np.clip((scaled - low) / (high - low), 0.0, 1.0)]


def _draw_axes(ax: Axes, data: Prepared, low: float, high: float) -> None:
    n_axes = 1 + len(data.specs)
    ax.vlines(range(n_axes), 0.0, 1.0, color="black", linewidth=1.0, zorder=3)
    label_style: dict[str, Any] = {
        "fontsize": 7,
        "va": "center",
        "ha": "left",
        "zorder": 4,
        "bbox": {"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.7, "lw": 0},
    }
    for y, value, bound, cut in (
        (0.0, low, "≤", data.values < low),
        (1.0, high, "≥", data.values > high),
    ):
        # the end of the axis stands for every value cut off beyond it
        if cut.any():
            ax.text(0.07, y, f"{bound}{value:.4g}", **label_style)  # right of the triangle
        else:
            ax.text(0.04, y, f"{value:.4g}", **label_style)
    if data.scale.log:  # the middle of a log axis is the geometric mean of its ends
        ax.text(0.04, 0.5, f"{math.sqrt(low) * math.sqrt(high):.3g} (log)", **label_style)
    labelled_inactive = False
    for column, spec in enumerate(data.specs, start=1):
        for y, text in _ticks(spec):
            ax.text(column + 0.04, y, text, **label_style)
        if spec.is_conditional:
            ax.plot([column], [_INACTIVE], marker="_", markersize=12, color="0.4", zorder=3)
            if not labelled_inactive or n_axes <= 12:  # once is enough on a crowded plot
                ax.text(column + 0.04, _INACTIVE, "inactive", **label_style, color="0.4")
                labelled_inactive = True
    ax.set_xticks(range(n_axes))
    names = ["objective", *(short_name(spec.name) for spec in data.specs)]
    rotate = n_axes > 5 or max(len(name) for name in names) > 12
    ax.set_xticklabels(
        names,
        rotation=(60 if n_axes > 16 else 30) if rotate else 0,
        ha="right" if rotate else "center",
        rotation_mode="anchor",
        fontsize=9 if n_axes <= 16 else 8,
    )
    ax.set_xlim(-0.2, n_axes - 0.4)
    ax.set_ylim(_INACTIVE - 0.06 if any(s.is_conditional for s in data.specs) else -0.05, 1.05)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)


def _ticks(spec: ParamSpec) -> list[tuple[float, str]]:
    """Where to label a parameter's axis, and with what."""
    if spec.is_categorical:
        count = len(spec.choices)
        if count == 1:
            return [(0.5, choice_label(spec.choices[0], 12))]
        return [(i / (count - 1), choice_label(c, 12)) for i, c in enumerate(spec.choices)]
    if spec.low is None or spec.high is None or not spec.high > spec.low:
        return [(0.5, "" if spec.low is None else f"{spec.low:.3g}")]
    middle = math.sqrt(spec.low * spec.high) if spec.log else (spec.low + spec.high) / 2
    if spec.kind == "int" and not middle.is_integer():
        middle = round(middle)
        return [
            (0.0, f"{spec.low:.4g}"),
            (_normalise(spec, [middle])[0], f"{middle:.4g}"),
            (1.0, f"{spec.high:.4g}"),
        ]
    return [(0.0, f"{spec.low:.4g}"), (0.5, f"{middle:.4g}"), (1.0, f"{spec.high:.4g}")]
