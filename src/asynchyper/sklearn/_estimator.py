"""AutoClassifier and AutoRegressor: scikit-learn estimators that search a space."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import multiprocessing
import numbers
import pickle
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, Self

if TYPE_CHECKING:
    from typing_extensions import TypeVar  # with PEP 696 defaults (typing's has them in 3.13)
else:
    from typing import TypeVar  # the default plays no part at run time

import anyio
import anyio.from_thread
import anyio.to_thread
import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from .._errors import NoCompletedTrialsError, StorageError
from .._executor import Executor, ProcessExecutor
from .._records import Trial, TrialState
from .._scheduler import Result
from .._scheduler._entry import create_or_load, open_study_created
from .._space import Space
from .._storage import MemoryStorage, Storage, open_storage
from .._storage._url import redact_url
from .._suggest import Suggester
from ._build import Buildable, Task, with_random_state
from ._checks import (
    check_classification_target,
    check_features,
    check_n_splits,
    check_progress,
    check_regression_target,
    check_scoring,
    check_space,
    check_width,
)
from ._errors import DataError, OptionError, SearchFailedError
from ._fingerprint import DATA_ATTR, DataFingerprint, check_same_data
from ._objective import CrossValidation, Split, quiet_convergence
from ._pipelines import ClassifierPipeline, RegressorPipeline
from ._portfolio import CLASSIFIER_PORTFOLIO, REGRESSOR_PORTFOLIO, portfolio_for

__all__ = ["AutoClassifier", "AutoRegressor"]

_log = logging.getLogger(__name__)

#: The executors named by a string.
ExecutorName = Literal["thread", "process"]

_Method = TypeVar("_Method", bound=Callable[..., Any])
R = TypeVar("R")

#: The space an estimator searches: a class whose instances have ``build()``.
S = TypeVar("S", bound=Buildable)
#: The same for each estimator, whose default space is what ``space=None`` searches, so
#: that ``AutoClassifier()`` is an ``AutoClassifier[ClassifierPipeline]`` (a TypeVar
#: default, PEP 696: typing_extensions' TypeVar for type checkers, typing's at run time,
#: which takes no default before Python 3.13).
if TYPE_CHECKING:
    SC = TypeVar("SC", bound=Buildable, default=ClassifierPipeline)
    SR = TypeVar("SR", bound=Buildable, default=RegressorPipeline)
else:
    SC = TypeVar("SC", bound=Buildable)
    SR = TypeVar("SR", bound=Buildable)


def _in_event_loop() -> bool:
    """Whether the calling thread is running an asyncio or trio event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return True
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            trio.lowlevel.current_task()
        except RuntimeError:
            return False
        return True
    return False


def _run_blocking(function: Callable[..., Awaitable[R]], *args: Any) -> R:
    """``anyio.run(function, *args)``, also where this thread already runs an event loop.

    There (a Jupyter cell: the kernel's loop is running) the call runs on an event loop
    in a thread of its own while this thread waits, as it would for any blocking call.
    A ``KeyboardInterrupt`` while waiting cancels that run, waits for it to end, and is
    raised again.
    """
    if not _in_event_loop():
        return anyio.run(function, *args)
    with anyio.from_thread.start_blocking_portal() as portal:
        future = portal.start_task_soon(function, *args)
        try:
            return future.result()
        except KeyboardInterrupt:
            future.cancel()  # cancels the task; leaving the portal waits for its end
            raise


