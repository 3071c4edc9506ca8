"""The Parzen estimator functions, on plain arrays (no space needed)."""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Annotated, Any

import attrs
import numpy as np
import pytest
from scipy import integrate, special

import asynchyper as ah
from asynchyper._suggest import _parzen
from asynchyper._suggest._encoding import Encoding, FloatArray, IntArray, UnitRows
from asynchyper._suggest._parzen import (
    ChoiceKernels,
    Density,
    Mixture,
    RowKernels,
    Scratch,
    bandwidth_floor,
    bandwidths,
    fit_mixture,
    kernel_terms,
    logsumexp,
    logsumexp_rows,
    neighbour_gaps,
    prior_terms,
)


def test_neighbour_gaps_take_the_wider_side_and_clip() -> None:
    ordered = np.array([[0.1, 0.2, 0.6]])
    # gaps: 0.1 | 0.1 | 0.4 | 0.4 (to the end at 1)
    with_ends = neighbour_gaps(ordered, 0.0, endpoints=True)[0]
    assert with_ends.tolist() == pytest.approx([0.1, 0.4, 0.4])
    clipped = neighbour_gaps(ordered, 0.25, endpoints=True)[0]
    assert clipped.tolist() == pytest.approx([0.25, 0.4, 0.4])
    # Without the ends, the outermost values only look inwards.
    inner = neighbour_gaps(np.array([[0.1, 0.2, 0.3]]), 0.0, endpoints=False)[0]
    assert inner.tolist() == pytest.approx([0.1, 0.1, 0.1])
    single = neighbour_gaps(np.array([[0.3]]), 0.0, endpoints=False)[0]
    assert single.tolist() == pytest.approx([0.7])


@pytest.mark.parametrize("nearer", [False, True])
def test_endpoints_per_row_equal_each_row_on_its_own(nearer: bool) -> None:
    rng = np.random.default_rng(3)
    ordered = np.sort(np.round(rng.random((6, 7)), 1), axis=1)  # ties included
    mask = np.array([True, False, False, True, True, False])
    rows = neighbour_gaps(ordered, 0.01, endpoints=mask, nearer=nearer)
    for i, ends in enumerate(mask.tolist()):
        alone = neighbour_gaps(ordered[i : i + 1], 0.01, endpoints=ends, nearer=nearer)
        assert rows[i].tolist() == alone[0].tolist()
    # The single-value case and the whole-rule shortcuts agree too.
    single = neighbour_gaps(ordered[:, :1], 0.0, endpoints=mask)
    assert single.tolist() == neighbour_gaps(ordered[:, :1], 0.0, endpoints=False).tolist()
    every = neighbour_gaps(ordered, 0.01, endpoints=np.ones(6, dtype=bool), nearer=nearer)
    assert every.tolist() == neighbour_gaps(ordered, 0.01, endpoints=True, nearer=nearer).tolist()


def test_bandwidths_unsort_to_row_order() -> None:
    mus = np.array([[0.6, 0.5], [0.1, 0.0], [0.2, 1.0]])
    sigma = bandwidths(mus, 0.0, endpoints=True)
    assert sigma[:, 0].tolist() == pytest.approx([0.4, 0.1, 0.4])
    assert sigma[:, 1].tolist() == pytest.approx([0.5, 0.5, 0.5])


def test_bandwidth_floor() -> None:
    assert bandwidth_floor(0, 0.03, 2.0) == pytest.approx(0.25)
    assert bandwidth_floor(1000, 0.03, 2.0) == pytest.approx(0.03)
    assert bandwidth_floor(8, 0.01, 1.0) == pytest.approx(0.1)


