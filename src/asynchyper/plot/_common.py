"""What every plot shares: the prepared trials, the value axis, figures and labels."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from .._analysis import (
    ParamSpec,
    SpaceLike,
    TrialLike,
    check_direction,
    param_specs,
    require_completed,
    trials_of,
)
from .._records import Trial, TrialRecord, TrialState
from .._types import JSONScalar

if TYPE_CHECKING:
    from .._scheduler import Result

__all__ = [
    "COMPLETE_COLOR",
    "FAILED_COLOR",
    "BEST_COLOR",
    "OTHER_COLOR",
    "Prepared",
    "ValueScale",
    "choice_label",
    "jitter",
    "log_axis",
    "short_name",
    "new_figure",
    "padded",
    "prepare",
]

FloatArray = npt.NDArray[np.float64]

COMPLETE_COLOR = "#1f77b4"
BEST_COLOR = "#ff7f0e"
FAILED_COLOR = "#d62728"
OTHER_COLOR = "#7f7f7f"

#: A positive objective spanning this many times its minimum gets a log axis.
_LOG_RATIO = 1e3
#: Values beyond the quartiles -/+ this many IQRs are drawn at the axis edge.
_FENCE = 3.0


@attrs.frozen(kw_only=True)
class ValueScale:
    """How the objective axis is drawn: log or linear, and where it is cut.

    Attributes:
        log: Whether the axis is logarithmic.
        limits: The axis range when outliers are cut off, else ``None``.
    """

    log: bool
    limits: tuple[float, float] | None

    @classmethod
    def of(cls, values: FloatArray) -> ValueScale:
        """Choose the scale for these objective values."""
        low, high = float(values.min()), float(values.max())
        if low > 0 and high / low >= _LOG_RATIO:
            return cls(log=True, limits=None)
        q1, q3 = np.percentile(values, [25.0, 75.0])
        iqr = float(q3 - q1)
        fence_low, fence_high = q1 - _FENCE * iqr, q3 + _FENCE * iqr
        if iqr > 0 and (low < fence_low or high > fence_high):
            return cls(log=False, limits=(max(low, fence_low), min(high, fence_high)))
        return cls(log=False, limits=None)

    def clip(self, values: FloatArray) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
        """Values clipped into the limits, and which ones were cut."""
        if self.limits is None:
            return values, np.zeros(values.shape, dtype=np.bool_)
        clipped = np.clip(values, *self.limits)
        return clipped, clipped != values

    def apply(self, ax: Axes, margin: float = 0.05) -> None:
        """Set the axes' y scale and range, with ``margin`` (a fraction) on each side."""
        ax.set_ymargin(margin)
        if self.log:
            ax.set_yscale("log")
        elif self.limits is not None:
            ax.set_ylim(*padded(*self.limits, margin))

    def draw(self, ax: Axes, x: FloatArray, values: FloatArray, **style: Any) -> None:
        """Scatter ``values`` at ``x``; points beyond the limits become edge triangles.

        Per-point style arrays (such as ``c``) are split along with the points.
        """
        clipped, cut = self.clip(values)
        for part, marker in ((~cut, style.get("marker", "o")), (cut, "^")):
            if not part.any() and marker == "^":
                continue
            kept: dict[str, Any] = {
                k: v[part] if isinstance(v, np.ndarray) and v.shape == values.shape else v
                for k, v in style.items()
                if k != "marker" and (k != "label" or marker != "^")
            }
            ax.scatter(x[part], clipped[part], marker=marker, **kept)


@attrs.frozen(kw_only=True)
class Prepared:
    """Trials sorted out for plotting.

    Attributes:
        direction: ``"minimize"`` or ``"maximize"``.
        sign: ``1.0`` when lower is better, ``-1.0`` otherwise.
        trials: Every trial given, by number.
        done: Complete trials with a finite value, by number.
        values: Their values, in the same order.
        specs: One description per parameter.
        scale: How to draw the objective axis.
    """

    direction: str
    sign: float
    trials: list[TrialLike]
    done: list[TrialLike]
    values: FloatArray
    specs: tuple[ParamSpec, ...]
    scale: ValueScale

    def with_state(self, state: TrialState) -> list[TrialLike]:
        """Trials in ``state``, by number."""
        return [t for t in self.trials if t.state is state]

    def active(self, spec: ParamSpec) -> tuple[list[JSONScalar], FloatArray, FloatArray]:
        """Where ``spec`` is active among complete trials: its values, values, numbers."""
        rows = [i for i, t in enumerate(self.done) if spec.name in t.params]
        params = [self.done[i].params[spec.name] for i in rows]
        numbers = np.array([self.done[i].number for i in rows], dtype=np.float64)
        return params, self.values[rows], numbers