class _AutoEstimator(BaseEstimator, Generic[S]):  # type: ignore[misc]  # sklearn is untyped
    """The search shared by :class:`AutoClassifier` and :class:`AutoRegressor`.

    Generic over the space class ``S`` it searches, so that ``best_config_`` and
    ``result_`` are typed by it. ``Generic`` adds no ``__init__`` parameter: the
    parameters that scikit-learn reads from the signature (``get_params``, ``clone``)
    are the same.
    """

    _task: ClassVar[Task]
    #: The space searched when ``space`` is ``None``.
    _default_space: ClassVar[type[Buildable]]

    #: The space class searched (``None``: ``_default_space``).
    space: type[S] | None
    #: The best configuration found (an instance of ``space``).
    best_config_: S
    #: Its mean cross-validated score (higher is better).
    best_score_: float
    #: The best configuration's estimator, refitted on all of ``X, y``.
    best_estimator_: Any
    #: Every trial of the search (``result_.trials``, ``result_.best``, ...).
    result_: Result[S]
    #: The study's name in ``storage`` (reopen it with ``open_study`` or the CLI).
    study_: str
    #: Number of features seen in ``fit``.
    n_features_in_: int
    #: The column names seen in ``fit``, when ``X`` had string column names.
    feature_names_in_: npt.NDArray[np.object_]
    #: The class labels seen in ``fit`` (classifiers only).
    classes_: npt.NDArray[Any]

    def __init__(
        self,
        space: type[S] | None = None,
        *,
        trials: int = 50,
        cv: int | Any = 3,
        scoring: str | Any | None = None,
        concurrency: int = 2,
        executor: ExecutorName | Executor = "process",
        timeout: float | None = None,
        trial_timeout: float | None = None,
        seed: int | None = None,
        portfolio: bool = True,
        suggester: Suggester | None = None,
        storage: str | Storage | None = None,
        study: str | None = None,
        progress: bool | None = False,
    ) -> None:
        self.space = space
        self.trials = trials
        self.cv = cv
        self.scoring = scoring
        self.concurrency = concurrency
        self.executor = executor
        self.timeout = timeout
        self.trial_timeout = trial_timeout
        self.seed = seed
        self.portfolio = portfolio
        self.suggester = suggester
        self.storage = storage
        self.study = study
        self.progress = progress

    if TYPE_CHECKING:
        # Inherited from scikit-learn, which is untyped (no py.typed): declared here so
        # that type checkers know them (pyright's strict mode reports them as Unknown).
        # ``score`` comes from the mixins, first in the bases: declared in the subclasses.
        def get_params(self, deep: bool = True) -> dict[str, Any]:
            """The estimator's parameters (``__init__``'s arguments) by name."""
            ...

        def set_params(self, **params: Any) -> Self:
            """Set parameters by name (nested ones as ``step__name``); returns ``self``."""
            ...

    # -- display -------------------------------------------------------------------
    # The storage URL is kept as given (clone() needs the very object), but its
    # password is not shown: not in repr(), nor in a notebook's view of the estimator.
    def __repr__(self, N_CHAR_MAX: int = 700) -> str:  # scikit-learn names it so
        return self._without_password(super().__repr__(N_CHAR_MAX))

    def _repr_html_inner(self) -> str:
        return self._without_password(super()._repr_html_inner())

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, str]:
        bundle = super()._repr_mimebundle_(**kwargs)
        return {kind: self._without_password(text) for kind, text in bundle.items()}

    def _without_password(self, text: str) -> str:
        given = self.storage
        if not isinstance(given, str):
            return text
        shown = redact_url(given)
        if shown == given:
            return text
        for written, safe in (
            (given, shown),
            (html.escape(given), html.escape(shown)),
            (html.escape(given, quote=False), html.escape(shown, quote=False)),
        ):
            text = text.replace(written, safe)
        return text

    # -- fitting -------------------------------------------------------------------
    def fit(self, X: Any, y: Any, **fit_params: Any) -> Self:
        """Search the space with cross-validation, then refit the best pipeline.

        Blocks until the search ends (it runs its own event loop); from async code
        use :meth:`afit`. Called where an event loop is already running in this
        thread (a Jupyter cell, or ``cross_val_score`` there), the search runs in a
        thread of its own while ``fit`` blocks, as any synchronous ``fit`` does; an
        interrupt (Ctrl-C) cancels it. Every input check runs before the first trial.

        Args:
            X: Features, shape ``(n_samples, n_features)``, numeric, no missing values.
            y: Target, shape ``(n_samples,)``.
            **fit_params: Not supported (``sample_weight`` included): refused with
                an :class:`OptionError` that says what to do instead.

        Returns:
            The fitted estimator (``self``). When ``fit`` raises, a previously fitted
            estimator keeps its fitted model and attributes.

        A :class:`~asynchyper.Storage` object given as ``storage`` is closed when
        the search ends (the connection belongs to the event loop that ``fit``
        runs; the storage reopens itself when used again), so the fitted estimator
        can be pickled and cloned.

        Raises:
            DataError: ``X`` or ``y`` cannot be used (the message says how to fix it).
            OptionError: ``trials``, ``concurrency``, ``seed``, ``portfolio``, ``cv`` or
                ``scoring`` cannot be used, or fit parameters were given.
            SpaceTaskError: The space cannot build estimators of this task.
            DataMismatchError: ``storage`` holds the study ``study`` from a fit on other
                data, folds or scoring.
            SearchFailedError: No trial completed (all failed, or the time ran out).
        """
        self._refuse_fit_params(fit_params)
        if "__main__" not in sys.modules:
            # anyio's worker processes run the main script as __mp_main__ (with
            # __main__ removed): an unguarded script would start a search per worker.
            msg = (
                f"{type(self).__name__}.fit() ran while a worker process imported the main "
                "script; guard the script's entry point with `if __name__ == '__main__':`"
            )
            raise RuntimeError(msg)
        with self._fitted_state_kept_on_error():
            space, objective, data = self._prepare(X, y)
            # fit() owns its thread for the whole search, so the process-wide settings it
            # makes cover the worker threads of executor="thread" too: no convergence
            # warnings, and one BLAS/OpenMP thread per trial when trials share the process.
            with contextlib.ExitStack() as stack:
                stack.enter_context(quiet_convergence())
                if self._executor_name() == "thread" and self.concurrency > 1:
                    stack.enter_context(threadpool_limits(limits=1))
                result = _run_blocking(self._search, space, objective, data, True)
            with quiet_convergence():
                self._refit(result, objective)
        return self

    async def afit(self, X: Any, y: Any, **fit_params: Any) -> Self:
        """Like :meth:`fit`, for async applications (asyncio or trio).

        The search runs on the caller's event loop; the final refit runs in a worker
        thread so that the loop keeps serving other tasks. A
        :class:`~asynchyper.Storage` object given as ``storage`` is used as is and
        stays open (close it before pickling or cloning the estimator).

        Args:
            X: Features, as for :meth:`fit`.
            y: Target, as for :meth:`fit`.
            **fit_params: Not supported, as for :meth:`fit`.

        Returns:
            The fitted estimator (``self``); on an error, as for :meth:`fit`.

        Raises:
            DataError: As from :meth:`fit`, before any trial runs.
            OptionError: As from :meth:`fit`, before any trial runs.
            SpaceTaskError: As from :meth:`fit`, before any trial runs.
            DataMismatchError: As from :meth:`fit`, before any trial runs.
            SearchFailedError: As from :meth:`fit`.
        """
        self._refuse_fit_params(fit_params)
        with self._fitted_state_kept_on_error():
            space, objective, data = self._prepare(X, y)
            result = await self._search(space, objective, data, False)
            await anyio.to_thread.run_sync(self._quiet_refit, result, objective)
        return self

    def _refuse_fit_params(self, fit_params: dict[str, Any]) -> None:
        """Refuse ``sample_weight`` and other fit parameters with what to do instead."""
        if not fit_params:
            return
        msg = (
            f"{type(self).__name__}.fit() takes no fit parameters; got "
            f"{', '.join(sorted(fit_params))}. Sample weights are not passed to the "
            "searched pipelines (not every model takes them). For imbalanced classes, "
            "search with a scoring that weighs them (scoring='balanced_accuracy' or "
            "'f1_macro'), or resample the data"
        )
        raise OptionError(msg)

    @contextlib.contextmanager
    def _fitted_state_kept_on_error(self) -> Iterator[None]:
        """Put the fitted attributes (``name_``) back as they were when ``fit`` fails.

        The input checks set ``n_features_in_`` and ``feature_names_in_`` before the
        search; a refused or failed second fit must not leave them describing data
        that the kept ``best_estimator_`` never saw.
        """
        before = {k: v for k, v in vars(self).items() if _is_fitted_name(k)}
        try:
            yield
        except BaseException:
            for name in [k for k in vars(self) if _is_fitted_name(k)]:
                delattr(self, name)
            for name, value in before.items():
                setattr(self, name, value)
            raise

    def _prepare(self, X: Any, y: Any) -> tuple[Space[Any], CrossValidation, DataFingerprint]:
        """Every check that must pass before a trial runs; builds the objective."""
        name = type(self).__name__
        if y is None:  # worded as scikit-learn's own check words it
            msg = f"{name} requires y to be passed, but the target y is None"
            raise DataError(msg)
        features = check_features(X)
        n_samples = features.shape[0]
        if n_samples < 2:  # cross-validation needs two folds at least
            msg = (
                f"X has {n_samples} sample (n_samples={n_samples}); cross-validation "
                "needs at least 2 (one per fold): provide more data"
            )
            raise DataError(msg)
        check_progress(self.progress)
        self._check_options()
        splitter, stratified = self._splitter()
        check_scoring(self.scoring, estimator=name)
        if callable(self.scoring) and self._executor_name() == "process":
            try:
                pickle.dumps(self.scoring)
            except Exception as exc:
                msg = (
                    f"scoring={self.scoring!r} cannot be sent to the worker processes of "
                    f"executor='process' ({type(exc).__name__}: {exc}); define it as a "
                    "module-level function (a lambda or a local function cannot be "
                    "pickled), or use executor='thread'"
                )
                raise OptionError(msg) from exc
        target = self._check_target(y, n_samples, stratified)
        if stratified is None:
            check_n_splits(int(splitter.get_n_splits(features, target)), n_samples)
        space = check_space(
            self._default_space if self.space is None else self.space, self._task, estimator=name
        )
        splits: tuple[Split, ...] = tuple(
            (np.asarray(train, dtype=np.intp), np.asarray(test, dtype=np.intp))
            for train, test in splitter.split(features, target)
        )
        objective = CrossValidation(
            X=features,
            y=target,
            splits=splits,
            scoring=self.scoring,
            seed=self.seed,
            single_threaded=self.concurrency > 1,
        )
        if isinstance(self.cv, int):  # the built-in folds: their repr holds the seed
            data = DataFingerprint.of(features, target, cv=splitter, scoring=self.scoring)
        else:  # the user's splitter: the seed of the models' random_state counts too
            seeds = f"models' random_state={self.seed!r}"
            data = DataFingerprint.of(
                features, target, cv=splitter, scoring=self.scoring, seeds=seeds
            )
        # scikit-learn's own bookkeeping: feature_names_in_ and n_features_in_
        validate_data(self, X, reset=True, skip_check_array=True)
        return space, objective, data

    def _check_options(self) -> None:
        """Refuse ``trials``, ``concurrency``, ``seed`` and ``portfolio`` of the wrong kind.

        Checked here, before the folds are drawn with the seed, so that a bad value is
        named as an option of this estimator rather than by numpy or the scheduler.
        """
        name = type(self).__name__
        for option, minimum in (("trials", 1), ("concurrency", 1)):
            value: object = getattr(self, option)
            if not _is_int(value) or int(value) < minimum:  # type: ignore[call-overload]
                msg = f"{name}({option}={value!r}): {option} must be an int >= {minimum}"
                raise OptionError(msg)
        seed: object = self.seed
        if seed is not None and (not _is_int(seed) or not 0 <= int(seed) < 2**32):  # type: ignore[call-overload]
            msg = (
                f"{name}(seed={seed!r}): seed must be an int in [0, 2**32 - 1] (it seeds "
                "the folds and the models), or None for a fresh one"
            )
            raise OptionError(msg)
        portfolio: object = self.portfolio
        if not isinstance(portfolio, bool):
            msg = f"{name}(portfolio={portfolio!r}): portfolio must be True or False"
            raise OptionError(msg)

    def _splitter(self) -> tuple[Any, int | None]:
        """The CV splitter, and its fold count when it is the built-in stratified one."""
        cv = self.cv
        if isinstance(cv, bool) or not isinstance(cv, int):
            if callable(getattr(cv, "split", None)) and callable(getattr(cv, "get_n_splits", None)):
                return cv, None
            msg = (
                f"cv={cv!r} is neither a number of folds nor a scikit-learn splitter "
                "(an object with split() and get_n_splits()); pass e.g. cv=5"
            )
            raise OptionError(msg)
        if cv < 2:
            msg = f"cv={cv} folds given; cross-validation needs at least 2 (e.g. cv=3)"
            raise OptionError(msg)
        # Without a seed the folds are drawn afresh; the seed they got is part of the
        # study's fingerprint, so a later fit never resumes trials scored on other folds.
        seed = (
            int(np.random.SeedSequence().generate_state(1)[0]) if self.seed is None else self.seed
        )
        if self._task == "classifier":
            return StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed), cv
        return KFold(n_splits=cv, shuffle=True, random_state=seed), None

    def _check_target(self, y: Any, n_samples: int, stratified: int | None) -> npt.NDArray[Any]:
        raise NotImplementedError

    def _executor_name(self) -> ExecutorName | Executor:
        """``executor``, with ``"process"`` run as ``"thread"`` inside a worker process.

        Inside a worker process of another pool (``GridSearchCV(n_jobs=2)``,
        ``cross_val_score(n_jobs=-1)``, a ``ProcessPoolExecutor``) the main module is the
        pool's bootstrap script, which worker processes of our own cannot import; the
        outer pool already uses the cores, so trials run in threads there.
        """
        if self.executor == "process" and multiprocessing.parent_process() is not None:
            return "thread"
        executor: ExecutorName | Executor = self.executor
        return executor

    def _executor(self) -> ExecutorName | Executor:
        # One worker process per trial in flight: the default pool has one per core,
        # and a trial waiting for a worker would spend its trial_timeout waiting.
        executor = self._executor_name()
        if executor == "process":
            return ProcessExecutor(max_workers=self.concurrency)
        if executor != self.executor:
            _log.info("in a worker process: running trials in threads, not processes")
        return executor

    async def _search(
        self,
        space: Space[Any],
        objective: CrossValidation,
        data: DataFingerprint,
        close_storage: bool,
    ) -> Result[Any]:
        """Open (or resume) the study of this data and run the trials.

        ``close_storage``: close a user-given Storage object at the end (``fit``, whose
        event loop ends with the search); paths and URLs are always opened and closed here.
        """
        storage = open_storage(self.storage)
        async with contextlib.AsyncExitStack() as stack:
            if not isinstance(self.storage, Storage):
                await stack.enter_async_context(storage)
            elif close_storage:
                stack.push_async_callback(storage.close)
            name = data.study_name(space.cls) if self.study is None else self.study
            # whether this fit creates the study: a new one's seeded search is repeatable
            record, created = await create_or_load(
                storage, name, space, "minimize", {DATA_ATTR: data.as_json()}
            )
            check_same_data(record, data, estimator=type(self).__name__)
            return await self._optimize(space, objective, storage, record.name, created=created)

    async def _optimize(
        self,
        space: Space[Any],
        objective: CrossValidation,
        storage: Storage,
        name: str,
        *,
        created: bool,
    ) -> Result[Any]:
        _log.info(
            "searching %s with %d trials, %d in flight, %s-fold cross-validation",
            space,
            self.trials,
            self.concurrency,
            len(objective.splits),
        )
        async with open_study_created(
            space.cls,
            storage=storage,
            name=name,
            suggester=self.suggester,
            seed=self.seed,
            created=created,
        ) as study:
            if self.portfolio and not await study.trials():
                defaults = (
                    CLASSIFIER_PORTFOLIO if self._task == "classifier" else REGRESSOR_PORTFOLIO
                )
                for config in portfolio_for(space, defaults)[: self.trials]:
                    await study.enqueue(config)
            return await study.optimize(
                objective,
                trials=int(self.trials),  # a NumPy int, accepted by _check_options
                concurrency=int(self.concurrency),
                executor=self._executor(),
                timeout=self.timeout,
                trial_timeout=self.trial_timeout,
                progress=self.progress,
            )

    def _quiet_refit(self, result: Result[Any], objective: CrossValidation) -> None:
        with quiet_convergence():
            self._refit(result, objective)

    def _refit(self, result: Result[Any], objective: CrossValidation) -> None:
        try:
            best = result.best
        except NoCompletedTrialsError as exc:
            msg = _failure_message(result, self.timeout, self._executor_name() == "process")
            raise SearchFailedError(msg) from exc
        assert best.value is not None
        estimator = with_random_state(best.config.build(), self.seed)
        estimator.fit(objective.X, objective.y)
        self.n_features_in_ = objective.X.shape[1]
        if self._task == "classifier":
            self.classes_ = np.unique(objective.y)
        self.result_ = result
        self.study_ = result.study
        self.best_config_ = best.config
        self.best_score_ = -best.value
        self.best_estimator_ = estimator
        _log.info(
            "best of %d trials: %r (score %.6g)", len(result.trials), best.config, -best.value
        )

    # -- using the fitted model ----------------------------------------------------
    def predict(self, X: Any) -> npt.NDArray[Any]:
        """Predict with the refitted best estimator.

        Args:
            X: Features with the columns used in ``fit``.

        Returns:
            The predictions, shape ``(n_samples,)``.

        Raises:
            DataError: ``X`` is not numeric, has missing values, the wrong width, or
                column names other than those seen in ``fit`` (or in another order).
            NotFittedError: ``fit`` has not been called.
        """
        features = self._check_fitted_input(X)
        predictions: npt.NDArray[Any] = self.best_estimator_.predict(features)
        return predictions

    def _check_fitted_input(self, X: Any) -> npt.NDArray[np.float64]:
        """Check ``X`` against what ``fit`` saw: its column names, then its values and width."""
        check_is_fitted(self, "best_estimator_")
        try:
            # scikit-learn's check, first as there: other names or order raise, names
            # on one side only warn
            validate_data(self, X, reset=False, skip_check_array=True)
        except ValueError as exc:
            if "feature names" in str(exc):  # else the shape, which our checks word
                raise DataError(str(exc).strip()) from exc
        features = check_features(X)
        check_width(features, self.n_features_in_, estimator=type(self).__name__)
        return features

    # -- copies ----------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        """The state to pickle; refuses clearly when ``storage`` is an open connection."""
        self._check_storage_copyable("pickled")
        state: dict[str, Any] = super().__getstate__()
        return state

    def __sklearn_clone__(self) -> Self:
        """An unfitted copy with the same parameters (``sklearn.base.clone``)."""
        self._check_storage_copyable("cloned")
        copy: Self = super().__sklearn_clone__()
        return copy

    def _check_storage_copyable(self, what: str) -> None:
        if not isinstance(self.storage, Storage):
            return
        try:
            pickle.dumps(self.storage)
        except (TypeError, AttributeError, pickle.PicklingError) as exc:
            name = type(self).__name__
            if isinstance(self.storage, MemoryStorage):
                msg = (
                    f"{name}(storage={self.storage!r}) cannot be {what}: an in-memory "
                    "storage object cannot be copied. Pass storage=None (each fit keeps "
                    "its trials in memory) or a path such as 'search.db'"
                )
            else:
                path = getattr(self.storage, "path", None)
                given = "its path or URL" if path is None else f"the path {path!r}"
                msg = (
                    f"{name}(storage={self.storage!r}) cannot be {what} while that storage "
                    "is open (after afit(), or inside `async with storage:`): close it "
                    f"first (`await storage.close()`), or pass {given} as storage= so "
                    "that every fit opens and closes its own connection"
                )
            raise StorageError(msg) from exc

    @property
    def trials_(self) -> Sequence[Trial[S]]:
        """Every trial of the search, ordered by number (``result_.trials``)."""
        check_is_fitted(self, "result_")
        return self.result_.trials

    @property
    def n_completed_(self) -> int:
        """How many trials completed with a score."""
        check_is_fitted(self, "result_")
        return sum(1 for t in self.result_.trials if t.state is TrialState.COMPLETE)


