"""The contract every suggester must meet.

Subclass :class:`SuggesterContract` in a ``test_*.py`` module and implement
:meth:`SuggesterContract.make_suggester`; the subclass then runs the whole suite.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest

import asynchyper as ah
from asynchyper._types import JSONScalar

from . import spaces

Objective = Callable[[Mapping[str, JSONScalar]], float]


def _numeric_sum(params: Mapping[str, JSONScalar]) -> float:
    """A loss that depends on every numeric parameter, so models have signal."""
    total = 0.0
    for name, value in sorted(params.items()):
        if isinstance(value, bool):
            total += 0.5 * value
        elif isinstance(value, int | float):
            total += math.log1p(abs(float(value)))
        else:
            total += 0.1 * len(str(value)) + 0.3 * (hash(name) % 3)
    return total


def num(params: Mapping[str, JSONScalar], name: str) -> float:
    """The numeric parameter ``name`` (fails the test if it is not a number)."""
    value = params[name]
    assert isinstance(value, int | float), f"{name}={value!r} is not a number"
    return float(value)


def _noise(params: Mapping[str, JSONScalar]) -> float:
    """A loss without signal (but deterministic): nothing to exploit, so explore."""
    digest = hashlib.sha256(repr(sorted(params.items())).encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32


def run(
    suggester: ah.Suggester,
    space: ah.Space[Any],
    trials: int,
    *,
    seed: int = 0,
    objective: Objective = _numeric_sum,
    k: int = 1,
) -> ah.History:
    """Ask/tell ``trials`` trials sequentially (``k`` per ask), validating every one."""
    rng = np.random.default_rng(seed)
    history = ah.History(space)
    while len(history) < trials:
        for params in suggester.suggest(space, history, [], rng, k=k):
            assert space.validate(params) == params
            history.add(params, objective(params))
    return history


class SuggesterContract:
    """Behaviour every :class:`asynchyper.Suggester` must show."""

    #: Enough trials that model-based suggesters leave their random start-up.
    trials = 40

    def make_suggester(self) -> ah.Suggester:
        """Build the suggester under test (fresh for each call)."""
        raise NotImplementedError

    # -- one kind of dimension at a time ------------------------------------------
    def test_floats_stay_in_bounds(self) -> None:
        space = ah.compile_space(spaces.Floats)
        history = run(self.make_suggester(), space, self.trials)
        x = np.array([p["x"] for p in history.params], dtype=float)
        y = np.array([p["y"] for p in history.params], dtype=float)
        assert np.all((x >= -5.0) & (x <= 5.0))
        assert np.all((y >= 0.0) & (y <= 1.0))
        assert len(np.unique(x)) == self.trials  # continuous: no repeats

    def test_ints_are_integers_on_their_step(self) -> None:
        space = ah.compile_space(spaces.Ints)
        history = run(self.make_suggester(), space, self.trials)
        for p in history.params:
            assert type(p["n"]) is int
            assert -3 <= p["n"] <= 7
            assert type(p["m"]) is int
            assert 0 <= p["m"] <= 100
            assert p["m"] % 5 == 0

    def test_log_dimensions_cover_orders_of_magnitude(self) -> None:
        space = ah.compile_space(spaces.Logs)
        history = run(self.make_suggester(), space, self.trials)
        lr = np.array([p["lr"] for p in history.params], dtype=float)
        units = [p["units"] for p in history.params]
        assert np.all((lr >= 1e-6) & (lr <= 1e-1))
        assert all(type(u) is int and 1 <= u <= 1024 for u in units)
        # A log prior puts about half its mass below the geometric middle.
        assert np.mean(lr < math.sqrt(1e-6 * 1e-1)) > 0.1

    def test_gaussian_priors_stay_in_bounds_and_are_drawn_without_results(self) -> None:
        space = ah.compile_space(spaces.Gaussians)
        history = run(self.make_suggester(), space, self.trials)
        for p in history.params:
            assert -100.0 <= num(p, "x") <= 100.0
            assert 1e-9 <= num(p, "lr") <= 1.0
        # With no results yet, the Gaussian prior: 95 % within 2 standard deviations
        # (a uniform prior on these ranges would put 2 % and 9 % there).
        rng = np.random.default_rng(0)
        drawn = self.make_suggester().suggest(space, ah.History(space), [], rng, k=200)
        x = np.array([num(p, "x") for p in drawn])
        lr = np.log(np.array([num(p, "lr") for p in drawn]))
        assert np.mean(np.abs(x - 2.0) < 2.0) > 0.9
        assert np.mean(np.abs(lr + 7.0) < 3.0) > 0.9

    def test_quantized_floats_honour_their_step(self) -> None:
        space = ah.compile_space(spaces.Steps)
        history = run(self.make_suggester(), space, self.trials)
        for p in history.params:
            dropout, width = num(p, "dropout"), p["width"]
            assert 0.0 <= dropout <= 0.5
            assert abs(dropout / 0.05 - round(dropout / 0.05)) < 1e-9
            assert isinstance(width, int)
            assert 16 <= width <= 256
            assert width % 16 == 0

    def test_log_dimensions_with_a_step_stay_on_their_grid(self) -> None:
        space = ah.compile_space(spaces.LogSteps)
        history = run(self.make_suggester(), space, self.trials)
        assert all(type(p["batch"]) is int for p in history.params)
        batch = [int(num(p, "batch")) for p in history.params]
        lr = np.array([num(p, "lr") for p in history.params])
        assert all(8 <= b <= 1024 and b % 8 == 0 for b in batch)
        assert np.all((lr >= 1e-4) & (lr <= 1e-1))
        assert np.allclose(lr / 1e-4, np.round(lr / 1e-4), rtol=0, atol=1e-6)
        # log-spaced: the lowest tenth of each range still gets trials
        assert min(batch) < 110
        assert lr.min() < 1e-2

    def test_categoricals_use_stored_values(self) -> None:
        space = ah.compile_space(spaces.Categoricals)
        history = run(self.make_suggester(), space, self.trials)
        for p in history.params:
            assert p["color"] in {"RED", "GREEN", "BLUE"}
            assert p["flag"] in {True, False}
            assert p["name"] in {"a", "b", "c", "d"}
            assert p["size"] in {8, 16, 32}
        assert len({p["name"] for p in history.params}) > 1

    # -- conditional spaces -------------------------------------------------------
    def test_conditional_only_active_branch(self) -> None:
        space = ah.compile_space(spaces.Conditional)
        history = run(self.make_suggester(), space, self.trials)
        models = {p["model"] for p in history.params}
        assert models == {"SVM", "Forest"}
        for p in history.params:
            svm = {"model:SVM.C", "model:SVM.kernel"}
            forest = {"model:Forest.n_estimators", "model:Forest.depth"}
            expected = svm if p["model"] == "SVM" else forest
            other = forest if p["model"] == "SVM" else svm
            assert expected <= p.keys()
            assert not other & p.keys()
            assert ("preproc:PCA.n_components" in p) == (p["preproc"] == "PCA")

    def test_deep_nesting_reaches_every_level(self) -> None:
        space = ah.compile_space(spaces.Deep)
        history = run(self.make_suggester(), space, 80, objective=_noise)
        seen: set[str] = set()
        for p in history.params:
            seen.update(p)
        third_level = {
            "outer:Top.inner:Middle.inner:Leaf.z",
            "outer:Top.inner:Middle.inner:OtherLeaf.w",
        }
        assert third_level & seen
        assert {"outer:OtherTop.k", "outer:Top.inner:OtherMiddle.q"} <= seen

    # -- awkward histories --------------------------------------------------------
    def test_all_failed_history(self) -> None:
        space = ah.compile_space(spaces.Conditional)
        history = run(self.make_suggester(), space, 30, objective=lambda _: math.nan)
        assert np.all(np.isnan(history.y))
        out = self.make_suggester().suggest(space, history, [], np.random.default_rng(1), k=3)
        assert len(out) == 3
        for p in out:
            space.validate(p)

    def test_pending_only_history(self) -> None:
        space = ah.compile_space(spaces.Conditional)
        rng = np.random.default_rng(2)
        pending = [space.sample(rng) for _ in range(12)]
        out = self.make_suggester().suggest(space, ah.History(space), pending, rng, k=4)
        assert len(out) == 4
        for p in out:
            space.validate(p)

    def test_empty_history(self) -> None:
        space = ah.compile_space(spaces.Floats)
        out = self.make_suggester().suggest(space, ah.History(space), [], np.random.default_rng(0))
        assert len(out) == 1
        space.validate(out[0])

    def test_space_without_dimensions(self) -> None:
        space = ah.compile_space(spaces.NoDimensions)
        suggester = self.make_suggester()
        rng = np.random.default_rng(0)
        history = ah.History(space)
        for _ in range(3):
            out = suggester.suggest(space, history, [{}], rng, k=2)
            assert out == [{}, {}]
            history.add(out[0], 1.0)
        assert space.decode(out[0]) == spaces.NoDimensions()

    # -- partial configurations (suggest_given) ------------------------------------
    @pytest.mark.parametrize(
        "fixed",
        [
            {"model": "Forest"},
            {"model": "SVM", "model:SVM.C": 2.0, "preproc": "None"},
            {"lr": 1e-3, "preproc": "PCA", "preproc:PCA.n_components": 8},
            {"lr": 0.01, "model": "SVM", "model:SVM.C": 1.0, "model:SVM.kernel": "rbf"},
        ],
    )
    @pytest.mark.parametrize("trials", [0, 40])  # the random start, then the model
    def test_given_parameters_are_kept_and_the_rest_chosen(
        self, fixed: dict[str, JSONScalar], trials: int
    ) -> None:
        space = ah.compile_space(spaces.Conditional)
        suggester = self.make_suggester()
        history = run(suggester, space, trials)
        rng = np.random.default_rng(5)
        pending = [space.sample(rng) for _ in range(3)]
        seen: set[JSONScalar] = set()
        for _ in range(5):
            out = suggester.suggest_given(space, history, pending, rng, fixed)
            assert space.validate(out) == out  # whole: every active parameter is there
            assert {name: out[name] for name in fixed} == fixed
            seen.add(out["lr"])
        assert len(seen) == (1 if "lr" in fixed else 5)  # the free ones vary

    @pytest.mark.parametrize(
        "fixed",
        [
            {"outer": "Top"},
            {"outer": "Top", "outer:Top.inner": "Middle"},
            {"scale": 1.0},
        ],
    )
    def test_given_branches_complete_every_level_below(self, fixed: dict[str, JSONScalar]) -> None:
        # A drawn branch choice inside a given branch activates a further level.
        space = ah.compile_space(spaces.Deep)
        suggester = self.make_suggester()
        history = run(suggester, space, self.trials, objective=_noise)
        rng = np.random.default_rng(0)
        for _ in range(20):
            out = suggester.suggest_given(space, history, [], rng, fixed)
            assert space.validate(out) == out
            assert {name: out[name] for name in fixed} == fixed

    def test_given_parameters_are_completed_without_repeats(self) -> None:
        space = ah.compile_space(spaces.Ints)
        suggester = self.make_suggester()
        rng = np.random.default_rng(0)
        history = ah.History(space)
        pending: list[dict[str, JSONScalar]] = []
        for _ in range(5):  # 11 values of m exist with n = 3 (m in 0..100 step 5: 21)
            pending.append(suggester.suggest_given(space, history, pending, rng, {"n": 3}))
        assert len({p["m"] for p in pending}) == 5, pending

    def test_given_parameters_are_reproducible(self) -> None:
        space = ah.compile_space(spaces.Conditional)
        history = run(self.make_suggester(), space, self.trials, seed=3)
        fixed = {"model": "SVM"}
        first = self.make_suggester().suggest_given(
            space, history, [], np.random.default_rng(7), fixed
        )
        again = self.make_suggester().suggest_given(
            space, history, [], np.random.default_rng(7), fixed
        )
        assert first == again

    # -- determinism and batches --------------------------------------------------
    def test_reproducible(self) -> None:
        space = ah.compile_space(spaces.Conditional)
        history = run(self.make_suggester(), space, self.trials, seed=3)
        first = self.make_suggester().suggest(space, history, [], np.random.default_rng(7), k=3)
        again = self.make_suggester().suggest(space, history, [], np.random.default_rng(7), k=3)
        assert first == again
        rerun = run(self.make_suggester(), space, self.trials, seed=3)
        assert list(rerun.params) == list(history.params)

    def test_batch_of_k(self) -> None:
        space = ah.compile_space(spaces.Floats)
        history = run(self.make_suggester(), space, self.trials)
        out = self.make_suggester().suggest(space, history, [], np.random.default_rng(0), k=6)
        assert len(out) == 6
        assert len({(p["x"], p["y"]) for p in out}) == 6
        for p in out:
            space.validate(p)

    def test_zero_and_negative_k(self) -> None:
        space = ah.compile_space(spaces.Floats)
        suggester = self.make_suggester()
        rng = np.random.default_rng(0)
        assert suggester.suggest(space, ah.History(space), [], rng, k=0) == []
        with pytest.raises(ah.SuggesterError, match="k"):
            suggester.suggest(space, ah.History(space), [], rng, k=-1)

    # -- no repeats while untried configurations remain ---------------------------
    @pytest.mark.parametrize("space_cls", [spaces.SmallDiscrete, spaces.SmallConditional])
    def test_no_repeats_sequential(self, space_cls: type[object]) -> None:
        space = ah.compile_space(space_cls)
        size = 12 if space_cls is spaces.SmallDiscrete else 6
        history = run(self.make_suggester(), space, size, objective=_numeric_sum)
        keys = {tuple(sorted(p.items())) for p in history.params}
        assert len(keys) == size
        # Exhausted: further suggestions may repeat but must still work.
        more = self.make_suggester().suggest(space, history, [], np.random.default_rng(0), k=2)
        assert len(more) == 2

    @pytest.mark.parametrize("space_cls", [spaces.SmallDiscrete, spaces.SmallConditional])
    def test_no_repeats_with_pending(self, space_cls: type[object]) -> None:
        space = ah.compile_space(space_cls)
        size = 12 if space_cls is spaces.SmallDiscrete else 6
        history = run(self.make_suggester(), space, size // 2, seed=4)
        rng = np.random.default_rng(5)
        pending = self.make_suggester().suggest(space, history, [], rng, k=2)
        out = self.make_suggester().suggest(space, history, pending, rng, k=size // 2 - 2)
        everything = [*history.params, *pending, *out]
        assert len({tuple(sorted(p.items())) for p in everything}) == size

    def test_failed_trials_do_not_crash(self) -> None:
        space = ah.compile_space(spaces.Steps)

        def sometimes_fails(params: Mapping[str, JSONScalar]) -> float:
            return math.nan if num(params, "dropout") > 0.25 else num(params, "dropout")

        history = run(self.make_suggester(), space, self.trials, objective=sometimes_fails)
        assert np.isnan(history.y).any()
        assert len(history) >= self.trials
