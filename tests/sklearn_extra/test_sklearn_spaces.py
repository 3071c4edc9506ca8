"""The ready-made spaces: they compile, sample, round-trip and build working estimators."""

from __future__ import annotations

import ast
import functools
import inspect
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("sklearn")

import attrs
import numpy as np
import numpy.typing as npt
from ahs_helpers import BalancedForest, KnnOnly, QuickClassifiers, SmallForest, TreesOnly
from sklearn.base import is_classifier, is_regressor
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import make_classification, make_regression
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

import asynchyper as ah
import asynchyper.sklearn as ahs
from asynchyper.sklearn._portfolio import (
    CLASSIFIER_PORTFOLIO,
    REGRESSOR_PORTFOLIO,
    portfolio_for,
)

CLASSIFIERS = [
    ahs.SVC,
    ahs.LogisticRegression,
    ahs.KNeighborsClassifier,
    ahs.RandomForestClassifier,
    ahs.ExtraTreesClassifier,
    ahs.HistGradientBoostingClassifier,
    ahs.SGDClassifier,
    ahs.MLPClassifier,
]
REGRESSORS = [
    ahs.SVR,
    ahs.Ridge,
    ahs.ElasticNet,
    ahs.KNeighborsRegressor,
    ahs.RandomForestRegressor,
    ahs.ExtraTreesRegressor,
    ahs.HistGradientBoostingRegressor,
    ahs.SGDRegressor,
    ahs.MLPRegressor,
]
PREPROCESSING = [ahs.StandardScaling, ahs.MinMaxScaling, ahs.RobustScaling, ahs.PCA]
KERNELS = [ahs.RBFKernel, ahs.PolynomialKernel, ahs.SigmoidKernel, ahs.LinearKernel]


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """One BLAS/OpenMP thread: OpenMP spin-waits badly on a busy machine."""
    with threadpool_limits(limits=1):
        yield


