"""Benchmark problems for ``quality.py``: spaces, objectives, budgets and targets.

Every problem is an attrs space plus a loss of the flat parameters, so that every
method sees the very same problem: Optuna and hyperopt get the space translated from
``Space.dimensions`` (see ``peers.py``). Hyperopt's own test domains
(``hyperopt/tests/unit/test_domains.py``) use unbounded priors (normal, lognormal);
here they are bounded at about three standard deviations, the same for every method.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

import attrs
import numpy as np

import asynchyper as ah
from asynchyper._types import JSONScalar

Params = Mapping[str, JSONScalar]


@attrs.frozen(kw_only=True)
class Problem:
    """One benchmark problem.

    Attributes:
        name: Short name used on the command line.
        space: The attrs class of the search space.
        loss: Loss of flat parameters (lower is better); ``seed`` makes noisy ones
            reproducible.
        budget: Trials per run.
        optimum: Best achievable loss, if known.
        threshold: Pass if the best loss is below this (hyperopt's test domains).
        conditional: Whether the space has union fields.
        hyperopt_options: Keyword options hyperopt's own test passes to ``tpe.suggest``.
    """

    name: str
    space: type[Any]
    loss: Callable[[Params, np.random.Generator], float]
    budget: int
    optimum: float | None = None
    threshold: float | None = None
    conditional: bool = False
    hyperopt_options: dict[str, Any] = attrs.field(factory=dict)


def _f(params: Params, name: str) -> float:
    value = params[name]
    assert isinstance(value, int | float)
    return float(value)


def _vector(params: Params, prefix: str, d: int) -> np.ndarray:
    return np.array([_f(params, f"{prefix}{i}") for i in range(d)])


# -- classic test functions ----------------------------------------------------------
@attrs.frozen(kw_only=True)
class BraninSpace:
    x: Annotated[float, ah.Float(-5.0, 10.0)]
    y: Annotated[float, ah.Float(0.0, 15.0)]


def branin(params: Params, _: np.random.Generator) -> float:
    """Branin-Hoo; minimum 0.397887 at three points."""
    x, y = _f(params, "x"), _f(params, "y")
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (y - b * x**2 + c * x - 6) ** 2 + 10 * (1 - t) * math.cos(x) + 10


Unit = Annotated[float, ah.Float(0.0, 1.0)]


@attrs.frozen(kw_only=True)
class Hartmann6Space:
    x0: Unit
    x1: Unit
    x2: Unit
    x3: Unit
    x4: Unit
    x5: Unit


_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)


def hartmann6(params: Params, _: np.random.Generator) -> float:
    """Hartmann 6-d; minimum -3.32237."""
    x = _vector(params, "x", 6)
    return float(-np.sum(_H6_ALPHA * np.exp(-np.sum(_H6_A * (x - _H6_P) ** 2, axis=1))))


Wide = Annotated[float, ah.Float(-5.0, 10.0)]


@attrs.frozen(kw_only=True)
class Rosenbrock10Space:
    x0: Wide
    x1: Wide
    x2: Wide
    x3: Wide
    x4: Wide
    x5: Wide
    x6: Wide
    x7: Wide
    x8: Wide
    x9: Wide


def rosenbrock10(params: Params, _: np.random.Generator) -> float:
    """Rosenbrock in 10-d on [-5, 10]^10; minimum 0 at (1, ..., 1)."""
    x = _vector(params, "x", 10)
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


AckleyRange = Annotated[float, ah.Float(-32.768, 32.768)]


@attrs.frozen(kw_only=True)
class Ackley10Space:
    x0: AckleyRange
    x1: AckleyRange
    x2: AckleyRange
    x3: AckleyRange
    x4: AckleyRange
    x5: AckleyRange
    x6: AckleyRange
    x7: AckleyRange
    x8: AckleyRange
    x9: AckleyRange


def ackley10(params: Params, _: np.random.Generator) -> float:
    """Ackley in 10-d; minimum 0 at the origin."""
    x = _vector(params, "x", 10)
    a = -20 * math.exp(-0.2 * math.sqrt(float(np.mean(x**2))))
    return a - math.exp(float(np.mean(np.cos(2 * math.pi * x)))) + 20 + math.e


# -- hyperopt's test domains -------------------------------------------------------
@attrs.frozen(kw_only=True)
class Quadratic1Space:
    x: Annotated[float, ah.Float(-5.0, 5.0)]


def quadratic1(params: Params, _: np.random.Generator) -> float:
    """``(x - 3)^2``."""
    return (_f(params, "x") - 3.0) ** 2


@attrs.frozen(kw_only=True)
class Q1LognormalSpace:
    # hp.lognormal("x", 0, 2): the same prior, bounded at 3 sigma (exp(+-6)).
    x: Annotated[float, ah.Float(math.exp(-6), math.exp(6), log=True, mu=0.0, sigma=2.0)]


def q1_lognormal(params: Params, _: np.random.Generator) -> float:
    """``min(0.1 (x - 10)^2, 10)``."""
    return min(0.1 * (_f(params, "x") - 10.0) ** 2, 10.0)


@attrs.frozen(kw_only=True)
class DistractorSpace:
    x: Annotated[float, ah.Float(-15.0, 15.0)]


def distractor(params: Params, _: np.random.Generator) -> float:
    """A broad asymptote that hides a narrow, deeper spike at ``x = -10``."""
    x = _f(params, "x")
    return -1 / (1 + math.exp(-x)) - 2 * math.exp(-((x + 10) ** 2))


@attrs.frozen(kw_only=True)
class GaussWave2Space:
    x: Annotated[float, ah.Float(-20.0, 20.0)]
    amp: Annotated[float, ah.Float(0.0, 1.0)]
    hf: Literal["flat", "wave"]


def gauss_wave2(params: Params, rng: np.random.Generator) -> float:
    """Noisy Gaussian bump, optionally plus a sine of variable amplitude."""
    x = _f(params, "x")
    t = float(rng.normal(0.0, 0.1)) + 2 * math.exp(-((x / 5) ** 2))
    if params["hf"] == "wave":
        t += math.sin(x) * _f(params, "amp")
    return -t


@attrs.frozen(kw_only=True)
class ManyDistsSpace:
    a: Annotated[int, ah.Categorical([0, 1, 2])]
    b: Annotated[int, ah.Int(0, 9)]
    bb: Annotated[int, ah.Int(12, 24)]
    c: Annotated[float, ah.Float(4.0, 7.0)]
    d: Annotated[float, ah.Float(math.exp(-2), 1.0, log=True)]
    e: Annotated[int, ah.Int(0, 9, step=3)]
    f: Annotated[int, ah.Int(0, 20, step=2)]
    # Hyperopt's normal, lognormal and qnormal: the same priors, bounded at 3 sigma.
    g: Annotated[float, ah.Float(4.0 - 21.0, 4.0 + 21.0, mu=4.0, sigma=7.0)]
    h: Annotated[float, ah.Float(math.exp(-8), math.exp(4), log=True, mu=-2.0, sigma=2.0)]
    i: Annotated[float, ah.Float(-30.0, 30.0, step=2.0, mu=0.0, sigma=10.0)]
    # qlognormal(0, 2, 1): a log-uniform integer (Optuna takes no step on a log float).
    j: Annotated[int, ah.Int(1, 400, log=True)]
    k: Annotated[int, ah.Categorical([0, 1], weights=[0.1, 0.9])]  # pchoice


_MANY_NAMES = ("a", "b", "bb", "c", "d", "e", "f", "g", "h", "i", "j", "k")


def many_dists(params: Params, _: np.random.Generator) -> float:
    """``log(1e-12 + z^2)`` of the sum of twelve mixed parameters."""
    z = sum(
        _f(params, name) for name in ("a", "b", "bb", "c", "d", "e", "f", "g", "h", "i", "j", "k")
    )
    return math.log(1e-12 + z**2)


# -- conditional spaces ------------------------------------------------------------
@attrs.frozen(kw_only=True)
class Bowl:
    """Four coupled floats; best value 0.3."""

    u0: Annotated[float, ah.Float(-5.0, 5.0)]
    u1: Annotated[float, ah.Float(-5.0, 5.0)]
    u2: Annotated[float, ah.Float(-5.0, 5.0)]
    u3: Annotated[float, ah.Float(-5.0, 5.0)]


@attrs.frozen(kw_only=True)
class Small:
    w: Annotated[float, ah.Float(0.0, 1.0)]


@attrs.frozen(kw_only=True)
class Large:
    w: Annotated[float, ah.Float(0.0, 10.0)]
    k: Annotated[int, ah.Int(1, 8)]


@attrs.frozen(kw_only=True)
class Tree:
    """A nested branch that holds the global optimum (0) in ``leaf=Large``."""

    depth: Annotated[int, ah.Int(1, 10)]
    rate: Annotated[float, ah.Float(1e-4, 1.0, log=True)]
    leaf: Small | Large


@attrs.frozen(kw_only=True)
class Lin:
    """One float; best value 0.6 (a trap: easy to find, not the best)."""

    v: Annotated[float, ah.Float(0.0, 1.0)]


@attrs.frozen(kw_only=True)
class ConditionalSyntheticSpace:
    model: Bowl | Tree | Lin
    shift: Annotated[float, ah.Float(-1.0, 1.0)]


def conditional_synthetic(params: Params, _: np.random.Generator) -> float:
    """Three model families with different optima; the best sits two levels deep.

    ``shift`` is shared: every branch wants it near 0.25.
    """
    shared = (_f(params, "shift") - 0.25) ** 2
    model = params["model"]
    if model == "Bowl":
        u = _vector(params, "model:Bowl.u", 4)
        coupled = (u[0] - 1) ** 2 + (u[1] - u[0] ** 2) ** 2 + (u[2] + 1) ** 2 + (u[3] - u[2]) ** 2
        return 0.3 + 0.05 * float(coupled) + shared
    if model == "Lin":
        return 0.6 + 0.5 * abs(_f(params, "model:Lin.v") - 0.5) + shared
    depth = _f(params, "model:Tree.depth")
    rate = _f(params, "model:Tree.rate")
    base = 0.1 * abs(depth - 7) + 0.2 * abs(math.log10(rate) + 2)
    if params["model:Tree.leaf"] == "Small":
        return 0.5 + base + abs(_f(params, "model:Tree.leaf:Small.w") - 0.9) + shared
    w, k = _f(params, "model:Tree.leaf:Large.w"), _f(params, "model:Tree.leaf:Large.k")
    return base + 0.1 * abs(w - 3.3) + 0.1 * abs(k - 5) + shared


@attrs.frozen(kw_only=True)
class LogReg:
    C: Annotated[float, ah.Float(1e-4, 1e4, log=True)]
    penalty: Literal["l1", "l2"]


@attrs.frozen(kw_only=True)
class SVC:
    C: Annotated[float, ah.Float(1e-3, 1e4, log=True)]
    gamma: Annotated[float, ah.Float(1e-5, 1.0, log=True)]


@attrs.frozen(kw_only=True)
class KNN:
    n_neighbors: Annotated[int, ah.Int(1, 50, log=True)]
    weights: Literal["uniform", "distance"]


@attrs.frozen(kw_only=True)
class DecisionTree:
    max_depth: Annotated[int, ah.Int(1, 20)]
    min_samples_leaf: Annotated[int, ah.Int(1, 50, log=True)]


@attrs.frozen(kw_only=True)
class SklearnSpace:
    model: LogReg | SVC | KNN | DecisionTree
    scale: bool


@attrs.frozen(kw_only=True)
class Ridge:
    alpha: Annotated[float, ah.Float(1e-4, 1e4, log=True)]


@attrs.frozen(kw_only=True)
class SVR:
    C: Annotated[float, ah.Float(1e-2, 1e3, log=True)]
    gamma: Annotated[float, ah.Float(1e-4, 10.0, log=True)]
    epsilon: Annotated[float, ah.Float(1e-3, 1.0, log=True)]


@attrs.frozen(kw_only=True)
class KNNRegressor:
    n_neighbors: Annotated[int, ah.Int(1, 60, log=True)]
    weights: Literal["uniform", "distance"]


@attrs.frozen(kw_only=True)
class TreeRegressor:
    max_depth: Annotated[int, ah.Int(1, 20)]
    min_samples_leaf: Annotated[int, ah.Int(1, 60, log=True)]


@attrs.frozen(kw_only=True)
class PCA:
    n_components: Annotated[int, ah.Int(1, 10)]


@attrs.frozen(kw_only=True)
class RegressionSpace:
    model: Ridge | SVR | KNNRegressor | TreeRegressor
    pre: PCA | None


@functools.cache
def _dataset(name: str) -> tuple[Any, Any, Any]:
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits  # noqa: PLC0415
    from sklearn.model_selection import KFold, StratifiedKFold  # noqa: PLC0415

    if name == "diabetes":
        x, y = load_diabetes(return_X_y=True)
        folds = list(KFold(n_splits=3, shuffle=True, random_state=0).split(x))
        return x, (y - y.mean()) / y.std(), folds
    x, y = (load_breast_cancer if name == "cancer" else load_digits)(return_X_y=True)
    folds = list(StratifiedKFold(n_splits=3, shuffle=True, random_state=0).split(x, y))
    return x, y, folds


def _fold_scores(estimator: Any, dataset: str, score: Callable[[Any, Any], Any]) -> list[float]:
    """``score(predicted, true)`` on each held-out fold of ``dataset``."""
    x, y, folds = _dataset(dataset)
    return [
        float(np.mean(score(estimator.fit(x[train], y[train]).predict(x[test]), y[test])))
        for train, test in folds
    ]


def _classifier(dataset: str, params: Params) -> Any:
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
    from sklearn.multiclass import OneVsRestClassifier  # noqa: PLC0415
    from sklearn.neighbors import KNeighborsClassifier  # noqa: PLC0415
    from sklearn.pipeline import make_pipeline  # noqa: PLC0415
    from sklearn.preprocessing import StandardScaler  # noqa: PLC0415
    from sklearn.svm import SVC as SupportVectors  # noqa: PLC0415
    from sklearn.tree import DecisionTreeClassifier  # noqa: PLC0415

    model = params["model"]
    estimator: Any
    if model == "LogReg":
        estimator = LogisticRegression(
            C=_f(params, "model:LogReg.C"),
            penalty=params["model:LogReg.penalty"],
            solver="liblinear",
            max_iter=200,
            random_state=0,  # liblinear shuffles: unseeded, a repeat could score differently
        )
        if dataset == "digits":  # liblinear fits two classes: one per digit, then
            estimator = OneVsRestClassifier(estimator)
    elif model == "SVC":
        estimator = SupportVectors(C=_f(params, "model:SVC.C"), gamma=_f(params, "model:SVC.gamma"))
    elif model == "KNN":
        estimator = KNeighborsClassifier(
            n_neighbors=int(_f(params, "model:KNN.n_neighbors")),
            weights=params["model:KNN.weights"],
        )
    else:
        estimator = DecisionTreeClassifier(
            max_depth=int(_f(params, "model:DecisionTree.max_depth")),
            min_samples_leaf=int(_f(params, "model:DecisionTree.min_samples_leaf")),
            random_state=0,
        )
    return make_pipeline(StandardScaler(), estimator) if params["scale"] else estimator


def _regressor(params: Params) -> Any:
    from sklearn.decomposition import PCA as Projection  # noqa: PLC0415
    from sklearn.linear_model import Ridge as RidgeRegression  # noqa: PLC0415
    from sklearn.neighbors import KNeighborsRegressor  # noqa: PLC0415
    from sklearn.pipeline import make_pipeline  # noqa: PLC0415
    from sklearn.preprocessing import StandardScaler  # noqa: PLC0415
    from sklearn.svm import SVR as SupportVectorRegression  # noqa: PLC0415
    from sklearn.tree import DecisionTreeRegressor  # noqa: PLC0415

    model = params["model"]
    estimator: Any
    if model == "Ridge":
        estimator = RidgeRegression(alpha=_f(params, "model:Ridge.alpha"))
    elif model == "SVR":
        estimator = SupportVectorRegression(
            C=_f(params, "model:SVR.C"),
            gamma=_f(params, "model:SVR.gamma"),
            epsilon=_f(params, "model:SVR.epsilon"),
        )
    elif model == "KNNRegressor":
        estimator = KNeighborsRegressor(
            n_neighbors=int(_f(params, "model:KNNRegressor.n_neighbors")),
            weights=params["model:KNNRegressor.weights"],
        )
    else:
        estimator = DecisionTreeRegressor(
            max_depth=int(_f(params, "model:TreeRegressor.max_depth")),
            min_samples_leaf=int(_f(params, "model:TreeRegressor.min_samples_leaf")),
            random_state=0,
        )
    steps: list[Any] = [StandardScaler()]
    if params["pre"] == "PCA":
        steps.append(Projection(n_components=int(_f(params, "pre:PCA.n_components"))))
    return make_pipeline(*steps, estimator)


@functools.cache
def _sklearn_error(dataset: str, key: tuple[tuple[str, JSONScalar], ...]) -> float:
    params = dict(key)
    if dataset == "diabetes":
        squared = _fold_scores(_regressor(params), dataset, lambda p, t: (p - t) ** 2)
        return float(np.mean(squared))
    accuracy = _fold_scores(_classifier(dataset, params), dataset, lambda p, t: p == t)
    return 1.0 - float(np.mean(accuracy))


def _sklearn_loss(dataset: str, params: Params) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Rounded floats make repeated configurations hit the cache.
        key = tuple(
            sorted(
                (name, round(value, 6) if isinstance(value, float) else value)
                for name, value in params.items()
            )
        )
        return _sklearn_error(dataset, key)


def sklearn_cancer(params: Params, _: np.random.Generator) -> float:
    """3-fold CV error of four scikit-learn model families on the breast-cancer data."""
    return _sklearn_loss("cancer", params)


def sklearn_digits(params: Params, _: np.random.Generator) -> float:
    """3-fold CV error of the same four model families on the 8x8 digits (10 classes).

    Less of a floor than breast cancer: an RBF SVM reaches 0.9 % error only in a narrow
    band of ``gamma``, the nearest neighbours stop at about 1.3 %.
    """
    return _sklearn_loss("digits", params)


def sklearn_diabetes(params: Params, _: np.random.Generator) -> float:
    """3-fold CV mean squared error (standardised target) on the diabetes regression data.

    Model choice (ridge, RBF support vectors, nearest neighbours, a tree) with optional
    PCA pre-processing. Unlike the two classification errors above, the loss is
    continuous, so it has no floor of tied values: a ridge regression reaches about 0.50
    almost anywhere, the support vectors reach about 0.485 along a narrow
    ``C``-``gamma`` ridge.
    """
    return _sklearn_loss("diabetes", params)


PROBLEMS: dict[str, Problem] = {
    p.name: p
    for p in [
        Problem(
            name="branin",
            space=BraninSpace,
            loss=branin,
            budget=200,
            optimum=0.397887,
            threshold=0.7,  # hyperopt's test domain "branin"
        ),
        Problem(
            name="hartmann6", space=Hartmann6Space, loss=hartmann6, budget=200, optimum=-3.32237
        ),
        Problem(
            name="rosenbrock10", space=Rosenbrock10Space, loss=rosenbrock10, budget=200, optimum=0
        ),
        Problem(name="ackley10", space=Ackley10Space, loss=ackley10, budget=200, optimum=0),
        Problem(
            name="quadratic1",
            space=Quadratic1Space,
            loss=quadratic1,
            budget=1000,
            threshold=1e-5,
            optimum=0,
            hyperopt_options={"n_EI_candidates": 5},
        ),
        Problem(
            name="q1_lognormal",
            space=Q1LognormalSpace,
            loss=q1_lognormal,
            budget=250,
            threshold=0.01,
            optimum=0,
        ),
        Problem(
            name="distractor",
            space=DistractorSpace,
            loss=distractor,
            budget=100,
            threshold=-1.96,
            optimum=-2.0,
            hyperopt_options={"gamma": 0.05, "prior_weight": 0.01, "n_EI_candidates": 15},
        ),
        Problem(
            name="gauss_wave2",
            space=GaussWave2Space,
            loss=gauss_wave2,
            budget=75,
            threshold=-2.0,
        ),
        Problem(
            name="many_dists",
            space=ManyDistsSpace,
            loss=many_dists,
            budget=200,
            threshold=0.0005,
        ),
        Problem(
            name="cond_synthetic",
            space=ConditionalSyntheticSpace,
            loss=conditional_synthetic,
            budget=150,
            optimum=0.0,
            conditional=True,
        ),
        Problem(
            name="sklearn_cancer",
            space=SklearnSpace,
            loss=sklearn_cancer,
            budget=80,
            conditional=True,
        ),
        Problem(
            name="sklearn_digits",
            space=SklearnSpace,
            loss=sklearn_digits,
            budget=60,
            conditional=True,
        ),
        Problem(
            name="sklearn_diabetes",
            space=RegressionSpace,
            loss=sklearn_diabetes,
            budget=60,
            conditional=True,
        ),
    ]
}
