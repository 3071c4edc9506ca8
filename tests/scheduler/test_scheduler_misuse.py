"""Ordinary mistakes with the run and study API: each refused up front, naming the fix.

Found by an audit that made 311 realistic mistakes; before these checks each one burnt
trials until max_failures, crashed the run with an internal error, or said nothing.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Annotated, Any

import attrs
import numpy as np
import pytest
from scheduler_helpers import Quad, loss

import asynchyper as ah

pytestmark = pytest.mark.anyio


def _one_parameter(trial: ah.Trial[Quad]) -> None:
    pass


def _two_args(config: Quad, data: list[float]) -> float:
    return loss(config) + sum(data)


async def _refused(objective: Any, *, match: str, **options: Any) -> None:
    with pytest.raises(TypeError, match=match):
        await ah.minimize(objective, Quad, trials=3, **options)


async def test_an_objective_that_cannot_take_the_configuration_is_refused_before_any_trial(
    tmp_path: Path,
) -> None:
    db = tmp_path / "study.db"
    await _refused("tests.loss", match="got str 'tests.loss'; import the function", storage=db)
    await _refused(loss(Quad(x=0.0, n=1, kind="a")), match="not the result of calling it")
    await _refused(lambda: 1.0, match=r"one argument, the configuration.*too many positional")
    await _refused(_two_args, match=r"_two_args\(config: 'Quad', data.*missing a required")
    assert not db.exists()  # refused before the storage was opened
    # an extra parameter bound with functools.partial (as the message says) is fine
    result = await ah.minimize(functools.partial(_two_args, data=[1.0]), Quad, trials=2)
    assert result.best_value >= 1.0
    async with ah.open_study(Quad) as study:
        with pytest.raises(TypeError, match="missing a required argument: 'data'"):
            await study.optimize(_two_args, trials=2)  # type: ignore[arg-type]
        assert await study.trials() == []


async def test_swapped_objective_and_space_are_named_as_swapped() -> None:
    with pytest.raises(TypeError, match=r"arguments are \(objective, space\)"):
        await ah.minimize(Quad, loss, trials=3)  # type: ignore[arg-type]
    with pytest.raises(ExceptionGroup) as info:
        await ah.minimize(loss, loss, trials=3)  # type: ignore[arg-type]
    assert "is a function, not a space" in str(info.value.exceptions[0])
    assert "minimize(objective, Space, ...)" in str(info.value.exceptions[0])


async def test_callbacks_of_the_wrong_form_are_refused_before_any_trial() -> None:
    with pytest.raises(TypeError, match=r"takes a list of callbacks.*wrap it: callbacks=\["):
        await ah.minimize(loss, Quad, trials=3, callbacks=print)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"callbacks\[0\] is called as callback\(study, trial\)"):
        await ah.minimize(loss, Quad, trials=3, callbacks=[_one_parameter])  # type: ignore[list-item]
    seen: list[int] = []
    await ah.minimize(loss, Quad, trials=2, callbacks=[lambda _s, t: seen.append(t.number)])
    assert seen == [0, 1]


async def test_options_of_the_wrong_type_name_the_option() -> None:
    with pytest.raises(TypeError, match=r"target must be a number or None; got str '0.1'"):
        await ah.minimize(loss, Quad, trials=3, target="0.1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"convert it: trials=int\(\.\.\.\)"):
        await ah.minimize(loss, Quad, trials=np.int64(3))  # type: ignore[arg-type]


async def test_evaluation_attrs_that_are_no_mapping_fail_the_trial_not_the_run() -> None:
    def objective(config: Quad) -> ah.Evaluation:
        return ah.Evaluation(loss(config), [("accuracy", 0.9)])  # type: ignore[arg-type]

    result = await ah.minimize(objective, Quad, trials=2, max_failures=2)
    assert result.stop_reason == "max_failures"
    error = result.trials[0].error or ""
    assert "Evaluation(attrs=...) takes a dict of attribute names" in error
    with pytest.raises(TypeError, match=r"got NoneType None"):
        ah.Evaluation(1.0, None)  # type: ignore[arg-type]


async def test_tell_refuses_attrs_that_are_no_mapping_and_logs_a_value_that_is_no_number(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with ah.open_study(Quad) as study:
        trial = await study.ask()
        with pytest.raises(TypeError, match=r"attrs=\) for trial 0 takes a dict.*got list"):
            await study.tell(trial, 1.0, attrs=["a"])  # type: ignore[arg-type]
        assert (await study.trials())[0].state is ah.TrialState.RUNNING  # nothing written
        with caplog.at_level(logging.WARNING, logger="asynchyper"):
            told = await study.tell(trial, "0.5")  # type: ignore[arg-type]
        assert told.state is ah.TrialState.FAILED
        assert "trial 0 recorded FAILED: told str '0.5'" in caplog.text
        caplog.clear()
        nan = await study.ask()
        with caplog.at_level(logging.WARNING, logger="asynchyper"):
            await study.tell(nan, float("nan"))  # an outcome (it diverged), not a mistake
        assert "recorded FAILED" not in caplog.text


async def test_telling_a_queued_trial_says_how_queued_trials_start() -> None:
    async with ah.open_study(Quad) as study:
        queued = await study.enqueue(Quad(x=0.0, n=1, kind="a"))
        with pytest.raises(ah.TrialStateError, match=r"it is queued and has not started"):
            await study.tell(queued, 1.0)


async def test_a_list_or_swapped_arguments_given_to_add_and_enqueue_say_so() -> None:
    config = Quad(x=0.0, n=1, kind="a")
    async with ah.open_study(Quad) as study:
        with pytest.raises(ah.ParameterError, match="give one configuration per call"):
            await study.enqueue([config, config])  # type: ignore[arg-type]
        with pytest.raises(ah.ParameterError, match=r"comes first, as in study.add\(config"):
            await study.add(0.3, config)  # type: ignore[arg-type]


async def test_an_optuna_style_objective_gets_a_hint_in_its_failure() -> None:
    def objective(trial: Any) -> float:
        return float(trial.suggest_float("x", 0.0, 1.0))

    result = await ah.minimize(objective, Quad, trials=3, max_failures=1)
    last_line = (result.trials[0].error or "").splitlines()[-1]
    assert "has no attribute 'suggest_float'" in last_line
    assert "not an Optuna trial: read its fields" in last_line


@attrs.frozen
class Other:
    y: Annotated[float, ah.Float(0.0, 1.0)]


def _for_other(config: Other) -> float:
    return config.y


async def test_an_objective_annotated_for_another_space_is_refused() -> None:
    with pytest.raises(TypeError, match=r"takes a Other \(its annotation\), but the space is Quad"):
        await ah.minimize(_for_other, Quad, trials=3)  # type: ignore[arg-type]  # mypy sees it too
    async with ah.open_study(Quad) as study:
        with pytest.raises(TypeError, match="annotate its parameter as Quad"):
            await study.optimize(_for_other, trials=3)  # type: ignore[arg-type]
    result = await ah.minimize(_for_other, Other, trials=2)  # the space it was written for
    assert len(result.trials) == 2


def _injecting(function: Any) -> Any:
    """A decorator that supplies the objective's second argument."""

    @functools.wraps(function)
    def wrapper(config: Quad) -> float:
        return float(function(config, [1.0]))

    return wrapper


