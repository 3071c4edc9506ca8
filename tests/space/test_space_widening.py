"""widens(): which new spaces contain a stored one, so that a study may take them."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings

import asynchyper as ah
from asynchyper._storage._widen import widens

from .generated import build, space_specs


def dim(name: str, kind: str = "float", **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": name,
        "path": f"S.{name}",
        "kind": kind,
        "low": 0.0,
        "high": 1.0,
        "log": False,
        "step": None,
        "choices": [],
        "is_branch": False,
        "parent": None,
        "parent_choice": None,
    }
    if kind == "categorical":
        base.update(low=None, high=None)
    return {**base, **fields}


OLD = [
    dim("x"),
    dim("n", "int", low=1, high=10, step=1),
    dim("q", low=0.0, high=1.0, step=0.25),
    dim("model", "categorical", choices=["SVM", "Forest"], is_branch=True),
    dim("model:SVM.C", low=1e-3, high=1e3, log=True, parent="model", parent_choice="SVM"),
    dim("k", "categorical", choices=[1, True, None]),
]


KNN = {"parent": "model", "parent_choice": "KNN"}


def changed(name: str, **fields: Any) -> list[dict[str, Any]]:
    new = copy.deepcopy(OLD)
    for d in new:
        if d["name"] == name:
            d.update(fields)
    return new


@pytest.mark.parametrize(
    "new",
    [
        pytest.param(OLD, id="the same"),
        pytest.param(changed("x", low=-1.0, high=2.0, path="Renamed.x"), id="wider float"),
        pytest.param(changed("n", low=0, high=100), id="wider int"),
        pytest.param(changed("q", low=-0.5, high=2.0), id="a grid extended by whole steps"),
        pytest.param(changed("model:SVM.C", low=1e-6), id="a wider log range"),
        pytest.param(changed("k", choices=[None, "new", True, 1]), id="more choices"),
        pytest.param(
            [
                *changed("model", choices=["SVM", "Forest", "KNN"]),
                dim("model:KNN.k", "int", low=1, high=9, step=1, **KNN),
                dim("model:KNN.w", "categorical", choices=["a"], **KNN),
            ],
            id="a new union member and its parameters",
        ),
        pytest.param(list(reversed(OLD)), id="another order"),
    ],
)
def test_spaces_that_contain_the_old_one(new: list[dict[str, Any]]) -> None:
    assert widens(OLD, new)


@pytest.mark.parametrize(
    "new",
    [
        pytest.param(changed("x", low=0.1), id="a narrower low"),
        pytest.param(changed("n", high=9), id="a narrower int"),
        pytest.param(changed("q", low=-0.1), id="a grid shifted off its steps"),
        pytest.param(changed("q", step=0.5), id="another step"),
        pytest.param(changed("x", log=True, low=0.001), id="a log scale"),
        pytest.param(changed("n", kind="float", step=None), id="another kind"),
        pytest.param(changed("k", choices=[1, None]), id="a choice removed"),
        pytest.param(changed("k", choices=[1.5, True, None]), id="a choice replaced"),
        pytest.param(changed("model:SVM.C", parent_choice="Forest"), id="moved to another branch"),
        pytest.param(OLD[1:], id="a dimension removed"),
        pytest.param([*OLD, dim("y")], id="a new dimension every trial would lack"),
        pytest.param(
            [*OLD, dim("model:SVM.gamma", parent="model", parent_choice="SVM")],
            id="a new parameter of an old branch",
        ),
        pytest.param(
            [*OLD, dim("model:KNN.k", parent="model", parent_choice="KNN")],
            id="a parameter under a choice that does not exist",
        ),
        pytest.param([*OLD, OLD[0]], id="a name twice"),
    ],
)
def test_spaces_that_do_not(new: list[dict[str, Any]]) -> None:
    assert not widens(OLD, new)


@settings(max_examples=50, deadline=None)
@given(space_specs())
def test_every_space_contains_itself(spec: Any) -> None:
    description = ah.compile_space(build(spec)).describe()
    assert widens(description, description)
