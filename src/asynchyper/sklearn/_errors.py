"""The errors of the scikit-learn integration (all derive from ``AsynchyperError``)."""

from __future__ import annotations

from .._errors import AsynchyperError, SearchSpaceError

__all__ = ["DataError", "SearchFailedError", "SpaceTaskError"]


class DataError(AsynchyperError, ValueError):
    """``X`` or ``y`` cannot be used for the search; the message says why and how to fix it.

    Raised by ``fit``/``predict`` before any trial runs: non-numeric or missing values,
    mismatched lengths, a single class, fewer samples than folds, or a target that
    does not fit the estimator (class labels given to a regressor, or the reverse).
    """


class SpaceTaskError(SearchSpaceError, ValueError):
    """The search space cannot serve the estimator.

    Raised before any trial runs when the space class has no ``build()`` method, builds
    something that is not a scikit-learn estimator, or builds regressors for a
    classifier (or the reverse).
    """


class SearchFailedError(AsynchyperError, RuntimeError):
    """The search ended without any completed trial, so there is no model to refit.

    The message gives the reason the first trials failed (or that the time budget
    ran out first).
    """
