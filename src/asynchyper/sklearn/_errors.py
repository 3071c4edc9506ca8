"""The errors of the scikit-learn integration (all derive from ``AsynchyperError``)."""

from __future__ import annotations

from .._errors import AsynchyperError, SearchSpaceError, SpaceMismatchError

__all__ = [
    "DataError",
    "DataMismatchError",
    "DataTypeError",
    "OptionError",
    "SearchFailedError",
    "SpaceTaskError",
]


class DataError(AsynchyperError, ValueError):
    """``X`` or ``y`` cannot be used for the search; the message says why and how to fix it.

    Raised by ``fit``/``predict`` before any trial runs: non-numeric or missing values,
    mismatched lengths, a single class, fewer samples than folds, or a target that
    does not fit the estimator (class labels given to a regressor, or the reverse).
    """


class DataTypeError(DataError, TypeError):
    """``X`` holds a value that is neither a number nor a string, such as a dict.

    A :class:`DataError` that is also a ``TypeError``, as scikit-learn's own input
    check raises for such a value (a string that is not a number stays a
    ``DataError``, as scikit-learn's ``ValueError``).
    """


class OptionError(AsynchyperError, ValueError):
    """An option of the estimator cannot be used (``cv``, ``scoring``).

    Raised by ``fit`` before any trial runs; the message names the value and a fix.
    """


class DataMismatchError(SpaceMismatchError):
    """A stored study was made by a fit on other data (or other folds or scoring).

    Its trials score another objective, so ``fit`` refuses to resume it; the message
    says what changed and suggests a new study name or deleting the study. Also a
    :class:`~asynchyper.SpaceMismatchError` (and so a ``StorageError`` and a
    ``ValueError``): the stored study does not match this fit.
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
