"""Narrowed spaces and toy estimators shared by the scikit-learn tests.

Module level, so that type hints resolve and worker processes can unpickle them.
The directory has no ``__init__.py`` on purpose: a package named ``sklearn`` would
shadow scikit-learn itself.
"""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

import attrs
import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin

import asynchyper as ah
from asynchyper.sklearn import (
    SVC,
    ClassifierPipeline,
    ExtraTreesClassifier,
    KNeighborsClassifier,
    KNeighborsRegressor,
    LogisticRegression,
    MinMaxScaling,
    MLPClassifier,
    RandomForestClassifier,
    RegressorPipeline,
    Ridge,
    StandardScaling,
)


@attrs.frozen(kw_only=True)
class SmallForest(RandomForestClassifier):
    """A random forest narrowed to a few trees, for fast tests."""

    n_estimators: Annotated[int, ah.Int(5, 20)]


@attrs.frozen(kw_only=True)
class BalancedForest(RandomForestClassifier):
    """A random forest that also searches a parameter the ready-made space keeps constant."""

    class_weight: Literal[None, "balanced", "balanced_subsample"]


@attrs.frozen(kw_only=True)
class QuickClassifiers(ClassifierPipeline):
    """Cheap classifiers only: a pipeline space narrowed by subclassing."""

    preprocessing: StandardScaling | MinMaxScaling | None
    model: LogisticRegression | KNeighborsClassifier | SmallForest | SVC


@attrs.frozen(kw_only=True)
class TreesOnly(ClassifierPipeline):
    """No pre-processing, tree models only (the documented narrowing example)."""

    preprocessing: None = None
    model: SmallForest | ExtraTreesClassifier


@attrs.frozen(kw_only=True)
class QuickRegressors(RegressorPipeline):
    """Cheap regressors only."""

    preprocessing: StandardScaling | None
    model: Ridge | KNeighborsRegressor


@attrs.frozen(kw_only=True)
class KnnOnly:
    """A hand-written space (not a pipeline subclass): one model, a build() method."""

    model: KNeighborsClassifier

    def build(self) -> Any:
        """Build the model alone."""
        return self.model.build()


@attrs.frozen(kw_only=True)
class NoBuild:
    """A space without build(): the estimators must reject it."""

    C: Annotated[float, ah.Float(0.1, 1.0)]


class SlowClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Predicts the majority class; ``fit`` sleeps ``delay`` seconds."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    def fit(self, X: Any, y: Any) -> SlowClassifier:
        time.sleep(self.delay)
        values, counts = np.unique(y, return_counts=True)
        self.classes_ = values
        self.majority_ = values[int(np.argmax(counts))]
        return self

    def predict(self, X: Any) -> npt.NDArray[Any]:
        return np.full(len(X), self.majority_)


class BrokenClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Always fails to fit."""

    def fit(self, X: Any, y: Any) -> BrokenClassifier:
        msg = "this model cannot be fitted"
        raise RuntimeError(msg)

    def predict(self, X: Any) -> npt.NDArray[Any]:
        raise NotImplementedError


@attrs.frozen(kw_only=True)
class SlowOrFast:
    """Trials that take 3 s (``slow``) or no time: for trial_timeout."""

    slow: bool

    def build(self) -> Any:
        """A classifier that sleeps when ``slow``."""
        return SlowClassifier(delay=3.0 if self.slow else 0.0)


@attrs.frozen(kw_only=True)
class AlwaysSlow:
    """Every trial's folds sleep 0.1 s each: for a trial_timeout every trial exceeds."""

    C: Annotated[float, ah.Float(0.1, 1.0)]

    def build(self) -> Any:
        """A classifier whose fit sleeps."""
        return SlowClassifier(delay=0.1)


@attrs.frozen(kw_only=True)
class AlwaysBroken:
    """Every trial fails."""

    C: Annotated[float, ah.Float(0.1, 1.0)]

    def build(self) -> Any:
        """A classifier whose fit raises."""
        return BrokenClassifier()


class Dummy(BaseEstimator):  # type: ignore[misc]
    """Neither a classifier nor a regressor."""

    def fit(self, X: Any, y: Any) -> Dummy:
        return self


@attrs.frozen(kw_only=True)
class BuildsTransformer:
    """Builds something that is neither a classifier nor a regressor."""

    flag: bool

    def build(self) -> Any:
        """Not a predictor."""
        return Dummy()


@attrs.frozen(kw_only=True)
class BuildsNonEstimator:
    """Builds something without a fit method."""

    flag: bool

    def build(self) -> Any:
        """Not an estimator at all."""
        return "not an estimator"


@attrs.frozen(kw_only=True)
class TwoEpochMLP(MLPClassifier):
    """An MLP stopped long before it converges: it warns (ConvergenceWarning) on fit."""

    max_iter: int = 2


@attrs.frozen(kw_only=True)
class BarelyTrained(ClassifierPipeline):
    """Only the two-epoch MLP, after standard scaling."""

    preprocessing: StandardScaling
    model: TwoEpochMLP


@attrs.frozen(kw_only=True)
class SVCOnly(ClassifierPipeline):
    """Standard scaling and an SVC, which has decision_function but no predict_proba."""

    preprocessing: StandardScaling
    model: SVC
