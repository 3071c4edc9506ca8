"""Typing tests of ``asynchyper.sklearn``: checked by mypy (``--strict
--warn-unused-ignores``) and by pyright (strict, ``reportUnnecessaryTypeIgnoreComment``),
never run. Each ``# type: ignore[code]`` marks an error that *must* occur (see api.py).

The estimators are generic over the space they search, so what ``fit`` finds is an
instance of that space, not ``Any``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, assert_type

import attrs
import numpy as np
import numpy.typing as npt

import asynchyper as ah
import asynchyper.sklearn as ahs


@attrs.frozen(kw_only=True)
class TreesOnly(ahs.ClassifierPipeline):
    preprocessing: None = None
    model: ahs.RandomForestClassifier | ahs.ExtraTreesClassifier


@attrs.frozen(kw_only=True)
class Linear:
    """A space of its own (not a pipeline subclass): only ``build()`` is needed."""

    alpha: float

    def build(self) -> Any:
        return None


@attrs.frozen(kw_only=True)
class NotBuildable:
    """No ``build()``: cannot be searched."""

    alpha: float


def check_classifier(X: Any, y: Any, instance: TreesOnly) -> None:
    # the default space
    default = ahs.AutoClassifier(trials=5)
    assert_type(default, ahs.AutoClassifier[ahs.ClassifierPipeline])
    assert_type(ahs.AutoClassifier(None), ahs.AutoClassifier[ahs.ClassifierPipeline])
    assert_type(default.fit(X, y).best_config_, ahs.ClassifierPipeline)

    # a space of one's own: fit() keeps the type, best_config_ is an instance of it
    model = ahs.AutoClassifier(space=TreesOnly, trials=5, cv=3, seed=0).fit(X, y)
    assert_type(model, ahs.AutoClassifier[TreesOnly])
    assert_type(model.best_config_, TreesOnly)
    assert_type(model.best_config_.model, ahs.RandomForestClassifier | ahs.ExtraTreesClassifier)
    assert_type(model.result_, ah.Result[TreesOnly])
    assert_type(model.result_.best.config, TreesOnly)
    assert_type(model.trials_, Sequence[ah.Trial[TreesOnly]])
    assert_type(ahs.AutoClassifier(TreesOnly), ahs.AutoClassifier[TreesOnly])
    best_score: float = model.best_score_
    completed: int = model.n_completed_
    study: str = model.study_
    del best_score, completed, study

    # a typo on the configuration is flagged
    model.best_config_.modle  # type: ignore[attr-defined]  # noqa: B018
    model.result_.best.config.preprocesing  # type: ignore[attr-defined]  # noqa: B018
    # a union field has no attributes of its own until narrowed
    default.best_config_.model.C  # type: ignore[union-attr]  # noqa: B018
    if isinstance(default.best_config_.model, ahs.SVC):
        assert_type(default.best_config_.model.C, float)
    # the configuration is not an instance of another space
    other: ahs.ClassifierPipeline = ahs.AutoClassifier(space=Linear).fit(X, y).best_config_  # type: ignore[assignment]
    del other

    # a space must have build(); an instance is not a space class
    ahs.AutoClassifier(space=NotBuildable)  # type: ignore[type-var]
    ahs.AutoClassifier(space=instance)  # type: ignore[arg-type]
    # the options are checked as before
    ahs.AutoClassifier(space=TreesOnly, trials="5")  # type: ignore[arg-type]
    ahs.AutoClassifier(space=TreesOnly, executor="processes")  # type: ignore[arg-type]
    ahs.AutoClassifier(TreesOnly, 5)  # type: ignore[call-arg]

    # what scikit-learn gives every estimator, typed
    assert_type(model.predict(X), npt.NDArray[Any])
    assert_type(model.predict_proba(X), npt.NDArray[np.float64])
    assert_type(model.score(X, y), float)
    assert_type(model.get_params(), dict[str, Any])
    assert_type(model.set_params(trials=10), ahs.AutoClassifier[TreesOnly])


async def check_afit(X: Any, y: Any) -> None:
    model = await ahs.AutoClassifier(space=TreesOnly).afit(X, y)
    assert_type(model.best_config_, TreesOnly)


def check_regressor(X: Any, y: Any) -> None:
    default = ahs.AutoRegressor(trials=5).fit(X, y)
    assert_type(default, ahs.AutoRegressor[ahs.RegressorPipeline])
    assert_type(default.best_config_, ahs.RegressorPipeline)
    assert_type(default.score(X, y), float)

    model = ahs.AutoRegressor(space=Linear).fit(X, y)
    assert_type(model.best_config_, Linear)
    assert_type(model.best_config_.alpha, float)
    model.best_config_.alpah  # type: ignore[attr-defined]  # noqa: B018
    ahs.AutoRegressor(space=NotBuildable)  # type: ignore[type-var]


# an explicit type argument works too, and is checked against the space given
explicit: ahs.AutoClassifier[TreesOnly] = ahs.AutoClassifier(space=TreesOnly)
wider: ahs.AutoClassifier[ahs.ClassifierPipeline] = ahs.AutoClassifier(space=TreesOnly)
mismatch: ahs.AutoClassifier[TreesOnly] = ahs.AutoClassifier(space=Linear)  # type: ignore[arg-type]
