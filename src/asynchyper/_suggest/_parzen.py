"""Adaptive Parzen estimators on unit coordinates, fully vectorised.

A :class:`Mixture` holds one kernel per observation plus a prior kernel. Numeric
dimensions use Gaussians truncated to ``[0, 1]``; categorical ones use a smoothed
one-hot distribution. In *joint* mode a kernel is a product over the dimensions and the
density is evaluated with two matrix products (no Python loop over kernels or trials);
in *univariate* mode every dimension is its own one-dimensional mixture.

Bandwidths follow hyperopt's heuristic (the larger gap to the sorted neighbours), which
needs every column sorted. :class:`RowKernels` keeps a density's rows sorted across
asks and recomputes only the kernels whose bandwidth moved, so that one ask costs a
few linear passes instead of a fresh sort and fit.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ._encoding import BoolArray, FloatArray, IntArray

__all__ = [
    "ChoiceKernels",
    "Density",
    "Mixture",
    "RowKernels",
    "Scratch",
    "bandwidth_floor",
    "bandwidths",
    "choice_kernels",
    "kernel_terms",
    "logsumexp",
    "logsumexp_rows",
    "mixture_log_weights",
    "neighbour_gaps",
    "prior_terms",
    "quadratic_features",
]

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
#: Largest matrix product (rows x columns x inner size) in :meth:`Mixture.log_pdf`.
#: OpenBLAS hands bigger products to a second thread, which on a busy machine costs
#: up to 1,000x the arithmetic (measured: 4 ms at 0.5 M, 32 ms spikes from 0.7 M).
_PRODUCT_LIMIT = 1 << 19
#: Normal tail mass ``Q(x) = 1 - Phi(x)`` tabulated on ``[0, _TAIL_END]``; nearest-entry
#: lookups (rounding down) err by < 5e-4 in mass, far below what moves a density ratio.
_TAIL_END = 8.0
#: Arrays with fewer elements than this come from malloc's pools, which is cheaper
#: than looking a buffer up (see :class:`Scratch`).
_SCRATCH_MIN = 1 << 13
_TAIL_SIZE = 1 << 15
#: The ends of the unit range, shaped to broadcast against ``(m, dn)`` arrays.
_RANGE_ENDS = np.array([0.0, 1.0]).reshape(2, 1, 1)
_RANGE_ENDS.flags.writeable = False
_TAIL_SCALE = _TAIL_SIZE / _TAIL_END


def warm_up() -> None:
    """Pay the one-time costs of the first fit now: import ``scipy.special``, build tables."""
    _tail_table()
    import scipy.special  # noqa: F401, PLC0415 - ndtri, imported where sampled


@functools.cache
def _normal_functions() -> tuple[Any, Any]:
    """scipy's ``ndtr`` and ``ndtri``, imported on first use (an import statement in
    the sampler would run the import system's Python code at every ask)."""
    from scipy.special import ndtr, ndtri  # noqa: PLC0415 - slow to import

    return ndtr, ndtri


@functools.cache
def _tail_table() -> FloatArray:
    # Built on first use: scipy.special costs ~100 ms of import time.
    from scipy.special import ndtr  # noqa: PLC0415

    table = np.asarray(ndtr(-np.linspace(0.0, _TAIL_END, _TAIL_SIZE + 1)), dtype=np.float64)
    table[-1] = 0.0
    return table


def logsumexp(values: FloatArray, axis: int) -> FloatArray:
    """``log(sum(exp(values)))`` along ``axis``; overwrites ``values``."""
    peak = values.max(axis=axis, keepdims=True)
    empty = ~np.isfinite(peak)
    any_empty = bool(empty.any())
    if any_empty:
        peak[empty] = 0.0
    values -= peak
    # Terms below e^-80 cannot change the sum; flooring them avoids exp's slow
    # subnormal path, which costs 10x more than the whole rest of the sum.
    np.maximum(values, -80.0, out=values)
    np.exp(values, out=values)
    out = values.sum(axis=axis, keepdims=True)
    np.log(out, out=out)
    out += peak
    if any_empty:
        out[empty] = -np.inf
    result: FloatArray = out.squeeze(axis)
    return result


def logsumexp_rows(values: FloatArray, work: Scratch, name: str) -> FloatArray:
    """``log(sum(exp(values)))`` of each row, exponentials in single precision.

    numpy's double-precision ``exp`` is vectorised only on CPUs with AVX-512; elsewhere
    it runs one value at a time and costs about 6x the single-precision one (measured on
    an AVX2 machine: 223 us against 35 us for 24,000 values), which made it the biggest
    single cost of an ask. The terms are exponentiated after the row's peak is taken
    off, so each lies in ``[e^-80, 1]`` and the peak's own term is exactly 1; the sum is
    accumulated in double precision. The result differs from :func:`logsumexp` by
    about ``1e-7`` (tested), far below any difference that decides between candidates.
    Overwrites ``values``; the result is a fresh array.
    """
    peak = values.max(axis=1, keepdims=True)
    # One sum tells whether every peak is finite (a row may have no kernel at all).
    any_empty = not math.isfinite(peak.sum())
    if any_empty:
        empty = ~np.isfinite(peak)
        peak[empty] = 0.0
    # In double precision, in place: a subtraction into a float32 output goes through
    # numpy's slower casting loop, and the floored differences cast without overflow.
    values -= peak
    # Below e^-80 a term cannot change the sum (and exp's subnormal path is slow).
    np.maximum(values, -80.0, out=values)
    small = work.get(f"{name}.exp", values.shape, np.float32)
    np.copyto(small, values, casting="same_kind")
    np.exp(small, out=small)
    out: FloatArray = small.sum(axis=1, dtype=np.float64, keepdims=True)
    np.log(out, out=out)
    out += peak
    if any_empty:
        out[empty] = -np.inf
    result: FloatArray = out.squeeze(1)
    return result


