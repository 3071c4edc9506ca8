"""Per-dimension numeric logic: sampling, rounding to the grid, and value checks.

A :class:`Codec` wraps one :class:`Dimension` and knows how to turn a uniform draw
into a value, a (possibly garbage) number into a valid stored value, and a stored
value into its number in the vector encoding. Every operation has a scalar form
(plain Python floats, for one configuration) and, where it matters, a vectorised
form over a whole column.
"""

from __future__ import annotations

import bisect
import enum
import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TypeGuard

import numpy as np
import numpy.typing as npt

from .._errors import ParameterError
from .._types import JSONScalar
from ._dimension import Dimension, DimensionKind
from ._normal import NormalPrior

__all__ = ["Codec", "choice_key"]

FloatArray = npt.NDArray[np.float64]

#: Relative tolerance for "this float is on its step grid".
_GRID_TOLERANCE = 1e-6
#: Significant decimal digits kept when snapping a float to its step grid.
_SIGNIFICANT_DIGITS = 15


_PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})


def choice_key(value: object) -> tuple[type, object]:
    """A lookup key that keeps ``True``, ``1`` and ``1.0`` apart (they hash equal)."""
    if isinstance(value, bool | np.bool_):
        return (bool, bool(value))
    if isinstance(value, numbers.Integral):
        return (int, int(value))
    if isinstance(value, numbers.Real):
        return (float, float(value))
    if isinstance(value, str) and not isinstance(value, enum.Enum):
        return (str, str(value))  # e.g. numpy.str_ from rng.choice(["a", "b"])
    return (type(value), value)


def _is_real(value: object) -> TypeGuard[float]:
    kind = type(value)
    if kind is float or kind is int:  # the stored types: skip the slower ABC checks
        return True
    if isinstance(value, bool | np.bool_):
        return False
    return isinstance(value, numbers.Real)


def _is_int(value: object) -> TypeGuard[int]:
    if isinstance(value, bool | np.bool_):
        return False
    return isinstance(value, numbers.Integral)


