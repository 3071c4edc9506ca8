"""parameter_importance: known answers, shares, conditional parameters and errors."""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import attrs
import numpy as np
import pytest
from plot_helpers import (
    SVM,
    XYZ,
    Conditional,
    Forest,
    Params,
    Plain,
    Wide,
    conditional_loss,
    num,
    plain_loss,
    records,
    xyz_loss,
)

import asynchyper as ah
from asynchyper._analysis import parameter_importance


@attrs.frozen(kw_only=True)
class CategoryFirst:
    """A categorical that decides the loss, and two floats that barely move it."""

    kind: Literal["a", "b", "c"]
    x: Annotated[float, ah.Float(0.0, 1.0)]
    y: Annotated[float, ah.Float(-1.0, 1.0)]


@attrs.frozen(kw_only=True)
class OnlySVM:
    """Same flat names as ``Conditional`` where it matters, but the forest never runs."""

    lr: Annotated[float, ah.Float(1e-5, 1e-1, log=True)]
    model: SVM | Forest


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("given", ["space", "description", "inferred"])
def test_known_answer_x_then_y_then_z(seed: int, given: str) -> None:
    space = ah.compile_space(XYZ)
    trials = records(XYZ, xyz_loss, 300, seed=seed)
    spaces: dict[str, ah.Space[XYZ] | Sequence[Mapping[str, Any]] | None] = {
        "space": space,
        "description": space.describe(),
        "inferred": None,
    }
    shares = parameter_importance(trials, space=spaces[given])
    assert list(shares) == ["x", "y", "z"]
    # y's main effect is ~3e-5 of x's by construction; z has none at all
    assert shares["y"] > 1e-5
    assert shares["z"] < 1e-6
    assert shares["y"] > 100 * shares["z"]
    assert sum(shares.values()) == pytest.approx(1.0)


def test_a_categorical_that_decides_the_loss_ranks_first() -> None:
    levels = {"a": 0.0, "b": 1.0, "c": 3.0}

    def loss(p: Params) -> float:
        return levels[str(p["kind"])] + 0.2 * num(p, "x") + 0.05 * num(p, "y") ** 2

    shares = parameter_importance(records(CategoryFirst, loss, 200, seed=3))
    assert list(shares) == ["kind", "x", "y"]
    assert shares["kind"] > 0.9


def test_shares_sum_to_one_sorted_and_cover_the_space() -> None:
    space = ah.compile_space(Plain)
    shares = parameter_importance(records(Plain, plain_loss, 150), space=space)
    assert set(shares) == set(space.names)
    assert sum(shares.values()) == pytest.approx(1.0)
    values = list(shares.values())
    assert values == sorted(values, reverse=True)
    assert all(v >= 0.0 for v in values)
    assert next(iter(shares)) == "lr"


def test_conditional_branch_level_and_inner_parameter() -> None:
    space = ah.compile_space(Conditional)
    shares = parameter_importance(
        records(Conditional, conditional_loss, 300, seed=4, fail_every=9), space=space
    )
    assert set(shares) == set(space.names)
    # the branch level (SVM is ~2 worse) dominates, then C inside the SVM branch
    assert list(shares)[:2] == ["model", "model:SVM.C"]
    for noise in ("preproc", "preproc:PCA.n_components", "model:SVM.kernel"):
        assert shares[noise] < 0.01, noise


def test_a_branch_never_taken_scores_zero() -> None:
    trials = [
        t
        for t in records(OnlySVM, lambda p: float(np.log10(num(p, "lr"))), 120)
        if t.params["model"] == "SVM"
    ]
    shares = parameter_importance(trials, space=ah.compile_space(OnlySVM))
    assert shares["model:Forest.n_estimators"] == 0.0
    assert shares["model:Forest.depth"] == 0.0
    assert shares["model"] == 0.0  # never varied
    assert next(iter(shares)) == "lr"


def test_deterministic_and_independent_of_trial_order() -> None:
    trials = records(Conditional, conditional_loss, 120, seed=5)
    first = parameter_importance(trials)
    shuffled = list(trials)
    random.Random(0).shuffle(shuffled)
    assert parameter_importance(shuffled) == first
    assert parameter_importance(trials) == first


def test_direction_does_not_change_the_shares() -> None:
    trials = records(Plain, plain_loss, 100)
    flipped = [attrs.evolve(t, value=-t.value) if t.value is not None else t for t in trials]
    low = parameter_importance(trials)
    high = parameter_importance(flipped, direction="maximize")
    assert list(low) == list(high)
    for name in low:
        assert high[name] == pytest.approx(low[name], abs=1e-9)


def test_far_outliers_do_not_take_over() -> None:
    trials = records(XYZ, xyz_loss, 200, seed=6)
    # the trial with the largest z diverged: without clipping, z would look important
    worst = max(trials, key=lambda t: num(t.params, "z"))
    trials = [attrs.evolve(t, value=1e12) if t is worst else t for t in trials]
    shares = parameter_importance(trials, space=ah.compile_space(XYZ))
    assert next(iter(shares)) == "x"
    assert shares["x"] > 0.9


