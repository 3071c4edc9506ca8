"""TPE against the suggester contract, plus behaviour only a model-based search shows."""

from __future__ import annotations

import itertools
import math
import pickle
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

import asynchyper as ah
from asynchyper._suggest import _tpe
from asynchyper._suggest._encoding import Encoding, pending_matrix
from asynchyper._suggest._parzen import Mixture
from asynchyper._types import JSONScalar

from . import spaces
from .contract import SuggesterContract, num, run


class TestTPE(SuggesterContract):
    def make_suggester(self) -> ah.Suggester:
        return ah.TPE()


class TestTPEUnivariate(SuggesterContract):
    def make_suggester(self) -> ah.Suggester:
        return ah.TPE(multivariate=False, weighting="uniform", endpoints=True)


class TestTPEWorstLiarNoStartup(SuggesterContract):
    def make_suggester(self) -> ah.Suggester:
        return ah.TPE(n_startup=0, liar="worst")


class TestTPEScottBandwidth(SuggesterContract):
    def make_suggester(self) -> ah.Suggester:
        return ah.TPE(bandwidth="scott", liar="best")


class TestTPEMeanLiar(SuggesterContract):
    def make_suggester(self) -> ah.Suggester:
        return ah.TPE(n_startup=3, liar="mean", gamma=0.5)


# -- options ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "names"),
    [
        ({"gamma": 0.0}, ["gamma=0.0", "(0, 1]"]),
        ({"gamma": 1.5}, ["gamma=1.5", "(0, 1]"]),
        ({"n_candidates": 0}, ["n_candidates=0", ">= 1"]),
        ({"n_startup": -1}, ["n_startup=-1", ">= 0"]),
        ({"gamma_cap": 0}, ["gamma_cap=0", ">= 1"]),
        ({"liar": "sometimes"}, ["liar='sometimes'", "'worst'"]),
        ({"weighting": "linear"}, ["weighting='linear'", "'ei'"]),
        ({"prior_weight": 0}, ["prior_weight=0", "> 0"]),
        ({"min_bandwidth": 2.0}, ["min_bandwidth=2.0", "(0, 1]"]),
        ({"magic_exponent": -1.0}, ["magic_exponent=-1.0", "> 0"]),
        ({"bandwidth": "silverman"}, ["bandwidth='silverman'", "'scott'"]),
        ({"n_candidates": 2.5}, ["n_candidates=2.5", "integer"]),
        ({"explore": -1.0}, ["explore=-1.0", ">= 0"]),
        ({"explore": "lots"}, ["explore='lots'", ">= 0"]),
        ({"bad_gap": "widest"}, ["bad_gap='widest'", "'nearer'"]),
        ({"prior_weight": math.inf}, ["prior_weight=inf", "finite"]),
        ({"explore": math.inf}, ["explore=inf", "finite"]),
        ({"magic_exponent": math.nan}, ["magic_exponent=nan", "finite"]),
        ({"gamma": True}, ["gamma=True", "(0, 1]"]),
        ({"n_startup": True}, ["n_startup=True", "integer"]),
        ({"multivariate": "no"}, ["multivariate='no'", "True or False"]),
        ({"endpoints": 1}, ["endpoints=1", "True, False or 'grid'"]),
        ({"endpoints": "ends"}, ["endpoints='ends'", "True, False or 'grid'"]),
    ],
)
def test_invalid_options_name_option_value_and_range(
    options: dict[str, Any], names: list[str]
) -> None:
    with pytest.raises(ah.SuggesterError) as caught:
        ah.TPE(**options)
    for text in names:
        assert text in str(caught.value)