class Codec:
    """Numeric behaviour of one dimension (see the module docstring).

    Args:
        dimension: The dimension described.
        column: Its column in numeric vectors.
        parent_column: Column of the gating branch dimension, or ``-1``.
        parent_index: Index of ``dimension.parent_choice`` in the parent's choices.
        enum_type: For enum fields, the enum class (choices are member names).
    """

    def __init__(
        self,
        dimension: Dimension,
        column: int,
        parent_column: int,
        parent_index: int,
        enum_type: type[enum.Enum] | None = None,
    ) -> None:
        self.dimension = dimension
        self.name = dimension.name
        self.column = column
        self.parent_column = parent_column
        self.parent_index = parent_index
        self.enum_type = enum_type
        self.kind = dimension.kind
        self.is_categorical = dimension.kind is DimensionKind.CATEGORICAL
        self.choices: tuple[JSONScalar, ...] = dimension.choices
        self.n_choices = len(dimension.choices)
        # A categorical with weights draws by its cumulative weights (None: uniformly).
        self.cumulative: FloatArray | None = None
        if dimension.weights:
            self.cumulative = np.cumsum(dimension.weights)
        self.lookup: dict[tuple[type, object], int] = {
            choice_key(c): i for i, c in enumerate(dimension.choices)
        }
        low = dimension.low if dimension.low is not None else 0.0
        high = dimension.high if dimension.high is not None else 0.0
        self.low = float(low)
        self.high = float(high)
        self.log = dimension.log
        self.step = float(dimension.step) if dimension.step is not None else None
        self.steps = 0  # number of grid steps between low and high
        if self.step is not None:
            self.steps = round((self.high - self.low) / self.step)
        scale = max(abs(self.low), abs(self.high), self.step or 0.0, 1e-300)
        decimals = max(0, _SIGNIFICANT_DIGITS - 1 - math.floor(math.log10(scale)))
        # Grid values are rounded to 15 significant digits (0.1 * 3 is stored as 0.3),
        # unless that would merge grid points (a step of 0.25 at 1e14): then not at all.
        coarse = self.step is not None and 2 * 10.0**-decimals > self.step
        self.decimals: int | None = None if coarse else decimals
        # Rounding slack at the bounds (exp(log(high)) may land just above high): an
        # int has none, a log float's is relative to each bound (a range 1e-8..1e4 must
        # not let 0.0 in), a linear float's relative to the larger bound.
        if self.kind is DimensionKind.INT:
            self._lowest, self._highest = self.low, self.high
        elif self.log:
            self._lowest, self._highest = self.low * (1 - 1e-12), self.high * (1 + 1e-12)
        else:
            slack = 1e-12 * max(abs(self.low), abs(self.high), self.high - self.low)
            self._lowest, self._highest = self.low - slack, self.high + slack
        self._on_grid = self.step is not None and (
            self.kind is DimensionKind.FLOAT or self.step != 1.0
        )
        # Off-grid allowance in steps: a float near the bounds is exact only to an ulp,
        # which is a sizeable part of a fine step far from zero (1e-9 near 1000).
        self._grid_tolerance = _GRID_TOLERANCE
        if self.step is not None:
            ulp = math.ulp(max(abs(self.low), abs(self.high)))
            self._grid_tolerance = max(_GRID_TOLERANCE, 2 * ulp / self.step)
        # A log range with a step draws log-uniformly on the range widened by half a
        # step each side, then rounds to the grid: each grid value gets the share of
        # the log range nearer to it (Hyperopt's qloguniform). The lower edge never
        # goes below low / 2 (nor to zero): low - step / 2 alone tends to 0 as low
        # nears step / 2, and the lowest value's share to 100 %.
        # An int has step 1, so Int(1, 100, log=True) draws on [0.5, 100.5].
        # ``Encoding`` (the suggesters' unit coordinates) uses the same interval.
        if self.log and self.step is not None:
            half = self.step / 2
            self.log_low = math.log(max(self.low - half, self.low / 2))
            self.log_high = math.log(self.high + half)
        elif self.log:
            self.log_low = math.log(self.low)
            self.log_high = math.log(self.high)
        else:
            self.log_low = self.log_high = 0.0
        # A Gaussian prior (Float's mu and sigma), on the log range with log: uniform
        # draws go through its truncated cumulative distribution.
        self.prior: NormalPrior | None = None
        if dimension.mu is not None and dimension.sigma is not None:
            # With a step, each grid value gets the prior's mass of its cell: the range
            # reaches half a step beyond each end (as the log range above does).
            ends = (self.low, self.high)
            if self.log:
                ends = (self.log_low, self.log_high)
            elif self.step is not None:
                ends = (self.low - self.step / 2, self.high + self.step / 2)
            self.prior = NormalPrior(dimension.mu, dimension.sigma, *ends)
        # Int(log=True) with the default step 1 rounds to the nearest int, as before
        # steps could be combined with log (the same draws for the same seed).
        self._log_unit_int = self.kind is DimensionKind.INT and self.log and self.step == 1.0
        self.draw_value: Callable[[float], JSONScalar] = self._make_draw_value()
        self.snap_value: Callable[[float], JSONScalar] = self._make_snap_value()

    # -- specialised scalar paths (one configuration at a time, no branching) ----
    def _make_draw_value(self) -> Callable[[float], JSONScalar]:
        """``u`` in ``[0, 1)`` -> stored value; same law as :meth:`column_from_unit`."""
        low, high, steps = self.low, self.high, self.steps
        if self.is_categorical:
            choices, last = self.choices, self.n_choices - 1
            n = self.n_choices
            if self.cumulative is not None:
                edges = self.cumulative.tolist()
                return lambda u: choices[min(bisect.bisect_right(edges, u), last)]
            return lambda u: choices[min(int(u * n), last)]
        if self.prior is not None:
            column = self.column_from_unit  # the same numbers as the vector draws
            return lambda u: float(column(np.asarray([u]))[0])
        if self.log:
            log_low, span = self.log_low, self.log_high - self.log_low
            if self._log_unit_int:
                int_low, int_high = int(low), int(high)
                return lambda u: min(max(round(math.exp(log_low + span * u)), int_low), int_high)
            if self.step is None:
                return lambda u: min(max(math.exp(log_low + span * u), low), high)
            snap = self._make_snap_value()
            return lambda u: snap(math.exp(log_low + span * u))
        if self.step is not None:
            if self.kind is DimensionKind.INT:
                int_low, int_step = int(low), int(self.step)
                return lambda u: int_low + int_step * min(int(u * (steps + 1)), steps)
            grid = self._grid
            return lambda u: grid(min(int(u * (steps + 1)), steps))
        width = high - low
        return lambda u: min(low + width * u, high)

    def _make_snap_value(self) -> Callable[[float], JSONScalar]:
        """Finite number -> stored value; the scalar twin of :meth:`snap_column`."""
        low, high, steps = self.low, self.high, self.steps
        if self.is_categorical:
            choices, last = self.choices, self.n_choices - 1
            return lambda x: choices[min(max(round(x), 0), last)]
        if self._log_unit_int:
            int_low, int_high = int(low), int(high)
            return lambda x: min(max(round(x), int_low), int_high)
        if self.step is not None:
            step = self.step
            if self.kind is DimensionKind.INT:
                int_low, int_step = int(low), int(step)
                return lambda x: int_low + int_step * min(max(round((x - low) / step), 0), steps)
            grid = self._grid
            return lambda x: grid(min(max(round((x - low) / step), 0), steps))
        return lambda x: min(max(x, low), high)

    # -- uniform draw -> number ---------------------------------------------------
    def column_from_unit(self, u: FloatArray) -> FloatArray:
        """Map a column of uniform draws in ``[0, 1)`` to valid numbers (the prior)."""
        if self.is_categorical:
            if self.cumulative is not None:
                drawn = np.searchsorted(self.cumulative, u, side="right")
                return np.minimum(drawn, self.n_choices - 1).astype(np.float64)
            return np.minimum(np.floor(u * self.n_choices), self.n_choices - 1)
        if self.prior is not None:
            t = self.prior.values(u)
            x = np.exp(t) if self.log else t
            return self.snap_column(x) if self.step is not None else np.clip(x, self.low, self.high)
        if self.log:
            x = np.exp(self.log_low + (self.log_high - self.log_low) * u)
            if self._log_unit_int:
                x = np.rint(x)
            elif self.step is not None:
                return self.snap_column(x)
            return np.clip(x, self.low, self.high)
        if self.step is not None:
            k = np.minimum(np.floor(u * (self.steps + 1)), self.steps)
            return self._grid_column(k)
        return np.minimum(self.low + (self.high - self.low) * u, self.high)

    # -- number -> stored value ---------------------------------------------------
    def _grid(self, k: int) -> float:
        assert self.step is not None
        value = self.low + k * self.step
        if self.decimals is not None:
            # np.round's arithmetic (scale, round half to even, unscale), not round(x, n),
            # which rounds the exact decimal: the two differ by an ulp for a low with more
            # than 15 digits, and _grid_column must give the same floats.
            scale = 10.0**self.decimals
            scaled = value * scale
            whole = round(scaled)
            value = whole / scale if whole else math.copysign(0.0, scaled)
        value = min(max(value, self.low), self.high)
        return float(value) if self.kind is DimensionKind.FLOAT else float(round(value))

    def _grid_column(self, k: FloatArray) -> FloatArray:
        assert self.step is not None
        value = self.low + k * self.step
        if self.decimals is not None:
            value = np.round(value, self.decimals)
        value = np.clip(value, self.low, self.high)
        return value if self.kind is DimensionKind.FLOAT else np.rint(value)

    def snap_column(self, x: FloatArray) -> FloatArray:
        """Round numbers to the grid and clip them into bounds (``NaN`` stays ``NaN``).

        For categorical dimensions the results are valid choice indices.
        """
        if self.is_categorical:
            return np.clip(np.rint(x), 0, self.n_choices - 1)
        if self.step is not None and not self._log_unit_int:
            k = np.clip(np.rint((x - self.low) / self.step), 0, self.steps)
            return self._grid_column(k)
        if self.kind is DimensionKind.INT:
            x = np.rint(x)
        return np.clip(x, self.low, self.high)

    def number_of(self, value: JSONScalar) -> float:
        """The number of a stored value in the vector encoding (no bounds check).

        Raises:
            ParameterError: An unknown categorical choice or a non-numeric value.
        """
        if self.is_categorical:
            return float(self.index_of(value))
        if not _is_real(value):
            msg = (
                f"parameter {self.name!r} = {value!r} has type {type(value).__name__}; "
                f"expected a {self.kind.value} in [{self._bounds()}]"
            )
            raise ParameterError(msg)
        return float(value)

    def index_of(self, value: object) -> int:
        """Index of a categorical value in ``choices``.

        Raises:
            ParameterError: The value is not one of the choices.
        """
        kind = type(value)
        if self.enum_type is not None and isinstance(value, self.enum_type):
            value = value.name  # an enum field's member, stored by its name
            kind = str
        try:
            key = (kind, value) if kind in _PLAIN_TYPES else choice_key(value)
            index = self.lookup.get(key)
        except TypeError:  # unhashable: a dict or a list is never a choice
            index = None
        if index is None and _is_int(value):
            # an int where float choices are declared (e.g. JSON dropped ".0"); never a
            # bool, which an int or float dimension rejects too
            index = self.lookup.get((float, float(value)))
        if index is None:
            msg = (
                f"parameter {self.name!r} = {value!r} is not one of the allowed "
                f"choices {list(self.choices)!r}"
            )
            if isinstance(value, Mapping):
                msg += (
                    "; parameters are flat, not nested: a union field takes its branch's "
                    "tag and the branch's fields have names of their own (as in "
                    "{'model': 'SVM', 'model:SVM.C': 1.0}; space.names lists them), or "
                    "pass an instance of the space class"
                )
            raise ParameterError(msg)
        return index

    # -- validation ---------------------------------------------------------------
    def _bounds(self) -> str:
        low: Any = int(self.low) if self.kind is DimensionKind.INT else self.low
        high: Any = int(self.high) if self.kind is DimensionKind.INT else self.high
        return f"{low}, {high}"

    def check(self, value: object) -> JSONScalar:
        """Validate a stored value and return it normalised (grid-snapped floats).

        Raises:
            ParameterError: Wrong type, out of bounds, off the step grid, unknown choice.
        """
        if self.is_categorical:
            return self.choices[self.index_of(value)]
        kind = type(value)
        if self.kind is DimensionKind.INT:
            if kind is int or _is_int(value):
                x = float(int(value))  # type: ignore[call-overload]
            else:
                self._fail(value, "has type " + kind.__name__)
        else:
            if kind is float or kind is int or _is_real(value):
                x = float(value)  # type: ignore[arg-type]
            else:
                self._fail(value, "has type " + kind.__name__)
            if not math.isfinite(x):
                self._fail(value, "is not finite")
        if x < self._lowest or x > self._highest:
            self._fail(value, "is out of bounds")
        if self._on_grid:
            assert self.step is not None
            k = (x - self.low) / self.step
            if abs(k - round(k)) > self._grid_tolerance:
                step: Any = int(self.step) if self.kind is DimensionKind.INT else self.step
                low: Any = int(self.low) if self.kind is DimensionKind.INT else self.low
                msg = (
                    f"parameter {self.name!r} = {value!r} is off the step grid; allowed: "
                    f"{low} + k * {step} within [{self._bounds()}]"
                )
                raise ParameterError(msg)
            x = self._grid(min(max(round(k), 0), self.steps))
        elif x < self.low:
            x = self.low
        elif x > self.high:
            x = self.high
        return int(x) if self.kind is DimensionKind.INT else x

    def _fail(self, value: object, problem: str) -> NoReturn:
        if problem == "is out of bounds":
            wanted = "allowed:"
        else:
            wanted = (
                "expected an int in" if self.kind is DimensionKind.INT else "expected a float in"
            )
        msg = f"parameter {self.name!r} = {value!r} {problem}; {wanted} [{self._bounds()}]"
        raise ParameterError(msg)