def _tiny_classification() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int_]]:
    X, y = make_classification(
        n_samples=90, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    return X, y


def _tiny_regression() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    X, y = make_regression(n_samples=60, n_features=5, noise=0.5, random_state=0)
    return X, y


def _cheap(config: Any) -> Any:
    """Cap the number of trees/rounds/epochs so that a fit on tiny data is quick."""
    caps = {"n_estimators": 10, "max_iter": 30}
    changes = {
        name: min(getattr(config, name), cap)
        for name, cap in caps.items()
        if hasattr(config, name) and not isinstance(config, ahs.SVC | ahs.SVR)
    }
    return attrs.evolve(config, **changes)


def _configs(cls: type[Any], n: int, seed: int = 0) -> list[Any]:
    space = ah.compile_space(cls)
    rng = np.random.default_rng(seed)
    return [space.decode(space.sample(rng)) for _ in range(n)]


def _assert_params_reach_the_estimator(config: Any, estimator: Any) -> None:
    """Every searched field that scikit-learn knows by the same name has its value."""
    params = estimator.get_params()
    space = ah.compile_space(type(config))
    searched = {d.name for d in space.dimensions if not d.is_branch and d.parent is None}
    shared = searched & set(params)
    assert shared  # most fields keep scikit-learn's names
    for name in shared:
        assert params[name] == getattr(config, name), name
    kernel = getattr(config, "kernel", None)
    if kernel is not None:
        assert kernel.params().items() <= params.items()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("cls", CLASSIFIERS + REGRESSORS, ids=lambda c: c.__name__)
def test_every_model_space_builds_its_namesake_and_fits(cls: type[Any]) -> None:
    is_classifier_space = cls in CLASSIFIERS
    X, y = _tiny_classification() if is_classifier_space else _tiny_regression()
    for sampled in _configs(cls, 3):
        config = _cheap(sampled)
        model = config.build()
        assert type(model).__name__ == cls.__name__  # the scikit-learn class of that name
        assert is_classifier(model) is is_classifier_space
        assert is_regressor(model) is not is_classifier_space
        _assert_params_reach_the_estimator(config, model)
        model.fit(X, y)
        predictions = model.predict(X)
        assert predictions.shape == (len(y),)
        if is_classifier_space:
            assert set(np.unique(predictions)) <= set(np.unique(y))


_KERNEL = (
    "kernel",
    "kernel:RBFKernel.gamma",
    "kernel:PolynomialKernel.degree",
    "kernel:PolynomialKernel.gamma",
    "kernel:PolynomialKernel.coef0",
    "kernel:SigmoidKernel.gamma",
    "kernel:SigmoidKernel.coef0",
)
_FOREST = ("n_estimators", "max_features", "max_depth", "min_samples_leaf", "bootstrap")
_BOOSTING = (
    "learning_rate",
    "max_iter",
    "max_leaf_nodes",
    "min_samples_leaf",
    "l2_regularization",
    "max_features",
)
_NEIGHBOURS = ("n_neighbors", "weights", "p")
_PERCEPTRON = ("width", "layers", "activation", "alpha", "learning_rate_init")
_SGD = ("loss", "penalty", "alpha", "l1_ratio")

#: Every model space's searched dimensions and its constant fields with their defaults.
MODEL_FIELDS: dict[type[Any], tuple[set[str], dict[str, Any]]] = {
    ahs.SVC: ({"C", *_KERNEL}, {"max_iter": 200_000}),
    ahs.SVR: ({"C", "epsilon", *_KERNEL}, {"max_iter": 200_000}),
    ahs.LogisticRegression: ({"C", "class_weight"}, {"max_iter": 1000}),
    ahs.Ridge: ({"alpha"}, {}),
    ahs.ElasticNet: ({"alpha", "l1_ratio"}, {"max_iter": 5000}),
    ahs.SGDClassifier: ({*_SGD}, {"max_iter": 1000}),
    ahs.SGDRegressor: ({*_SGD, "eta0"}, {"max_iter": 1000}),
    ahs.KNeighborsClassifier: ({*_NEIGHBOURS}, {}),
    ahs.KNeighborsRegressor: ({*_NEIGHBOURS}, {}),
    ahs.RandomForestClassifier: ({*_FOREST, "criterion"}, {"n_jobs": None}),
    ahs.RandomForestRegressor: ({*_FOREST}, {"n_jobs": None}),
    ahs.ExtraTreesClassifier: ({*_FOREST, "criterion"}, {"n_jobs": None}),
    ahs.ExtraTreesRegressor: ({*_FOREST}, {"n_jobs": None}),
    ahs.HistGradientBoostingClassifier: ({*_BOOSTING}, {}),
    ahs.HistGradientBoostingRegressor: ({*_BOOSTING}, {}),
    ahs.MLPClassifier: ({*_PERCEPTRON}, {"max_iter": 200}),
    ahs.MLPRegressor: ({*_PERCEPTRON}, {"max_iter": 200}),
}


@functools.cache
def _class_statements(module_name: str) -> dict[str, ast.ClassDef]:
    """The top-level class statements of a module, parsed from its source."""
    tree = ast.parse(inspect.getsource(sys.modules[module_name]))
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


def _string_statement(statement: ast.stmt | None) -> str | None:
    """The text of a bare string-literal statement (a docstring), else ``None``."""
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
        value = statement.value.value
        return value if isinstance(value, str) else None
    return None


def _field_docstrings(cls: type[Any]) -> dict[str, str | None]:
    """Each attrs field's attribute docstring, read where the field is declared.

    The declaring class is the first one in ``cls.__mro__`` whose body annotates the
    name (an override re-declares, so it must re-document); ``None`` when the string
    literal right after that declaration is missing.
    """
    declared: dict[str, str | None] = {}
    for klass in cls.__mro__:
        if not attrs.has(klass):
            continue
        body = _class_statements(klass.__module__)[klass.__name__].body
        for statement, following in zip(body, [*body[1:], None], strict=True):
            if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                declared.setdefault(statement.target.id, _string_statement(following))
    return {field.name: declared.get(field.name) for field in attrs.fields(cls)}


@pytest.mark.parametrize("cls", CLASSIFIERS + REGRESSORS, ids=lambda c: c.__name__)
def test_every_model_space_has_exactly_its_expected_fields(cls: type[Any]) -> None:
    searched, constants = MODEL_FIELDS[cls]
    space = ah.compile_space(cls)
    assert set(space.names) == searched
    assert len(space.names) == len(searched)  # no dimension compiled twice
    fields = attrs.fields_dict(cls)
    top_level = {name for name in searched if ":" not in name}
    assert set(fields) == top_level | set(constants)
    assert {name: fields[name].default for name in constants} == constants
    assert all(field.kw_only for field in fields.values())


@pytest.mark.parametrize("cls", CLASSIFIERS + REGRESSORS + KERNELS, ids=lambda c: c.__name__)
def test_every_field_is_documented_once_where_it_is_declared(cls: type[Any]) -> None:
    undocumented = [name for name, doc in _field_docstrings(cls).items() if not doc]
    assert undocumented == []
    # An ``Attributes:`` section would be a second copy of the attribute docstrings.
    sections = [k for k in cls.__mro__ if attrs.has(k) and "Attributes:" in (k.__doc__ or "")]
    assert sections == []


def test_elastic_net_range_spans_from_all_zero_to_nearly_unpenalized() -> None:
    X, y = _tiny_regression()
    y = y * 1000.0 + 50.0  # the pipeline standardizes the target: units do not matter

    def fitted(alpha: float) -> Any:
        config = ahs.RegressorPipeline(
            preprocessing=ahs.StandardScaling(), model=ahs.ElasticNet(alpha=alpha, l1_ratio=1.0)
        )
        return config.build().fit(X, y)

    space = ah.compile_space(ahs.ElasticNet)
    alpha = next(d for d in space.dimensions if d.name == "alpha")
    assert alpha.low is not None
    assert alpha.high is not None
    strongest, weakest = fitted(alpha.high), fitted(alpha.low)
    assert np.all(strongest.regressor_.named_steps["model"].coef_ == 0.0)
    assert weakest.score(X, y) > 0.99


@pytest.mark.parametrize("cls", PREPROCESSING, ids=lambda c: c.__name__)
def test_every_preprocessing_space_builds_and_transforms(cls: type[Any]) -> None:
    X, _ = _tiny_classification()
    for config in _configs(cls, 4):
        out = config.build().fit_transform(X)
        assert out.shape[0] == X.shape[0]
        assert 1 <= out.shape[1] <= X.shape[1]
        assert np.isfinite(out).all()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("kernel", KERNELS, ids=lambda c: c.__name__)
def test_every_svm_kernel_builds_and_fits(kernel: type[Any]) -> None:
    X, y = _tiny_classification()
    (kernel_config,) = _configs(kernel, 1)
    svc = ahs.SVC(C=1.0, kernel=kernel_config).build()
    assert svc.get_params()["kernel"] == kernel_config.params()["kernel"]
    svc.fit(X, y)
    Xr, yr = _tiny_regression()
    ahs.SVR(C=1.0, epsilon=0.1, kernel=kernel_config).build().fit(Xr, yr)


def test_pca_keeps_the_requested_variance() -> None:
    X, _ = _tiny_classification()
    transformer = ahs.PCA(variance=0.6, whiten=False, standardize=False).build().fit(X)
    assert transformer.explained_variance_ratio_.sum() >= 0.6
    assert transformer.n_components_ < X.shape[1]


@pytest.mark.parametrize(
    ("pipeline_cls", "task"),
    [(ahs.ClassifierPipeline, "classifier"), (ahs.RegressorPipeline, "regressor")],
)
def test_pipeline_round_trips_and_builds_50_random_configs(
    pipeline_cls: type[Any], task: str
) -> None:
    space = ah.compile_space(pipeline_cls)
    rng = np.random.default_rng(42)
    models_seen = set()
    for _ in range(50):
        params = space.sample(rng)
        config = space.decode(params)
        assert space.encode(config) == params
        assert space.decode(space.encode(config)) == config
        built = config.build()
        if task == "regressor":
            assert isinstance(built, TransformedTargetRegressor)
            assert is_regressor(built)
            steps = built.regressor
        else:
            assert is_classifier(built)
            steps = built
        assert isinstance(steps, Pipeline)
        assert [name for name, _ in steps.steps] == ["preprocessing", "model"]
        if config.preprocessing is None:
            assert steps.named_steps["preprocessing"] == "passthrough"
        _assert_params_reach_the_estimator(config.model, steps.named_steps["model"])
        models_seen.add(type(config.model))
    assert len(models_seen) >= 6  # the union's branches are all reachable


def test_pipeline_spaces_have_the_documented_branches() -> None:
    space = ah.compile_space(ahs.ClassifierPipeline)
    by_name = {d.name: d for d in space.dimensions}
    assert set(by_name["model"].choices) == {c.__name__ for c in CLASSIFIERS}
    assert set(by_name["preprocessing"].choices) == {c.__name__ for c in PREPROCESSING} | {"None"}
    assert by_name["model:SVC.C"].log
    assert by_name["model:SVC.kernel"].is_branch
    assert by_name["model:SVC.kernel:PolynomialKernel.degree"].parent == "model:SVC.kernel"
    regression = ah.compile_space(ahs.RegressorPipeline)
    assert set({d.name: d for d in regression.dimensions}["model"].choices) == {
        c.__name__ for c in REGRESSORS
    }


def test_narrowing_by_subclass_keeps_only_the_chosen_branches() -> None:
    space = ah.compile_space(TreesOnly)
    names = set(space.names)
    assert "preprocessing" not in names  # a constant now
    assert {d.name: d for d in space.dimensions}["model"].choices == (
        "SmallForest",
        "ExtraTreesClassifier",
    )
    trees = {d.name: d for d in space.dimensions}["model:SmallForest.n_estimators"]
    assert (trees.low, trees.high) == (5, 20)
    rng = np.random.default_rng(0)
    for _ in range(20):
        config = space.decode(space.sample(rng))
        assert config.preprocessing is None
        pipeline = config.build()
        assert pipeline.named_steps["preprocessing"] == "passthrough"
        assert isinstance(config.model, SmallForest | ahs.ExtraTreesClassifier)
    quick = ah.compile_space(QuickClassifiers)
    assert len(quick.dimensions) < len(ah.compile_space(ahs.ClassifierPipeline).dimensions)


def test_a_field_added_by_a_subclass_reaches_the_estimator() -> None:
    space = ah.compile_space(BalancedForest)
    assert set(space.names) == set(ah.compile_space(ahs.RandomForestClassifier).names) | {
        "class_weight"
    }
    for config in _configs(BalancedForest, 5):
        assert config.build().get_params()["class_weight"] == config.class_weight


def test_a_hand_written_space_with_build_is_buildable() -> None:
    (config,) = _configs(KnnOnly, 1)
    assert isinstance(config, ahs.Buildable)
    assert is_classifier(config.build())


def test_with_random_state_seeds_nested_estimators() -> None:
    config = ahs.ClassifierPipeline(
        preprocessing=ahs.PCA(variance=0.9, whiten=False, standardize=True),
        model=_configs(ahs.RandomForestClassifier, 1)[0],
    )
    seeded = ahs.with_random_state(config.build(), 7)
    states = {k: v for k, v in seeded.get_params(deep=True).items() if k.endswith("random_state")}
    assert states
    assert set(states.values()) == {7}
    unchanged = ahs.with_random_state(config.build(), None)
    assert unchanged.named_steps["model"].random_state is None


def test_public_names_equal_all() -> None:
    public = {name for name in vars(ahs) if not name.startswith("_")}
    assert public == set(ahs.__all__)
    assert len(ahs.__all__) == len(set(ahs.__all__))
    undocumented = [
        name
        for name in ahs.__all__
        if not isinstance(getattr(ahs, name), str)
        and not (getattr(ahs, name).__doc__ or "").strip()
    ]
    assert undocumented == []


def test_the_core_package_never_imports_sklearn() -> None:
    code = "import sys, asynchyper; sys.exit('sklearn' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_missing_sklearn_raises_missing_extra_error() -> None:
    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "import asynchyper\n"
        "try:\n"
        "    import asynchyper.sklearn\n"
        "except asynchyper.MissingExtraError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert "pip install 'asynchyper[sklearn]'" in out


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    ("pipeline_cls", "defaults"),
    [
        (ahs.ClassifierPipeline, CLASSIFIER_PORTFOLIO),
        (ahs.RegressorPipeline, REGRESSOR_PORTFOLIO),
    ],
)
def test_the_portfolio_lies_in_its_space_and_fits(
    pipeline_cls: type[Any], defaults: tuple[Any, ...]
) -> None:
    space = ah.compile_space(pipeline_cls)
    configs = portfolio_for(space, defaults)
    assert configs == list(defaults)  # every default is valid and distinct
    assert len({type(c.model) for c in configs}) == len(configs)  # one per family
    X, y = _tiny_classification() if pipeline_cls is ahs.ClassifierPipeline else _tiny_regression()
    for config in configs:
        # Seeded: a capped MLP regressor fell under 0.5 in about 1 of 75 unseeded fits.
        model = ahs.with_random_state(attrs.evolve(config, model=_cheap(config.model)).build(), 0)
        model.fit(X, y)
        assert model.score(X, y) > 0.5


def test_the_portfolio_carries_over_to_a_narrowed_space() -> None:
    trees = portfolio_for(ah.compile_space(TreesOnly), CLASSIFIER_PORTFOLIO)
    assert [type(c.model) for c in trees] == [ahs.ExtraTreesClassifier]  # SmallForest: no
    assert all(type(c) is TreesOnly for c in trees)
    assert all(c.preprocessing is None for c in trees)
    quick = portfolio_for(ah.compile_space(QuickClassifiers), CLASSIFIER_PORTFOLIO)
    assert [type(c.model) for c in quick] == [
        ahs.SVC,
        ahs.LogisticRegression,
        ahs.KNeighborsClassifier,
    ]
    assert portfolio_for(ah.compile_space(KnnOnly), CLASSIFIER_PORTFOLIO) == []