def test_numpy_numbers_are_accepted_as_options() -> None:
    # numbers computed with numpy are fine: the options are converted to Python's own
    options: dict[str, Any] = {
        "n_startup": np.int64(5),
        "n_candidates": np.int32(8),
        "gamma_cap": np.uint8(4),
        "gamma": np.float32(0.25),
        "prior_weight": np.int64(2),
        "multivariate": np.bool_(False),
    }
    tpe = ah.TPE(**options)
    assert (type(tpe.n_startup), tpe.n_startup) == (int, 5)
    assert (type(tpe.n_candidates), tpe.n_candidates) == (int, 8)
    assert (type(tpe.gamma_cap), tpe.gamma_cap) == (int, 4)
    assert (type(tpe.gamma), tpe.gamma) == (float, 0.25)
    assert (type(tpe.prior_weight), tpe.prior_weight) == (float, 2.0)
    assert tpe.multivariate is False
    space = ah.compile_space(spaces.Floats)
    history = run(tpe, space, 12)
    assert len(history) == 12


def test_pickles_without_its_caches() -> None:
    space = ah.compile_space(spaces.Floats)
    history = run(ah.TPE(), space, 20)
    tpe = ah.TPE(gamma=0.2)
    first = tpe.suggest(space, history, [], np.random.default_rng(0))
    copy = pickle.loads(pickle.dumps(tpe))
    assert copy.gamma == 0.2
    assert copy.suggest(space, history, [], np.random.default_rng(0)) == first


@pytest.mark.parametrize("space_class", [spaces.Floats, spaces.Conditional])
@pytest.mark.parametrize("options", [{}, {"multivariate": False}, {"liar": "worst"}])
def test_caches_across_asks_change_no_suggestion(
    space_class: type, options: dict[str, Any]
) -> None:
    # A TPE keeps unit coordinates, sorted columns and kernel terms between asks; a
    # fresh TPE recomputes everything. Past 64 kernels per density the caches are in
    # play; pending trials and failures move bandwidths in and out of the cache.
    space: ah.Space[Any] = ah.compile_space(space_class)
    kept = ah.TPE(n_startup=5, gamma=0.5, **options)
    history = run(ah.TPE(), space, 150, seed=3)
    grown = ah.History(space)
    rng = np.random.default_rng(7)
    for number, (params, loss) in enumerate(zip(history.params, history.y, strict=True)):
        grown.add(params, math.nan if number % 11 == 0 else float(loss))
        if number < 100 or number % 5:
            continue
        pending = list(history.params[number + 1 : number + 1 + number % 3])
        state = rng.bit_generator.state
        warm = kept.suggest(space, grown, pending, rng, k=2)
        rng.bit_generator.state = state
        cold = ah.TPE(n_startup=5, gamma=0.5, **options).suggest(space, grown, pending, rng, k=2)
        assert warm == cold, number


@pytest.mark.parametrize("liar", ["bad", "mean"])
def test_kept_densities_equal_densities_fitted_from_scratch(
    monkeypatch: pytest.MonkeyPatch, liar: str
) -> None:
    # Past 64 kernels a density is kept between asks, in row space (every finished
    # trial a kernel, those outside it weighted zero); fitted afresh and kernel by
    # kernel it must give the same log-density. Mixed groups (a float and a choice),
    # failures and pending trials included. Bandwidths may differ in the last bit,
    # which can move a normaliser's table entry: hence the tolerance.
    space: ah.Space[Any] = ah.compile_space(spaces.Conditional)
    source = run(ah.TPE(), space, 160, seed=5)
    encoding = Encoding(space.dimensions)
    pending = [dict(p) for p in source.params[150:153]]
    running = pending_matrix(space, encoding, pending)
    kept, grown = ah.TPE(gamma=0.3, liar=liar), ah.History(space)  # type: ignore[arg-type]
    for number, (params, loss) in enumerate(zip(source.params[:150], source.y[:150], strict=True)):
        grown.add(params, math.nan if number % 13 == 0 else float(loss))
        if number >= 120:  # asks while the history grows: the kept fits are updated
            kept._fit(encoding, grown, running if number % 4 == 0 else running[:0])
    raw = space.sample_vectors(np.random.default_rng(1), 200)
    unit, active = encoding.to_unit(raw), encoding.group_activity(raw)

    def log_densities(tpe: ah.TPE) -> list[np.ndarray]:
        out = []
        for group, good, bad in tpe._fit(encoding, grown, running).groups:
            rows = active[:, group.index]
            numeric, categorical = unit[rows][:, group.numeric], unit[rows][:, group.categorical]
            out += [good.log_pdf(numeric, categorical), bad.log_pdf(numeric, categorical)]
        return out

    warm = log_densities(kept)
    # The kept fits were in play: the root group's bad density is scored over every
    # row (and the pending ones, and the prior), a branch's over its own kernels.
    bad_kernels = [bad.n_kernels for _, _, bad in kept._fit(encoding, grown, running).groups]
    assert bad_kernels[0] > len(grown)
    assert any(64 < kernels < len(grown) / 2 for kernels in bad_kernels[1:])
    monkeypatch.setattr(_tpe, "_SMALL", 10**9)  # every density fitted afresh
    cold = log_densities(ah.TPE(gamma=0.3, liar=liar))  # type: ignore[arg-type]
    assert len(warm) == len(cold) == 8  # good and bad of four groups
    for got, expected in zip(warm, cold, strict=True):
        assert got.size
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-3)


