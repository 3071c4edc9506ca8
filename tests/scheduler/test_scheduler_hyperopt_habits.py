"""Habits carried over from Hyperopt: result dicts, unstorable extras, NaN with attrs."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from scheduler_helpers import Quad, loss

import asynchyper as ah
from asynchyper._executor import current_trial

pytestmark = pytest.mark.anyio


async def test_a_hyperopt_result_dict_is_named_and_stops_the_run_early() -> None:
    calls = 0

    def objective(config: Quad) -> object:
        nonlocal calls
        calls += 1
        return {"loss": loss(config), "status": "ok"}

    result = await ah.minimize(objective, Quad, trials=50, suggester=ah.Random(), seed=0)  # type: ignore[arg-type]
    assert calls == 3  # not 50 evaluations for nothing
    assert result.stop_reason == "max_failures"
    assert "Hyperopt-style result dict" in (result.trials[0].error or "")
    assert "ah.Evaluation" in (result.trials[0].error or "").replace("asynchyper.", "ah.")


async def test_a_plain_function_returning_a_coroutine_is_named_and_stops_early() -> None:
    # Binding data to an async objective with a lambda returns an un-awaited coroutine.
    async def train(config: Quad, data: float) -> float:
        return loss(config) + data

    result = await ah.minimize(
        lambda c: train(c, 1.0),
        Quad,
        trials=50,
        suggester=ah.Random(),
        seed=0,
    )
    assert len(result.trials) == 3  # not max_failures of them
    assert result.stop_reason == "max_failures"
    error = result.trials[0].error or ""
    assert "objective returned a coroutine" in error
    assert "functools.partial(train, data=data)" in error


async def test_wrong_types_after_a_completed_trial_do_not_stop_the_run() -> None:
    def objective(config: Quad) -> object:
        return loss(config) if current_trial().number == 0 else "oops"

    result = await ah.minimize(
        objective,  # type: ignore[arg-type]
        Quad,
        trials=2,
        max_failures=6,
        suggester=ah.Random(),
        seed=0,
    )
    assert result.stop_reason == "max_failures"
    assert len(result.trials) == 7  # the failure budget, as before


async def test_an_unstorable_attribute_keeps_the_value(caplog: pytest.LogCaptureFixture) -> None:
    def objective(config: Quad) -> ah.Evaluation:
        return ah.Evaluation(loss(config), {"n_iter": np.int64(3), "coef": np.arange(3.0)})  # type: ignore[dict-item]

    with caplog.at_level(logging.WARNING, logger="asynchyper"):
        result = await ah.minimize(objective, Quad, trials=6, suggester=ah.Random(), seed=0)
    assert [t.state for t in result.trials] == [ah.TrialState.COMPLETE] * 6
    assert [dict(t.user_attrs) for t in result.trials] == [{"n_iter": 3}] * 6
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 3, warned  # then at info level: one note, not one per trial
    assert "attribute 'coef' must be JSON-safe" in warned[0]
    assert ".tolist()" in warned[0]


async def test_an_evaluation_of_nan_keeps_its_attributes() -> None:
    def objective(config: Quad) -> ah.Evaluation:
        del config
        return ah.Evaluation(float("nan"), {"reason": "diverged"})

    result = await ah.minimize(objective, Quad, trials=1, max_failures=1, seed=0)
    trial = result.trials[0]
    assert trial.state is ah.TrialState.FAILED
    assert trial.user_attrs == {"reason": "diverged"}
    assert (
        trial.error
        == "objective returned an Evaluation whose value is nan; a value must be a finite float"
    )


async def test_a_zero_dimensional_array_is_a_value() -> None:
    def objective(config: Quad) -> object:
        return np.asarray(loss(config))

    result = await ah.minimize(objective, Quad, trials=2, suggester=ah.Random(), seed=0)  # type: ignore[arg-type]
    assert [t.value for t in result.trials] == [loss(t.config) for t in result.trials]