def bandwidth_floor(n_observations: int, min_bandwidth: float, magic_exponent: float) -> float:
    """The smallest bandwidth: ``max(min_bandwidth, (2 + n) ** -magic_exponent)``."""
    return max(min_bandwidth, float((2.0 + n_observations) ** -magic_exponent))


def neighbour_gaps(
    ordered: FloatArray,
    floor: float | FloatArray,
    *,
    endpoints: bool | BoolArray = False,
    nearer: bool = False,
) -> FloatArray:
    """Hyperopt's bandwidth for rows sorted ascending along axis 1.

    Each value gets the larger gap to its neighbours (the smaller with ``nearer``),
    clipped to ``[floor, 1]`` (``floor`` a number, or one per row as ``(rows, 1)``).
    With ``endpoints``, ``0`` and ``1`` count as neighbours of the outermost values;
    without, those take the gap on their inner side only (``endpoints`` a bool, or
    one per row as ``(rows,)``).
    """
    rows, n = ordered.shape
    if n == 0:
        return np.empty((rows, 0))
    gaps = np.empty((rows, n + 1))  # gaps[:, i] lies between value i - 1 and value i
    gaps[:, 0] = ordered[:, 0]
    np.subtract(ordered[:, 1:], ordered[:, :-1], out=gaps[:, 1:-1])
    gaps[:, -1] = 1.0 - ordered[:, -1]
    if n >= 2 and endpoints is not True:
        # Without endpoints (in every row, or where the row's entry is false) the
        # outermost kernels look only inwards: a wide gap to the edge of the range
        # would otherwise make them nearly flat (what Optuna calls consider_endpoints).
        inward = slice(None) if endpoints is False else ~endpoints
        gaps[inward, 0] = gaps[inward, 1]
        gaps[inward, -1] = gaps[inward, -2]
    pick = np.minimum if nearer else np.maximum
    width = pick(gaps[:, :-1], gaps[:, 1:])
    # Not np.clip: its Python wrapper costs more than the arithmetic here. No gap
    # between values in [0, 1] exceeds 1, and neither does the floor.
    return np.maximum(width, floor, out=width)


def bandwidths(
    mus: FloatArray,
    floor: float | FloatArray,
    *,
    endpoints: bool | BoolArray = False,
    nearer: bool = False,
) -> FloatArray:
    """Hyperopt's adaptive bandwidths of ``(n, dn)`` kernel centres (sorting them).

    Args:
        mus: Kernel centres in unit coordinates, one row per kernel.
        floor: Smallest bandwidth (see :func:`bandwidth_floor`), or ``(dn,)`` one per
            column.
        endpoints: Whether the ends of the range count as neighbours, or ``(dn,)``
            one per column.
        nearer: Take the smaller neighbour gap instead of the larger.

    Returns:
        ``(n, dn)`` bandwidths.
    """
    columns = np.ascontiguousarray(mus.T)
    # Flat indices: take_along_axis and put_along_axis cost more than the sort.
    flat = columns.argsort(axis=1, kind="stable")
    flat += (np.arange(columns.shape[0]) * columns.shape[1])[:, None]
    gaps = neighbour_gaps(columns.take(flat), _per_row(floor), endpoints=endpoints, nearer=nearer)
    out = np.empty_like(columns)
    out.put(flat, gaps)
    return np.ascontiguousarray(out.T)


def _per_row(floor: float | FloatArray) -> Any:
    # A floor per column, as neighbour_gaps takes it for sorted columns (one per row).
    return floor if isinstance(floor, float) else floor[:, None]


#: Up to this many rows may join a kept selection per fit; more sort from scratch.
_INSERT_LIMIT = 16
#: Unit coordinates lie in [0, 1]: each column's keys are offset by this much, so that
#: one flat sorted array holds every column.
_COLUMN_SPAN = 4.0