def test_repr_shows_options() -> None:
    text = repr(ah.TPE(gamma=0.3, liar=None, explore=0.5, bad_gap="wider"))
    assert "gamma=0.3" in text
    assert "liar=None" in text
    assert "explore=0.5" in text
    assert "bad_gap='wider'" in text


# -- startup, exploration and bandwidths ------------------------------------------
@pytest.mark.parametrize(("finished", "pending", "fits"), [(5, 4, False), (5, 5, True)])
def test_pending_trials_count_towards_the_startup(
    finished: int, pending: int, fits: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    space = ah.compile_space(spaces.Line)
    history = run(ah.Random(), space, finished, objective=_quadratic)
    running = [{"x": float(x)} for x in np.linspace(-9.0, 9.0, pending)]
    tpe = ah.TPE(n_startup=10)
    calls: list[int] = []
    fit = tpe._fit

    def recording_fit(*args: Any) -> Any:
        calls.append(1)
        return fit(*args)

    monkeypatch.setattr(tpe, "_fit", recording_fit)
    tpe.suggest(space, history, running, np.random.default_rng(0))
    assert bool(calls) is fits


def test_no_model_before_a_first_finished_trial(monkeypatch: pytest.MonkeyPatch) -> None:
    space = ah.compile_space(spaces.Line)
    tpe = ah.TPE(n_startup=2)
    monkeypatch.setattr(tpe, "_fit", lambda *args: pytest.fail("fit without data"))
    running = [{"x": float(x)} for x in range(5)]
    (params,) = tpe.suggest(space, ah.History(space), running, np.random.default_rng(0))
    space.validate(params)


def test_explore_weighs_the_prior_in_the_score_but_not_in_the_draw() -> None:
    space = ah.compile_space(spaces.Line)
    history = run(ah.Random(), space, 40, objective=_quadratic)
    encoding = Encoding(space.dimensions)
    none = np.empty((0, 1))
    ((_, plain, plain_bad),) = ah.TPE(explore=0.0)._fit(encoding, history, none).groups
    ((_, explored, explored_bad),) = ah.TPE(explore=3.0)._fit(encoding, history, none).groups
    # The good density's prior gains weight; the draw and the bad density do not.
    assert explored.log_weights[-1] > plain.log_weights[-1] + 0.5
    assert explored.cumulative.tolist() == pytest.approx(plain.cumulative.tolist())
    assert explored_bad.log_weights.tolist() == pytest.approx(plain_bad.log_weights.tolist())


def test_bad_kernels_take_the_nearer_gap() -> None:
    space = ah.compile_space(spaces.Line)
    history = ah.History(space)
    # Unit positions 0.1, 0.2, 0.6 (+ two far better ones so that all three are bad).
    for x, loss in [(-8.0, 5.0), (-6.0, 5.0), (2.0, 5.0), (9.6, 0.0), (9.8, 0.1)]:
        history.add({"x": x}, loss)
    encoding = Encoding(space.dimensions)
    none = np.empty((0, 1))
    options: dict[str, Any] = {"gamma": 0.4, "min_bandwidth": 1e-6, "magic_exponent": 50.0}
    ((_, _, nearer),) = ah.TPE(**options)._fit(encoding, history, none).groups
    ((_, _, wider),) = ah.TPE(bad_gap="wider", **options)._fit(encoding, history, none).groups
    assert isinstance(nearer, Mixture)  # few kernels: fitted afresh, as a mixture
    assert isinstance(wider, Mixture)
    assert nearer.sigma[:-1, 0].tolist() == pytest.approx([0.1, 0.1, 0.4])
    assert wider.sigma[:-1, 0].tolist() == pytest.approx([0.1, 0.4, 0.4])


@pytest.mark.parametrize(
    ("endpoints", "multivariate"), [("grid", True), (False, True), (True, True), ("grid", False)]
)
def test_good_kernels_on_a_grid_see_the_range_ends(endpoints: Any, multivariate: bool) -> None:
    space = ah.compile_space(spaces.IntAndFloat)
    history = ah.History(space)
    # Three good trials share n = 4 (no gap between them) and spread x over 1, 5, 6.
    for n, x, loss in [(4, 1.0, 0.0), (4, 5.0, 0.1), (4, 6.0, 0.2)]:
        history.add({"n": n, "x": x}, loss)
    for n, x in [(1, 3.0), (9, 9.0), (7, 0.5)]:
        history.add({"n": n, "x": x}, 5.0)
    encoding = Encoding(space.dimensions)
    options: dict[str, Any] = {"gamma": 0.5, "min_bandwidth": 1e-6, "magic_exponent": 50.0}
    tpe = ah.TPE(endpoints=endpoints, multivariate=multivariate, **options)
    ((_, good, bad),) = tpe._fit(encoding, history, np.empty((0, 2))).groups
    assert isinstance(good, Mixture)
    assert isinstance(bad, Mixture)
    n_sigma, x_sigma = good.sigma[:-1, 0], good.sigma[:-1, 1]
    # n = 4 is 4.5 / 11 of the widened range [-0.5, 10.5]: the outermost of the tied
    # kernels reach the ends (with "grid" only in the joint model, which cannot redraw
    # one column alone), the middle one takes the floor.
    reach = endpoints is True or (endpoints == "grid" and multivariate)
    ends = [1e-6, 4.5 / 11, 6.5 / 11] if reach else [1e-6] * 3
    assert sorted(n_sigma.tolist()) == pytest.approx(ends)
    # x (unit 0.1, 0.5, 0.6) looks inwards unless endpoints=True: 0.6 then sees 1.
    last = 0.4 if endpoints is True else 0.1
    assert x_sigma.tolist() == pytest.approx([0.4, 0.4, last])
    # The bad density's kernels (n = 1, 9, 7: units 1.5, 9.5, 7.5 / 11, nearer gaps)
    # see the ends only with endpoints=True.
    bad_n = [1.5 / 11, 1.5 / 11, 2 / 11] if endpoints is True else [6 / 11, 2 / 11, 2 / 11]
    assert bad.sigma[:-1, 0].tolist() == pytest.approx(bad_n)


def test_finds_a_narrow_optimum_beside_a_broad_plateau() -> None:
    # hyperopt's "distractor" domain: the plateau towards x = 15 hides a deeper spike
    # at x = -10 that only exploration finds.
    space = ah.compile_space(spaces.Wide)

    def distractor(params: Mapping[str, JSONScalar]) -> float:
        x = num(params, "x")
        return -1 / (1 + math.exp(-x)) - 2 * math.exp(-((x + 10) ** 2))

    found = [
        float(np.nanmin(run(ah.TPE(), space, 100, seed=seed, objective=distractor).y)) < -1.9
        for seed in range(12)
    ]
    # Without explore and nearer bad gaps, 7 of these 12 seeds find it.
    assert sum(found) >= 11


# -- it actually optimises --------------------------------------------------------
def _quadratic(params: Mapping[str, JSONScalar]) -> float:
    return (num(params, "x") - 3.0) ** 2


def test_beats_random_on_a_quadratic() -> None:
    space = ah.compile_space(spaces.Line)
    tpe_best, random_best = [], []
    for seed in range(5):
        tpe = run(ah.TPE(), space, 60, seed=seed, objective=_quadratic)
        rnd = run(ah.Random(), space, 60, seed=seed, objective=_quadratic)
        tpe_best.append(float(np.nanmin(tpe.y)))
        random_best.append(float(np.nanmin(rnd.y)))
    # Random's best of 60 on [-10, 10] is ~1e-2; TPE should be far closer.
    assert np.median(tpe_best) < np.median(random_best) / 10


def test_univariate_also_optimises() -> None:
    space = ah.compile_space(spaces.Plane)

    def bowl(params: Mapping[str, JSONScalar]) -> float:
        return (num(params, "x") - 0.7) ** 2 + (num(params, "y") - 0.2) ** 2

    best = [
        float(np.nanmin(run(ah.TPE(multivariate=False), space, 60, seed=s, objective=bowl).y))
        for s in range(3)
    ]
    assert np.median(best) < 2e-3


def test_prefers_the_better_branch() -> None:
    space = ah.compile_space(spaces.TwoBranches)

    def loss(params: Mapping[str, JSONScalar]) -> float:
        if params["side"] == "Left":
            return abs(num(params, "side:Left.x") - 0.3)
        return 1.0 + abs(num(params, "side:Right.x") - 0.3)

    history = run(ah.TPE(), space, 60, objective=loss)
    late = [p["side"] for p in history.params[30:]]
    assert late.count("Left") >= 24


def test_failed_region_is_avoided() -> None:
    space = ah.compile_space(spaces.Line)

    def fails_right(params: Mapping[str, JSONScalar]) -> float:
        x = num(params, "x")
        return math.nan if x > 0 else abs(x + 5.0)

    history = run(ah.TPE(), space, 60, objective=fails_right)
    late = np.array([num(p, "x") for p in history.params[30:]])
    assert np.mean(late > 0) < 0.25


# -- constant liar ----------------------------------------------------------------
def _mean_pairwise_distance(points: np.ndarray) -> float:
    pairs = list(itertools.combinations(range(len(points)), 2))
    return float(np.mean([np.linalg.norm(points[i] - points[j]) for i, j in pairs]))


@pytest.mark.parametrize("liar", ["bad", "worst"])
def test_liar_spreads_a_batch(liar: str) -> None:
    space = ah.compile_space(spaces.Plane)

    def bowl(params: Mapping[str, JSONScalar]) -> float:
        return (num(params, "x") - 0.5) ** 2 + (num(params, "y") - 0.5) ** 2

    spread: dict[str | None, list[float]] = {liar: [], None: []}
    for seed in range(4):
        history = run(ah.Random(), space, 40, seed=seed, objective=bowl)
        for lie, distances in spread.items():
            batch = ah.TPE(liar=lie).suggest(  # type: ignore[arg-type]
                space, history, [], np.random.default_rng(seed), k=8
            )
            points = np.array([[num(p, "x"), num(p, "y")] for p in batch])
            distances.append(_mean_pairwise_distance(points))
    assert np.mean(spread[liar]) > 1.3 * np.mean(spread[None])


def test_pending_trials_count_as_bad() -> None:
    space = ah.compile_space(spaces.Line)
    history = run(ah.Random(), space, 30, objective=_quadratic)
    tpe = ah.TPE()
    encoding = Encoding(space.dimensions)
    running = space.to_matrix([{"x": 3.0}] * 5)
    without = tpe._fit(encoding, history, np.empty((0, 1)))
    with_pending = tpe._fit(encoding, history, running)
    (_, good_a, bad_a), (_, good_b, bad_b) = without.groups[0], with_pending.groups[0]
    assert good_a.n_kernels == good_b.n_kernels  # pending never count toward gamma
    assert bad_b.n_kernels == bad_a.n_kernels + 5


def test_best_liar_joins_the_good_group() -> None:
    space = ah.compile_space(spaces.Line)
    history = run(ah.Random(), space, 30, objective=_quadratic)
    encoding = Encoding(space.dimensions)
    running = space.to_matrix([{"x": 9.0}] * 3)
    model = ah.TPE(liar="best", gamma=0.5)._fit(encoding, history, running)
    _, good, _ = model.groups[0]
    x_unit = (9.0 + 10.0) / 20.0
    assert np.sum(np.isclose(good.mu[:-1, 0], x_unit)) == 3


# -- conditional structure --------------------------------------------------------
def test_branch_parameters_fit_only_on_their_branch() -> None:
    space = ah.compile_space(spaces.TwoBranches)
    rng = np.random.default_rng(0)
    history = ah.History(space)
    for i in range(40):
        side = "Left" if i % 4 else "Right"
        x = float(rng.random())
        history.add({"side": side, f"side:{side}.x": x}, x if side == "Left" else 10 + x)
    tpe = ah.TPE(gamma=1.0, gamma_cap=100)
    encoding = Encoding(space.dimensions)
    model = tpe._fit(encoding, history, np.empty((0, space_dims(space))))
    by_column = {int(group.columns[0]): (good, bad) for group, good, bad in model.groups}
    left, right = space.index("side:Left.x"), space.index("side:Right.x")
    left_good, _ = by_column[left]
    right_good, _ = by_column[right]
    left_rows = [num(p, "side:Left.x") for p in history.params if p["side"] == "Left"]
    right_rows = [num(p, "side:Right.x") for p in history.params if p["side"] == "Right"]
    # One kernel per trial of the branch, plus the prior; centres are those trials.
    assert left_good.n_kernels == len(left_rows) + 1
    assert right_good.n_kernels == len(right_rows) + 1
    assert sorted(right_good.mu[:-1, 0].tolist()) == pytest.approx(sorted(right_rows))


def space_dims(space: ah.Space[Any]) -> int:
    return len(space.dimensions)


def test_rare_branch_falls_back_to_prior() -> None:
    space = ah.compile_space(spaces.Deep)
    history = ah.History(space)
    rng = np.random.default_rng(0)
    # Only OtherTop ever ran: every Top group has no trials at all.
    for _ in range(30):
        history.add({"outer": "OtherTop", "outer:OtherTop.k": 2, "scale": 1.0}, rng.random())
    out = ah.TPE().suggest(space, history, [], rng, k=20)
    for p in out:
        space.validate(p)


def test_exhausts_a_discrete_space_without_repeats() -> None:
    space = ah.compile_space(spaces.Categoricals)  # 3 * 2 * 4 * 3 = 72 configurations
    history = run(ah.TPE(n_startup=5), space, 72)
    assert len({tuple(sorted(p.items())) for p in history.params}) == 72


@pytest.mark.parametrize("liar", ["bad", "mean"])
@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_losses_near_the_float_limit_give_the_model_of_their_ranking(liar: Any) -> None:
    # The good weights (split - loss) overflowed to inf and the model became NaN; the
    # mean lie overflowed to inf. Only the ranking of the losses matters here.
    space = ah.compile_space(spaces.Conditional)
    rng = np.random.default_rng(0)
    rows = [space.sample(rng) for _ in range(40)]
    signs = [-1.0] * 4 + [1.0] * 36

    def suggestions(scale: float) -> list[dict[str, JSONScalar]]:
        history = ah.History(space)
        for params, sign in zip(rows, signs, strict=True):
            history.add(params, sign * scale)
        return ah.TPE(n_startup=0, liar=liar).suggest(
            space, history, [rows[0]], np.random.default_rng(1), k=3
        )

    assert suggestions(1.7e308) == suggestions(1.0)


@pytest.mark.parametrize(("liar", "in_good"), [("worst", 0), ("best", 3)])
def test_worst_and_best_lies_take_the_extreme_losses(liar: Any, in_good: int) -> None:
    # The worst lie is the largest finished loss (a min there made them the best).
    space = ah.compile_space(spaces.Line)
    history = run(ah.Random(), space, 30, objective=_quadratic)
    encoding = Encoding(space.dimensions)
    running = space.to_matrix([{"x": 9.0}] * 3)
    _, good, _ = ah.TPE(liar=liar, gamma=0.5)._fit(encoding, history, running).groups[0]
    x_unit = (9.0 + 10.0) / 20.0
    assert np.sum(np.isclose(good.mu[:-1, 0], x_unit)) == in_good


@pytest.mark.parametrize(("finished", "good_trials"), [(1, 1), (5, 1), (10, 1), (11, 2), (30, 3)])
def test_the_good_group_rounds_up(finished: int, good_trials: int) -> None:
    # ceil(gamma * n): with fewer than ten trials the best one is still good (a floor
    # left the good density with its prior kernel alone).
    space = ah.compile_space(spaces.Line)
    history = run(ah.Random(), space, finished, objective=_quadratic)
    encoding = Encoding(space.dimensions)
    _, good, _ = ah.TPE()._fit(encoding, history, np.empty((0, 1))).groups[0]
    assert good.n_kernels == good_trials + 1  # and the prior


@pytest.mark.parametrize("scale", [1e-300, 1e-13, 1.5e308])
@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_ei_weights_do_not_depend_on_the_scale_of_the_losses(scale: float) -> None:
    # Improvements were floored at 1e-12 (absolute): under it, every good trial weighed
    # the same. Near the float limit they summed past it: the good density became NaN.
    space = ah.compile_space(spaces.Conditional)
    rng = np.random.default_rng(0)
    rows = [space.sample(rng) for _ in range(60)]
    losses = rng.random(60)

    def suggestions(factor: float) -> list[dict[str, JSONScalar]]:
        history = ah.History(space)
        for params, loss in zip(rows, losses, strict=True):
            history.add(params, float(loss * factor))
        return ah.TPE(n_startup=0).suggest(space, history, [], np.random.default_rng(1), k=4)

    assert suggestions(scale) == suggestions(1.0)


# -- partial configurations -------------------------------------------------------
def _svm_near_ten(params: Mapping[str, JSONScalar]) -> float:
    """The SVM with C near 10 is best (a Forest at best 1 worse)."""
    lr = abs(math.log10(num(params, "lr")) + 2)
    if params["model"] == "SVM":
        return lr + abs(math.log10(num(params, "model:SVM.C")) - 1)
    return 1.0 + lr + abs(num(params, "model:Forest.depth") - 6) / 3


def test_given_parameters_condition_the_model() -> None:
    # The free parameters come from the model given the fixed ones: C is drawn near
    # its good value (median distance under half a decade), not from the prior
    # (log10 C uniform in [-3, 3]: 1.5).
    space = ah.compile_space(spaces.Conditional)
    history = run(ah.TPE(), space, 60, objective=_svm_near_ten)
    fixed = {"model": "SVM"}
    distances: dict[str, list[float]] = {"TPE": [], "Random": []}
    for seed in range(40):
        for suggester in (ah.TPE(), ah.Random()):
            out = suggester.suggest_given(space, history, [], np.random.default_rng(seed), fixed)
            name = type(suggester).__name__
            distances[name].append(abs(math.log10(num(out, "model:SVM.C")) - 1))
    assert float(np.median(distances["TPE"])) < 0.5, distances
    assert float(np.median(distances["Random"])) > 0.9, distances  # expected: 1.5
