"""Adaptive Parzen estimators on unit coordinates, fully vectorised.

A :class:`Mixture` holds one kernel per observation plus a prior kernel. Numeric
dimensions use Gaussians truncated to ``[0, 1]``; categorical ones use a smoothed
one-hot distribution. In *joint* mode a kernel is a product over the dimensions and the
density is evaluated with two matrix products (no Python loop over kernels or trials);
in *univariate* mode every dimension is its own one-dimensional mixture.

Bandwidths follow hyperopt's heuristic (the larger gap to the sorted neighbours), which
needs every column sorted. :class:`SortedColumns` keeps the finished trials sorted
across asks, so that one ask costs a linear merge instead of a fresh sort.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ._encoding import BoolArray, FloatArray, IntArray

__all__ = [
    "KernelCache",
    "Mixture",
    "Scratch",
    "SortedColumns",
    "bandwidth_floor",
    "bandwidths",
    "categorical_tables",
    "kernel_terms",
    "logsumexp",
    "mixture_log_weights",
    "neighbour_gaps",
    "select_sorted",
]

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
#: Largest matrix product (rows x columns x inner size) in :meth:`Mixture.log_pdf`.
#: OpenBLAS hands bigger products to a second thread, which on a busy machine costs
#: up to 1,000x the arithmetic (measured: 4 ms at 0.5 M, 32 ms spikes from 0.7 M).
_PRODUCT_LIMIT = 1 << 19
#: Normal tail mass ``Q(x) = 1 - Phi(x)`` tabulated on ``[0, _TAIL_END]``; nearest-entry
#: lookups (rounding down) err by < 5e-4 in mass, far below what moves a density ratio.
_TAIL_END = 8.0
_TAIL_SIZE = 1 << 15
_TAIL_SCALE = _TAIL_SIZE / _TAIL_END


@functools.cache
def _tail_table() -> FloatArray:
    # Built on first use: scipy.special costs ~100 ms of import time.
    from scipy.special import ndtr  # noqa: PLC0415

    table = np.asarray(ndtr(-np.linspace(0.0, _TAIL_END, _TAIL_SIZE + 1)), dtype=np.float64)
    table[-1] = 0.0
    return table


def logsumexp(values: FloatArray, axis: int) -> FloatArray:
    """``log(sum(exp(values)))`` along ``axis``; overwrites ``values``."""
    peak = np.max(values, axis=axis, keepdims=True)
    empty = ~np.isfinite(peak)
    peak[empty] = 0.0
    values -= peak
    # Terms below e^-80 cannot change the sum; flooring them avoids exp's slow
    # subnormal path, which costs 10x more than the whole rest of the sum.
    np.maximum(values, -80.0, out=values)
    np.exp(values, out=values)
    out = np.log(np.sum(values, axis=axis, keepdims=True)) + peak
    out[empty] = -np.inf
    return np.asarray(np.squeeze(out, axis=axis))


def bandwidth_floor(n_observations: int, min_bandwidth: float, magic_exponent: float) -> float:
    """The smallest bandwidth: ``max(min_bandwidth, (2 + n) ** -magic_exponent)``."""
    return max(min_bandwidth, float((2.0 + n_observations) ** -magic_exponent))


def neighbour_gaps(
    ordered: FloatArray, floor: float, *, endpoints: bool = False, nearer: bool = False
) -> FloatArray:
    """Hyperopt's bandwidth for rows sorted ascending along axis 1.

    Each value gets the larger gap to its neighbours (the smaller with ``nearer``),
    clipped to ``[floor, 1]``. With ``endpoints``, ``0`` and ``1`` count as neighbours
    of the outermost values; without, those take the gap on their inner side only.
    """
    rows, n = ordered.shape
    if n == 0:
        return np.empty((rows, 0))
    gaps = np.empty((rows, n + 1))  # gaps[:, i] lies between value i - 1 and value i
    gaps[:, 0] = ordered[:, 0]
    np.subtract(ordered[:, 1:], ordered[:, :-1], out=gaps[:, 1:-1])
    gaps[:, -1] = 1.0 - ordered[:, -1]
    if not endpoints and n >= 2:
        # The outermost kernels look only inwards: a wide gap to the edge of the range
        # would otherwise make them nearly flat (what Optuna calls consider_endpoints).
        gaps[:, 0] = gaps[:, 1]
        gaps[:, -1] = gaps[:, -2]
    pick = np.minimum if nearer else np.maximum
    width = pick(gaps[:, :-1], gaps[:, 1:])
    # Not np.clip: its Python wrapper costs more than the arithmetic here.
    np.maximum(width, floor, out=width)
    return np.minimum(width, 1.0, out=width)


def bandwidths(
    mus: FloatArray, floor: float, *, endpoints: bool = False, nearer: bool = False
) -> FloatArray:
    """Hyperopt's adaptive bandwidths of ``(n, dn)`` kernel centres (sorting them).

    Args:
        mus: Kernel centres in unit coordinates, one row per kernel.
        floor: Smallest bandwidth (see :func:`bandwidth_floor`).
        endpoints: Whether the ends of the range count as neighbours.
        nearer: Take the smaller neighbour gap instead of the larger.

    Returns:
        ``(n, dn)`` bandwidths.
    """
    columns = np.ascontiguousarray(mus.T)
    # Flat indices: take_along_axis and put_along_axis cost more than the sort.
    flat = columns.argsort(axis=1, kind="stable")
    flat += (np.arange(columns.shape[0]) * columns.shape[1])[:, None]
    gaps = neighbour_gaps(columns.take(flat), floor, endpoints=endpoints, nearer=nearer)
    out = np.empty_like(columns)
    out.put(flat, gaps)
    return np.ascontiguousarray(out.T)


#: Up to this many new rows per ask are inserted into the kept order; more re-sort.
_INSERT_LIMIT = 16
#: Unit coordinates of finished trials lie in [0, 1]: each column's keys are offset by
#: this much, so that one flat sorted array holds every column (``NaN`` -> ``_NAN_KEY``).
_COLUMN_SPAN = 4.0
_NAN_KEY = 2.0


class SortedColumns:
    """A growing, append-only matrix kept sorted column by column.

    :meth:`update` inserts the few rows added since the last call into the kept order
    (one binary search and one insertion over all columns at once) instead of sorting
    again; many new rows, another owner or a shorter matrix sort from scratch.

    Attributes:
        order: ``(dn, n)`` row indices sorted ascending per column (``NaN`` last; equal
            values in row order).
        sorted_values: ``(dn, n)`` each column's values in that order.
    """

    def __init__(self) -> None:
        self.owner: object = None
        self.order: IntArray = np.empty((0, 0), dtype=np.intp)
        self.sorted_values: FloatArray = np.empty((0, 0))

    def update(self, owner: object, columns: Callable[[int], FloatArray], n: int) -> IntArray:
        """Bring the order up to date with the first ``n`` rows of ``owner``.

        Args:
            owner: The object whose rows these are; another owner (or fewer rows than
                before) restarts from a full sort.
            columns: Returns the ``(n - start, dn)`` rows from ``start`` on, in
                ``[0, 1]`` or ``NaN``; rows already seen must not change.
            n: Number of rows now.

        Returns:
            Row indices, sorted ascending by value in each column.
        """
        old = self.order
        start = old.shape[1]
        if owner is not self.owner or start > n or n - start > _INSERT_LIMIT:
            values = np.ascontiguousarray(columns(0).T)
            order = values.argsort(axis=1, kind="stable")
            flat = order + (np.arange(values.shape[0]) * values.shape[1])[:, None]
            self.owner, self.order = owner, order.astype(np.intp)
            self.sorted_values = values.take(flat)
            return self.order
        if start == n:
            return old
        dn = old.shape[0]
        offsets = np.arange(dn) * _COLUMN_SPAN
        keys = np.where(np.isnan(self.sorted_values), _NAN_KEY, self.sorted_values)
        keys += offsets[:, None]
        fresh = np.ascontiguousarray(columns(start).T).reshape(-1)  # column by column
        fresh_keys = np.where(np.isnan(fresh), _NAN_KEY, fresh)
        fresh_keys += np.repeat(offsets, n - start)
        # Sorted by key, ties in row order: the same order a stable sort would give.
        rank = fresh_keys.argsort(kind="stable")
        at = np.searchsorted(keys.reshape(-1), fresh_keys[rank], side="right")
        rows = np.tile(np.arange(start, n), dn)[rank]
        self.sorted_values = np.insert(self.sorted_values.reshape(-1), at, fresh[rank]).reshape(
            dn, n
        )
        self.order = np.insert(old.reshape(-1), at, rows).reshape(dn, n)
        return self.order


def select_sorted(
    order: IntArray,
    sorted_values: FloatArray,
    selected: BoolArray,
    extra: FloatArray,
    floor: float,
    *,
    endpoints: bool = False,
    nearer: bool = False,
) -> FloatArray:
    """Bandwidths of a subset of sorted rows plus extra kernels, without a full sort.

    Args:
        order: ``(dg, n)`` ascending order of some rows per column (``NaN`` last).
        sorted_values: ``(dg, n)`` each column's values in that order.
        selected: ``(n,)`` which rows are kernels; none of them may be ``NaN``.
        extra: ``(e, dg)`` further kernels (pending trials).
        floor: Smallest bandwidth.
        endpoints: Whether the ends of the range count as neighbours.
        nearer: Take the smaller neighbour gap instead of the larger.

    Returns:
        ``(n_selected + e, dg)`` bandwidths: selected rows in row order, then ``extra``.
    """
    dg = order.shape[0]
    n_selected = int(np.count_nonzero(selected))
    keep = selected[order]
    ids = order[keep].reshape(dg, n_selected)
    ordered = sorted_values[keep].reshape(dg, n_selected)
    kernel = np.cumsum(selected) - 1  # row -> its kernel, for selected rows
    kernel_ids = kernel[ids]
    if extra.shape[0]:
        extra_ids = np.broadcast_to(
            np.arange(n_selected, n_selected + extra.shape[0]), (dg, extra.shape[0])
        )
        merged_values = np.concatenate([ordered, extra.T], axis=1)
        merged_ids = np.concatenate([kernel_ids, extra_ids], axis=1)
        perm = np.argsort(merged_values, axis=1, kind="stable")
        ordered = np.take_along_axis(merged_values, perm, axis=1)
        kernel_ids = np.take_along_axis(merged_ids, perm, axis=1)
    out = np.empty((n_selected + extra.shape[0], dg))
    gaps = neighbour_gaps(ordered, floor, endpoints=endpoints, nearer=nearer)
    kernel_ids *= dg
    kernel_ids += np.arange(dg)[:, None]
    out.put(kernel_ids, gaps)
    return out


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


def categorical_tables(
    categorical: FloatArray, n_choices: Sequence[int], n_observations: int
) -> list[FloatArray]:
    """One ``(n + 1, c_j)`` probability table per categorical column.

    Every observation's kernel puts most mass on its own choice and a pseudo-count of
    ``1 / (n + 1)`` on every choice; the prior kernel (last row) is uniform.
    """
    kernels = n_observations + 1
    tables: list[FloatArray] = []
    for j, count in enumerate(n_choices):
        table = np.full((kernels, count), 1.0 / kernels)
        if n_observations:
            table[np.arange(n_observations), categorical[:, j].astype(np.intp)] += 1.0
        table[-1] = 1.0
        tables.append(table / table.sum(axis=1, keepdims=True))
    return tables


class Scratch:
    """Reusable work arrays, so that big temporaries do not hit fresh memory each ask.

    Arrays of a few hundred kilobytes come from ``mmap`` and are returned to the system
    when freed, so every new one page-faults; with thousands of trials that costs more
    than the arithmetic. A suggester keeps one ``Scratch`` and asks it for its arrays
    by name; an array is valid until the same name is requested again.
    """

    def __init__(self) -> None:
        self._buffers: dict[str, npt.NDArray[Any]] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: type = np.float64) -> Any:
        """An uninitialised array of ``shape`` (a view of the buffer called ``name``)."""
        size = math.prod(shape)
        buffer = self._buffers.get(name)
        if buffer is None or buffer.size < size or buffer.dtype != dtype:
            buffer = np.empty(max(size, 1) + size // 4, dtype=dtype)  # room to grow
            self._buffers[name] = buffer
        return buffer[:size].reshape(shape)


def _log_norm(mu: FloatArray, sigma: FloatArray, work: Scratch, name: str) -> FloatArray:
    """``log`` of each truncated Gaussian's normaliser, ``(K, dn)`` (a ``work`` array).

    The mass a kernel loses past each end of ``[0, 1]`` is read from a table of the
    normal tail: ``ndtr`` itself would cost more than the whole ask.
    """
    shape = mu.shape

    def array(role: str) -> FloatArray:
        return work.get(f"{name}.{role}", shape)  # type: ignore[no-any-return]

    inv_sigma = np.divide(1.0, sigma, out=array("inv_sigma"))
    above = np.multiply(inv_sigma, _TAIL_SCALE, out=array("above"))
    below = np.multiply(mu, above, out=array("below"))  # distance to 0, in table steps
    np.subtract(above, below, out=above)  # distance to 1
    np.minimum(below, _TAIL_SIZE, out=below)
    np.minimum(above, _TAIL_SIZE, out=above)
    index: IntArray = work.get(f"{name}.index", shape, np.intp)
    np.copyto(index, below, casting="unsafe")  # truncates: the table rounds down
    tail = _tail_table()
    lost = np.take(tail, index, out=below, mode="clip")
    np.copyto(index, above, casting="unsafe")
    lost += np.take(tail, index, out=above, mode="clip")
    np.minimum(lost, 1.0 - 1e-12, out=lost)
    # log(1 - x), not log1p: numpy's log1p is ~10x slower and x <= 1e-16 is moot.
    np.subtract(1.0, lost, out=lost)
    log_norm = np.log(inv_sigma, out=inv_sigma)
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
    log_norm = _log_norm(mu, sigma, work, name)
    inv_var = np.divide(1.0, sigma, out=terms[:, :dn])
    inv_var *= inv_var
    np.multiply(mu, inv_var, out=terms[:, dn:-1])
    terms[:, :dn] *= -0.5
    # mu^2 / (2 s^2) = -0.5 * mu * (mu / s^2); row sums as a matrix product, as
    # numpy's short-axis reductions are slow.
    rest = np.multiply(mu, terms[:, dn:-1], out=work.get(f"{name}.rest", mu.shape))
    rest *= -0.5
    rest += log_norm
    np.matmul(rest, np.ones(dn), out=terms[:, -1])


class KernelCache:
    """The log-density terms of finished trials' kernels, kept across asks.

    A finished trial's centre never changes and its bandwidth changes only when a
    neighbour arrives or leaves, so an ask recomputes the terms of those few kernels
    and gathers the rest (:func:`kernel_terms` is the costliest step of fitting a
    density with thousands of kernels).
    """

    def __init__(self) -> None:
        self.owner: object = None
        self._sigma: FloatArray = np.empty((0, 0))
        self._terms: FloatArray = np.empty((0, 0))

    def gather(  # noqa: PLR0917 - outputs by position, as numpy's out=
        self,
        owner: object,
        rows: IntArray,
        mu: FloatArray,
        sigma: FloatArray,
        terms: FloatArray,
        work: Scratch,
    ) -> None:
        """Write the terms of finished ``rows`` (centres ``mu``, bandwidths ``sigma``).

        Args:
            owner: The object whose rows these are; another owner drops the cache.
            rows: ``(K,)`` finished-row indices, ascending.
            mu: ``(K, dn)`` their centres; the same row must keep the same centre.
            sigma: ``(K, dn)`` their bandwidths now.
            terms: ``(K, 2 * dn + 1)`` output, as :func:`kernel_terms`.
            work: Where the temporaries live.
        """
        dn = mu.shape[1]
        size = int(rows[-1]) + 1 if rows.size else 0
        if owner is not self.owner or self._sigma.shape[1] != dn:
            self.owner = owner
            self._sigma = np.empty((0, dn))
            self._terms = np.empty((0, 2 * dn + 1))
        if size > self._sigma.shape[0]:
            old = self._sigma.shape[0]
            extra = max(size, 2 * old) - old
            self._sigma = np.concatenate([self._sigma, np.full((extra, dn), np.nan)])
            self._terms = np.concatenate([self._terms, np.empty((extra, 2 * dn + 1))])
        cached = np.take(self._sigma, rows, axis=0, out=work.get("cache.sigma", sigma.shape))
        differs = np.not_equal(cached, sigma, out=cached)
        if differs.any():
            # Few entries differ: find them in the flat array (per-row reductions are slow).
            stale = np.unique(np.flatnonzero(differs) // dn)
            fresh = np.empty((stale.size, 2 * dn + 1))
            kernel_terms(mu[stale], sigma[stale], fresh, work, "cache")
            changed = rows[stale]
            self._sigma[changed] = sigma[stale]
            self._terms[changed] = fresh
        np.take(self._terms, rows, axis=0, out=terms)


class Mixture:
    """A weighted mixture of product kernels over one group's columns.

    Args:
        log_weights: ``(K,)`` normalised log mixture weights.
        mu: ``(K, dn)`` numeric centres (unit coordinates).
        sigma: ``(K, dn)`` numeric bandwidths.
        categorical: One ``(K, c_j)`` probability table per categorical column.
        scratch: Where to keep the work arrays (the mixture is then valid only until
            ``scratch`` hands out arrays under the same ``name`` again).
        name: Prefix of this mixture's arrays in ``scratch``.
        draw_log_weights: ``(K,)`` normalised log weights to draw kernels with in
            :meth:`sample`, if not ``log_weights`` (the density stays as given).
        terms: ``(K, 2 * dn + 1)`` :func:`kernel_terms` of these kernels if already
            known (from a :class:`KernelCache`); the mixture adds its weights to them.
    """

    def __init__(  # noqa: PLR0917 - mirrors the fields it stores
        self,
        log_weights: FloatArray,
        mu: FloatArray,
        sigma: FloatArray,
        categorical: Sequence[FloatArray],
        scratch: Scratch | None = None,
        name: str = "",
        *,
        draw_log_weights: FloatArray | None = None,
        terms: FloatArray | None = None,
    ) -> None:
        self._scratch = scratch or Scratch()
        self._name = name
        self.log_weights = log_weights
        self._draw_log_weights = log_weights if draw_log_weights is None else draw_log_weights
        self.mu = mu
        self.sigma = sigma
        self.categorical = list(categorical)
        self.categorical_log = [np.log(table) for table in self.categorical]
        if terms is None:
            k, dn = mu.shape
            terms = self._scratch.get(f"{name}.terms", (k, 2 * dn + 1))
            kernel_terms(mu, sigma, terms, self._scratch, name)
        # Each kernel's log weight joins its constant: one product then scores it all.
        terms[:, -1] += log_weights
        self._terms = terms

    @functools.cached_property
    def cumulative(self) -> FloatArray:
        """Cumulative probabilities of drawing each kernel (ends at 1)."""
        cumulative = np.cumsum(np.exp(self._draw_log_weights))
        cumulative /= cumulative[-1]
        return cumulative

    @property
    def n_kernels(self) -> int:
        """Number of kernels, the prior included."""
        return int(self.log_weights.shape[0])

    def _pick(self, rng: np.random.Generator, shape: tuple[int, ...]) -> IntArray:
        draws = rng.random(shape)
        picked = np.searchsorted(self.cumulative, draws, side="right")
        return np.minimum(picked, self.n_kernels - 1).astype(np.intp)

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
        width = max(dn, dc, 1)
        if joint:
            kernel = np.broadcast_to(self._pick(rng, (m, 1)), (m, width))
        else:
            kernel = self._pick(rng, (m, width))
        numeric = np.empty((m, dn))
        if dn:
            from scipy.special import ndtr, ndtri  # noqa: PLC0415 - slow to import

            cols = np.arange(dn)
            k = kernel[:, :dn]
            mu, sigma = self.mu[k, cols], self.sigma[k, cols]
            low, high = ndtr(-mu / sigma), ndtr((1.0 - mu) / sigma)
            u = low + (high - low) * rng.random((m, dn))
            numeric = mu + sigma * ndtri(u)
            np.maximum(numeric, 0.0, out=numeric)
            np.minimum(numeric, 1.0, out=numeric)
        categorical = np.empty((m, dc))
        for j, table in enumerate(self.categorical):
            rows = np.cumsum(table[kernel[:, j]], axis=1)
            u = rng.random((m, 1)) * rows[:, -1:]
            chosen = np.sum(rows <= u, axis=1)
            categorical[:, j] = np.minimum(chosen, rows.shape[1] - 1)
        return numeric, categorical

    def log_pdf(self, numeric: FloatArray, categorical: FloatArray) -> FloatArray:
        """Joint log-density of ``m`` points, ``(m,)``."""
        work, name = self._scratch, self._name
        m, dn = numeric.shape
        logits = work.get(f"{name}.logits", (m, self.n_kernels))
        # sum_j -(x_j - mu_kj)^2 / (2 s_kj^2) + constant, expanded into one product.
        features = work.get(f"{name}.features", (m, 2 * dn + 1))
        np.multiply(numeric, numeric, out=features[:, :dn])
        features[:, dn:-1] = numeric
        features[:, -1] = 1.0
        # In blocks of kernels, each product small enough to stay on this thread.
        step = max(1, _PRODUCT_LIMIT // (m * (2 * dn + 1)))
        for start in range(0, self.n_kernels, step):
            block = slice(start, start + step)
            np.matmul(features, self._terms[block].T, out=logits[:, block])
        for j, table in enumerate(self.categorical_log):
            logits += table[:, categorical[:, j].astype(np.intp)].T
        return logsumexp(logits, axis=1)

    def log_pdf_columns(self, numeric: FloatArray, categorical: FloatArray) -> FloatArray:
        """Marginal log-density of every column of ``m`` points, ``(m, dn + dc)``."""
        m = numeric.shape[0]
        out = np.empty((m, numeric.shape[1] + len(self.categorical)))
        if numeric.shape[1]:
            z = (numeric[:, None, :] - self.mu[None]) / self.sigma[None]
            log_norm = _log_norm(self.mu, self.sigma, self._scratch, f"{self._name}.columns")
            terms = -0.5 * z * z + log_norm[None] + self.log_weights[None, :, None]
            out[:, : numeric.shape[1]] = logsumexp(terms, axis=1)
        for j, table in enumerate(self.categorical_log):
            terms = table[:, categorical[:, j].astype(np.intp)] + self.log_weights[:, None]
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
        categorical_tables(categorical, n_choices, n),
    )