class RowKernels:
    """Bandwidths and kernel terms of a changing subset of rows, kept across fits.

    TPE fits its bad density at every ask to nearly the same rows: a new finished trial
    joins, and now and then a row moves between the good and the bad group. This keeps
    the selected rows sorted column by column and applies only the change in the
    selection, then recomputes the kernel terms of exactly the rows whose bandwidth
    moved. When rows only joined since the last fit (and neither it nor this one had
    extra kernels), only the gaps next to them are computed; otherwise all of them.
    The sorted keys are complex numbers: the value plus its column's offset, and
    the entry's flat index ``row * dg + column`` as the imaginary part, so that one
    search places every column's entries and equal values stay in row order (numpy
    orders complex numbers lexicographically).

    Everything is in *row space*: after :meth:`fit` with ``n`` rows and ``e`` extra
    kernels, ``sigma[r]`` and ``terms[r]`` belong to row ``r``; the extra kernels take
    rows ``n`` to ``n + e - 1`` and the prior kernel row ``n + e``. Rows that are not
    selected keep finite stale terms (zero if never selected): a density over every
    row gives them the log weight ``-inf``.

    Attributes:
        sigma: ``(n + e, dg)`` bandwidths (meaningful for selected and extra rows).
        terms: ``(n + e + 1, 2 * dg + 1)`` :func:`kernel_terms` of every row.
    """

    def __init__(self) -> None:
        self._owner: object = None
        self._selected: BoolArray = np.zeros(0, dtype=np.bool_)
        self._keys: npt.NDArray[np.complex128] = np.empty(0, dtype=np.complex128)
        self._sigma: FloatArray = np.empty((0, 0))
        self._terms: FloatArray = np.empty((0, 0))
        self._scratch_rows = slice(0, 0)
        # (floor, endpoints, nearer) of the last fit; None when every gap must be redone.
        self._rule: tuple[object, object, bool] | None = None
        self.sigma: FloatArray = self._sigma
        self.terms: FloatArray = self._terms

    def fit(  # noqa: PLR0917 - mirrors neighbour_gaps plus the rows
        self,
        owner: object,
        unit: FloatArray,
        columns: IntArray,
        selected: BoolArray,
        extra: FloatArray,
        floor: float | FloatArray,
        *,
        endpoints: bool | BoolArray = False,
        nearer: bool = False,
        work: Scratch,
    ) -> None:
        """Bring :attr:`sigma` and :attr:`terms` up to date with this selection.

        Args:
            owner: The object whose rows these are; another owner, fewer rows than
                before or another number of columns starts from scratch.
            unit: ``(n, d)`` unit coordinates of the rows; rows already seen must not
                change.
            columns: ``(dg,)`` the columns of ``unit`` to model.
            selected: ``(n,)`` which rows are kernels; their ``columns`` are not ``NaN``.
            extra: ``(e, dg)`` further kernels (pending trials), refitted every time.
            floor: Smallest bandwidth, or ``(dg,)`` one per column.
            endpoints: Whether the ends of the range count as neighbours, or ``(dg,)``
                one per column.
            nearer: Take the smaller neighbour gap instead of the larger.
            work: Where the temporaries live.
        """
        n, dg, e = selected.shape[0], columns.size, extra.shape[0]
        self._reserve(owner, n, n + e + 1, dg)
        offsets = _column_offsets(dg)
        keys, inserted = self._select(unit, columns, selected, offsets)
        rule = (_rule_key(floor), _rule_key(endpoints), nearer)
        sigma = self._sigma.reshape(-1)
        if e or self._rule != rule or inserted is None or keys.size < 2 * dg:
            # Any change: every gap again (pending kernels are refitted every time).
            if e:
                keys, _ = _merge(keys, np.sort(_keys(extra, np.arange(n, n + e), offsets)))
            values = keys.real.reshape(dg, keys.size // dg) - offsets[:, None]
            flat = keys.imag.astype(np.intp)
            gaps = neighbour_gaps(values, _per_row(floor), endpoints=endpoints, nearer=nearer)
            gaps = gaps.reshape(-1)
        else:
            # Only rows joined: only their gaps and their neighbours' can move.
            flat, gaps = _gaps_near(keys, inserted, offsets, (floor, endpoints, nearer))
        moved = np.not_equal(sigma.take(flat), gaps)  # NaN (never fitted) counts as moved
        if moved.any():
            changed = flat[moved]
            sigma.put(changed, gaps[moved])
            mark = np.zeros(n + e, dtype=np.bool_)
            mark[changed // dg] = True
            rows = mark.nonzero()[0]
            if e:
                finished = rows[rows < n]
                mu = np.concatenate([unit[finished][:, columns], extra[rows[finished.size :] - n]])
            else:
                mu = unit[rows[:, None], columns]
            fresh_terms = np.empty((rows.size, 2 * dg + 1))
            kernel_terms(mu, self._sigma[rows], fresh_terms, work, "rows")
            self._terms[rows] = fresh_terms
        self._terms[n + e] = prior_terms(dg)[0]
        # Rows past the finished ones hold this fit's extra kernels and the prior: the
        # next fit must not take them for finished rows' kernels. With extra kernels,
        # their neighbours' bandwidths hold for this fit only: the next one checks all.
        self._scratch_rows = slice(n, n + e + 1)
        self._rule = None if e else rule
        self.sigma = self._sigma[: n + e]
        self.terms = self._terms[: n + e + 1]

    def _reserve(self, owner: object, n: int, size: int, dg: int) -> None:
        if owner is not self._owner or n < self._selected.size or self._sigma.shape[1] != dg:
            self._owner = owner
            self._selected = np.zeros(0, dtype=np.bool_)
            self._keys = np.empty(0, dtype=np.complex128)
            self._sigma = np.full((0, dg), np.nan)
            self._terms = np.zeros((0, 2 * dg + 1))
            self._rule = None
        self._sigma[self._scratch_rows] = np.nan
        if size > self._sigma.shape[0]:
            extra = max(size, 2 * self._sigma.shape[0]) - self._sigma.shape[0]
            self._sigma = np.concatenate([self._sigma, np.full((extra, dg), np.nan)])
            self._terms = np.concatenate([self._terms, np.zeros((extra, 2 * dg + 1))])

    def _select(
        self, unit: FloatArray, columns: IntArray, selected: BoolArray, offsets: FloatArray
    ) -> tuple[npt.NDArray[np.complex128], IntArray | None]:
        # The sorted keys of the selected rows, from the last fit's by their difference,
        # and where rows were inserted if that is the only change (None otherwise).
        old = self._selected
        kept = old.size
        fresh_rows = kept + selected[kept:].nonzero()[0]
        changed = selected[:kept] != old
        left = False
        if changed.any():
            added = np.concatenate([(changed & selected[:kept]).nonzero()[0], fresh_rows])
            left = bool(np.any(changed & old))
        else:
            added = fresh_rows
        inserted: IntArray | None = None
        if added.size > _INSERT_LIMIT:
            rows = selected.nonzero()[0]
            keys = np.sort(_keys(unit[rows][:, columns], rows, offsets))
        else:
            keys = self._keys
            if left:
                keys = keys[selected[keys.imag.astype(np.intp) // columns.size]]
            if added.size:
                keys, at = _merge(keys, np.sort(_keys(unit[added][:, columns], added, offsets)))
                inserted = None if left else at
            elif not left:
                inserted = np.empty(0, dtype=np.intp)
        self._keys, self._selected = keys, selected.copy()
        return keys, inserted


@functools.cache
def _column_offsets(dg: int) -> FloatArray:
    """Each column's key offset (see :class:`RowKernels`), read-only."""
    offsets = np.arange(dg, dtype=np.float64) * _COLUMN_SPAN
    offsets.flags.writeable = False
    return offsets


def _merge(
    keys: npt.NDArray[np.complex128], fresh: npt.NDArray[np.complex128]
) -> tuple[npt.NDArray[np.complex128], IntArray]:
    # Both sorted: the few fresh keys go between slices of the many (np.insert's
    # general machinery costs more than the copy). Also returns where they went.
    at = np.searchsorted(keys, fresh)
    placed = at + np.arange(at.size)
    if at.size > _INSERT_LIMIT * 8:
        return np.insert(keys, at, fresh), placed
    parts = []
    start = 0
    for i, stop in enumerate(at.tolist()):
        parts.append(keys[start:stop])
        parts.append(fresh[i : i + 1])
        start = stop
    parts.append(keys[start:])
    return np.concatenate(parts), placed


def _gaps_near(
    keys: npt.NDArray[np.complex128],
    inserted: IntArray,
    offsets: FloatArray,
    rule: tuple[float | FloatArray, bool | BoolArray, bool],
) -> tuple[IntArray, FloatArray]:
    """The flat indices and :func:`neighbour_gaps` of the entries next to ``inserted``.

    The same arithmetic as :func:`neighbour_gaps` on the whole sorted array (the keys'
    column offsets cancel exactly in every difference), for the entries whose gaps an
    insertion at ``inserted`` (positions in ``keys``, at least two entries per column)
    can change: each inserted entry and the entries on either side of it. An entry on
    the other side of a column boundary is included too: its gap comes out as it was.
    """
    floor, endpoints, nearer = rule
    size = keys.size
    per_column = size // offsets.size
    # Sorted, each once (np.unique costs more); the extra slot takes -1 and ``size``.
    mark = np.zeros(size + 1, dtype=np.bool_)
    mark[np.concatenate([inserted - 1, inserted, inserted + 1])] = True
    near = mark[:size].nonzero()[0]
    real = keys.real
    value = real[near]
    # The first entry's lower neighbour wraps round and the last's upper one is
    # clipped: both are replaced below, as every column's outermost entries' are.
    below = value - real[near - 1]
    above = real.take(near + 1, mode="clip") - value
    place = near % per_column
    first, last = place == 0, place == per_column - 1
    column = near // per_column
    if not isinstance(endpoints, bool):
        # One choice per column: the entries of the other columns look inwards.
        inward = ~endpoints[column]
        low = offsets[column]
        below, above = (
            np.where(first, np.where(inward, above, value - low), below),
            np.where(last, np.where(inward, below, 1.0 - (value - low)), above),
        )
    elif endpoints:
        low = offsets[column]
        below = np.where(first, value - low, below)
        above = np.where(last, 1.0 - (value - low), above)
    else:
        below, above = np.where(first, above, below), np.where(last, below, above)
    width = np.minimum(below, above) if nearer else np.maximum(below, above)
    # A floor per column: each entry's column's (as neighbour_gaps takes it).
    lowest = floor if isinstance(floor, float) else floor[column]
    np.maximum(width, lowest, out=width)
    return keys.imag[near].astype(np.intp), width


def _rule_key(value: float | bool | FloatArray | BoolArray) -> object:
    # A per-column floor or endpoints choice, comparable with the last fit's.
    return value if isinstance(value, float | bool) else tuple(value.tolist())


def _keys(values: FloatArray, rows: IntArray, offsets: FloatArray) -> npt.NDArray[np.complex128]:
    # Column by column: value plus the column's offset, and the flat index of the entry.
    dg = offsets.size
    keys = np.empty((dg, rows.size), dtype=np.complex128)
    np.add(values.T, offsets[:, None], out=keys.real)
    np.add(rows * dg, _column_numbers(dg), out=keys.imag)
    return keys.reshape(-1)


@functools.cache
def _column_numbers(dg: int) -> FloatArray:
    """``(dg, 1)``: each column's number, as the keys' imaginary parts hold it."""
    numbers = np.arange(dg, dtype=np.float64)[:, None]
    numbers.flags.writeable = False
    return numbers


def mixture_log_weights(weights: FloatArray, prior_weight: float) -> FloatArray:
    """Normalised log weights of the observations plus the prior kernel (last).

    The prior weighs ``prior_weight`` times an average observation.
    """
    n = weights.shape[0]
    out = np.zeros(n + 1)
    if n:
        total = float(weights.sum())
        if not total > 0:
            weights, total = np.ones(n), float(n)
        prior = prior_weight * total / n
        np.maximum(weights, 1e-300, out=out[:n])
        out[n] = max(prior, 1e-300)
        np.log(out, out=out)
        out -= math.log(total + prior)
    return out


class ChoiceKernels:
    """The kernels of one categorical column: each puts ``spike`` on its own choice and
    ``base`` on every other one; a kernel without a choice (the prior) is uniform.

    Held as three ``(K,)`` arrays instead of a dense ``(K, c)`` probability table: with
    20,000 choices and 1,000 trials the table took 160 MB and most of an ask (72 ms).

    Args:
        choice: ``(K,)`` each kernel's own choice index, ``-1`` for a uniform kernel.
        spike: ``(K,)`` the probability of that choice.
        base: ``(K,)`` the probability of each other choice (of every choice, for a
            uniform kernel).
        n_choices: The number of choices ``c``.
    """

    def __init__(
        self, choice: IntArray, spike: FloatArray, base: FloatArray, n_choices: int
    ) -> None:
        self.choice = choice
        self.spike = spike
        self.base = base
        self.n_choices = n_choices

    @classmethod
    def fit(cls, observed: FloatArray, n_choices: int) -> ChoiceKernels:
        """One kernel per observation plus the prior (last, uniform).

        Every observation's kernel puts most mass on its own choice and a pseudo-count
        of ``1 / (n + 1)`` on every choice: ``(1 + 1 / K) / (1 + c / K)`` and
        ``(1 / K) / (1 + c / K)`` with ``K = n + 1`` kernels.
        """
        n = observed.shape[0]
        kernels = n + 1
        choice = np.full(kernels, -1, dtype=np.intp)
        choice[:n] = observed
        total = n_choices / kernels + 1.0
        spike = np.full(kernels, (1.0 / kernels + 1.0) / total)
        base = np.full(kernels, (1.0 / kernels) / total)
        spike[n] = base[n] = 1.0 / n_choices
        return cls(choice, spike, base, n_choices)

    def spread(self, rows: IntArray, size: int) -> ChoiceKernels:
        """These kernels at ``rows`` of ``size``; the other rows uniform."""
        choice = np.full(size, -1, dtype=np.intp)
        spike = np.full(size, 1.0 / self.n_choices)
        base = spike.copy()
        choice[rows], spike[rows], base[rows] = self.choice, self.spike, self.base
        return ChoiceKernels(choice, spike, base, self.n_choices)

    def log_prob(self, candidates: FloatArray) -> FloatArray:
        """``(m, K)``: the log-probability of each candidate's choice under each kernel."""
        hit = candidates.astype(np.intp)[:, None] == self.choice[None, :]
        return np.where(hit, np.log(self.spike)[None, :], np.log(self.base)[None, :])

    def sample(self, kernels: IntArray, u: FloatArray) -> FloatArray:
        """Choice indices (floats) drawn from ``kernels`` by the uniform draws ``u``: the
        inverse of each kernel's cumulative distribution in choice order."""
        choice = self.choice[kernels]
        spike, base = self.spike[kernels], self.base[kernels]
        own = choice >= 0
        u = u * np.where(own, spike + base * (self.n_choices - 1), base * self.n_choices)
        below = np.where(own, base * choice, np.inf)  # the mass of the choices below it
        above = choice + 1 + np.floor((u - below - spike) / base)
        drawn = np.where(u < below, np.floor(u / base), np.where(u < below + spike, choice, above))
        return np.minimum(drawn, self.n_choices - 1).astype(np.float64)

    def table(self) -> FloatArray:
        """The dense ``(K, c)`` probability table (for checks; large for many choices)."""
        table = np.repeat(self.base[:, None], self.n_choices, axis=1)
        own = np.flatnonzero(self.choice >= 0)
        table[own, self.choice[own]] = self.spike[own]
        return table


def choice_kernels(
    categorical: FloatArray, n_choices: Sequence[int], n_observations: int
) -> list[ChoiceKernels]:
    """The :meth:`ChoiceKernels.fit` of each categorical column of the observations."""
    return [
        ChoiceKernels.fit(categorical[:n_observations, j], count)
        for j, count in enumerate(n_choices)
    ]


class Scratch:
    """Reusable work arrays, so that big temporaries do not hit fresh memory each ask.

    Arrays of a few hundred kilobytes come from ``mmap`` and are returned to the system
    when freed, so every new one page-faults; with thousands of trials that costs more
    than the arithmetic. A suggester keeps one ``Scratch`` and asks it for its arrays
    by name; an array is valid until the same name is requested again. Small arrays
    are fresh each time: malloc serves them from memory it keeps.
    """

    def __init__(self) -> None:
        self._buffers: dict[str, npt.NDArray[Any]] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: type = np.float64) -> Any:
        """An uninitialised array of ``shape`` (a view of the buffer called ``name``)."""
        size = math.prod(shape)
        if size < _SCRATCH_MIN:
            return np.empty(shape, dtype=dtype)
        buffer = self._buffers.get(name)
        if buffer is None or buffer.size < size or buffer.dtype != dtype:
            buffer = np.empty(max(size, 1) + size // 4, dtype=dtype)  # room to grow
            self._buffers[name] = buffer
        return buffer[:size].reshape(shape)


def _log_norm(mu: FloatArray, inv_sigma: FloatArray, work: Scratch, name: str) -> FloatArray:
    """``log`` of each truncated Gaussian's normaliser, ``(K, dn)`` (a ``work`` array),
    from the centres and ``1 / sigma`` (not modified).

    The mass a kernel loses past each end of ``[0, 1]`` is read from a table of the
    normal tail: ``ndtr`` itself would cost more than the whole ask.
    """
    shape = mu.shape
    # Both distances in one array, so that each step below is one call.
    ends: FloatArray = work.get(f"{name}.ends", (2, *shape))
    below, above = ends
    np.multiply(inv_sigma, _TAIL_SCALE, out=above)
    np.multiply(mu, above, out=below)  # distance to 0, in table steps
    np.subtract(above, below, out=above)  # distance to 1
    np.minimum(ends, _TAIL_SIZE, out=ends)
    index: IntArray = work.get(f"{name}.index", ends.shape, np.intp)
    np.copyto(index, ends, casting="unsafe")  # truncates: the table rounds down
    np.take(_tail_table(), index, out=ends, mode="clip")
    lost = np.add(below, above, out=below)
    np.minimum(lost, 1.0 - 1e-12, out=lost)
    # log(1 - x), not log1p: numpy's log1p is ~10x slower and x <= 1e-16 is moot.
    np.subtract(1.0, lost, out=lost)
    log_norm: FloatArray = np.log(inv_sigma, out=work.get(f"{name}.log_norm", shape))
    log_norm -= _LOG_SQRT_2PI
    log_norm -= np.log(lost, out=lost)
    return log_norm


def kernel_terms(
    mu: FloatArray, sigma: FloatArray, terms: FloatArray, work: Scratch, name: str
) -> None:
    """Write the log-density terms of ``K`` truncated Gaussian product kernels.

    A kernel's log-density at ``x`` is ``[x * x, x, 1] @ terms[k]``, so that one matrix
    product scores every candidate against every kernel.

    Args:
        mu: ``(K, dn)`` centres.
        sigma: ``(K, dn)`` bandwidths.
        terms: ``(K, 2 * dn + 1)`` output: the coefficients of ``x ** 2``, then of
            ``x``, then the constant (normalisers included).
        work: Where the temporaries live.
        name: Prefix of the temporaries in ``work``.
    """
    dn = mu.shape[1]
    inv_var = np.divide(1.0, sigma, out=terms[:, :dn])  # 1 / sigma until squared
    log_norm = _log_norm(mu, inv_var, work, name)
    inv_var *= inv_var
    np.multiply(mu, inv_var, out=terms[:, dn:-1])
    terms[:, :dn] *= -0.5
    # mu^2 / (2 s^2) = -0.5 * mu * (mu / s^2). Row sums, although a matrix product is
    # 4x faster for thousands of kernels: a product's rounding depends on how many rows
    # it is given, and a kernel's terms must not depend on which others were refitted
    # with it (a kept fit must equal a fresh one bit for bit).
    rest = np.multiply(mu, terms[:, dn:-1], out=work.get(f"{name}.rest", mu.shape))
    rest *= -0.5
    rest += log_norm
    rest.sum(axis=1, out=terms[:, -1])


@functools.cache
def prior_terms(dn: int) -> FloatArray:
    """The :func:`kernel_terms` of the prior kernel: centred, as wide as the range."""
    terms = np.empty((1, 2 * dn + 1))
    kernel_terms(np.full((1, dn), 0.5), np.ones((1, dn)), terms, Scratch(), "prior")
    terms.flags.writeable = False
    return terms


def quadratic_features(numeric: FloatArray) -> FloatArray:
    """``[x * x, x, 1]`` of each of ``m`` points, ``(m, 2 * dn + 1)``: a kernel's
    log-density ``sum_j -(x_j - mu_j)^2 / (2 s_j^2) + constant`` is their product with
    its :func:`kernel_terms`."""
    m, dn = numeric.shape
    features = np.empty((m, 2 * dn + 1))
    np.multiply(numeric, numeric, out=features[:, :dn])
    features[:, dn:-1] = numeric
    features[:, -1] = 1.0
    return features


class Density:
    """The joint log-density of a weighted mixture of product kernels (no sampling).

    Args:
        log_weights: ``(K,)`` normalised log mixture weights; ``-inf`` leaves a kernel
            out.
        terms: ``(K, 2 * dn + 1)`` :func:`kernel_terms` of the kernels; not modified.
        categorical: The :class:`ChoiceKernels` of each categorical column.
        scratch: Where to keep the work arrays (the density is then valid only until
            ``scratch`` hands out arrays under the same ``name`` again).
        name: Prefix of this density's arrays in ``scratch``.
    """

    def __init__(
        self,
        log_weights: FloatArray,
        terms: FloatArray,
        categorical: Sequence[ChoiceKernels],
        scratch: Scratch | None = None,
        name: str = "",
    ) -> None:
        self._scratch = scratch or Scratch()
        self._name = name
        self.log_weights = log_weights
        self.categorical = list(categorical)
        self._terms = terms
        # Log weights still to add to the product (None: already in the constants).
        self._offsets: FloatArray | None = log_weights

    @property
    def n_kernels(self) -> int:
        """Number of kernels, the prior included."""
        return int(self.log_weights.shape[0])

    def log_pdf(
        self, numeric: FloatArray, categorical: FloatArray, features: FloatArray | None = None
    ) -> FloatArray:
        """Joint log-density of ``m`` points, ``(m,)``.

        Args:
            numeric: ``(m, dn)`` unit coordinates.
            categorical: ``(m, dc)`` choice indices.
            features: :func:`quadratic_features` of ``numeric``, if already computed
                (for another density of the same group).
        """
        work, name = self._scratch, self._name
        m, dn = numeric.shape
        logits = work.get(f"{name}.logits", (m, self.n_kernels))
        if features is None:
            features = quadratic_features(numeric)
        # In blocks of kernels, each product small enough to stay on this thread.
        step = max(1, _PRODUCT_LIMIT // (m * (2 * dn + 1)))
        for start in range(0, self.n_kernels, step):
            block = slice(start, start + step)
            np.matmul(features, self._terms[block].T, out=logits[:, block])
        if self._offsets is not None:
            logits += self._offsets
        for j, kernels in enumerate(self.categorical):
            logits += kernels.log_prob(categorical[:, j])
        return logsumexp_rows(logits, work, name)


class Mixture(Density):
    """A weighted mixture of product kernels over one group's columns, to sample from.

    Args:
        log_weights: ``(K,)`` normalised log mixture weights.
        mu: ``(K, dn)`` numeric centres (unit coordinates).
        sigma: ``(K, dn)`` numeric bandwidths.
        categorical: The :class:`ChoiceKernels` of each categorical column.
        scratch: Where to keep the work arrays (the mixture is then valid only until
            ``scratch`` hands out arrays under the same ``name`` again).
        name: Prefix of this mixture's arrays in ``scratch``.
        draw_log_weights: ``(K,)`` normalised log weights to draw kernels with in
            :meth:`sample`, if not ``log_weights`` (the density stays as given).
        terms: ``(K, 2 * dn + 1)`` :func:`kernel_terms` of these kernels if already
            known; the mixture adds its weights to them.
    """

    def __init__(  # noqa: PLR0917 - mirrors the fields it stores
        self,
        log_weights: FloatArray,
        mu: FloatArray,
        sigma: FloatArray,
        categorical: Sequence[ChoiceKernels],
        scratch: Scratch | None = None,
        name: str = "",
        *,
        draw_log_weights: FloatArray | None = None,
        terms: FloatArray | None = None,
    ) -> None:
        scratch = scratch or Scratch()
        if terms is None:
            k, dn = mu.shape
            terms = scratch.get(f"{name}.terms", (k, 2 * dn + 1))
            kernel_terms(mu, sigma, terms, scratch, name)
        # Each kernel's log weight joins its constant: one product then scores it all.
        terms[:, -1] += log_weights
        super().__init__(log_weights, terms, categorical, scratch, name)
        self._offsets = None
        self._draw_log_weights = log_weights if draw_log_weights is None else draw_log_weights
        self.mu = mu
        self.sigma = sigma

    @functools.cached_property
    def cumulative(self) -> FloatArray:
        """Cumulative probabilities of drawing each kernel (ends at 1)."""
        cumulative = np.cumsum(np.exp(self._draw_log_weights))
        cumulative /= cumulative[-1]
        return cumulative

    def _pick(self, rng: np.random.Generator, shape: tuple[int, ...]) -> IntArray:
        draws = rng.random(shape)
        picked = np.searchsorted(self.cumulative, draws, side="right")
        return np.minimum(picked, self.n_kernels - 1, out=picked)

    def sample(
        self, rng: np.random.Generator, m: int, *, joint: bool
    ) -> tuple[FloatArray, FloatArray]:
        """Draw ``m`` points.

        Args:
            rng: Source of randomness.
            m: Number of points.
            joint: One kernel per point (joint) or one per point and column (univariate).

        Returns:
            ``(m, dn)`` numeric unit coordinates and ``(m, dc)`` choice indices (floats).
        """
        dn, dc = self.mu.shape[1], len(self.categorical)
        if joint:
            kernel = self._pick(rng, (m,))
            columns: list[IntArray] = [kernel] * dc
            mu, sigma = self.mu[kernel], self.sigma[kernel]
        else:
            per_column = self._pick(rng, (m, max(dn, dc, 1)))
            columns = [per_column[:, j] for j in range(dc)]
            cols = np.arange(dn)
            mu, sigma = self.mu[per_column[:, :dn], cols], self.sigma[per_column[:, :dn], cols]
        if not dn:
            numeric = np.empty((m, 0))
        else:
            ndtr, ndtri = _normal_functions()
            # Both ends' standardised distances, (0 - mu) / sigma and (1 - mu) / sigma,
            # in one array: each step is one call.
            ends = np.subtract(_RANGE_ENDS, mu)
            np.divide(ends, sigma, out=ends)
            low, high = ndtr(ends, out=ends)
            high -= low
            high *= rng.random((m, dn))
            high += low
            numeric = ndtri(high)
            numeric *= sigma
            numeric += mu
            np.maximum(numeric, 0.0, out=numeric)
            np.minimum(numeric, 1.0, out=numeric)
        categorical = np.empty((m, dc))
        for j, kernels in enumerate(self.categorical):
            categorical[:, j] = kernels.sample(columns[j], rng.random(m))
        return numeric, categorical

    def log_pdf_columns(self, numeric: FloatArray, categorical: FloatArray) -> FloatArray:
        """Marginal log-density of every column of ``m`` points, ``(m, dn + dc)``."""
        m = numeric.shape[0]
        out = np.empty((m, numeric.shape[1] + len(self.categorical)))
        if numeric.shape[1]:
            z = (numeric[:, None, :] - self.mu[None]) / self.sigma[None]
            log_norm = _log_norm(self.mu, 1.0 / self.sigma, self._scratch, f"{self._name}.columns")
            terms = -0.5 * z * z + log_norm[None] + self.log_weights[None, :, None]
            out[:, : numeric.shape[1]] = logsumexp(terms, axis=1)
        for j, kernels in enumerate(self.categorical):
            # (K, m), contiguous: summed over the kernels in the same order as before.
            terms = np.ascontiguousarray(kernels.log_prob(categorical[:, j]).T)
            terms += self.log_weights[:, None]
            out[:, numeric.shape[1] + j] = logsumexp(terms, axis=0)
        return out


def fit_mixture(
    numeric: FloatArray,
    categorical: FloatArray,
    n_choices: Sequence[int],
    weights: FloatArray,
    *,
    prior_weight: float,
    min_bandwidth: float,
    magic_exponent: float,
    endpoints: bool = False,
) -> Mixture:
    """Fit a Parzen mixture to observations plus a prior kernel (sorting every column).

    Args:
        numeric: ``(n, dn)`` unit coordinates of the observations.
        categorical: ``(n, dc)`` choice indices of the observations.
        n_choices: Number of choices of each categorical column.
        weights: ``(n,)`` non-negative observation weights.
        prior_weight: Weight of the prior kernel relative to the mean observation weight.
        min_bandwidth: Smallest numeric bandwidth (fraction of the range).
        magic_exponent: Exponent of the ``1 / n`` bandwidth clip.
        endpoints: Whether the ends of the range count as neighbours.

    Returns:
        The mixture; with no observations it is the prior alone.
    """
    n, dn = numeric.shape
    mus = np.concatenate([numeric, np.full((1, dn), 0.5)], axis=0)
    sigma = bandwidths(
        numeric, bandwidth_floor(n, min_bandwidth, magic_exponent), endpoints=endpoints
    )
    sigma = np.concatenate([sigma, np.ones((1, dn))])
    return Mixture(
        mixture_log_weights(weights, prior_weight),
        mus,
        sigma,
        choice_kernels(categorical, n_choices, n),
    )