def _failure_message(result: Result[Any], timeout: float | None, in_processes: bool) -> str:
    failed = [t for t in result.trials if t.state is TrialState.FAILED]
    states: dict[str, int] = {}
    for trial in result.trials:
        states[trial.state.value] = states.get(trial.state.value, 0) + 1
    msg = f"no trial completed (trial states: {states}, stop reason: {result.stop_reason!r})"
    if failed:
        first = failed[0]
        error = (first.error or "").strip().splitlines()
        msg += f"; the first failure, trial {first.number} ({first.config!r}), ended with: "
        msg += error[-1] if error else "(no error text)"
        if all("exceeded trial_timeout" in (t.error or "") for t in failed):
            msg += ". Every failure was a timeout: raise trial_timeout"
            if in_processes:
                msg += (
                    " (with executor='process' it includes a new worker's start-up, "
                    "importing scikit-learn and receiving the data: seconds, paid again "
                    "after each timeout), or use executor='thread'"
                )
            return msg
        msg += ". Check the data and the space, or narrow the space to models that fit it"
        if in_processes and "worker process" in (first.error or ""):
            msg += (
                ". With executor='process' a script must run fit() under "
                "`if __name__ == '__main__':` (workers import the main module), and the "
                "space must be importable; or use executor='thread'"
            )
    elif result.stop_reason == "timeout":
        msg += f"; the time budget (timeout={timeout}) ran out first: raise it"
    return msg


