"""The suggesters' internal view of a space: unit coordinates and activity groups.

Every numeric dimension is modelled on ``[0, 1]``: log dimensions in log space, and
discrete ones (ints, quantized floats) on their range widened by half a step on each
side, so that every grid point owns an equal share of the interval. Categorical
dimensions keep their choice index. Dimensions that share the same activity condition
(the same ``parent`` and ``parent_choice``) form a *group* that is modelled jointly.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .._errors import SuggesterError
from .._space import Dimension, DimensionKind, Space
from .._types import Params

__all__ = [
    "Encoding",
    "EncodingCache",
    "Group",
    "check_count",
    "UnitRows",
    "pending_matrix",
    "FloatArray",
    "BoolArray",
    "IntArray",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]

#: Enumerate a finite space only when it has at most this many configurations.
ENUMERATION_LIMIT = 50_000


class Group:
    """Dimensions that are active under the same condition.

    Attributes:
        index: Position of the group in :attr:`Encoding.groups` (parents come first).
        columns: Every column of the group, in space order.
        numeric: Its float/int columns.
        categorical: Its categorical columns.
        n_choices: Number of choices of each categorical column.
        parent_column: Column of the gating branch dimension, ``-1`` for the root.
        parent_choice: Index of the choice of ``parent_column`` that activates it.
        parent_group: Index of the group holding ``parent_column``, ``-1`` for the root.
        bandwidth_unit: What TPE measures each numeric column's smallest bandwidth in,
            in unit coordinates: ``1`` (the range), or a float's Gaussian prior's
            standard deviation.
        gaussian: Whether a numeric column has a Gaussian prior.
        grid: Which numeric columns have a step (ints, quantized floats).
    """

    def __init__(  # noqa: PLR0917 - built in one place, from positional structure
        self,
        index: int,
        columns: list[int],
        numeric: list[int],
        categorical: list[int],
        n_choices: list[int],
        parent_column: int,
        parent_choice: int,
        parent_group: int,
    ) -> None:
        self.index = index
        self.columns = np.asarray(columns, dtype=np.intp)
        self.numeric = np.asarray(numeric, dtype=np.intp)
        self.categorical = np.asarray(categorical, dtype=np.intp)
        self.n_choices = tuple(n_choices)
        self.parent_column = parent_column
        self.parent_choice = parent_choice
        self.parent_group = parent_group
        # Set by Encoding, which knows the dimensions' priors.
        self.bandwidth_unit = np.ones(self.numeric.size)
        self.gaussian = False
        self.grid: BoolArray = np.zeros(self.numeric.size, dtype=np.bool_)

    def rows_active(self, matrix: FloatArray) -> BoolArray:
        """Rows of an encoded matrix in which this group is active (from its NaN pattern)."""
        if self.parent_column < 0:
            return np.ones(matrix.shape[0], dtype=np.bool_)
        # NaN (parent inactive) compares unequal, so the whole ancestor chain is honoured.
        return np.asarray(matrix[:, self.parent_column] == self.parent_choice)


class Encoding:
    """Vectorised transforms between raw numeric vectors and unit coordinates.

    Args:
        dimensions: The space's dimensions, parents before their children.
    """

    def __init__(self, dimensions: Sequence[Dimension]) -> None:
        self.dimensions = tuple(dimensions)
        # Set once the no-repeat search found every configuration tried (a finite space).
        self.exhausted = False
        d = len(self.dimensions)
        self.d = d
        self.low = np.zeros(d)
        self.high = np.zeros(d)
        self.step = np.zeros(d)
        self.is_log = np.zeros(d, dtype=np.bool_)
        self.is_categorical = np.zeros(d, dtype=np.bool_)
        self.n_choices = np.zeros(d, dtype=np.intp)
        # Internal (possibly log, possibly widened) interval mapped onto [0, 1].
        self.inner_low = np.zeros(d)
        self.inner_span = np.ones(d)
        # A float's Gaussian prior, its standard deviation in unit coordinates.
        self.is_gaussian = np.zeros(d, dtype=np.bool_)
        self.prior_width = np.ones(d)
        for j, dim in enumerate(self.dimensions):
            if dim.kind is DimensionKind.CATEGORICAL:
                self.is_categorical[j] = True
                self.n_choices[j] = len(dim.choices)
                continue
            low, high = float(_bound(dim.low)), float(_bound(dim.high))
            step = float(dim.step) if dim.step else 0.0
            self.low[j], self.high[j], self.step[j] = low, high, step
            self.is_log[j] = dim.log
            lo, hi = low - step / 2, high + step / 2
            if dim.log:
                # Widened by half a step, but never below low / 2 (as the Codec draws).
                lo = math.log(max(lo, low / 2)) if step else math.log(low)
                hi = math.log(hi)
            self.inner_low[j] = lo
            self.inner_span[j] = max(hi - lo, 1e-300)
            if dim.mu is not None and dim.sigma is not None:
                # A Gaussian prior (on the log scale with log), in unit coordinates.
                self.is_gaussian[j] = True
                self.prior_width[j] = dim.sigma / self.inner_span[j]
        self.numeric = np.flatnonzero(~self.is_categorical)
        self.categorical = np.flatnonzero(self.is_categorical)
        #: Position of each numeric column within ``numeric`` (``-1`` for categoricals).
        self.numeric_position = np.full(d, -1, dtype=np.intp)
        self.numeric_position[self.numeric] = np.arange(self.numeric.size)
        self._log_columns = np.flatnonzero(self.is_log)
        # With no categorical column, whole-matrix arithmetic replaces column gathers.
        self._all_numeric = self.categorical.size == 0
        self._numeric_low = self.inner_low[self.numeric]
        self._numeric_span = self.inner_span[self.numeric]
        self._step_columns = np.flatnonzero(~self.is_categorical & (self.step > 0))
        self.is_discrete = bool(np.all(self.is_categorical | (self.step > 0)))
        # "The same value" when avoiding repeats, per column: grid values are a step
        # apart and choice indices 1, so a fraction of that (not a tolerance relative
        # to the value, which merges neighbours of tiny steps or of ints near 2**53);
        # continuous floats compare relatively.
        gridded = self.is_categorical | (self.step > 0)
        self.same_atol = np.where(self.is_categorical, 0.25, self.step * 1e-6)
        self.same_rtol = np.where(gridded, 0.0, 1e-9)
        self._grid_step = np.where(self.step > 0, self.step, 1.0)
        self.groups = _build_groups(self.dimensions)
        for group in self.groups:
            group.bandwidth_unit = self.prior_width[group.numeric]
            group.gaussian = bool(np.any(self.is_gaussian[group.numeric]))
            group.grid = self.step[group.numeric] > 0
        #: One group of numeric columns only: its columns are the whole matrix's.
        self.one_numeric_group = len(self.groups) == 1 and self._all_numeric
        self.group_of_column = np.zeros(d, dtype=np.intp)
        for group in self.groups:
            self.group_of_column[group.columns] = group.index

    def grid_keys(self, matrix: FloatArray) -> FloatArray:
        """Exact keys of discrete rows: each value's grid index (``-inf`` when inactive).

        Two rows have equal keys exactly when they are the same configuration.
        """
        index = np.where(
            self.is_categorical, matrix, np.rint((matrix - self.low) / self._grid_step)
        )
        return np.where(np.isnan(matrix), -np.inf, index)

    # -- transforms ---------------------------------------------------------------
    def to_unit(self, matrix: FloatArray) -> FloatArray:
        """Raw ``(n, d)`` numeric matrix -> unit coordinates (categoricals unchanged)."""
        if self._all_numeric and not self._log_columns.size:
            # One call fewer than copying first: the same values.
            out = np.subtract(matrix, self._numeric_low, dtype=np.float64)
            out /= self._numeric_span
            return out
        out = np.array(matrix, dtype=np.float64, copy=True)
        if self._log_columns.size:
            cols = self._log_columns
            with np.errstate(invalid="ignore", divide="ignore"):
                out[:, cols] = np.log(out[:, cols])
        if self._all_numeric:
            out -= self._numeric_low
            out /= self._numeric_span
            return out
        num = self.numeric
        out[:, num] = (out[:, num] - self._numeric_low) / self._numeric_span
        return out

    def from_unit(self, unit: FloatArray) -> FloatArray:
        """Unit coordinates -> raw values on their grid and inside their bounds."""
        num = self.numeric
        if self._all_numeric:
            # Whole-matrix arithmetic: the same values as the column gathers below.
            out = np.maximum(unit, 0.0, dtype=np.float64)
            np.minimum(out, 1.0, out=out)
            out *= self._numeric_span
            out += self._numeric_low
        else:
            out = np.array(unit, dtype=np.float64, copy=True)
            raw = self._numeric_low + np.clip(out[:, num], 0.0, 1.0) * self._numeric_span
            out[:, num] = raw
        if self._log_columns.size:
            out[:, self._log_columns] = np.exp(out[:, self._log_columns])
        cols = self._step_columns
        if cols.size:
            low, step = self.low[cols], self.step[cols]
            out[:, cols] = low + step * np.round((out[:, cols] - low) / step)
        if self._all_numeric:
            np.maximum(out, self.low, out=out)
            np.minimum(out, self.high, out=out)
        else:
            out[:, num] = np.clip(out[:, num], self.low[num], self.high[num])
        return out

    def snap_unit(self, unit: FloatArray) -> FloatArray:
        """Move unit coordinates of discrete dimensions onto their grid points."""
        return self.to_unit(self.from_unit(unit))

    # -- activity -----------------------------------------------------------------
    def group_activity(self, matrix: FloatArray) -> BoolArray:
        """``(n, n_groups)`` activity of each group for rows whose branches are set."""
        active = np.zeros((matrix.shape[0], len(self.groups)), dtype=np.bool_)
        for group in self.groups:
            if group.parent_group < 0:
                active[:, group.index] = True
            else:
                active[:, group.index] = active[:, group.parent_group] & (
                    matrix[:, group.parent_column] == group.parent_choice
                )
        return active

    def deactivate(self, matrix: FloatArray, active: BoolArray) -> FloatArray:
        """Set the columns of inactive groups to ``NaN`` (in place) and return ``matrix``."""
        for group in self.groups:
            if group.parent_group >= 0:
                inactive = ~active[:, group.index]
                matrix[np.ix_(inactive, group.columns)] = np.nan
        return matrix

    # -- finite spaces ------------------------------------------------------------
    def grid(self, column: int) -> FloatArray:
        """Every raw value a discrete column can take (choice indices for categoricals)."""
        if self.is_categorical[column]:
            return np.arange(self.n_choices[column], dtype=np.float64)
        low, step = self.low[column], self.step[column]
        return np.asarray(low + step * np.arange(self._grid_count(column)), dtype=np.float64)

    def _grid_count(self, column: int) -> int:
        """Number of values of a discrete numeric column (counted, not listed)."""
        return round(float(self.high[column] - self.low[column]) / float(self.step[column])) + 1

    def size(self) -> int | None:
        """Number of distinct configurations, or ``None`` when the space is continuous."""
        if not self.is_discrete:
            return None
        children: dict[tuple[int, int], list[Group]] = {}
        for group in self.groups:
            if group.parent_group >= 0:
                children.setdefault((group.parent_column, group.parent_choice), []).append(group)

        def group_size(group: Group) -> int:
            total = 1
            for column in group.columns.tolist():
                if not self.is_categorical[column]:
                    # A numeric column gates no branch: count its values, do not list
                    # them (an Int(0, 2**31 - 1) grid would take 16 GiB).
                    total *= self._grid_count(column)
                    continue
                count = 0
                for value in range(int(self.n_choices[column])):
                    sub = 1
                    for child in children.get((column, value), []):
                        sub *= group_size(child)
                    count += sub
                total *= count
            return total

        return group_size(self.groups[0]) if self.groups else 1

    def enumerate(self) -> FloatArray:
        """Every configuration of a finite space as raw vectors (inactive = ``NaN``)."""
        matrix = np.full((1, self.d), np.nan)
        for column in range(self.d):
            group = self.groups[self.group_of_column[column]]
            active = group.rows_active(matrix)
            values = self.grid(column)
            expanded = np.repeat(matrix[active], len(values), axis=0)
            expanded[:, column] = np.tile(values, int(active.sum()))
            matrix = np.concatenate([matrix[~active], expanded])
        return matrix


class UnitRows:
    """Unit coordinates of an append-only matrix, each row converted only once.

    A suggester sees the same finished trials again at every ask, plus a few new ones.
    """

    def __init__(self) -> None:
        self._owner: object = None
        self._encoding: Encoding | None = None
        self._buffer: FloatArray = np.empty((0, 0))
        self._n = 0

    def update(self, owner: object, encoding: Encoding, matrix: FloatArray) -> FloatArray:
        """``encoding.to_unit(matrix)``, converting only the rows added since last time.

        Args:
            owner: The object whose rows these are; another owner (or fewer rows than
                before) restarts the conversion.
            encoding: The encoding to convert with.
            matrix: ``(n, d)`` raw rows; rows already seen must not change.

        Returns:
            ``(n, d)`` unit coordinates: a view that stays valid until the next call.
        """
        n, d = matrix.shape
        if owner is not self._owner or encoding is not self._encoding or n < self._n:
            self._owner, self._encoding, self._n = owner, encoding, 0
            self._buffer = np.empty((max(n, 64), d))
        if n > self._buffer.shape[0]:
            grown = np.empty((max(n, 2 * self._buffer.shape[0]), d))
            grown[: self._n] = self._buffer[: self._n]
            self._buffer = grown
        if n > self._n:
            self._buffer[self._n : n] = encoding.to_unit(matrix[self._n :])
            self._n = n
        return self._buffer[:n]


class EncodingCache:
    """Remembers the :class:`Encoding` of the spaces a suggester has seen."""

    def __init__(self) -> None:
        # Weakly: one suggester shared by the studies of spaces built per request
        # must not keep every space (and its class) alive.
        self._cache: weakref.WeakKeyDictionary[Space[Any], Encoding] = weakref.WeakKeyDictionary()

    def get(self, space: Space[Any]) -> Encoding:
        """The encoding of ``space`` (built once per space object)."""
        encoding = self._cache.get(space)
        if encoding is None:
            encoding = self._cache[space] = Encoding(space.dimensions)
        return encoding


def pending_matrix(space: Space[Any], encoding: Encoding, pending: Sequence[Params]) -> FloatArray:
    """Raw numeric matrix of the pending trials (``(0, d)`` when there are none)."""
    if not pending:
        return np.empty((0, encoding.d))
    # to_matrix is already (n, d); reshape(-1, d) would fail for d == 0 (no dimensions).
    return np.asarray(space.to_matrix(list(pending)), dtype=np.float64).reshape(
        len(pending), encoding.d
    )


def check_count(k: object) -> None:
    """Reject a ``k`` that is not a non-negative integer (untyped callers included)."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        msg = f"suggest(k={k!r}): k must be an integer >= 0"
        raise SuggesterError(msg)


