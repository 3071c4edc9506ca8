"""User attributes take any JSON-shaped value (typed ``JSONInput``) and come back as JSON.

The parameter types accept read-only ``Sequence``/``Mapping`` values (a ``list[float]``,
a ``dict[str, float]``, a tuple); the run-time check is still ``json.dumps``, and what
the library gives back is plain lists and dicts. ``tests/typing/api.py`` checks the
types; this file checks the behaviour behind them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import pytest
from scheduler_helpers import Quad, loss

import asynchyper as ah
from asynchyper._executor import current_trial
from asynchyper._executor._context import json_safe
from asynchyper._types import JSONInput

pytestmark = pytest.mark.anyio


def train(config: Quad) -> tuple[list[float], dict[str, float]]:
    return [2.0, 1.0, loss(config)], {"acc": 0.9, "f1": 0.8}


async def test_json_shaped_attrs_are_stored_as_lists_and_dicts() -> None:
    async def objective(config: Quad) -> ah.Evaluation:
        curve, metrics = train(config)
        trial = current_trial()
        trial.set_attr("loss_curve", curve)
        trial.set_attr("metrics", metrics)
        trial.set_attr("epochs", (1, 2, 3))
        trial.set_attr("text", "abc")
        return ah.Evaluation(curve[-1], {"nested": {"curve": tuple(curve)}, "f1": 0.8})

    result = await ah.minimize(objective, Quad, trials=2, suggester=ah.Random(), seed=0)
    assert len(result.completed) == 2
    for trial in result.trials:
        curve, metrics = train(trial.config)
        assert trial.user_attrs == {
            "loss_curve": curve,
            "metrics": metrics,
            "epochs": [1, 2, 3],  # a tuple is stored as a JSON array
            "text": "abc",  # a str stays a str, not a sequence of characters
            "nested": {"curve": curve},
            "f1": 0.8,
        }
        assert isinstance(trial.user_attrs["epochs"], list)


async def test_an_objective_may_return_a_float_or_an_evaluation() -> None:
    def objective(config: Quad) -> float | ah.Evaluation:
        if current_trial().number % 2:
            return loss(config)
        return ah.Evaluation(loss(config), {"kind": config.kind})

    result = await ah.minimize(objective, Quad, trials=4, suggester=ah.Random(), seed=0)
    assert [t.state for t in result.trials] == [ah.TrialState.COMPLETE] * 4
    assert [bool(t.user_attrs) for t in result.trials] == [True, False, True, False]


async def test_tell_takes_any_json_mapping_and_stores_json() -> None:
    async with ah.open_study(Quad, suggester=ah.Random(), seed=0) as study:
        trial = await study.ask()
        curve: tuple[float, ...] = (1.0, 0.5)
        attrs: Mapping[str, JSONInput] = MappingProxyType({"curve": curve, "metrics": {"acc": 0.9}})
        told = await study.tell(trial, 0.5, attrs=attrs)
    assert told.state is ah.TrialState.COMPLETE
    assert told.user_attrs == {"curve": [1.0, 0.5], "metrics": {"acc": 0.9}}


async def test_telling_a_bool_fails_the_trial() -> None:
    # bool is a float to the type checker; at run time it is refused (a bool loss is
    # almost always a bug), like an objective returning one.
    async with ah.open_study(Quad, suggester=ah.Random(), seed=0) as study:
        trial = await study.ask()
        told = await study.tell(trial, True)
    assert told.state is ah.TrialState.FAILED
    # tell() takes no Evaluation: the reason must not offer one
    assert told.error == "told bool True; expected a float (attributes go in attrs=)"


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        (1, 2.5, "x", None, True),
        [[1.0, 2.0], {"a": (1,)}],
        {"a": {"b": [None]}},
    ],
    ids=["str", "tuple", "nested-list", "nested-dict"],
)
def test_json_shaped_values_pass_the_run_time_check(value: Any) -> None:
    assert json_safe(value, what="value") == value
    context = ah.TrialContext(study="s", number=0, params={})
    context.set_attr("key", value)
    assert context.user_attrs == {"key": value}  # kept as given until it is stored


# Sequences and mappings the types accept (bytes is a Sequence[int]) but JSON does not.
NOT_JSON: Sequence[Any] = [
    b"abc",
    bytearray(b"abc"),
    range(3),
    MappingProxyType({"a": 1}),
    [MappingProxyType({"a": 1})],
    {1.0, 2.0},
    [object()],
    math.nan,
    [1.0, math.inf],
]


@pytest.mark.parametrize("value", NOT_JSON, ids=lambda v: type(v).__name__)
def test_other_values_are_refused_at_run_time(value: Any) -> None:
    with pytest.raises(TypeError, match="must be JSON-safe"):
        json_safe(value, what="value")
    context = ah.TrialContext(study="s", number=0, params={})
    with pytest.raises(TypeError, match=r"set_attr\('key', \.\.\.\) value must be JSON-safe"):
        context.set_attr("key", value)
    assert context.user_attrs == {}


def test_numpy_numbers_are_stored_as_plain_numbers() -> None:
    # Metrics computed with NumPy: np.float32 and np.int64 failed the trial (np.float64,
    # a float subclass, passed), although an objective may return any of them.
    context = ah.TrialContext(study="s", number=0, params={})
    context.set_attr("f32", np.float32(0.5))
    context.set_attr("i64", np.int64(3))
    context.set_attr("nested", {"curve": [np.float32(0.25), np.bool_(True)], "t": (np.int8(1),)})
    assert context.user_attrs == {
        "f32": 0.5,
        "i64": 3,
        "nested": {"curve": [0.25, True], "t": (1,)},
    }
    assert type(context.user_attrs["f32"]) is float
    assert type(context.user_attrs["i64"]) is int
    with pytest.raises(TypeError, match="must be JSON-safe"):
        context.set_attr("bad", np.float32("nan"))
    with pytest.raises(TypeError, match="must be JSON-safe"):
        context.set_attr("bad", np.array([1.0, 2.0]))  # type: ignore[arg-type]


async def test_an_evaluation_with_numpy_attributes_completes() -> None:
    def objective(config: Quad) -> ah.Evaluation:
        current_trial().set_attr("epochs", np.int64(7))
        return ah.Evaluation(loss(config), {"acc": np.float32(0.75)})

    result = await ah.minimize(objective, Quad, trials=2, suggester=ah.Random(), seed=0)
    assert [t.state for t in result.trials] == [ah.TrialState.COMPLETE] * 2
    assert [t.user_attrs for t in result.trials] == [{"epochs": 7, "acc": 0.75}] * 2