#: The methods an :class:`AutoClassifier` passes through when its best estimator has them.
_SCORING_METHODS = ("predict_proba", "decision_function")


def _model_name(estimator: Any) -> str:
    """The class name of the model that ends ``estimator`` (the last step of a pipeline)."""
    while isinstance(estimator, Pipeline):
        estimator = estimator[-1]
    return type(estimator).__name__


def _best_estimator_has(method: str) -> Callable[[Any], bool]:
    """A check for ``available_if``: whether the fitted best estimator has ``method``.

    Before ``fit`` the method is listed, since which model wins is not known yet;
    calling it then raises ``NotFittedError``, as in scikit-learn's search estimators.
    """

    def check(estimator: Any) -> bool:
        best = getattr(estimator, "best_estimator_", None)
        if best is None or hasattr(best, method):
            return True
        others = [f"{m}()" for m in _SCORING_METHODS if m != method and hasattr(best, m)]
        msg = (
            f"the best estimator found, {_model_name(best)}, has no {method}; use "
            f"{' or '.join(['predict()', *others])}, or narrow the space to models "
            f"that have {method}"
        )
        raise AttributeError(msg)

    return check


def _if_best_estimator_has(method: str) -> Callable[[_Method], _Method]:
    """Make the decorated method exist only when the best estimator has ``method``."""
    decorator: Callable[[_Method], _Method] = available_if(_best_estimator_has(method))
    return decorator


