"""AutoClassifier and AutoRegressor are generic over their space (for type checkers):
``Generic`` must not change what scikit-learn reads from them (``get_params``,
``clone``, ``set_params``, ``repr``) or how they pickle and fit.
"""

from __future__ import annotations

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

PARAMS = [
    "concurrency",
    "cv",
    "executor",
    "portfolio",
    "progress",
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
    # (Generic adds none)
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
