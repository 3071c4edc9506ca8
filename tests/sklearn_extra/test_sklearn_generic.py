"""AutoClassifier and AutoRegressor are generic over their space (for type checkers):
``Generic`` must not change what scikit-learn reads from them (``get_params``,
``clone``, ``set_params``, ``repr``) or how they pickle and fit.
"""

from __future__ import annotations

import ast
import inspect
import pickle

import pytest

pytest.importorskip("sklearn")

from ahs_helpers import KnnOnly, TreesOnly
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

import asynchyper.sklearn as ahs
from asynchyper.sklearn import _estimator

PARAMS = [
    "concurrency",
    "cv",
    "executor",
    "portfolio",
    "scoring",
    "seed",
    "space",
    "storage",
    "study",
    "suggester",
    "timeout",
    "trial_timeout",
    "trials",
]


@pytest.mark.parametrize("cls", [ahs.AutoClassifier, ahs.AutoRegressor])
def test_the_parameters_scikit_learn_reads_are_the_constructors(
    cls: type[
        ahs.AutoClassifier[ahs.ClassifierPipeline] | ahs.AutoRegressor[ahs.RegressorPipeline]
    ],
) -> None:
    # scikit-learn reads the parameter names from the signature of __init__
    # (Generic adds none, and the typed overloads exist for type checkers only)
    assert sorted(inspect.signature(cls.__init__).parameters) == sorted(["self", *PARAMS])
    assert sorted(cls().get_params()) == PARAMS
    assert cls().get_params()["space"] is None


def test_a_parametrised_class_makes_the_same_estimator() -> None:
    model = ahs.AutoClassifier[TreesOnly](space=TreesOnly, trials=7, seed=1)
    assert type(model) is ahs.AutoClassifier
    params = model.get_params()
    assert params["space"] is TreesOnly
    assert sorted(params) == PARAMS
    copy = clone(model)
    assert type(copy) is ahs.AutoClassifier
    assert copy.get_params() == params
    assert copy.set_params(trials=9) is copy
    assert copy.trials == 9
    assert repr(model).startswith("AutoClassifier(seed=1, space=<class ")
    assert repr(model).endswith("TreesOnly'>, trials=7)")
    # the attribute typing adds to an instance is not taken for a fitted one
    with pytest.raises(NotFittedError):
        check_is_fitted(model)
    restored = pickle.loads(pickle.dumps(model))
    assert restored.get_params() == params


def test_a_parametrised_class_fits_and_clones_after_fit() -> None:
    X, y = load_iris(return_X_y=True)
    model = ahs.AutoClassifier[KnnOnly](
        space=KnnOnly, trials=2, concurrency=1, executor="thread", portfolio=False, seed=0
    ).fit(X, y)
    assert isinstance(model.best_config_, KnnOnly)
    assert model.score(X, y) > 0.8
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    with pytest.raises(NotFittedError):
        check_is_fitted(copy)
    assert (
        pickle.loads(pickle.dumps(model)).predict(X[:3]).tolist() == model.predict(X[:3]).tolist()
    )


def _keywords(function: ast.FunctionDef) -> list[tuple[str, str, str]]:
    """Each keyword-only parameter: name, annotation and default, as source text."""
    defaults = [ast.unparse(d) if d is not None else "" for d in function.args.kw_defaults]
    return [
        (arg.arg, ast.unparse(arg.annotation) if arg.annotation else "", default)
        for arg, default in zip(function.args.kwonlyargs, defaults, strict=True)
    ]


@pytest.mark.parametrize("name", ["AutoClassifier", "AutoRegressor"])
def test_the_typed_constructors_list_the_parameters_of_the_one_that_runs(name: str) -> None:
    # the overloads exist for type checkers only (under TYPE_CHECKING): compare their
    # source with the __init__ that runs, so that a new parameter is added to all
    tree = ast.parse(inspect.getsource(_estimator))
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    inits = {
        cls: [
            node
            for node in ast.walk(classes[cls])
            if isinstance(node, ast.FunctionDef) and node.name == "__init__"
        ]
        for cls in ("_AutoEstimator", name)
    }
    [runs] = inits["_AutoEstimator"]
    typed = inits[name]
    assert len(typed) == 3  # two overloads and the signature they share
    expected = _keywords(runs)
    assert [arg for arg, _, _ in expected] == PARAMS_IN_ORDER
    for function in typed:
        assert [a.arg for a in function.args.args] == ["self", "space"]
        assert _keywords(function) == expected


#: The constructor's keyword-only parameters, in the order of the signature.
PARAMS_IN_ORDER = [
    "trials",
    "cv",
    "scoring",
    "concurrency",
    "executor",
    "timeout",
    "trial_timeout",
    "seed",
    "portfolio",
    "suggester",
    "storage",
    "study",
]
