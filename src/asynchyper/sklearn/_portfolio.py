"""A portfolio of proven default pipelines, evaluated before the search proper.

A conditional space of eight model families is wide: a small random start may
never try the family that suits the data, and TPE then refines the wrong one. Like
auto-sklearn's initial configurations, a few robust defaults (each family near
scikit-learn's own defaults) are evaluated first; they count toward the budget and
seed the suggester's history.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from .._errors import ParameterError
from .._space import Space, compile_space
from ._models import (
    SVC,
    SVR,
    ElasticNet,
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    KNeighborsClassifier,
    KNeighborsRegressor,
    LogisticRegression,
    MLPClassifier,
    MLPRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
    RBFKernel,
    Ridge,
)
from ._pipelines import ClassifierPipeline, RegressorPipeline
from ._preprocessing import StandardScaling

__all__ = ["CLASSIFIER_PORTFOLIO", "REGRESSOR_PORTFOLIO", "portfolio_for"]

T = TypeVar("T")
_ClassifierForest = TypeVar("_ClassifierForest", RandomForestClassifier, ExtraTreesClassifier)
_RegressorForest = TypeVar("_RegressorForest", RandomForestRegressor, ExtraTreesRegressor)
_Boosting = TypeVar("_Boosting", HistGradientBoostingClassifier, HistGradientBoostingRegressor)
_Perceptron = TypeVar("_Perceptron", MLPClassifier, MLPRegressor)

_SCALED = StandardScaling()
# With standardized features the RBF width that suits most data is near 1/n_features;
# 0.02 sits between the common cases (13 to 64 features).
_RBF = RBFKernel(gamma=0.02)


def _classifier_forest(cls: type[_ClassifierForest], *, bootstrap: bool) -> _ClassifierForest:
    """100 fully grown trees, each split choosing among 30 % of the features."""
    return cls(
        n_estimators=100,
        criterion="gini",
        max_features=0.3,
        max_depth=None,
        min_samples_leaf=1,
        bootstrap=bootstrap,
    )


def _regressor_forest(cls: type[_RegressorForest], *, bootstrap: bool) -> _RegressorForest:
    """100 trees on half the features per split, leaves of at least 2 samples."""
    return cls(
        n_estimators=100, max_features=0.5, max_depth=None, min_samples_leaf=2, bootstrap=bootstrap
    )


def _boosting(cls: type[_Boosting]) -> _Boosting:
    """scikit-learn's defaults (its ``l2_regularization=0`` raised to the range's floor)."""
    return cls(
        learning_rate=0.1,
        max_iter=100,
        max_leaf_nodes=31,
        min_samples_leaf=20,
        l2_regularization=1e-6,
        max_features=1.0,
    )


def _perceptron(cls: type[_Perceptron]) -> _Perceptron:
    """scikit-learn's defaults: one hidden layer of 100 ReLU units."""
    return cls(width=100, layers=1, activation="relu", alpha=1e-4, learning_rate_init=1e-3)


#: Default classifier pipelines, most robust first.
CLASSIFIER_PORTFOLIO: tuple[ClassifierPipeline, ...] = (
    ClassifierPipeline(preprocessing=_SCALED, model=SVC(C=10.0, kernel=_RBF)),
    ClassifierPipeline(
        preprocessing=None, model=_classifier_forest(ExtraTreesClassifier, bootstrap=False)
    ),
    ClassifierPipeline(preprocessing=None, model=_boosting(HistGradientBoostingClassifier)),
    ClassifierPipeline(preprocessing=_SCALED, model=LogisticRegression(C=1.0, class_weight=None)),
    ClassifierPipeline(
        preprocessing=None, model=_classifier_forest(RandomForestClassifier, bootstrap=True)
    ),
    ClassifierPipeline(preprocessing=_SCALED, model=_perceptron(MLPClassifier)),
    ClassifierPipeline(
        preprocessing=_SCALED, model=KNeighborsClassifier(n_neighbors=5, weights="distance", p=2)
    ),
)

#: Default regressor pipelines, most robust first.
REGRESSOR_PORTFOLIO: tuple[RegressorPipeline, ...] = (
    RegressorPipeline(preprocessing=_SCALED, model=SVR(C=1.0, epsilon=0.1, kernel=_RBF)),
    RegressorPipeline(
        preprocessing=None, model=_regressor_forest(ExtraTreesRegressor, bootstrap=False)
    ),
    RegressorPipeline(preprocessing=None, model=_boosting(HistGradientBoostingRegressor)),
    RegressorPipeline(preprocessing=_SCALED, model=Ridge(alpha=1.0)),
    # The target is standardized, so alpha=0.01 is ~1% of the alpha that zeroes every
    # coefficient (LassoCV's grid spans three decades below it).
    RegressorPipeline(preprocessing=_SCALED, model=ElasticNet(alpha=0.01, l1_ratio=0.5)),
    RegressorPipeline(
        preprocessing=None, model=_regressor_forest(RandomForestRegressor, bootstrap=True)
    ),
    RegressorPipeline(preprocessing=_SCALED, model=_perceptron(MLPRegressor)),
    RegressorPipeline(
        preprocessing=_SCALED, model=KNeighborsRegressor(n_neighbors=10, weights="distance", p=2)
    ),
)


def portfolio_for(space: Space[T], defaults: Sequence[Any]) -> list[T]:
    """The defaults that exist in ``space``, as instances of its class.

    A default is carried over through its flat parameters, so it also fits a
    narrowed space that keeps the same field and class names (e.g. a subclass of
    :class:`ClassifierPipeline` whose ``model`` is a smaller union): parameters the
    space does not have are dropped, and a default that then does not decode (its
    model is not in the union, a value is out of a narrowed range) is skipped.

    Args:
        space: The compiled space being searched.
        defaults: Default configurations of a ready-made pipeline space.

    Returns:
        The distinct configurations of ``space``, in portfolio order.
    """
    names = set(space.names)
    configs: list[T] = []
    seen: list[dict[str, Any]] = []
    for default in defaults:
        params = compile_space(type(default)).encode(default)
        kept = {name: value for name, value in params.items() if name in names}
        try:
            config = space.decode(kept)
        except ParameterError:
            continue
        normalised = space.encode(config)
        if normalised not in seen:
            seen.append(normalised)
            configs.append(config)
    return configs
