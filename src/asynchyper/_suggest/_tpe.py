"""Tree-structured Parzen estimator with a constant liar.

One ask, in order:

1. Encode finished and pending trials in unit coordinates (:mod:`._encoding`).
2. Split the successful trials by loss: the best ``min(ceil(gamma * n), gamma_cap)``
   are *good*; the rest, every failed trial and (by default) every pending trial are
   *bad*.
3. For every activity group (the dimensions gated by the same branch choice) fit a
   good density ``l`` and a bad density ``g`` on the trials where the group was active
   (:mod:`._parzen`), so a branch's parameters learn only from that branch's trials.
4. Draw candidates top-down from ``l`` (branch choices first, then the parameters of
   the branches they activate), score each by ``log l - log g`` summed over its active
   groups, and return the best one that was not tried before.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import threading
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple, cast

import numpy as np

from .._compat import override
from .._errors import SuggesterError
from .._space import Space
from .._types import JSONScalar, Params
from ._base import History, Suggester
from ._encoding import (
    BoolArray,
    Encoding,
    EncodingCache,
    FloatArray,
    Group,
    IntArray,
    UnitRows,
    check_count,
    pending_matrix,
)
from ._novelty import collides, novel_given, novel_prior, snap
from ._parzen import (
    Density,
    Mixture,
    RowKernels,
    Scratch,
    bandwidth_floor,
    bandwidths,
    choice_kernels,
    mixture_log_weights,
    quadratic_features,
    warm_up,
)

__all__ = ["TPE"]

Liar = Literal["bad", "worst", "mean", "best"] | None
Weighting = Literal["ei", "uniform"]
Gap = Literal["nearer", "wider"]
Bandwidth = Literal["hyperopt", "scott"]
Endpoints = bool | Literal["grid"]

_LIARS: tuple[Liar, ...] = ("bad", "worst", "mean", "best", None)
_WEIGHTINGS: tuple[Weighting, ...] = ("ei", "uniform")
_BANDWIDTHS: tuple[Bandwidth, ...] = ("hyperopt", "scott")
_GAPS: tuple[Gap, ...] = ("nearer", "wider")
#: Up to this many kernels a plain sort beats merging into the kept order.
_SMALL = 64


class _KeptGood(NamedTuple):
    """A group's good mixture and what it was fitted to (finished rows only)."""

    history: History
    group: Group
    rows: IntArray
    weights: FloatArray
    options: tuple[object, ...]
    mixture: Mixture


class _Model:
    """The fitted good/bad densities of every group for one ask."""

    def __init__(self, groups: list[tuple[Group, Mixture, Density]]) -> None:
        self.groups = groups


