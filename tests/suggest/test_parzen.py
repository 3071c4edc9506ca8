"""The Parzen estimator functions, on plain arrays (no space needed)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy import integrate, special

from asynchyper._suggest._encoding import Encoding, UnitRows
from asynchyper._suggest._parzen import (
    KernelCache,
    Mixture,
    Scratch,
    SortedColumns,
    bandwidth_floor,
    bandwidths,
    fit_mixture,
    kernel_terms,
    logsumexp,
    neighbour_gaps,
    select_sorted,
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


def test_bandwidths_unsort_to_row_order() -> None:
    mus = np.array([[0.6, 0.5], [0.1, 0.0], [0.2, 1.0]])
    sigma = bandwidths(mus, 0.0, endpoints=True)
    assert sigma[:, 0].tolist() == pytest.approx([0.4, 0.1, 0.4])
    assert sigma[:, 1].tolist() == pytest.approx([0.5, 0.5, 0.5])


def test_bandwidth_floor() -> None:
    assert bandwidth_floor(0, 0.03, 2.0) == pytest.approx(0.25)
    assert bandwidth_floor(1000, 0.03, 2.0) == pytest.approx(0.03)
    assert bandwidth_floor(8, 0.01, 1.0) == pytest.approx(0.1)


def test_sorted_columns_insertion_equals_a_stable_sort() -> None:
    rng = np.random.default_rng(0)
    data = np.round(rng.random((400, 4)), 1)  # many ties: their order must be stable
    data[rng.random((400, 4)) < 0.2] = np.nan
    cache = SortedColumns()
    owner = object()
    # 1 to 16 new rows are inserted; more (and a new owner) sort from scratch.
    for n in (10, 11, 13, 29, 30, 46, 100, 101, 300, 301):

        def rows(start: int, n: int = n) -> np.ndarray:
            return data[start:n]

        order = cache.update(owner, rows, n)
        expected = np.argsort(data[:n].T, axis=1, kind="stable")
        np.testing.assert_array_equal(order, expected)
        np.testing.assert_array_equal(
            cache.sorted_values, np.take_along_axis(data[:n].T, expected, axis=1)
        )
    # Another owner restarts from scratch.
    other = cache.update(object(), lambda start: data[start:5], 5)
    assert other.shape == (4, 5)


def test_kernel_cache_recomputes_exactly_the_changed_kernels() -> None:
    rng = np.random.default_rng(2)
    mu, sigma = rng.random((300, 3)), 0.01 + 0.1 * rng.random((300, 3))
    cache, owner, work = KernelCache(), object(), Scratch()

    def fresh(rows: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        out = np.empty((rows.size, 7))
        kernel_terms(mu[rows], sigma[rows], out, Scratch(), "fresh")
        return out

    for n, changed in ((50, 0), (120, 5), (120, 0), (300, 40)):
        sigma = sigma.copy()
        sigma[rng.choice(n, changed, replace=False), rng.integers(0, 3)] *= 1.5
        rows = np.flatnonzero(rng.random(n) < 0.8)
        got = np.empty((rows.size, 7))
        cache.gather(owner, rows, mu[rows], sigma[rows], got, work)
        np.testing.assert_allclose(got, fresh(rows, sigma), rtol=1e-12)
    # Another owner starts again: the same rows with other bandwidths are recomputed.
    rows = np.arange(10)
    other = sigma * 2.0
    got = np.empty((10, 7))
    cache.gather(object(), rows, mu[rows], other[rows], got, work)
    np.testing.assert_allclose(got, fresh(rows, other), rtol=1e-12)


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


def test_select_sorted_equals_sorting_the_subset() -> None:
    rng = np.random.default_rng(1)
    values = rng.random((200, 3))
    order = np.argsort(values.T, axis=1, kind="stable")
    selected = rng.random(200) < 0.3
    extra = rng.random((4, 3))
    for endpoints in (True, False):
        ordered = np.take_along_axis(values.T, order, axis=1)
        got = select_sorted(order, ordered, selected, extra, 0.01, endpoints=endpoints)
        subset = np.concatenate([values[selected], extra])
        np.testing.assert_allclose(got, bandwidths(subset, 0.01, endpoints=endpoints))


def test_logsumexp_matches_scipy_and_survives_extremes() -> None:
    rng = np.random.default_rng(2)
    values = rng.normal(scale=300.0, size=(5, 40))
    np.testing.assert_allclose(
        logsumexp(values.copy(), axis=1), special.logsumexp(values, axis=1), rtol=1e-12
    )
    assert logsumexp(np.full((1, 3), -np.inf), axis=1)[0] == -np.inf


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
    for j, table in enumerate(mixture.categorical):
        log_kernel += np.log(table[:, categorical[:, j].astype(int)]).T
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