@pytest.mark.parametrize("kind", ["empty", "failed only", "running only"])
def test_no_complete_trial_is_a_clear_error(kind: str) -> None:
    trials = records(Plain, plain_loss, 4, fail_every=1)
    if kind == "empty":
        trials = []
    elif kind == "running only":
        trials = [attrs.evolve(t, state=ah.TrialState.RUNNING, error=None) for t in trials]
    with pytest.raises(ah.NoCompletedTrialsError, match="complete trial") as info:
        parameter_importance(trials)
    assert "\n" not in str(info.value)
    # a study that ran and failed is pointed to its errors, not told to run
    assert ("error" in str(info.value)) == (kind == "failed only")


def test_nan_values_do_not_count_as_complete() -> None:
    trials = [
        ah.TrialRecord(
            study_id=1, number=0, state=ah.TrialState.COMPLETE, params={"x": 0.5}, value=np.nan
        )
    ]
    with pytest.raises(ah.NoCompletedTrialsError):
        parameter_importance(trials)


def test_one_trial_gives_equal_shares_and_says_why(caplog: pytest.LogCaptureFixture) -> None:
    trials = records(Plain, plain_loss, 1)
    with caplog.at_level(logging.WARNING, logger="asynchyper._analysis._importance"):
        shares = parameter_importance(trials, space=ah.compile_space(Plain))
    assert shares == dict.fromkeys(sorted(shares), 0.25)
    assert "equal share" in caplog.text
    assert "at least 3 complete trials" in caplog.text


def test_two_varying_trials_name_the_minimum_of_three(caplog: pytest.LogCaptureFixture) -> None:
    trials = records(Plain, plain_loss, 2)
    assert trials[0].value != trials[1].value
    with caplog.at_level(logging.WARNING, logger="asynchyper._analysis._importance"):
        parameter_importance(trials, space=ah.compile_space(Plain))
    assert "at least 3 complete trials" in caplog.text
    assert "do not vary" not in caplog.text


def test_equal_values_say_that_they_do_not_vary(caplog: pytest.LogCaptureFixture) -> None:
    trials = [attrs.evolve(t, value=1.0) for t in records(Plain, plain_loss, 6)]
    with caplog.at_level(logging.WARNING, logger="asynchyper._analysis._importance"):
        parameter_importance(trials, space=ah.compile_space(Plain))
    assert "all equal" in caplog.text


def test_bad_direction() -> None:
    with pytest.raises(ValueError, match="'minimize' or 'maximize'"):
        parameter_importance(records(Plain, plain_loss, 3), direction="down")


def test_trials_from_another_space_are_rejected() -> None:
    with pytest.raises(ah.ParameterError, match="does not describe"):
        parameter_importance(records(Plain, plain_loss, 5), space=ah.compile_space(XYZ))


def test_a_malformed_description_is_rejected() -> None:
    with pytest.raises(ah.SearchSpaceError, match="no 'kind' key"):
        parameter_importance(records(XYZ, xyz_loss, 5), space=[{"name": "x"}])


def test_rare_sibling_parameters_do_not_cancel_out() -> None:
    # Parameters active on the same few trials (a rare nested branch) are collinear;
    # without the ridge the fit gives them large opposite effects (0.11 here).
    space = ah.compile_space(Wide)
    rng = np.random.default_rng(11)
    trials = []
    for number in range(200):
        params = space.sample(rng)
        value = float(rng.random() + (params["model"] == "KernelSVC"))
        trials.append(
            ah.TrialRecord(
                study_id=1, number=number, state=ah.TrialState.COMPLETE, params=params, value=value
            )
        )
    rare = sum(t.params.get("model:KernelSVC.kernel") == "PolyKernel" for t in trials)
    assert rare == 4  # the situation this test is about
    shares = parameter_importance(trials, space=space)
    assert next(iter(shares)) == "model"
    assert shares["model"] > 0.6
    assert all(v < 0.05 for k, v in shares.items() if "PolyKernel" in k)


@pytest.mark.anyio
async def test_what_is_not_trials_is_refused_with_what_to_pass() -> None:
    async with ah.open_study(Plain) as study:
        result = await study.optimize(lambda c: float(c.layers), trials=4)
        coroutine = study.trials()
        cases: list[tuple[object, str]] = [
            (study, "got a Study: pass await study.trials() or await study.result()"),
            (coroutine, "got a coroutine: await it first"),
            (result.best, "got one Trial: put it in a list"),
            ("study.db", "open the study first (asynchyper.open_study)"),
            ([1, 2, 3], "trials[0] is int 1, not a trial"),
        ]
        for given, expected in cases:
            with pytest.raises(TypeError) as info:
                ah.parameter_importance(given)  # type: ignore[arg-type]
            assert expected in str(info.value)
        with pytest.raises(TypeError, match=r"space=asynchyper.compile_space\(Plain\)"):
            ah.parameter_importance(result.trials, space=Plain)  # type: ignore[arg-type]
        assert set(ah.parameter_importance(result)) == {"lr", "dropout", "layers", "optimizer"}