class TPE(Suggester):
    """Tree-structured Parzen estimator for conditional spaces, with a constant liar.

    The defaults were chosen by measurement (``benchmarks/quality.py``), starting from
    the setting Watanabe (2023) recommends: a joint kernel per group, prior weight 1,
    expected-improvement weighting of the good trials and hyperopt's neighbour-gap
    bandwidths. Measured against that start, a smaller good group (10 % of the trials,
    at most 25), hyperopt's ``1 / (n + 2)`` bandwidth clip with a 1 % floor, and
    outermost kernels that ignore the range ends did better, most of all on 10-d and
    conditional problems. Four later changes, each measured on every problem:

    - Bad kernels take the *nearer* neighbour gap: the bad density marks where bad
      trials are instead of smearing a few of them over unexplored gaps (that smear
      hid the narrow optimum of hyperopt's ``distractor`` domain).
    - The good density is scored with ``explore`` extra prior weight, but candidates
      are still drawn with ``prior_weight``: a region no trial has visited scores like
      a few good trials' neighbourhood, which keeps a low-dimensional search global
      and costs nothing in many dimensions, where the kernels dominate.
    - Pending trials count towards ``n_startup``, so trials in flight do not stretch
      the random start.
    - The good density's outermost kernels in an int or stepped column see the range
      ends (``endpoints="grid"``): its good trials often share one value, and with no
      gap between them the joint model never moved the column (hyperopt's
      ``many_dists`` domain).

    Args:
        n_startup: Trials (finished, failed or pending) to draw from the prior before
            the model is used; the model also waits for a first finished trial.
        n_candidates: Candidates drawn from the good density per suggestion.
        gamma: Fraction of successful trials that form the good group.
        gamma_cap: Largest size of the good group.
        multivariate: Model each group's dimensions jointly (one kernel per trial) rather
            than each dimension on its own.
        weighting: ``"ei"`` weighs good trials by how far they beat the split
            (expected-improvement weighting); ``"uniform"`` weighs them equally.
        prior_weight: Weight of the prior kernel relative to an average observation.
        explore: Extra weight of the prior kernel in the good density when candidates
            are scored (not when they are drawn), in average good observations.
        min_bandwidth: Smallest kernel bandwidth, as a fraction of a dimension's range.
        magic_exponent: Bandwidths are also at least ``(n + 2) ** -magic_exponent``.
        bandwidth: ``"hyperopt"`` gives each kernel the larger gap to its neighbours
            in each dimension; ``"scott"`` gives every kernel of a group the same width,
            ``0.2 * n ** (-1 / (d + 4))`` of the range (Scott's rule, as Optuna's
            original multivariate TPE).
        endpoints: Whether the ends of a range count as neighbours of the outermost
            kernels: ``True`` in every numeric dimension (hyperopt), ``False`` in none
            (Optuna: those kernels stay narrow), ``"grid"`` for the good density's
            joint kernels in dimensions with a step (ints and quantized floats), whose
            good trials often share a value: with no gap between them, the column
            would stay on that value (a univariate model moves it by drawing that
            column alone from the prior; a joint one redraws every column at once).
        bad_gap: Which neighbour gap a *bad* kernel's bandwidth takes with
            ``bandwidth="hyperopt"``: the ``"nearer"`` one or the ``"wider"`` one (as
            good kernels do, and hyperopt for both).
        liar: How pending trials count: ``"bad"`` adds them to the bad group; ``"worst"``,
            ``"mean"`` and ``"best"`` give them that loss of the finished trials;
            ``None`` ignores them (repeats are still avoided).

    Raises:
        SuggesterError: An option is outside its allowed range.
    """

    n_startup: int
    n_candidates: int
    gamma: float
    gamma_cap: int
    multivariate: bool
    weighting: Weighting
    prior_weight: float
    explore: float
    min_bandwidth: float
    magic_exponent: float
    bandwidth: Bandwidth
    endpoints: Endpoints
    bad_gap: Gap
    liar: Liar

    def __init__(
        self,
        *,
        n_startup: int = 10,
        n_candidates: int = 24,
        gamma: float = 0.1,
        gamma_cap: int = 25,
        multivariate: bool = True,
        weighting: Weighting = "ei",
        prior_weight: float = 1.0,
        explore: float = 3.0,
        min_bandwidth: float = 0.01,
        magic_exponent: float = 1.0,
        bandwidth: Bandwidth = "hyperopt",
        endpoints: Endpoints = "grid",
        bad_gap: Gap = "nearer",
        liar: Liar = "bad",
    ) -> None:
        _check_int("n_startup", n_startup, 0)
        _check_int("n_candidates", n_candidates, 1)
        _check_int("gamma_cap", gamma_cap, 1)
        _check_float("gamma", gamma, 0.0, 1.0, "a number in (0, 1], e.g. 0.1")
        _check_float("prior_weight", prior_weight, 0.0, math.inf, "a finite number > 0, e.g. 1.0")
        _check_float(
            "min_bandwidth",
            min_bandwidth,
            0.0,
            1.0,
            "a number in (0, 1] (a fraction of each dimension's range), e.g. 0.01",
        )
        _check_float(
            "explore", explore, 0.0, math.inf, "a finite number >= 0, e.g. 3.0", closed=True
        )
        _check_float(
            "magic_exponent", magic_exponent, 0.0, math.inf, "a finite number > 0, e.g. 1.0"
        )
        _check_bool("multivariate", multivariate)
        _check_endpoints(endpoints)
        if liar not in _LIARS:
            msg = f"TPE(liar={liar!r}): liar must be one of {_LIARS!r}"
            raise SuggesterError(msg)
        if bandwidth not in _BANDWIDTHS:
            msg = f"TPE(bandwidth={bandwidth!r}): bandwidth must be one of {_BANDWIDTHS!r}"
            raise SuggesterError(msg)
        if bad_gap not in _GAPS:
            msg = f"TPE(bad_gap={bad_gap!r}): bad_gap must be one of {_GAPS!r}"
            raise SuggesterError(msg)
        if weighting not in _WEIGHTINGS:
            msg = f"TPE(weighting={weighting!r}): weighting must be one of {_WEIGHTINGS!r}"
            raise SuggesterError(msg)
        self.n_startup = int(n_startup)
        self.n_candidates = int(n_candidates)
        self.gamma = float(gamma)
        self.gamma_cap = int(gamma_cap)
        self.multivariate = bool(multivariate)
        self.weighting = weighting
        self.prior_weight = float(prior_weight)
        self.explore = float(explore)
        self.min_bandwidth = float(min_bandwidth)
        self.magic_exponent = float(magic_exponent)
        self.bandwidth = bandwidth
        self.endpoints: Endpoints = endpoints if endpoints == "grid" else bool(endpoints)
        self.bad_gap = bad_gap
        self.liar = liar
        self._reset_caches()

    def _reset_caches(self) -> None:
        self._encodings = EncodingCache()
        self._unit = UnitRows()
        # Sorted rows and kernel terms per (group, role), kept across asks.
        self._rows: dict[tuple[int, str], RowKernels] = {}
        # The good mixture of each group, with what it was fitted to.
        self._good: dict[int, _KeptGood] = {}
        # The fitted mixtures live in these arrays: valid until the next fit.
        self._scratch = Scratch()
        # The caches above are shared state: one suggestion at a time per instance.
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        # Caches and the lock stay behind; a copy rebuilds them on first use.
        return {
            key: value
            for key, value in self.__dict__.items()
            if key not in {"_encodings", "_unit", "_rows", "_good", "_scratch", "_lock"}
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset_caches()

    def __repr__(self) -> str:
        return (
            f"TPE(n_startup={self.n_startup}, n_candidates={self.n_candidates}, "
            f"gamma={self.gamma}, gamma_cap={self.gamma_cap}, "
            f"multivariate={self.multivariate}, weighting={self.weighting!r}, "
            f"prior_weight={self.prior_weight}, explore={self.explore}, "
            f"min_bandwidth={self.min_bandwidth}, "
            f"magic_exponent={self.magic_exponent}, bandwidth={self.bandwidth!r}, "
            f"endpoints={self.endpoints!r}, bad_gap={self.bad_gap!r}, "
            f"liar={self.liar!r})"
        )

    @override
    def prepare(self, space: Space[Any]) -> None:
        """Import ``scipy.special`` and build the kernels' tail table (once per process).

        Args:
            space: The compiled space (unused: the work does not depend on it).
        """
        del space
        warm_up()

    @override
    def suggest(
        self,
        space: Space[Any],
        history: History,
        pending: Sequence[Params],
        rng: np.random.Generator,
        k: int = 1,
    ) -> list[dict[str, JSONScalar]]:
        check_count(k)
        with self._lock:
            encoding = self._encodings.get(space)
            running = pending_matrix(space, encoding, pending)
            out: list[dict[str, JSONScalar]] = []
            for _ in range(k):
                row = self._suggest_one(space, encoding, history, running, rng)
                out.append(space.from_vector(row))
                if len(out) < k:  # the next suggestion sees this one as pending
                    running = np.concatenate([running, row[None, :]])
            return out

    @override
    def suggest_given(
        self,
        space: Space[Any],
        history: History,
        pending: Sequence[Params],
        rng: np.random.Generator,
        fixed: Params,
    ) -> dict[str, JSONScalar]:
        """Propose one configuration that keeps ``fixed``, the others chosen given it.

        As :meth:`suggest`, with the fixed values put into every candidate before it
        is scored: the free parameters are drawn from the good density and ranked by
        ``l/g`` over the groups that the fixed branch choices make active. During the
        random start they are drawn from the prior.

        Args:
            space: The compiled space.
            history: Finished trials, as for :meth:`suggest`.
            pending: Flat parameters of trials still running.
            rng: The only source of randomness.
            fixed: Part of a configuration, valid for ``space``.

        Returns:
            Flat parameters valid for ``space`` holding every ``fixed`` value.
        """
        with self._lock:
            encoding = self._encodings.get(space)
            running = pending_matrix(space, encoding, pending)
            seen = np.concatenate([history.X, running])
            if self._starting(encoding, history, running):
                return novel_given(encoding, space, rng, fixed, seen)
            model = self._fit(encoding, history, running)
            candidates, ranking = self._candidates(encoding, model, rng, space.to_vector(fixed))
            ranked = candidates[ranking]
            fresh = np.flatnonzero(~collides(ranked, seen, encoding))
            return space.from_vector(ranked[fresh[0]] if fresh.size else ranked[0])

    # -- one suggestion -------------------------------------------------------------
    def _starting(self, encoding: Encoding, history: History, running: FloatArray) -> bool:
        """Whether the next suggestion is a random-start one (no model yet)."""
        finished = len(history)
        # Pending trials count towards the random start: N in flight would otherwise
        # stretch it to n_startup + N - 1 random trials.
        started = finished + running.shape[0]
        return started < self.n_startup or finished == 0 or encoding.d == 0

    def _suggest_one(
        self,
        space: Space[Any],
        encoding: Encoding,
        history: History,
        running: FloatArray,
        rng: np.random.Generator,
    ) -> FloatArray:
        finished = history.X
        seen = np.concatenate([finished, running]) if running.shape[0] else finished
        if self._starting(encoding, history, running):
            row = novel_prior(encoding, space, rng, seen)
            return row if row is not None else snap(encoding, space.sample_vectors(rng, 1))[0]
        model = self._fit(encoding, history, running)
        candidates, ranking = self._candidates(encoding, model, rng)
        best: FloatArray = candidates[ranking[0]]
        if not collides(best[None, :], seen, encoding)[0]:
            return best
        ranked = candidates[ranking]
        fresh = np.flatnonzero(~collides(ranked, seen, encoding))
        if fresh.size:
            return np.asarray(ranked[fresh[0]])
        row = novel_prior(encoding, space, rng, seen)
        return row if row is not None else best

    def _fit(
        self,
        encoding: Encoding,
        history: History,
        running: FloatArray,
    ) -> _Model:
        """Split the trials and fit ``l`` and ``g`` for every group (vectorised).

        The returned model shares work arrays with this suggester: it is valid until
        the next call of :meth:`fit` or :meth:`suggest`.

        Args:
            encoding: The space's encoding.
            history: Finished trials; its rows stay sorted between asks.
            running: Raw vectors of the pending trials.

        Returns:
            The good and bad mixtures of every non-empty group.
        """
        n = len(history)
        finished_unit = self._unit.update(history, encoding, history.X)
        y = history.y
        ok = ~np.isnan(y)
        unit = finished_unit
        if running.shape[0] and self.liar is not None:
            unit = np.concatenate([finished_unit, encoding.to_unit(running)])
            lie = np.nan
            if self.liar != "bad" and ok.any():
                finished_ok = y[ok]
                lie = {
                    "worst": float(np.max(finished_ok)),
                    "mean": _mean(finished_ok),
                    "best": float(np.min(finished_ok)),
                }[self.liar]
            # A NaN lie (liar="bad", or nothing finished yet) makes them bad observations.
            y = np.concatenate([y, np.full(running.shape[0], lie)])
            ok = ~np.isnan(y)
        ok_rows = ok.nonzero()[0]
        n_good = min(math.ceil(self.gamma * ok_rows.size), self.gamma_cap)
        threshold: float | None = None
        if n_good >= ok_rows.size:
            good = ok
        else:
            good = np.zeros(y.shape[0], dtype=np.bool_)
            # Linear-time split: only the boundary matters, not the full ranking.
            if ok_rows.size == y.shape[0]:  # nothing failed: rows are positions
                split = np.argpartition(y, n_good)
                good[split[:n_good]] = True
                threshold = float(y[split[n_good]])
            else:
                split = ok_rows[np.argpartition(y[ok_rows], n_good)]
                good[split[:n_good]] = True
                threshold = float(y[split[n_good]])
        # Failed trials and the rest of the finished ones (and pending ones, as lies).
        bad = ~good
        weights = np.ones(y.shape[0])
        if self.weighting == "ei" and threshold is not None:
            # Only the ratios matter: normalise by the largest gap, so that the floor is
            # relative (losses of any scale weigh alike) and the sum cannot overflow.
            gaps, top = _gaps(threshold, y[good])
            weights[good] = np.maximum(gaps / top, 1e-12) if top > 0 else 1.0
        fitted: list[tuple[Group, Mixture, Density]] = []
        for group in encoding.groups:
            if group.columns.size == 0:
                continue
            if group.parent_column < 0:  # the root group: active in every row
                good_rows, bad_rows = good, bad
            else:
                active = group.rows_active(unit)
                good_rows, bad_rows = good & active, bad & active
            fitted.append(
                (
                    group,
                    self._good_mixture(history, group, unit, n, good_rows, weights),
                    self._fit_group(history, group, unit, n, bad_rows, weights, "bad"),
                )
            )
        return _Model(fitted)

    def _good_mixture(  # noqa: PLR0917 - private helper, called from one place
        self,
        history: History,
        group: Group,
        unit: FloatArray,
        n_finished: int,
        selected: BoolArray,
        weights: FloatArray,
    ) -> Mixture:
        # The good group changes only when a trial joins the best few: until then the
        # last ask's mixture (same finished rows, same weights, same options) holds.
        rows = selected.nonzero()[0]
        observed = weights[rows]
        options = (
            self.prior_weight,
            self.explore,
            self.min_bandwidth,
            self.magic_exponent,
            self.bandwidth,
            self.endpoints,
        )
        kept = self._good.get(group.index)
        if (
            kept is not None
            and kept.history is history
            and kept.group is group
            and kept.options == options
            and (rows.size == 0 or rows[-1] < n_finished)
            # Not np.array_equal: its Python wrapper costs more than the comparison.
            and kept.rows.shape == rows.shape
            and bool((kept.rows == rows).all())
            and bool((kept.weights == observed).all())
        ):
            return kept.mixture
        mixture = cast(
            "Mixture", self._fit_group(history, group, unit, n_finished, selected, weights, "good")
        )
        self._good[group.index] = _KeptGood(history, group, rows, observed, options, mixture)
        return mixture

    def _fit_group(  # noqa: PLR0917 - private helper, called from two places
        self,
        history: History,
        group: Group,
        unit: FloatArray,
        n_finished: int,
        selected: BoolArray,
        weights: FloatArray,
        role: Literal["good", "bad"],
    ) -> Density:
        # The good density is a Mixture (it is sampled); so is every density of a
        # univariate TPE (scored column by column).
        good = role == "good"
        rows = selected.nonzero()[0]
        dg = group.numeric.size
        name = f"{role}{group.index}"
        observed = weights[rows]
        log_weights = mixture_log_weights(
            observed, self.prior_weight + (self.explore if good else 0.0)
        )
        draw_log_weights = mixture_log_weights(observed, self.prior_weight) if good else None
        categorical = (
            unit[rows][:, group.categorical] if group.categorical.size else np.empty((rows.size, 0))
        )
        tables = choice_kernels(categorical, group.n_choices, rows.size)
        floor: float | FloatArray = bandwidth_floor(
            rows.size, self.min_bandwidth, self.magic_exponent
        )
        if group.gaussian:
            # A column with a Gaussian prior measures its floor in the prior's width, as
            # Hyperopt does; its widest kernel is the range, as the flat prior kernel's.
            floor = floor * group.bandwidth_unit
        nearer = not good and self.bad_gap == "nearer"
        endpoints = self._endpoints(group, good)
        if dg and rows.size > _SMALL and self.bandwidth == "hyperopt":
            # Many kernels: kept sorted and fitted across asks, in row space.
            kernels = self._rows.get((group.index, role))
            if kernels is None:  # not setdefault: a RowKernels costs a few arrays to make
                kernels = self._rows[group.index, role] = RowKernels()
            if rows.size == 0 or rows[-1] < n_finished:  # no pending kernels
                finished, extra = rows, np.empty((0, dg))
            else:
                finished = rows[rows < n_finished]
                extra = unit[rows[finished.size :]][:, group.numeric]
            kernels.fit(
                history,
                unit[:n_finished],
                group.numeric,
                selected[:n_finished],
                extra,
                floor,
                endpoints=endpoints,
                nearer=nearer,
                work=self._scratch,
            )
            kernel_rows = np.concatenate(
                [finished, np.arange(n_finished, n_finished + extra.shape[0] + 1)]
            )
            if not good and self.multivariate and 2 * finished.size < n_finished:
                # A branch's density, its kernels a minority of the rows: gathered.
                gathered = kernels.terms.take(kernel_rows, axis=0)
                return Density(log_weights, gathered, tables, self._scratch, name)
            if not good and self.multivariate:
                # Scored over every row: the rows that are not kernels weigh nothing.
                size = kernels.terms.shape[0]
                row_weights = np.full(size, -np.inf)
                row_weights[kernel_rows] = log_weights
                row_tables = [table.spread(kernel_rows, size) for table in tables]
                return Density(row_weights, kernels.terms, row_tables, self._scratch, name)
            mu = np.concatenate([unit[finished][:, group.numeric], extra, np.full((1, dg), 0.5)])
            sigma = kernels.sigma.take(kernel_rows[:-1], axis=0)
            terms: FloatArray | None = kernels.terms.take(kernel_rows, axis=0)
        else:
            # Kernel centres, the prior's (0.5) last.
            mu = np.empty((rows.size + 1, dg))
            mu[:-1] = unit[rows][:, group.numeric]
            mu[-1] = 0.5
            terms = None
            if not dg:
                sigma = np.empty((rows.size, 0))
            elif self.bandwidth == "scott":
                # Optuna's multivariate rule: one width for every kernel, shrinking with n.
                width = 0.2 * max(rows.size, 1) ** (-1.0 / (dg + 4))
                # In units of each column's prior width, within its floor and the range.
                width = np.maximum(width * group.bandwidth_unit, floor)
                sigma = np.broadcast_to(np.minimum(width, 1.0), (rows.size, dg))
            else:
                sigma = bandwidths(mu[:-1], floor, endpoints=endpoints, nearer=nearer)
        # The prior kernel: centred (above), as wide as the whole range.
        sigma = np.concatenate([sigma, np.ones((1, dg))])
        return Mixture(
            log_weights,
            mu,
            sigma,
            tables,
            self._scratch,
            name,
            draw_log_weights=draw_log_weights,
            terms=terms,
        )

    def _endpoints(self, group: Group, good: bool) -> bool | BoolArray:
        """Whether the range ends are neighbours: for the group, or per numeric column."""
        if self.endpoints != "grid":
            return bool(self.endpoints)
        if not (good and self.multivariate):
            return False
        # A plain bool where every column agrees: the cheaper path.
        if group.grid.all():
            return True
        return group.grid if group.grid.any() else False

    def _candidates(
        self,
        encoding: Encoding,
        model: _Model,
        rng: np.random.Generator,
        fixed: FloatArray | None = None,
    ) -> tuple[FloatArray, IntArray]:
        """Candidates as raw vectors and their order, best first; every candidate holds
        the non-NaN entries of the raw vector ``fixed``."""
        m = self.n_candidates
        # One group of numeric columns (a common space) needs no gathers: its samples
        # and candidates are whole matrices.
        whole = encoding.one_numeric_group and len(model.groups) == 1
        samples = [good.sample(rng, m, joint=self.multivariate) for _, good, _ in model.groups]
        if whole:
            unit = samples[0][0]
        else:
            unit = np.full((m, encoding.d), np.nan)
            for (group, _, _), (numeric, categorical) in zip(model.groups, samples, strict=True):
                unit[:, group.numeric] = numeric
                unit[:, group.categorical] = categorical
        raw = encoding.from_unit(unit)
        if fixed is not None:
            held = ~np.isnan(fixed)
            raw[:, held] = fixed[held]
        unit = encoding.to_unit(raw)
        active = encoding.group_activity(raw)
        score = np.zeros(m)
        # Each column's log ratio: univariate only (any array will do otherwise).
        per_column = score if self.multivariate else np.zeros((m, encoding.d))
        for group, good, bad in model.groups:
            if whole:
                numeric, categorical = unit, unit[:, :0]
            else:
                numeric, categorical = unit[:, group.numeric], unit[:, group.categorical]
            if self.multivariate:
                features = quadratic_features(numeric)
                ratio = good.log_pdf(numeric, categorical, features)
                ratio -= bad.log_pdf(numeric, categorical, features)
            else:
                columns = good.log_pdf_columns(numeric, categorical) - cast(
                    "Mixture", bad
                ).log_pdf_columns(numeric, categorical)
                per_column[:, np.concatenate([group.numeric, group.categorical])] = columns
                ratio = columns.sum(axis=1)
            if group.parent_column < 0:  # the root group: active in every candidate
                score += ratio
            else:
                score += np.where(active[:, group.index], ratio, 0.0)
        ranking: IntArray = np.argsort(-score, kind="stable")
        if self.multivariate:  # raw is not needed any more: deactivated in place
            return encoding.deactivate(raw, active), ranking
        rows = encoding.deactivate(raw.copy(), active)
        # Univariate: every dimension takes its own best candidate value.
        composed = raw[np.argmax(per_column, axis=0), np.arange(encoding.d)][None, :]
        composed = encoding.deactivate(composed, encoding.group_activity(composed))
        rows = np.concatenate([composed, rows])
        return rows, np.concatenate([[0], ranking + 1]).astype(np.intp)


def _mean(values: FloatArray) -> float:
    """The mean of finite ``values``, finite too (near the float limit as well)."""
    scale = float(np.max(np.abs(values)))
    if scale <= 1e300:
        return float(np.mean(values))
    return float(np.mean(values / scale)) * scale


def _gaps(threshold: float, good: FloatArray) -> tuple[FloatArray, float]:
    """How far each good loss beats the split, finite (only their ratios matter: the
    good weights are normalised), also for losses near the float limit; and the
    largest of them."""
    # The largest gap is the best loss's: rounding keeps the order, so this equals the
    # largest element of threshold - good, and checks for overflow in one subtraction
    # (Python's floats overflow to inf silently; numpy's would need an errstate).
    top = threshold - float(good.min())
    if math.isfinite(top):
        return threshold - good, top
    scale = max(abs(threshold), float(np.max(np.abs(good))))
    gaps = np.asarray(threshold / scale - good / scale, dtype=np.float64)
    return gaps, float(np.max(gaps))


def _check_float(
    name: str, value: object, low: float, high: float, allowed: str, *, closed: bool = False
) -> None:
    # Open at ``low`` unless ``closed``, closed at ``high``, always finite; checked at
    # run time for untyped callers. Any real number (numpy's too) but a bool.
    number = math.nan
    if isinstance(value, bool | np.bool_):
        pass  # True is not a weight
    elif isinstance(value, numbers.Real):
        with contextlib.suppress(OverflowError):  # an int beyond the largest float
            number = float(value)
    inside = (low <= number if closed else low < number) and number <= high
    if not (inside and math.isfinite(number)):
        msg = f"TPE({name}={value!r}): {name} must be {allowed}"
        raise SuggesterError(msg)


def _check_int(name: str, value: object, minimum: int) -> None:
    # Any integer (numpy's too) but a bool.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        msg = f"TPE({name}={value!r}): {name} must be an integer >= {minimum}"
        raise SuggesterError(msg)


def _check_endpoints(value: object) -> None:
    # Not `value in (True, False, "grid")`: 1 == True would pass.
    if not (isinstance(value, bool | np.bool_) or (isinstance(value, str) and value == "grid")):
        msg = f"TPE(endpoints={value!r}): endpoints must be True, False or 'grid'"
        raise SuggesterError(msg)


def _check_bool(name: str, value: object) -> None:
    # A truthy string such as "no" must not silently switch an option on.
    if not isinstance(value, bool | np.bool_):
        msg = f"TPE({name}={value!r}): {name} must be True or False"
        raise SuggesterError(msg)
