"""Bad input fails with a clear asynchyper error before any trial runs."""

from __future__ import annotations

import multiprocessing
import warnings
from typing import Any

import pytest

pytest.importorskip("sklearn")

import numpy as np
import numpy.typing as npt
from ahs_helpers import BuildsNonEstimator, BuildsTransformer, NoBuild
from scipy import sparse
from sklearn.datasets import load_iris
from sklearn.exceptions import DataConversionWarning

import asynchyper as ah
import asynchyper.sklearn as ahs
import asynchyper.sklearn._estimator as estimator_module


@pytest.fixture
def no_search(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Replace the search so that a test fails if any trial would run."""
    calls: list[Any] = []

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        calls.append((args, kwargs))
        msg = "a study would have been opened"
        raise AssertionError(msg)

    monkeypatch.setattr(estimator_module, "open_study_created", forbidden)
    return calls


def _iris() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int_]]:
    X, y = load_iris(return_X_y=True)
    return X, y


def _classify(X: Any, y: Any, **options: Any) -> None:
    ahs.AutoClassifier(trials=2, executor="thread", **options).fit(X, y)


def _regress(X: Any, y: Any, **options: Any) -> None:
    ahs.AutoRegressor(trials=2, executor="thread", **options).fit(X, y)


def test_errors_are_value_errors_of_asynchyper() -> None:
    assert issubclass(ahs.DataError, ah.AsynchyperError)
    assert issubclass(ahs.DataError, ValueError)
    assert issubclass(ahs.SpaceTaskError, ah.SearchSpaceError)
    assert issubclass(ahs.SpaceTaskError, ValueError)
    assert issubclass(ahs.SearchFailedError, ah.AsynchyperError)


def test_non_numeric_column_is_named(no_search: list[Any]) -> None:
    X, y = _iris()
    mixed = X.astype(object)
    mixed[5, 2] = "red"
    with pytest.raises(ahs.DataError, match=r"column 2 holds non-numeric values such as 'red'"):
        _classify(mixed, y)
    with pytest.raises(ahs.DataError, match="OneHotEncoder"):
        _classify(mixed, y)
    text = np.array([["a", "b"]] * 10)
    with pytest.raises(ahs.DataError, match="non-numeric"):
        _classify(text, [0, 1] * 5)
    assert no_search == []


def test_a_value_neither_number_nor_string_is_a_type_error(no_search: list[Any]) -> None:
    # As scikit-learn's check_array: a string is a ValueError, a dict a TypeError.
    X, y = _iris()
    mixed = X.astype(object)
    mixed[4, 1] = {"foo": "bar"}
    with pytest.raises(
        ahs.DataTypeError, match=r"column 1 holds \{'foo': 'bar'\} \(dict\)"
    ) as info:
        _classify(mixed, y)
    assert isinstance(info.value, TypeError)
    assert isinstance(info.value, ahs.DataError)
    mixed[4, 1] = "red"
    with pytest.raises(ahs.DataError) as text:
        _classify(mixed, y)
    assert not isinstance(text.value, TypeError)
    assert no_search == []


def test_missing_values_in_x_are_counted_and_located(no_search: list[Any]) -> None:
    X, y = _iris()
    X = X.copy()
    X[[3, 7], 1] = np.nan
    with pytest.raises(ahs.DataError, match=r"2 missing \(NaN\) value\(s\) in column\(s\) 1"):
        _classify(X, y)
    with pytest.raises(ahs.DataError, match="SimpleImputer"):
        _regress(X, np.arange(len(X), dtype=float))
    with_none = X.astype(object)
    with_none[0, 0] = None
    with pytest.raises(ahs.DataError, match="missing values"):
        _classify(with_none, y)
    assert no_search == []


def test_infinite_values_in_x(no_search: list[Any]) -> None:
    X, y = _iris()
    X = X.copy()
    X[0, 3] = np.inf
    with pytest.raises(ahs.DataError, match=r"1 infinite value\(s\) in column\(s\) 3"):
        _classify(X, y)


def test_shape_problems(no_search: list[Any]) -> None:
    X, y = _iris()
    with pytest.raises(ahs.DataError, match=r"1-D .*reshape\(-1, 1\)"):
        _classify(X[:, 0], y)
    with pytest.raises(ahs.DataError, match="X has 150 samples but y has 149"):
        _classify(X, y[:-1])
    with pytest.raises(ahs.DataError, match="empty"):
        _classify(np.empty((0, 3)), [])
    with pytest.raises(ahs.DataError, match="sparse"):
        _classify(sparse.csr_matrix(X), y)
    with pytest.raises(ahs.DataError, match="1-D"):
        _classify(X, np.stack([y, y], axis=1))
    assert no_search == []


def test_missing_values_in_y(no_search: list[Any]) -> None:
    X, y = _iris()
    target = y.astype(float)
    target[4] = np.nan
    with pytest.raises(ahs.DataError, match=r"y has 1 missing \(NaN\) value"):
        _classify(X, target)
    with pytest.raises(ahs.DataError, match=r"y has 1 missing \(NaN\) value"):
        _regress(X, target)
    labels = y.astype(object)
    labels[0] = None
    with pytest.raises(ahs.DataError, match="missing value"):
        _classify(X, labels)
    assert no_search == []


def test_single_class(no_search: list[Any]) -> None:
    X, _ = _iris()
    with pytest.raises(ahs.DataError, match="single class"):
        _classify(X, np.ones(len(X), dtype=int))
    assert no_search == []


def test_classifier_on_a_continuous_target_points_to_auto_regressor(
    no_search: list[Any],
) -> None:
    X, _ = _iris()
    y = np.linspace(0.0, 10.0, len(X))
    with pytest.raises(ahs.DataError, match="AutoRegressor"):
        _classify(X, y)
    counts = np.arange(len(X)) % 60  # integers, but a quantity: 60 values, few samples each
    with pytest.raises(ahs.DataError, match=r"60 distinct numbers.*use AutoRegressor"):
        _classify(X, counts)


def test_regressor_on_class_labels_points_to_auto_classifier(no_search: list[Any]) -> None:
    X, y = _iris()
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    with pytest.raises(ahs.DataError, match=r"'setosa'.*AutoClassifier"):
        _regress(X, names)
    with pytest.raises(ahs.DataError, match=r"booleans.*AutoClassifier"):
        _regress(X, y == 1)
    with pytest.raises(ahs.DataError, match="constant"):
        _regress(X, np.full(len(X), 2.5))
    assert no_search == []


def test_space_of_the_wrong_task(no_search: list[Any]) -> None:
    X, y = _iris()
    with pytest.raises(ahs.SpaceTaskError, match=r"needs a classifier space.*AutoRegressor"):
        _classify(X, y, space=ahs.RegressorPipeline)
    with pytest.raises(ahs.SpaceTaskError, match=r"needs a regressor space.*AutoClassifier"):
        _regress(X, X[:, 0], space=ahs.ClassifierPipeline)
    assert no_search == []


def test_spaces_that_cannot_serve_an_estimator(no_search: list[Any]) -> None:
    X, y = _iris()
    with pytest.raises(ahs.SpaceTaskError, match="no build"):
        _classify(X, y, space=NoBuild)
    with pytest.raises(ahs.SpaceTaskError, match="must be an attrs class"):
        _classify(X, y, space=ahs.ClassifierPipeline.__init__)
    with pytest.raises(ahs.SpaceTaskError, match="neither a classifier nor a regressor"):
        _classify(X, y, space=BuildsTransformer)
    with pytest.raises(ahs.SpaceTaskError, match="no fit method"):
        _classify(X, y, space=BuildsNonEstimator)
    assert no_search == []


def test_fewer_samples_than_folds(no_search: list[Any]) -> None:
    X = np.array([[0.0, 1.0], [1.0, 0.0]])
    with pytest.raises(ahs.DataError, match=r"only 2 sample\(s\) for cv=3 folds"):
        _regress(X, [0.5, 1.5], cv=3)
    X6 = np.arange(12.0).reshape(6, 2)
    with pytest.raises(ahs.DataError, match=r"class 1 has only 2 sample\(s\).*cv=3"):
        _classify(X6, [0, 0, 0, 0, 1, 1], cv=3)
    with pytest.raises(ahs.DataError, match=r"only 6 sample\(s\) for cv=8 folds"):
        _classify(X6, [0, 0, 0, 1, 1, 1], cv=8)
    assert no_search == []


def test_bad_cv_option(no_search: list[Any]) -> None:
    X, y = _iris()
    with pytest.raises(ValueError, match="at least 2"):
        _classify(X, y, cv=1)
    with pytest.raises(ValueError, match="splitter"):
        _classify(X, y, cv="five")
    assert no_search == []


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("seed", "0", r"AutoClassifier\(seed='0'\): seed must be an int in \[0, 2\*\*32 - 1\]"),
        ("seed", 1.5, r"seed=1.5\): seed must be an int"),
        ("seed", -1, r"seed=-1\): seed must be an int in \[0, 2\*\*32 - 1\]"),
        ("seed", 2**40, r"seed=1099511627776\)"),
        ("concurrency", "2", r"concurrency='2'\): concurrency must be an int >= 1"),
        ("trials", 0, r"trials=0\): trials must be an int >= 1"),
        ("portfolio", "no", r"portfolio='no'\): portfolio must be True or False"),
    ],
)
def test_bad_options_are_option_errors_before_any_trial(
    no_search: list[Any], option: str, value: object, expected: str
) -> None:
    X, y = _iris()
    options: dict[str, Any] = {"trials": 2, "executor": "thread", option: value}
    with pytest.raises(ahs.OptionError, match=expected):
        ahs.AutoClassifier(**options).fit(X, y)
    assert no_search == []


def test_predict_checks_its_input_too() -> None:
    X, _ = _iris()
    model = ahs.AutoClassifier(
        space=ahs.ClassifierPipeline, trials=1, executor="thread", concurrency=1, seed=0
    )
    with pytest.raises(Exception, match="not fitted"):
        model.predict(X)
    # A fitted model without a search: only the checks of predict matter here.
    model.n_features_in_ = 4
    model.best_estimator_ = object()
    with pytest.raises(ahs.DataError, match="3 features, but AutoClassifier is expecting 4"):
        model.predict(X[:, :3])
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ahs.DataError, match="missing"):
        model.predict(bad)


def test_invalid_scoring_fails_before_any_trial(no_search: list[Any]) -> None:
    X, y = _iris()
    with pytest.raises(ahs.OptionError, match=r"scoring='bogus'.*get_scorer_names\(\)") as info:
        _classify(X, y, scoring="bogus")
    assert len(str(info.value)) < 300
    assert isinstance(info.value, ValueError)
    with pytest.raises(ahs.OptionError, match=r"scoring=\['accuracy'\].*one scorer"):
        _regress(X, X[:, 0], scoring=["accuracy"])
    with pytest.raises(ahs.OptionError, match="cv=1"):
        _classify(X, y, cv=1)
    assert no_search == []


def test_constant_target_shows_a_plain_value(no_search: list[Any]) -> None:
    X, _ = _iris()
    with pytest.raises(ahs.DataError, match=r"every value is 2\.5\)"):
        _regress(X, np.full(len(X), 2.5))


def test_pandas_missing_markers_are_missing_values(no_search: list[Any]) -> None:
    pd = pytest.importorskip("pandas")
    X, y = _iris()
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame["count"] = pd.array(np.arange(len(X)) % 7, dtype="Int64")
    frame.loc[3, "count"] = pd.NA
    with pytest.raises(ahs.DataError, match=r"column 'count' has missing values \(<NA>\)"):
        _classify(frame, y)
    labels = pd.Series(np.array(["setosa", "versicolor", "virginica"])[y], dtype="string")
    labels[5] = pd.NA
    with pytest.raises(ahs.DataError, match="y has 1 missing value"):
        _classify(X, labels)
    assert no_search == []


def test_a_scoring_the_workers_cannot_receive_is_named(no_search: list[Any]) -> None:
    X, y = _iris()
    with pytest.raises(ahs.OptionError, match=r"^scoring=<function .*lambda.*module-level") as e:
        ahs.AutoClassifier(trials=2, scoring=lambda est, X, y: 0.0).fit(X, y)
    assert len(str(e.value)) < 500
    assert no_search == []


def test_fit_parameters_are_refused_with_what_to_do(no_search: list[Any]) -> None:
    X, y = _iris()
    with pytest.raises(ahs.OptionError, match=r"got sample_weight.*balanced_accuracy"):
        ahs.AutoClassifier(trials=2, executor="thread").fit(X, y, sample_weight=np.ones(len(y)))
    assert no_search == []


def test_inside_another_pools_worker_process_trials_run_in_threads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GridSearchCV(n_jobs=2) runs fit in a loky worker, whose main module the worker
    # processes of executor="process" cannot import.
    model = ahs.AutoClassifier(trials=2)
    assert model._executor_name() == "process"
    monkeypatch.setattr(multiprocessing, "parent_process", object)  # any parent
    assert model._executor_name() == "thread"
    assert model._executor() == "thread"
    assert ahs.AutoClassifier(trials=2, executor="thread")._executor_name() == "thread"


@pytest.mark.anyio
async def test_the_column_vector_warning_points_at_the_callers_line(no_search: list[Any]) -> None:
    # At stacklevel=4 it named asynchyper's own file, so a filter on the user's module
    # (filterwarnings("error", module="__main__")) did not match.
    X, y = _iris()
    column = np.asarray(y).reshape(-1, 1)
    model = ahs.AutoClassifier(trials=2, executor="thread", concurrency=1, seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(AssertionError, match="would have been opened"):  # no_search
            model.fit(X, column)
        with pytest.raises(AssertionError, match="would have been opened"):
            await model.afit(X, column)
    warned = [w for w in caught if issubclass(w.category, DataConversionWarning)]
    assert [w.filename for w in warned] == [__file__, __file__]