class AutoClassifier(ClassifierMixin, _AutoEstimator[SC]):  # type: ignore[misc]  # sklearn is untyped
    """A classifier that finds its own pipeline: a cross-validated search, then a refit.

    In the spirit of hyperopt-sklearn's ``HyperoptEstimator``: give it data, get the
    best pre-processing + model found within the budget, refitted on all the data.
    ``fit`` checks the inputs, then runs ``trials`` trials (``concurrency`` at a time,
    in worker processes or threads); each trial builds one configuration of ``space``
    and scores it by stratified ``cv``-fold cross-validation (the folds run one after
    the other inside the trial; every trial uses the same folds). The search minimizes
    the negated mean score, so ``best_score_`` is the best mean score.

    The space can be any attrs space class whose instances have ``build()`` returning
    a scikit-learn classifier, e.g. a narrowed subclass of :class:`ClassifierPipeline`.
    With ``executor="process"`` (the default) the space and the scorer must be
    picklable (module level), and scripts need an ``if __name__ == "__main__":`` guard.

    Args:
        space: The space class to search; ``None`` means :class:`ClassifierPipeline`.
        trials: The study's total budget of completed trials.
        cv: Number of stratified folds (shuffled with ``seed``), or a scikit-learn
            splitter.
        scoring: A scorer name (``"accuracy"``, ``"f1_macro"``, ...) or callable;
            ``None`` uses accuracy.
        concurrency: Trials running at once.
        executor: ``"process"`` (one worker process per trial in flight; threads when
            ``fit`` itself runs in a worker process of another pool, such as
            ``GridSearchCV(n_jobs=2)``), ``"thread"``, or an
            :class:`asynchyper.Executor` (e.g. a cluster).
        timeout: Seconds for the whole search (the refit comes after); running
            trials are cancelled at the deadline.
        trial_timeout: Seconds per trial; a slower trial fails (a worker process is
            killed; a worker thread is abandoned and finishes in the background).
        seed: Seeds the suggester, the folds and every ``random_state`` of the built
            estimators. Trials are reproducible with ``concurrency=1``. ``None`` draws
            new folds for each fit (recorded in the study's fingerprint, so a stored
            study is resumed only by a fit with a seed).
        portfolio: Evaluate a few proven default pipelines (one per model family
            except the SGD models, near scikit-learn's defaults) before the
            suggester's own trials; they count toward ``trials``. Only defaults
            that exist in ``space`` are used.
        suggester: The search algorithm (default: ``asynchyper.TPE()``).
        storage: Where trials are kept (a path such as ``"search.db"``); default in
            memory. A :class:`~asynchyper.Storage` object is closed when ``fit``
            returns (it reopens itself when used again), so the fitted estimator
            can be pickled and cloned; prefer a path or URL.
        study: The study name in ``storage``. Re-running a fit with the same storage
            and study on the same data, folds and scoring resumes the search
            (``trials`` is the total budget); on other data it raises
            :class:`DataMismatchError`. ``None`` names the study after the space and
            a fingerprint of the data, folds and scoring, so each data set (each fold
            of ``cross_val_score`` or ``GridSearchCV``) gets a study of its own.
        progress: Show the search's progress (trials done, best score so far, time
            left): ``True`` on stderr, or as one output of the cell in a Jupyter
            notebook; ``None`` only when stderr is a terminal or in a notebook;
            ``False`` (the default) never, so that a fit inside ``cross_val_score``
            or ``GridSearchCV`` stays quiet. The value shown is the study's loss,
            the negated score.

    Attributes:
        best_config_: The best configuration (an instance of ``space``).
        best_score_: Its mean cross-validated score (accuracy unless ``scoring`` names
            another; higher is better).
        best_estimator_: Its estimator, refitted on all of ``X, y``.
        result_: The search's :class:`asynchyper.Result` (every trial, ``best``).
        study_: The study's name in ``storage`` (reopen it with ``open_study`` or the CLI).
        classes_: The class labels seen in ``fit``.
        n_features_in_: The number of features seen in ``fit``.
        feature_names_in_: The column names seen in ``fit``, when ``X`` was a
            DataFrame with string column names (else absent). ``predict`` and the
            other methods then refuse columns with other names or in another order.
    """

    _task: ClassVar[Task] = "classifier"
    _default_space: ClassVar[type[Buildable]] = ClassifierPipeline

    if TYPE_CHECKING:
        # From the mixin (untyped), first in the bases: declared here to be typed.
        def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
            """Accuracy of the refitted best estimator on ``X, y`` (scikit-learn's ``score``)."""
            ...

    def _check_target(self, y: Any, n_samples: int, stratified: int | None) -> npt.NDArray[Any]:
        return check_classification_target(y, n_samples, stratified_splits=stratified)

    @_if_best_estimator_has("predict_proba")
    def predict_proba(self, X: Any) -> npt.NDArray[np.float64]:
        """Class probabilities from the refitted best estimator.

        Present only when the best estimator has ``predict_proba`` (an SVC or a
        hinge-loss SGD has not), so ``hasattr`` and scikit-learn's scorers see what
        the fitted model offers. Before ``fit`` it is present and raises
        ``NotFittedError``.

        Args:
            X: Features with the columns used in ``fit``.

        Returns:
            Probabilities, shape ``(n_samples, n_classes)``, columns in ``classes_`` order.

        Raises:
            AttributeError: The best estimator has no ``predict_proba``; the cause
                names its model and what to use instead.
            DataError: ``X`` is not numeric, has missing values, the wrong width, or
                column names other than those seen in ``fit`` (or in another order).
            NotFittedError: ``fit`` has not been called.
        """
        features = self._check_fitted_input(X)
        probabilities: npt.NDArray[np.float64] = self.best_estimator_.predict_proba(features)
        return probabilities

    @_if_best_estimator_has("predict_log_proba")
    def predict_log_proba(self, X: Any) -> npt.NDArray[np.float64]:
        """Log of the class probabilities from the refitted best estimator.

        Present only when the best estimator has ``predict_log_proba`` (as for
        :meth:`predict_proba`).

        Args:
            X: Features with the columns used in ``fit``.

        Returns:
            Log-probabilities, shape ``(n_samples, n_classes)``, columns in
            ``classes_`` order.

        Raises:
            AttributeError: The best estimator has no ``predict_log_proba``; the cause
                names its model and what to use instead.
            DataError: ``X`` is not numeric, has missing values, the wrong width, or
                column names other than those seen in ``fit`` (or in another order).
            NotFittedError: ``fit`` has not been called.
        """
        features = self._check_fitted_input(X)
        log_probabilities: npt.NDArray[np.float64] = self.best_estimator_.predict_log_proba(
            features
        )
        return log_probabilities

    @_if_best_estimator_has("decision_function")
    def decision_function(self, X: Any) -> npt.NDArray[np.float64]:
        """Confidence scores from the refitted best estimator.

        Present only when the best estimator has ``decision_function`` (an SVC or a
        logistic regression has; a forest has not), so that scorers such as
        ``roc_auc`` can rank samples when there are no probabilities.

        Args:
            X: Features with the columns used in ``fit``.

        Returns:
            Scores, shape ``(n_samples,)`` for two classes (positive means
            ``classes_[1]``), else ``(n_samples, n_classes)``.

        Raises:
            AttributeError: The best estimator has no ``decision_function``; the cause
                names its model and what to use instead.
            DataError: ``X`` is not numeric, has missing values, the wrong width, or
                column names other than those seen in ``fit`` (or in another order).
            NotFittedError: ``fit`` has not been called.
        """
        features = self._check_fitted_input(X)
        scores: npt.NDArray[np.float64] = self.best_estimator_.decision_function(features)
        return scores


