"""Space mistakes an audit found with unhelpful messages (or none)."""

from __future__ import annotations

import pickle
from typing import Annotated

import attrs
import numpy as np
import pytest

import asynchyper as ah


@attrs.frozen
class SVM:
    C: Annotated[float, ah.Float(0.1, 10.0, log=True)]


@attrs.frozen
class Forest:
    n: Annotated[int, ah.Int(1, 10)]


@attrs.frozen
class Model:
    lr: Annotated[float, ah.Float(1e-4, 1.0, log=True)]
    model: SVM | Forest


def test_nested_parameters_are_refused_with_the_flat_form() -> None:
    space = ah.compile_space(Model)
    with pytest.raises(ah.ParameterError) as info:
        space.validate({"lr": 1e-3, "model": {"C": 1.0}})  # type: ignore[dict-item]
    message = str(info.value)
    assert "parameter 'model' = {'C': 1.0} is not one of the allowed choices" in message
    assert "'model:SVM.C': 1.0" in message
    with pytest.raises(ah.ParameterError, match="not one of the allowed choices"):
        space.validate({"lr": 1e-3, "model": ["SVM"]})  # type: ignore[dict-item]


def test_log_must_be_a_bool() -> None:
    @attrs.frozen
    class Odd:
        # (mypy does not check the markers inside Annotated: only the compiler can)
        x: Annotated[float, ah.Float(0.1, 1.0, log="False")]
        n: Annotated[int, ah.Int(1, 10, log=1)]

    with pytest.raises(ExceptionGroup) as info:
        ah.compile_space(Odd)
    assert sorted(str(e) for e in info.value.exceptions) == [
        "Odd.n: Int log must be True or False, got int 1",
        "Odd.x: Float log must be True or False, got str 'False'",
    ]


@attrs.frozen
class Buggy:
    x: Annotated[float, ah.Float(0.0, 1.0)]

    def __attrs_post_init__(self) -> None:
        self.nonexistent_attr  # type: ignore[attr-defined]  # noqa: B018 - the bug


@attrs.frozen
class Picky:
    x: Annotated[float, ah.Float(0.0, 1.0)]

    def __attrs_post_init__(self) -> None:
        if self.x > 0.5:
            msg = "x must be at most 0.5"
            raise ValueError(msg)


@pytest.mark.anyio
async def test_a_bug_in_the_class_propagates_at_once_while_a_constraint_is_redrawn() -> None:
    async with ah.open_study(Buggy) as study:
        with pytest.raises(AttributeError) as info:
            await study.ask()
        assert "Buggy(**{'x':" in info.value.__notes__[0]
        assert "a bug in the class, not for a rejection" in info.value.__notes__[0]
        assert await study.trials() == []
    async with ah.open_study(Picky, seed=0) as study:
        trials = [await study.ask() for _ in range(20)]
        assert all(trial.config.x <= 0.5 for trial in trials)


def test_a_space_with_problems_raises_one_asynchyper_error_holding_each_problem() -> None:
    @attrs.frozen
    class Bad:
        lr: Annotated[float, ah.Float(0.0, 1.0, log=True)]
        n: Annotated[int, ah.Float(1, 10)]

    with pytest.raises(ah.AsynchyperError) as info:  # the whole group, as one error
        ah.compile_space(Bad)
    group = info.value
    assert isinstance(group, ah.InvalidSpaceError)
    assert isinstance(group, ExceptionGroup)
    assert isinstance(group, ah.SearchSpaceError)
    assert [str(e).split(":")[0] for e in group.exceptions] == ["Bad.lr", "Bad.n"]
    assert group.message.endswith("Bad: 2 problems")
    caught: list[BaseExceptionGroup[ah.SpaceDeclarationError]] = []
    try:
        ah.compile_space(Bad)
    except* ah.SpaceDeclarationError as matched:
        caught.append(matched)
    assert isinstance(caught[0], ah.InvalidSpaceError)  # derive() keeps the class
    assert len(caught[0].exceptions) == 2
    lr_only, rest = group.split(lambda e: "lr" in str(e))
    assert isinstance(lr_only, ah.InvalidSpaceError)
    assert isinstance(rest, ah.InvalidSpaceError)
    assert lr_only.message == group.message


def test_a_numpy_bool_is_a_bool_for_log() -> None:
    @attrs.frozen
    class Scaled:
        x: Annotated[float, ah.Float(1e-3, 1.0, log=np.True_)]

    assert ah.compile_space(Scaled).dimensions[0].log


def test_the_group_of_problems_pickles_with_its_problems() -> None:
    @attrs.frozen
    class Bad:
        x: Annotated[float, ah.Float(1.0, 0.0)]

    with pytest.raises(ah.InvalidSpaceError) as info:
        ah.compile_space(Bad)
    copy = pickle.loads(pickle.dumps(info.value))  # e.g. from a worker process
    assert isinstance(copy, ah.InvalidSpaceError)
    assert copy.message == info.value.message
    [problem] = copy.exceptions
    assert isinstance(problem, ah.SpaceDeclarationError)
    assert problem.path == "Bad.x"
    assert str(problem) == str(info.value.exceptions[0])