def _fresh_terms(mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    out = np.empty((mu.shape[0], 2 * mu.shape[1] + 1))
    kernel_terms(mu, sigma, out, Scratch(), "fresh")
    return out


@pytest.mark.parametrize("scaled", [False, True])
@pytest.mark.parametrize("nearer", [False, True])
@pytest.mark.parametrize("endpoints", [False, True, "mixed"])
def test_row_kernels_equal_a_fit_from_scratch(endpoints: Any, nearer: bool, scaled: bool) -> None:
    # Rows join one or many at a time, move in and out of the selection, and pending
    # kernels come and go; every fit must equal sorting and fitting the subset afresh.
    rng = np.random.default_rng(5)
    unit = np.round(rng.random((400, 5)), 1)  # many ties: their order must be stable
    unit[:, 2] = rng.random(400)
    unit[rng.random(400) < 0.1, 4] = np.nan  # an inactive column, never modelled
    columns = np.array([0, 1, 2, 3])
    kernels, owner, work = RowKernels(), object(), Scratch()
    # Columns with a Gaussian prior measure their floor in its width: one per column.
    floor = 0.01 * np.array([0.05, 1.0, 0.2, 0.5]) if scaled else 0.01
    if endpoints == "mixed":  # the range ends count for some columns only (grid ones)
        endpoints = np.array([True, False, False, True])
    selected = rng.random(400) < 0.7
    steps = [3, 20, 21, 22, 23, 60, 61, 61, 62, 120, 121, 121, 300, 301, 302, 150]
    steps += list(range(150, 190))  # one row at a time: only neighbours are refitted
    for n in steps:
        if rng.random() < 0.3:  # a few rows move between the groups
            flip = rng.choice(n, 3, replace=False)
            selected[flip] = ~selected[flip]
        pending = int(rng.integers(1, 4)) if rng.random() < 0.3 else 0
        extra = np.round(rng.random((pending, 4)), 1)

        def fit(kernels: RowKernels, n: int = n, extra: np.ndarray = extra) -> None:
            kernels.fit(
                owner,
                unit[:n],
                columns,
                selected[:n],
                extra,
                floor,
                endpoints=endpoints,
                nearer=nearer,
                work=work,
            )

        fit(kernels)
        rows = np.flatnonzero(selected[:n])
        mu = np.concatenate([unit[rows][:, columns], extra])
        sigma = bandwidths(mu, floor, endpoints=endpoints, nearer=nearer)
        kernel_rows = np.concatenate([rows, n + np.arange(extra.shape[0])])
        # Keys carry a column offset: gaps may differ from the subset's in the last bits.
        np.testing.assert_allclose(kernels.sigma[kernel_rows], sigma, rtol=0, atol=1e-13)
        np.testing.assert_array_equal(
            kernels.terms[kernel_rows], _fresh_terms(mu, kernels.sigma[kernel_rows])
        )
        assert kernels.terms.shape[0] == n + extra.shape[0] + 1
        np.testing.assert_array_equal(kernels.terms[-1], prior_terms(4)[0])
        assert np.isfinite(kernels.terms).all()
        # Bit for bit what a fresh fit gives, however this one got here.
        fresh = RowKernels()
        fit(fresh)
        np.testing.assert_array_equal(kernels.sigma[kernel_rows], fresh.sigma[kernel_rows])
        np.testing.assert_array_equal(kernels.terms[kernel_rows], fresh.terms[kernel_rows])


def test_row_kernels_refit_only_the_kernels_that_moved(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    unit = rng.random((500, 3))
    kernels, owner, work = RowKernels(), object(), Scratch()
    selected = np.ones(500, dtype=np.bool_)
    fitted: list[int] = []
    real = _parzen.kernel_terms

    def counting(mu: np.ndarray, *args: object) -> None:
        fitted.append(mu.shape[0])
        real(mu, *args)  # type: ignore[arg-type]

    prior_terms(3)  # cached from here on
    monkeypatch.setattr(_parzen, "kernel_terms", counting)
    no_extra = np.empty((0, 3))
    kernels.fit(owner, unit[:400], np.arange(3), selected[:400], no_extra, 0.001, work=work)
    assert fitted == [400]
    # One more row: only it and its neighbours in each column change bandwidth.
    kernels.fit(owner, unit[:401], np.arange(3), selected[:401], no_extra, 0.001, work=work)
    assert 1 <= fitted[-1] <= 1 + 2 * 3
    # Another owner starts again.
    kernels.fit(object(), unit[:401], np.arange(3), selected[:401], no_extra, 0.001, work=work)
    assert fitted[-1] == 401


def test_row_density_ignores_rows_weighted_minus_infinity() -> None:
    rng = np.random.default_rng(4)
    mu, sigma = rng.random((30, 2)), 0.05 + 0.1 * rng.random((30, 2))
    keep = rng.random(30) < 0.5
    terms = _fresh_terms(mu, sigma)
    weights = np.log(np.full(30, 1.0 / keep.sum()))
    points = rng.random((7, 2))
    everything = Density(np.where(keep, weights, -np.inf), terms, [])
    subset = Mixture(weights[keep], mu[keep], sigma[keep], [])
    np.testing.assert_allclose(
        everything.log_pdf(points, np.empty((7, 0))),
        subset.log_pdf(points, np.empty((7, 0))),
        rtol=1e-12,
    )
    np.testing.assert_array_equal(terms, _fresh_terms(mu, sigma))  # left unchanged


def test_unit_rows_convert_each_row_once() -> None:
    import asynchyper as ah  # noqa: PLC0415 - only this test needs a space

    from .spaces import Floats  # noqa: PLC0415

    space = ah.compile_space(Floats)
    encoding = Encoding(space.dimensions)
    rows = space.sample_vectors(np.random.default_rng(0), 200)
    cache, owner = UnitRows(), object()
    for n in (0, 1, 64, 65, 200, 30):
        np.testing.assert_array_equal(
            cache.update(owner, encoding, rows[:n]), encoding.to_unit(rows[:n])
        )
    changed = rows[:30] + 1.0
    np.testing.assert_array_equal(
        cache.update(object(), encoding, changed), encoding.to_unit(changed)
    )


def test_logsumexp_matches_scipy_and_survives_extremes() -> None:
    rng = np.random.default_rng(2)
    values = rng.normal(scale=300.0, size=(5, 40))
    np.testing.assert_allclose(
        logsumexp(values.copy(), axis=1), special.logsumexp(values, axis=1), rtol=1e-12
    )
    assert logsumexp(np.full((1, 3), -np.inf), axis=1)[0] == -np.inf


def test_logsumexp_rows_is_within_1e_7_of_scipy_and_survives_extremes() -> None:
    rng = np.random.default_rng(3)
    work = Scratch()
    # Rows as Density.log_pdf makes them: a few tall terms among many far lower ones,
    # a row of one term, magnitudes up to the thousands, and rows of equal terms.
    values = np.concatenate(
        [
            rng.normal(scale=300.0, size=(5, 3000)),
            rng.normal(loc=-2000.0, scale=5.0, size=(3, 3000)),
            np.full((2, 3000), 7.5),
        ]
    )
    expected = special.logsumexp(values, axis=1)
    got = logsumexp_rows(values.copy(), work, "test")
    np.testing.assert_allclose(got, expected, rtol=0.0, atol=1e-7)
    assert got[-1] == pytest.approx(7.5 + math.log(3000), abs=1e-7)
    single = logsumexp_rows(np.array([[-12.25]]), work, "one")
    assert single[0] == -12.25
    edge = logsumexp_rows(np.array([[-np.inf, -np.inf], [-np.inf, 3.0]]), work, "inf")
    assert edge[0] == -np.inf
    assert edge[1] == 3.0


def _mixture(seed: int, n: int, dn: int, n_choices: tuple[int, ...] = ()) -> Mixture:
    rng = np.random.default_rng(seed)
    numeric = rng.random((n, dn))
    categorical = np.zeros((n, len(n_choices)))
    for j, count in enumerate(n_choices):
        categorical[:, j] = rng.integers(count, size=n)
    return fit_mixture(
        numeric,
        categorical,
        n_choices,
        rng.random(n) + 0.1,
        prior_weight=1.0,
        min_bandwidth=0.03,
        magic_exponent=2.0,
    )


def test_one_dimensional_density_integrates_to_one() -> None:
    mixture = _mixture(3, 12, 1)

    def density(x: float) -> float:
        point = np.array([[x]])
        return float(np.exp(mixture.log_pdf(point, np.empty((1, 0))))[0])

    total, _ = integrate.quad(density, 0.0, 1.0, limit=200, points=mixture.mu[:, 0].tolist())
    assert total == pytest.approx(1.0, abs=1e-3)


def test_categorical_probabilities_sum_to_one() -> None:
    mixture = _mixture(4, 9, 0, (3,))
    probabilities = [
        float(np.exp(mixture.log_pdf(np.empty((1, 0)), np.array([[c]])))[0]) for c in range(3)
    ]
    assert sum(probabilities) == pytest.approx(1.0)
    assert all(p > 0 for p in probabilities)  # the pseudo-count keeps every choice possible


def test_joint_density_factorises_for_a_single_kernel() -> None:
    # No observations: the prior alone, a product of independent columns.
    mixture = fit_mixture(
        np.empty((0, 2)),
        np.empty((0, 1)),
        (4,),
        np.empty(0),
        prior_weight=1.0,
        min_bandwidth=0.03,
        magic_exponent=2.0,
    )
    rng = np.random.default_rng(5)
    numeric, categorical = rng.random((6, 2)), rng.integers(4, size=(6, 1)).astype(float)
    joint = mixture.log_pdf(numeric, categorical)
    columns = mixture.log_pdf_columns(numeric, categorical).sum(axis=1)
    np.testing.assert_allclose(joint, columns)


@pytest.mark.parametrize(("kernels", "points"), [(30, 8), (3000, 200)])
def test_joint_matches_direct_evaluation(kernels: int, points: int) -> None:
    # 3000 kernels x 200 points splits the product into blocks (see _PRODUCT_LIMIT).
    mixture = _mixture(6, kernels, 3, (2, 5))
    rng = np.random.default_rng(7)
    numeric = rng.random((points, 3))
    categorical = np.column_stack(
        [rng.integers(2, size=points), rng.integers(5, size=points)]
    ).astype(float)
    mass = special.ndtr((1 - mixture.mu) / mixture.sigma) - special.ndtr(
        -mixture.mu / mixture.sigma
    )
    z = (numeric[:, None, :] - mixture.mu[None]) / mixture.sigma[None]
    log_kernel = np.sum(
        -0.5 * z**2 - np.log(mixture.sigma * np.sqrt(2 * np.pi) * mass)[None], axis=2
    )
    for j, column in enumerate(mixture.categorical):
        log_kernel += np.log(column.table()[:, categorical[:, j].astype(int)]).T
    expected = special.logsumexp(log_kernel + mixture.log_weights[None], axis=1)
    np.testing.assert_allclose(mixture.log_pdf(numeric, categorical), expected, atol=1e-3)


@pytest.mark.parametrize("joint", [True, False])
def test_samples_stay_inside_the_unit_box(joint: bool) -> None:
    mixture = _mixture(8, 20, 4, (3,))
    # Kernels hugging the ends are the hard case for truncated sampling.
    mixture.mu[:5] = 0.0
    mixture.mu[5:10] = 1.0
    numeric, categorical = mixture.sample(np.random.default_rng(9), 5000, joint=joint)
    assert numeric.min() >= 0.0
    assert numeric.max() <= 1.0
    assert set(np.unique(categorical).tolist()) <= {0.0, 1.0, 2.0}


def test_samples_follow_the_density() -> None:
    mixture = _mixture(10, 5, 1)
    numeric, _ = mixture.sample(np.random.default_rng(11), 40000, joint=True)
    histogram, edges = np.histogram(numeric[:, 0], bins=20, range=(0.0, 1.0), density=True)
    centres = (edges[:-1] + edges[1:]) / 2
    density = np.exp(mixture.log_pdf(centres[:, None], np.empty((20, 0))))
    np.testing.assert_allclose(histogram, density, rtol=0.15, atol=0.05)


def test_importing_asynchyper_leaves_scipy_special_unloaded() -> None:
    # scipy.special costs ~100 ms of import time; the suggesters load it on first use.
    code = "import sys, asynchyper; print('scipy.special' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"


def test_extreme_but_accepted_settings_do_not_warn_in_the_density_ratio() -> None:
    # A tiny bandwidth floor makes logits of -1e40 and more, beyond float32: the
    # difference is floored to -80 anyway, and must not raise "overflow encountered"
    # where warnings are errors (as in this suite).
    values = np.array([[0.0, -1e40, -np.inf], [-1e300, -1e40, 5.0]])
    got = logsumexp_rows(values.copy(), Scratch(), "far")
    np.testing.assert_allclose(got, [0.0, 5.0], atol=1e-6)


def _check_draws(table: FloatArray, kernels: IntArray, u: FloatArray, drawn: FloatArray) -> None:
    """``drawn`` is the inverse of each kernel's cumulative distribution in choice order
    at ``u`` (summed out explicitly here), but where ``u`` lies within rounding of a
    boundary between two choices."""
    rows = np.cumsum(table[kernels], axis=1)
    target = u[:, None] * rows[:, -1:]
    expected = np.minimum(np.sum(rows <= target, axis=1), table.shape[1] - 1)
    differ = np.flatnonzero(drawn != expected)
    assert differ.size <= 2, differ
    for i in differ:
        assert np.min(np.abs(rows[i] - target[i])) < 1e-13, (i, drawn[i], expected[i])


@pytest.mark.parametrize(("n_choices", "n"), [(2, 0), (2, 7), (5, 1), (5, 40), (300, 25)])
def test_choice_kernels_spike_on_their_own_choice(n_choices: int, n: int) -> None:
    rng = np.random.default_rng(n_choices * 100 + n)
    observed = rng.integers(n_choices, size=n).astype(float)
    observed[: min(n, 2)] = [0, n_choices - 1][: min(n, 2)]  # both ends
    kernels = ChoiceKernels.fit(observed, n_choices)
    table = kernels.table()
    # Every observation: a pseudo-count of 1 / (n + 1) on each choice, one more on its own.
    expected = np.full((n + 1, n_choices), 1.0 / (n + 1))
    expected[np.arange(n), observed.astype(int)] += 1.0
    expected[-1] = 1.0  # the prior: uniform
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(table, expected, rtol=1e-12)
    np.testing.assert_allclose(table.sum(axis=1), 1.0, rtol=1e-12)

    candidates = rng.integers(n_choices, size=30).astype(float)
    np.testing.assert_array_equal(
        kernels.log_prob(candidates), np.log(table[:, candidates.astype(int)]).T
    )
    picked = rng.integers(n + 1, size=5000)
    u = rng.random(5000)
    u[:3] = [0.0, 1.0 - 1e-16, 0.5]
    _check_draws(table, picked, u, kernels.sample(picked, u))


def test_choice_kernels_spread_over_rows_leaves_the_others_uniform() -> None:
    kernels = ChoiceKernels.fit(np.array([2.0, 0.0]), 4)
    spread = kernels.spread(np.array([1, 4, 5]), 6)
    table = spread.table()
    np.testing.assert_array_equal(table[[1, 4, 5]], kernels.table())
    np.testing.assert_array_equal(table[[0, 2, 3]], np.full((3, 4), 0.25))


@attrs.frozen(kw_only=True)
class _ManyChoices:
    c: Annotated[int, ah.Categorical(list(range(20_000)))]


def test_an_ask_with_a_large_categorical_needs_no_table_of_every_choice() -> None:
    # A dense (trials x choices) table per density took 316 MB at the peak of an ask
    # with 20,000 choices and 1,000 trials (and 72 ms).
    import tracemalloc  # noqa: PLC0415 - this test only

    space = ah.compile_space(_ManyChoices)
    rng = np.random.default_rng(0)
    history = ah.History(space)
    for params in ah.Random().suggest(space, history, [], rng, k=1000):
        history.add(params, float(rng.random()))
    tpe = ah.TPE()
    tpe.suggest(space, history, [], rng)
    tracemalloc.start()
    try:
        (suggested,) = tpe.suggest(space, history, [], rng)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert suggested["c"] in range(20_000)
    assert peak < 10_000_000, peak