class AutoRegressor(RegressorMixin, _AutoEstimator[SR]):  # type: ignore[misc]  # sklearn is untyped
    """A regressor that finds its own pipeline: a cross-validated search, then a refit.

    As :class:`AutoClassifier`, for a numeric target: ``cv`` plain shuffled folds and,
    by default, the R² score. The space must build regressors (default
    :class:`RegressorPipeline`).

    Args:
        space: The space class to search; ``None`` means :class:`RegressorPipeline`.
        trials: The study's total budget of completed trials.
        cv: Number of folds (shuffled with ``seed``), or a scikit-learn splitter.
        scoring: A scorer name (``"r2"``, ``"neg_mean_absolute_error"``, ...) or
            callable; ``None`` uses R².
        concurrency: Trials running at once.
        executor: As for :class:`AutoClassifier`: ``"process"``, ``"thread"``, or an
            :class:`asynchyper.Executor`.
        timeout: Seconds for the whole search (the refit comes after).
        trial_timeout: Seconds per trial; a slower trial fails.
        seed: Seeds the suggester, the folds and every ``random_state`` of the built
            estimators (``None``: as for :class:`AutoClassifier`).
        portfolio: Evaluate a few proven default pipelines first (see
            :class:`AutoClassifier`).
        suggester: The search algorithm (default: ``asynchyper.TPE()``).
        storage: Where trials are kept; default in memory (see :class:`AutoClassifier`).
        study: The study name in ``storage``: re-running on the same data resumes the
            search; ``None`` gives each data set its own study (see
            :class:`AutoClassifier`).
        progress: Show the search's progress (see :class:`AutoClassifier`; default
            ``False``).

    Attributes:
        best_config_: The best configuration (an instance of ``space``).
        best_score_: Its mean cross-validated score (R² unless ``scoring`` names another;
            higher is better).
        best_estimator_: Its estimator, refitted on all of ``X, y``.
        result_: The search's :class:`asynchyper.Result` (every trial, ``best``).
        study_: The study's name in ``storage`` (reopen it with ``open_study`` or the CLI).
        n_features_in_: The number of features seen in ``fit``.
        feature_names_in_: The column names seen in ``fit``, when ``X`` was a
            DataFrame with string column names (else absent).
    """

    _task: ClassVar[Task] = "regressor"
    _default_space: ClassVar[type[Buildable]] = RegressorPipeline

    if TYPE_CHECKING:
        # From the mixin (untyped), first in the bases: declared here to be typed.
        def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
            """R² of the refitted best estimator on ``X, y`` (scikit-learn's ``score``)."""
            ...

    def _check_target(self, y: Any, n_samples: int, stratified: int | None) -> npt.NDArray[Any]:
        return check_regression_target(y, n_samples)


def _is_int(value: object) -> bool:
    """An int (numpy's too), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_fitted_name(name: str) -> bool:
    """scikit-learn's convention: fitted attributes end in ``_`` (and are not private)."""
    return name.endswith("_") and not name.startswith("_")