@_injecting
def _decorated(config: Quad, data: list[float]) -> float:
    return loss(config) + sum(data)


@attrs.frozen
class _Trainer:
    """An objective object whose field shares its name with __call__'s parameter."""

    config: Other

    def __call__(self, config: Quad) -> float:
        return loss(config)


class _Static:
    @staticmethod
    def __call__(config: Quad) -> float:
        return loss(config)


async def test_the_checks_leave_legitimate_objectives_alone() -> None:
    # From a review of the checks: each of these ran before them, and must still run.
    for objective in (_decorated, _Trainer(Other(y=0.5)), _Static()):
        result = await ah.minimize(objective, Quad, trials=2)
        assert len(result.completed) == 2, objective

    def needs_extra(study: Any, trial: Any, extra: int) -> None:
        assert extra == 1

    @functools.wraps(needs_extra)
    def callback(study: Any, trial: Any) -> None:
        needs_extra(study, trial, 1)

    result = await ah.minimize(loss, Quad, trials=2, callbacks=[callback])
    assert len(result.completed) == 2


async def test_a_retried_one_line_failure_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="asynchyper"):
        await ah.minimize(lambda c: float("nan"), Quad, trials=1, retries=1, max_failures=2)
    first = next(r.getMessage() for r in caplog.records if "trial 0 failed" in r.message)
    assert "\n" not in first  # no traceback to show, and the text not twice


@attrs.define
class Mutable:
    x: Annotated[float, ah.Float(0.0, 1.0)]


@pytest.mark.parametrize("storage", [None, "sqlite"])
async def test_an_objective_that_changes_its_config_changes_no_record(
    storage: str | None, tmp_path: Path
) -> None:
    # A review found result.trials[i].config showing what the objective wrote into a
    # mutable (attrs.define) configuration, next to params that said otherwise.
    given: list[Any] = []

    async def objective(config: Any) -> float:
        given.append(config)
        value = float(config.x)
        if isinstance(config, Mutable):
            config.x = 99.0
        return value

    spaces: tuple[Any, ...] = (Mutable, Quad)
    for space in spaces:
        given.clear()
        db = None if storage is None else str(tmp_path / f"{space.__name__}.db")
        result = await ah.minimize(objective, space, trials=4, storage=db, progress=False)
        assert len(result.trials) == 4
        for trial, passed in zip(result.trials, given, strict=True):
            if space is Mutable:
                assert passed is not trial.config  # a fresh instance for the objective
                assert trial.config.x == trial.params["x"] == trial.value
            else:
                assert passed is trial.config  # frozen: shared, nothing to copy
        if space is Mutable:
            assert result.best.config.x < 1.0