def prepare(
    source: Sequence[TrialRecord | Trial[Any]] | Result[Any],
    direction: str | None,
    space: SpaceLike,
    what: str,
) -> Prepared:
    """Check the arguments and sort the trials out.

    Raises:
        NoCompletedTrialsError: No trial completed with a finite value.
        ValueError: ``direction`` is invalid.
        ParameterError: A trial does not fit ``space``.
    """
    trials, direction, space = trials_of(source, direction, space)
    sign = check_direction(direction)
    done = require_completed(trials, what)
    values = np.array([t.value for t in done], dtype=np.float64)
    return Prepared(
        direction=direction,
        sign=sign,
        trials=sorted(trials, key=lambda t: t.number),
        done=done,
        values=values,
        specs=param_specs(trials, space),
        scale=ValueScale.of(values),
    )


def padded(low: float, high: float, fraction: float, *, log: bool = False) -> tuple[float, float]:
    """Axis limits: ``low`` to ``high`` widened by ``fraction`` of the span on each side.

    On a log axis the span is measured in decades. The limits stay finite (and
    positive on a log axis) even for bounds near the largest or smallest floats,
    where ``high - low`` or ``high / low`` would overflow.
    """
    if log:
        factor = math.exp(fraction * (math.log(high) - math.log(low)))
        return max(low / factor, sys.float_info.min), min(high * factor, sys.float_info.max)
    pad = fraction * high - fraction * low
    return max(low - pad, -sys.float_info.max), min(high + pad, sys.float_info.max)


def new_figure(width: float, height: float) -> Figure:
    """A figure with constrained layout, detached from pyplot's global state."""
    return Figure(figsize=(width, height), layout="constrained")


def jitter(n: int, width: float = 0.3) -> FloatArray:
    """Deterministic horizontal offsets in ``[-width/2, width/2]`` for strip plots."""
    return np.random.default_rng(0).uniform(-width / 2, width / 2, n)


def choice_label(value: JSONScalar, limit: int = 18) -> str:
    """A short tick label for a categorical value."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_name(name: str, limit: int = 28) -> str:
    """A flat parameter name shortened for a tick or title, keeping its last field.

    ``"model:HistGradientBoostingClassifier.l2_regularization"`` becomes
    ``"HistGradientBoo….l2_regularization"``: the branch tag survives as far as
    room allows, the field name always.
    """
    if len(name) <= limit:
        return name
    tail = name[name.rfind(":") + 1 :]
    if len(tail) <= limit:
        return tail
    head, _, leaf = tail.rpartition(".")
    room = limit - len(leaf) - 2
    if head and room >= 4:
        return f"{head[:room]}….{leaf}"
    return "…" + tail[-(limit - 1) :]


def log_axis(axis: Axis, low: float, high: float) -> None:
    """Log scale with plain labels, few enough not to collide on a small panel."""
    decades = math.log10(high / low) if 0 < low < high else 0.0
    if decades <= 1.5:
        axis.set_major_locator(LogLocator(base=10.0, subs=(1.0, 2.0, 5.0)))
    elif decades <= 4:
        axis.set_major_locator(LogLocator(base=10.0, subs=(1.0,)))
    else:
        axis.set_major_locator(_WideLogLocator(base=10.0, numticks=5))
    axis.set_minor_formatter(NullFormatter())
    axis.set_major_formatter(FuncFormatter(_log_label))


class _WideLogLocator(LogLocator):
    """A ``LogLocator`` that stays quiet on an axis reaching near the float range's ends.

    Its candidate ticks run a stride past the axis, so a bound such as ``1e200``
    has candidates above the largest float: numpy warns of the overflow, although
    those candidates (infinite) are dropped anyway.
    """

    def tick_values(self, vmin: float, vmax: float) -> Sequence[float]:
        with np.errstate(over="ignore"):
            return super().tick_values(vmin, vmax)


def _log_label(value: float, _position: object) -> str:
    if 1e-3 <= abs(value) < 1e4:
        return f"{value:g}"
    return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e")
