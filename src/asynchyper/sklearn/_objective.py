"""The objective of a search: the cross-validated score of one configuration."""

from __future__ import annotations

import contextlib
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score
from threadpoolctl import threadpool_limits

from .._scheduler import Evaluation
from .._types import JSONValue
from ._build import with_random_state

__all__ = ["CrossValidation", "quiet_convergence"]

Split = tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]


@contextlib.contextmanager
def quiet_convergence() -> Iterator[None]:
    """Silence scikit-learn's ``ConvergenceWarning`` inside the block.

    A search deliberately tries configurations whose solvers stop at their
    iteration cap; the warning says nothing the trial's score does not.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@attrs.frozen(repr=False)
class CrossValidation:
    """Scores a configuration by k-fold cross-validation (module level: picklable).

    Every trial uses the same folds, so trials are compared on equal terms. The
    folds of one trial run one after the other inside the trial; trials run
    concurrently.

    Attributes:
        X: The features.
        y: The target.
        splits: The ``(train, test)`` index pairs of the folds.
        scoring: A scikit-learn scorer name or callable (``None``: the estimator's
            ``score``: accuracy or R²).
        seed: Seed set on every ``random_state`` of the built estimator.
        single_threaded: Limit BLAS/OpenMP to one thread in a worker process, and
            OpenMP in a worker thread (``fit`` limits BLAS for the whole process), so
            that concurrent trials do not oversubscribe the cores.
    """

    X: npt.NDArray[np.float64]
    y: npt.NDArray[Any]
    splits: tuple[Split, ...]
    scoring: Any
    seed: int | None
    single_threaded: bool = False

    def __repr__(self) -> str:  # short: error messages quote it, and X may be large
        return (
            f"CrossValidation({len(self.splits)} folds on X of shape {self.X.shape}, "
            f"scoring={self.scoring!r}, seed={self.seed!r})"
        )

    def __call__(self, config: Any) -> Evaluation:
        """Fit and score ``config.build()`` on every fold.

        Args:
            config: A configuration of the space (its ``build()`` is called).

        Returns:
            The negated mean score (the search minimizes), with the per-fold scores,
            their mean and the elapsed seconds as trial attributes.

        Raises:
            ValueError: A fold's score is not finite (the trial fails).
        """
        started = time.perf_counter()
        estimator = with_random_state(config.build(), self.seed)
        # Warning filters and BLAS thread limits are process-wide; only touch them where
        # this trial owns the process (a worker process runs trials on its main thread).
        # OpenMP's limit belongs to the thread that sets it: fit() limits its own thread,
        # so a trial in a worker thread limits its own too (HistGradientBoosting and
        # KNN ran on every core in each of the concurrent trials).
        owns_process = threading.current_thread() is threading.main_thread()
        with contextlib.ExitStack() as stack:
            if owns_process:
                stack.enter_context(quiet_convergence())
                if self.single_threaded:
                    stack.enter_context(threadpool_limits(limits=1))
            elif self.single_threaded:
                stack.enter_context(threadpool_limits(limits=1, user_api="openmp"))
            scores = cross_val_score(
                estimator,
                self.X,
                self.y,
                cv=list(self.splits),
                scoring=self.scoring,
                error_score="raise",
            )
        fold_scores: list[JSONValue] = [float(s) for s in scores]
        mean = float(np.mean(scores))
        if not np.isfinite(mean):
            msg = f"cross-validation scores {fold_scores!r} are not all finite"
            raise ValueError(msg)
        return Evaluation(
            -mean,
            {
                "cv_mean": mean,
                "cv_std": float(np.std(scores)),
                "cv_scores": fold_scores,
                "seconds": time.perf_counter() - started,
            },
        )
