"""AutoClassifier and AutoRegressor: search, refit, predict, and behave like estimators."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import pytest

pytest.importorskip("sklearn")

import anyio
import numpy as np
import numpy.typing as npt
from ahs_helpers import (
    AlwaysBroken,
    AlwaysSlow,
    BarelyTrained,
    KnnOnly,
    QuickClassifiers,
    QuickRegressors,
    SlowOrFast,
    SVCOnly,
    TreesOnly,
)
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.exceptions import NotFittedError
from sklearn.metrics import get_scorer
from sklearn.model_selection import KFold, cross_val_score, train_test_split

import asynchyper as ah
import asynchyper.sklearn as ahs

Split = tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any]]


def _split(X: Any, y: Any, *, stratify: bool = True) -> Split:
    parts: Split = tuple(
        train_test_split(X, y, test_size=0.3, random_state=0, stratify=y if stratify else None)
    )
    return parts


def _dummy_accuracy(X_train: Any, y_train: Any, X_test: Any, y_test: Any) -> float:
    return float(DummyClassifier().fit(X_train, y_train).score(X_test, y_test))


def test_fits_predicts_scores_and_beats_the_dummy_on_iris() -> None:
    X_train, X_test, y_train, y_test = _split(*load_iris(return_X_y=True))
    model = ahs.AutoClassifier(
        space=QuickClassifiers,
        trials=6,
        concurrency=2,
        executor="thread",
        seed=0,
        study="iris-search",
    )
    assert model.fit(X_train, y_train) is model
    assert model.study_ == "iris-search"
    assert isinstance(model.best_config_, QuickClassifiers)
    assert 0.0 <= model.best_score_ <= 1.0
    means = [t.user_attrs["cv_mean"] for t in model.result_.completed]
    assert model.best_score_ in means
    assert all(isinstance(m, float) and m <= model.best_score_ for m in means)
    assert model.n_completed_ == 6
    assert len(model.trials_) >= 6
    assert list(model.classes_) == [0, 1, 2]
    assert model.n_features_in_ == 4
    predictions = model.predict(X_test)
    assert predictions.shape == y_test.shape
    accuracy = model.score(X_test, y_test)
    assert accuracy == pytest.approx(float(np.mean(predictions == y_test)))
    assert accuracy > _dummy_accuracy(X_train, y_train, X_test, y_test) + 0.4
    assert accuracy >= 0.85


def test_beats_the_dummy_on_a_digits_subset_with_string_labels() -> None:
    X, y = load_digits(return_X_y=True)
    X, y = X[:400], np.array([f"digit-{d}" for d in y[:400]])
    X_train, X_test, y_train, y_test = _split(X, y)
    model = ahs.AutoClassifier(
        space=QuickClassifiers, trials=6, concurrency=2, executor="thread", seed=1
    ).fit(X_train, y_train)
    assert set(model.predict(X_test)) <= set(y)
    assert model.score(X_test, y_test) > _dummy_accuracy(X_train, y_train, X_test, y_test) + 0.5
    probabilities = (
        model.predict_proba(X_test) if hasattr(model.best_estimator_, "predict_proba") else None
    )
    if probabilities is not None:
        assert probabilities.shape == (len(X_test), 10)


def test_regressor_beats_the_dummy_on_diabetes() -> None:
    X_train, X_test, y_train, y_test = _split(*load_diabetes(return_X_y=True), stratify=False)
    model = ahs.AutoRegressor(
        space=QuickRegressors, trials=6, concurrency=2, executor="thread", seed=0
    ).fit(X_train, y_train)
    assert is_regressor(model)
    assert isinstance(model.best_config_, QuickRegressors)
    dummy = DummyRegressor().fit(X_train, y_train).score(X_test, y_test)
    assert model.score(X_test, y_test) > dummy + 0.3


def test_narrowed_space_only_tries_the_chosen_models() -> None:
    X, y = load_iris(return_X_y=True)
    model = ahs.AutoClassifier(
        space=TreesOnly, trials=4, concurrency=2, executor="thread", seed=0
    ).fit(X, y)
    kinds = {type(t.config.model).__name__ for t in model.result_.trials}
    assert kinds <= {"SmallForest", "ExtraTreesClassifier"}
    assert model.best_config_.preprocessing is None
    assert model.best_estimator_.named_steps["preprocessing"] == "passthrough"


def test_any_attrs_space_with_build_works() -> None:
    X, y = load_iris(return_X_y=True)
    model = ahs.AutoClassifier(space=KnnOnly, trials=3, concurrency=1, executor="thread", seed=0)
    model.fit(X, y)
    assert isinstance(model.best_config_, KnnOnly)
    assert model.score(X, y) > 0.8


def test_same_seed_and_one_trial_at_a_time_reproduces_the_search() -> None:
    X, y = load_iris(return_X_y=True)

    def run() -> list[Any]:
        model = ahs.AutoClassifier(
            space=QuickClassifiers, trials=4, concurrency=1, executor="thread", seed=3
        ).fit(X, y)
        return [(t.params, t.value) for t in model.result_.trials]

    assert run() == run()


def test_custom_scoring_and_splitter() -> None:
    X, y = load_diabetes(return_X_y=True)
    model = ahs.AutoRegressor(
        space=QuickRegressors,
        trials=3,
        concurrency=1,
        executor="thread",
        seed=0,
        scoring="neg_mean_absolute_error",
        cv=KFold(n_splits=2, shuffle=True, random_state=0),
    ).fit(X, y)
    assert model.best_score_ < 0  # the negated error, as scikit-learn's scorers report it
    fold_scores = model.result_.best.user_attrs["cv_scores"]
    assert isinstance(fold_scores, list)
    assert len(fold_scores) == 2


def test_is_a_scikit_learn_estimator() -> None:
    model = ahs.AutoClassifier(space=TreesOnly, trials=7, cv=4, seed=5)
    assert is_classifier(model)
    params = model.get_params()
    assert params["trials"] == 7
    assert params["space"] is TreesOnly
    copy = clone(model)
    assert copy.get_params() == params
    copy.set_params(trials=9)
    assert copy.trials == 9
    assert "trials=7" in repr(model)
    assert is_regressor(ahs.AutoRegressor())


def test_timeout_stops_the_search_and_keeps_the_best_so_far() -> None:
    X, y = load_iris(return_X_y=True)
    started = time.perf_counter()
    model = ahs.AutoClassifier(
        space=KnnOnly, trials=100_000, concurrency=2, executor="thread", timeout=1.0, seed=0
    ).fit(X, y)
    elapsed = time.perf_counter() - started
    assert model.result_.stop_reason == "timeout"
    assert 1 <= model.n_completed_ < 100_000
    assert elapsed < 10.0
    assert model.score(X, y) > 0.8


def test_trial_timeout_fails_slow_trials_only() -> None:
    X, y = load_iris(return_X_y=True)
    model = ahs.AutoClassifier(
        space=SlowOrFast, trials=2, concurrency=2, executor="thread", trial_timeout=0.5, seed=0
    ).fit(X, y)
    failed = [t for t in model.result_.trials if t.state is ah.TrialState.FAILED]
    assert failed
    assert all(t.config.slow for t in failed)
    assert all("trial_timeout" in (t.error or "") for t in failed)
    assert model.best_config_.slow is False


def test_a_search_whose_trials_all_time_out_says_to_raise_trial_timeout() -> None:
    # Not "check the data and the space": a review met this with executor="process",
    # whose workers' start-up (importing scikit-learn) counts toward trial_timeout.
    X, y = load_iris(return_X_y=True)
    model = ahs.AutoClassifier(
        space=AlwaysSlow, trials=2, concurrency=2, executor="thread", trial_timeout=0.05, seed=0
    )
    with pytest.raises(ahs.SearchFailedError) as caught:
        model.fit(X, y)
    message = str(caught.value)
    assert "Every failure was a timeout: raise trial_timeout" in message
    assert "Check the data" not in message


def test_search_without_any_completed_trial_raises_search_failed() -> None:
    X, y = load_iris(return_X_y=True)
    model = ahs.AutoClassifier(space=AlwaysBroken, trials=2, concurrency=1, executor="thread")
    with pytest.raises(ahs.SearchFailedError, match="this model cannot be fitted"):
        model.fit(X, y)
    assert not hasattr(model, "best_estimator_")


@pytest.mark.anyio
async def test_afit_runs_on_the_callers_event_loop() -> None:
    X, y = load_iris(return_X_y=True)
    model = ahs.AutoClassifier(space=KnnOnly, trials=3, concurrency=2, executor="thread", seed=0)
    assert await model.afit(X, y) is model
    assert model.n_completed_ == 3
    assert model.score(X, y) > 0.8


@pytest.mark.anyio
async def test_fit_works_where_an_event_loop_runs() -> None:
    # A Jupyter cell runs while the kernel's event loop runs: fit() refused to work
    # there, and so did cross_val_score and GridSearchCV, which call fit().
    X, y = load_iris(return_X_y=True)
    model = ahs.AutoClassifier(space=KnnOnly, trials=3, concurrency=2, executor="thread", seed=0)
    assert model.fit(X, y) is model  # blocks this loop, as any synchronous fit does
    assert model.n_completed_ == 3
    scores = cross_val_score(
        ahs.AutoClassifier(space=KnnOnly, trials=2, executor="thread", seed=0), X, y, cv=2
    )
    assert scores.shape == (2,)


def test_an_interrupted_fit_where_an_event_loop_runs_cancels_its_search() -> None:
    # Ctrl-C in a notebook reaches the waiting thread: the search must be cancelled
    # (its running trials recorded as CANCELLED), not left running.
    X, y = load_iris(return_X_y=True)
    storage = ah.MemoryStorage()

    async def main() -> float:
        model = ahs.AutoClassifier(
            space=SlowOrFast, trials=50, concurrency=2, executor="thread", storage=storage
        )
        # Ctrl-C as in a kernel: KeyboardInterrupt where the main thread is (asyncio's
        # runner would only cancel its main task at the first one).
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        started = time.monotonic()
        try:
            with pytest.raises(KeyboardInterrupt):
                model.fit(X, y)
        finally:
            timer.cancel()
            signal.signal(signal.SIGINT, previous)
        return time.monotonic() - started

    elapsed = anyio.run(main)
    assert elapsed < 5.0, elapsed

    async def states() -> set[ah.TrialState]:
        async with storage:
            [record] = await storage.list_studies()
            return {t.state for t in await storage.trials(record.id)}

    found = anyio.run(states)
    assert ah.TrialState.RUNNING not in found
    assert ah.TrialState.CANCELLED in found


def test_progress_is_shown_only_when_asked(capfd: pytest.CaptureFixture[str]) -> None:
    X, y = load_iris(return_X_y=True)
    options: dict[str, Any] = {"space": KnnOnly, "trials": 3, "executor": "thread", "seed": 0}
    ahs.AutoClassifier(**options).fit(X, y)
    assert capfd.readouterr().err == ""  # quiet by default (cross_val_score, GridSearchCV)
    ahs.AutoClassifier(**options, progress=True).fit(X, y)
    shown = capfd.readouterr().err
    assert "done 3/3" in shown, shown
    assert "best -0.9" in shown, shown  # the loss: the negated accuracy
    ahs.AutoRegressor(space=QuickRegressors, trials=2, executor="thread", progress=True).fit(
        X, X[:, 0]
    )
    assert "done 2/2" in capfd.readouterr().err
    with pytest.raises(ahs.OptionError, match=r"progress='yes' is not True, False or None"):
        ahs.AutoClassifier(**options, progress="yes").fit(X, y)  # type: ignore[arg-type]
    assert clone(ahs.AutoClassifier(progress=True)).get_params()["progress"] is True


@pytest.mark.slow
def test_trials_run_in_worker_processes() -> None:
    X, y = load_iris(return_X_y=True)
    model = ahs.AutoClassifier(
        space=QuickClassifiers, trials=4, concurrency=2, executor="process", seed=0
    ).fit(X, y)
    assert model.n_completed_ == 4
    assert model.score(X, y) > 0.8


def test_the_portfolio_runs_first_and_counts_toward_the_budget() -> None:
    X, y = load_iris(return_X_y=True)
    model = ahs.AutoClassifier(
        space=QuickClassifiers, trials=4, concurrency=1, executor="thread", seed=0
    ).fit(X, y)
    first = [type(t.config.model) for t in model.result_.trials[:3]]
    assert first == [ahs.SVC, ahs.LogisticRegression, ahs.KNeighborsClassifier]
    assert model.n_completed_ == 4
    plain = ahs.AutoClassifier(
        space=QuickClassifiers, trials=4, concurrency=1, executor="thread", seed=0, portfolio=False
    ).fit(X, y)
    assert [t.params for t in plain.result_.trials] != [t.params for t in model.result_.trials]


def test_convergence_warnings_do_not_fail_trials_in_threads() -> None:
    # pytest turns warnings into errors; an MLP stopped after 2 epochs warns in every
    # fold, so only fit()'s filter (which covers the worker threads) lets trials finish.
    X, y = load_iris(return_X_y=True)
    model = ahs.AutoClassifier(
        space=BarelyTrained, trials=3, concurrency=2, executor="thread", seed=0, portfolio=False
    ).fit(X, y)
    assert model.n_completed_ == 3
    assert all(t.state is ah.TrialState.COMPLETE for t in model.result_.trials)


def _binary() -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    X, y = load_breast_cancer(return_X_y=True)
    return X[:240], y[:240]


def test_without_predict_proba_the_best_svc_is_scored_by_its_decision_function() -> None:
    X, y = _binary()
    model = ahs.AutoClassifier(space=SVCOnly, trials=3, seed=0, executor="thread").fit(X, y)
    assert not hasattr(model, "predict_proba")
    assert not hasattr(model, "predict_log_proba")
    assert hasattr(model, "decision_function")
    np.testing.assert_allclose(
        model.decision_function(X), model.best_estimator_.decision_function(X)
    )
    roc_auc = get_scorer("roc_auc")
    assert roc_auc(model, X, y) == pytest.approx(roc_auc(model.best_estimator_, X, y))
    with pytest.raises(AttributeError, match="predict_proba") as info:
        model.predict_proba(X)
    cause = str(info.value.__cause__)
    assert "SVC" in cause
    assert "SVCOnly" not in cause
    assert "decision_function()" in cause


def test_with_predict_proba_the_best_forest_is_scored_by_its_probabilities() -> None:
    X, y = _binary()
    model = ahs.AutoClassifier(space=TreesOnly, trials=3, seed=0, executor="thread").fit(X, y)
    assert hasattr(model, "predict_proba")
    assert hasattr(model, "predict_log_proba")
    assert not hasattr(model, "decision_function")
    probabilities = model.predict_proba(X)
    np.testing.assert_allclose(probabilities, model.best_estimator_.predict_proba(X))
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(model.predict_log_proba(X), np.log(probabilities))
    roc_auc = get_scorer("roc_auc")
    assert roc_auc(model, X, y) == pytest.approx(roc_auc(model.best_estimator_, X, y))
    with pytest.raises(AttributeError, match="decision_function") as info:
        model.decision_function(X)
    assert "RandomForestClassifier" in str(info.value.__cause__) or "ExtraTrees" in str(
        info.value.__cause__
    )


@pytest.mark.parametrize("method", ["predict_proba", "predict_log_proba", "decision_function"])
def test_before_fit_the_delegated_methods_exist_and_raise_not_fitted(method: str) -> None:
    X, _ = _binary()
    model = ahs.AutoClassifier(space=SVCOnly)
    assert hasattr(model, method)  # unknown until fit picks a model, as in GridSearchCV
    with pytest.raises(NotFittedError):
        getattr(model, method)(X)


def _quick(estimator: type[Any] = ahs.AutoClassifier, **options: Any) -> Any:
    space = KnnOnly if estimator is ahs.AutoClassifier else QuickRegressors
    kw: dict[str, Any] = {"trials": 2, "concurrency": 1, "executor": "thread", "seed": 0}
    return estimator(space=space, portfolio=False, **(kw | options))


@pytest.mark.parametrize("estimator", [ahs.AutoClassifier, ahs.AutoRegressor])
def test_feature_names_are_kept_and_checked_as_in_scikit_learn(estimator: type[Any]) -> None:
    pd = pytest.importorskip("pandas")
    X, y = load_iris(return_X_y=True, as_frame=True)
    target = y if estimator is ahs.AutoClassifier else X.pop("petal width (cm)")
    model = _quick(estimator).fit(X, target)
    assert list(model.feature_names_in_) == list(X.columns)
    assert model.n_features_in_ == X.shape[1]
    reordered = X[X.columns[::-1]]
    delegated = ["predict_proba", "predict_log_proba", "decision_function"]
    methods = ["predict", "score", *(m for m in delegated if hasattr(model, m))]
    assert len(methods) > 2 or estimator is ahs.AutoRegressor
    for method in methods:
        call = getattr(model, method)
        args = (reordered, target) if method == "score" else (reordered,)
        with pytest.raises(ahs.DataError, match="feature names should match"):
            call(*args)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        model.predict(X.to_numpy())
    renamed = pd.DataFrame(X.to_numpy(), columns=[f"c{i}" for i in range(X.shape[1])])
    with pytest.raises(ValueError, match="feature names should match"):
        model.predict(renamed)
    with pytest.raises(ahs.DataError, match="seen at fit time, yet now missing"):
        model.predict(X.iloc[:, :2])
    unnamed = _quick(estimator).fit(X.to_numpy(), target)
    assert not hasattr(unnamed, "feature_names_in_")
    with pytest.warns(UserWarning, match="fitted without feature names"):
        unnamed.predict(X)


@pytest.mark.parametrize("estimator", [ahs.AutoClassifier, ahs.AutoRegressor])
def test_scikit_learns_own_column_names_check_passes(estimator: type[Any]) -> None:
    pytest.importorskip("pandas")
    from sklearn.utils.estimator_checks import (  # noqa: PLC0415 - only this test needs it
        check_dataframe_column_names_consistency,
    )

    check_dataframe_column_names_consistency(estimator.__name__, _quick(estimator))


@pytest.mark.parametrize("estimator", [ahs.AutoClassifier, ahs.AutoRegressor])
@pytest.mark.parametrize(
    "check",
    [
        "check_n_features_in_after_fitting",
        "check_complex_data",
        "check_estimators_empty_data_messages",
        "check_supervised_y_2d",
        "check_fit2d_1sample",
        "check_fit2d_predict1d",
        "check_requires_y_none",
        "check_dtype_object",
    ],
)
def test_scikit_learns_input_checks_pass(estimator: type[Any], check: str) -> None:
    # scikit-learn's own checks of how bad input is reported (its message wording,
    # its warning for a column-vector y), run one by one on a quick search.
    from sklearn.utils import estimator_checks  # noqa: PLC0415 - only this test needs it

    getattr(estimator_checks, check)(estimator.__name__, _quick(estimator))


@pytest.mark.parametrize("cls", [ahs.AutoClassifier, ahs.AutoRegressor])
def test_the_storage_password_is_not_displayed(cls: type[Any]) -> None:
    # repr(), the notebook view and its MIME bundle showed the URL as given.
    url = "postgresql://alice:SkS3cr3t@db.example/x?schema=a&b=1"
    estimator = cls(storage=url)
    shown = [repr(estimator), estimator._repr_html_(), *estimator._repr_mimebundle_().values()]
    assert "postgresql://alice:***@db.example/x?schema=a&b=1" in shown[0]
    assert all("SkS3cr3t" not in text for text in shown)
    assert estimator.get_params()["storage"] == url  # kept as given, for clone()
    assert clone(estimator).storage == url
    assert repr(cls(storage="search.db")).endswith("(storage='search.db')")


_OPENMP_SEEN: list[int] = []


def _recording_scorer(estimator: Any, X: Any, y: Any) -> float:
    from threadpoolctl import threadpool_info  # noqa: PLC0415 - a test helper

    _OPENMP_SEEN.extend(
        int(pool["num_threads"]) for pool in threadpool_info() if pool["user_api"] == "openmp"
    )
    return float(estimator.score(X, y))


def test_concurrent_trials_in_threads_run_openmp_on_one_thread_each() -> None:
    # fit() limited OpenMP on its own thread only: the limit is per thread, so trials
    # in worker threads still used every core each, while sklearn.md says one thread.
    from threadpoolctl import threadpool_info  # noqa: PLC0415

    if not any(pool["user_api"] == "openmp" for pool in threadpool_info()):
        pytest.skip("no OpenMP runtime loaded")
    X, y = load_iris(return_X_y=True)
    _OPENMP_SEEN.clear()
    ahs.AutoClassifier(
        trials=4, executor="thread", concurrency=2, seed=0, scoring=_recording_scorer
    ).fit(X, y)
    assert _OPENMP_SEEN
    assert set(_OPENMP_SEEN) == {1}