def _bound(value: float | None) -> float:
    if value is None:  # pragma: no cover - the compiler always sets numeric bounds
        msg = "numeric dimension without bounds"
        raise ValueError(msg)
    return value


def _build_groups(dimensions: tuple[Dimension, ...]) -> list[Group]:
    column_of = {dim.name: j for j, dim in enumerate(dimensions)}
    keys: list[tuple[str | None, object]] = []
    members: dict[tuple[str | None, object], list[int]] = {}
    for j, dim in enumerate(dimensions):
        key = (dim.parent, _hashable(dim.parent_choice))
        if key not in members:
            keys.append(key)
            members[key] = []
        members[key].append(j)
    # The root group always exists (possibly empty) so that index 0 is the root.
    root: tuple[str | None, object] = (None, _hashable(None))
    if root in members:
        keys.remove(root)
    keys.insert(0, root)
    members.setdefault(root, [])
    groups: list[Group] = []
    group_of: dict[int, int] = {}
    for index, key in enumerate(keys):
        columns = members[key]
        parent_name, _ = key
        parent_column = parent_choice = parent_group = -1
        if parent_name is not None:
            parent_column = column_of[parent_name]
            parent_dim = dimensions[parent_column]
            choice = dimensions[columns[0]].parent_choice
            parent_choice = _choice_index(parent_dim.choices, choice)
            parent_group = group_of[parent_column]
        numeric = [j for j in columns if dimensions[j].kind is not DimensionKind.CATEGORICAL]
        categorical = [j for j in columns if dimensions[j].kind is DimensionKind.CATEGORICAL]
        n_choices = [len(dimensions[j].choices) for j in categorical]
        groups.append(
            Group(
                index,
                columns,
                numeric,
                categorical,
                n_choices,
                parent_column,
                parent_choice,
                parent_group,
            )
        )
        for j in columns:
            group_of[j] = index
    return groups


def _hashable(value: object) -> object:
    # True == 1 in Python; keep bool choices apart from ints when grouping.
    return (type(value).__name__, value)


def _choice_index(choices: tuple[object, ...], value: object) -> int:
    for i, choice in enumerate(choices):
        if type(choice) is type(value) and choice == value:
            return i
    return -1  # never active: the condition names no existing choice
