"""Input checks run before any trial: the data, the options and the space.

Every failure names what is wrong (with an example value or column) and the fix,
so that a bad call fails in milliseconds instead of after a search of failed trials.
"""

from __future__ import annotations

import math
import numbers
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
from sklearn.exceptions import DataConversionWarning
from sklearn.metrics import get_scorer
from sklearn.utils.multiclass import type_of_target

from .._space import Space, compile_space
from ._build import Task, estimator_task
from ._errors import DataError, DataTypeError, OptionError, SpaceTaskError

__all__ = [
    "check_classification_target",
    "check_features",
    "check_n_splits",
    "check_progress",
    "check_regression_target",
    "check_scoring",
    "check_space",
    "check_width",
]

#: How many configurations are sampled and built to check a space's task.
PROBE_CONFIGS = 64
_SHOWN = 5  # columns or values quoted in a message


def _column_names(X: Any) -> list[str] | None:
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    return [str(c) for c in columns]


def _describe_columns(columns: Sequence[int], names: list[str] | None) -> str:
    shown = [names[c] if names is not None else str(c) for c in columns[:_SHOWN]]
    more = f" and {len(columns) - _SHOWN} more" if len(columns) > _SHOWN else ""
    return ", ".join(repr(s) if names is not None else s for s in shown) + more


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, str)


def _is_missing(value: object) -> bool:
    """``None``, a float NaN, or pandas' ``pd.NA`` / ``pd.NaT`` (nullable dtypes)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    pandas = sys.modules.get("pandas")  # only data made with pandas can hold its markers
    return pandas is not None and (value is pandas.NA or value is pandas.NaT)


def check_features(
    X: Any, *, name: str = "X", n_features: int | None = None
) -> npt.NDArray[np.float64]:
    """Check a feature matrix and return it as a 2-D ``float64`` array.

    Args:
        X: An array-like of shape ``(n_samples, n_features)`` (NumPy array, nested
            lists, or a pandas DataFrame).
        name: How to call it in messages.
        n_features: The number of features the model was fitted with, if any.

    Returns:
        The features as a C-contiguous ``float64`` array.

    Raises:
        DataError: ``X`` is sparse, not 2-D, empty, holds non-numeric, missing or
            infinite values, or has the wrong number of features.
        DataTypeError: ``X`` holds a value that is neither a number nor a string.
    """
    if hasattr(X, "toarray") and hasattr(X, "nnz"):  # a scipy.sparse matrix or array
        msg = (
            f"{name} is a sparse matrix; the ready-made spaces need dense features. "
            f"Pass {name}.toarray() (or reduce the features first, e.g. with TruncatedSVD)"
        )
        raise DataError(msg)
    names = _column_names(X)
    array = np.asarray(X)
    if array.ndim == 1:
        msg = (
            f"{name} is 1-D (shape {array.shape}); it must be 2-D (n_samples, n_features). "
            f"Reshape your data: {name}.reshape(-1, 1) for a single feature, or "
            f"{name}.reshape(1, -1) for a single sample"
        )
        raise DataError(msg)
    if array.ndim != 2:
        msg = f"{name} has shape {array.shape}; it must be 2-D (n_samples, n_features)"
        raise DataError(msg)
    for axis, what in ((0, "sample"), (1, "feature")):
        if array.shape[axis] == 0:  # worded as scikit-learn's own check words it
            msg = (
                f"{name} is empty: 0 {what}(s) (shape={array.shape}) while a minimum of 1 "
                "is required."
            )
            raise DataError(msg)
    if array.dtype.kind not in "biuf":
        _raise_non_numeric(array, name, names)
    values = np.ascontiguousarray(array, dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.all():
        nan = np.isnan(values)
        columns = np.flatnonzero((~finite).any(axis=0)).tolist()
        where = _describe_columns(columns, names)
        if nan.any():
            msg = (
                f"{name} has {int(nan.sum())} missing (NaN) value(s) in column(s) {where}; "
                "impute them (e.g. sklearn.impute.SimpleImputer) or drop those rows/columns"
            )
        else:
            msg = (
                f"{name} has {int((~finite).sum())} infinite value(s) in column(s) {where}; "
                "replace or clip them, or drop those rows"
            )
        raise DataError(msg)
    if n_features is not None:
        check_width(values, n_features, name=name)
    return values


def check_width(
    features: npt.NDArray[Any],
    n_features: int,
    *,
    name: str = "X",
    estimator: str = "the estimator",
) -> None:
    """Check that checked features have as many columns as the model was fitted with.

    Args:
        features: The features as returned by :func:`check_features`.
        n_features: The number of features seen in ``fit``.
        name: How to call them in messages.
        estimator: The estimator's class name, for messages.

    Raises:
        DataError: Another number of features.
    """
    if features.shape[1] != n_features:
        msg = (
            f"{name} has {features.shape[1]} features, but {estimator} is expecting "
            f"{n_features} features as input (as in fit()); pass the same columns"
        )
        raise DataError(msg)


def _raise_non_numeric(array: npt.NDArray[Any], name: str, names: list[str] | None) -> None:
    """Find the first non-numeric column and raise a :class:`DataError` about it."""
    if array.dtype.kind in "OUS":
        for column in range(array.shape[1]):
            for value in array[:, column].tolist():
                if _is_number(value) and not isinstance(value, complex):
                    continue
                where = _describe_columns([column], names)
                if _is_missing(value):
                    msg = (
                        f"{name} column {where} has missing values ({value!r}); impute them "
                        "(e.g. sklearn.impute.SimpleImputer) or drop those rows/columns"
                    )
                elif isinstance(value, str | bytes):
                    msg = (
                        f"{name} column {where} holds non-numeric values such as {value!r} "
                        f"({type(value).__name__}); encode categorical columns first (e.g. "
                        "sklearn.preprocessing.OneHotEncoder or OrdinalEncoder) or drop them"
                    )
                else:  # worded as scikit-learn's own check (numpy's float()) words it
                    msg = (
                        f"{name} column {where} holds {value!r} ({type(value).__name__}): each "
                        "argument must be a string or a number; turn such values into "
                        "numeric columns or drop them"
                    )
                    raise DataTypeError(msg)
                raise DataError(msg)
        return
    if array.dtype.kind == "c":
        msg = (
            f"Complex data not supported: {name} has dtype {array.dtype}; pass real "
            "numbers (e.g. the real and imaginary parts as two columns)"
        )
        raise DataError(msg)
    msg = (
        f"{name} has dtype {array.dtype}, which is not numeric; convert it to numbers "
        "(e.g. encode dates or categories as numeric columns)"
    )
    raise DataError(msg)


def _target_array(y: Any, n_samples: int) -> npt.NDArray[Any]:
    array = np.asarray(y)
    if array.ndim == 2 and array.shape[1] == 1:
        warnings.warn(  # as scikit-learn's own estimators do
            "A column-vector y was passed when a 1d array was expected. Please change "
            "the shape of y to (n_samples,), for example using ravel().",
            DataConversionWarning,
            # the caller of fit() or afit(): they -> _prepare -> _check_target ->
            # check_*_target -> here
            stacklevel=6,
        )
        array = array.ravel()
    if array.ndim != 1:
        msg = (
            f"y has shape {array.shape}; it must be 1-D (one target per sample). "
            "Multi-output targets are not supported"
        )
        raise DataError(msg)
    if array.shape[0] != n_samples:
        msg = (
            f"X has {n_samples} samples but y has {array.shape[0]}; they must have one "
            "row per sample, in the same order"
        )
        raise DataError(msg)
    if array.dtype.kind == "f":
        missing = int(np.isnan(array).sum())
        if missing:
            msg = (
                f"y has {missing} missing (NaN) value(s); drop those samples (a model "
                "cannot learn from or be scored on a missing target)"
            )
            raise DataError(msg)
        if not np.isfinite(array).all():
            msg = "y has infinite values; drop or clip those samples"
            raise DataError(msg)
    elif array.dtype.kind == "O":
        missing = sum(1 for value in array.tolist() if _is_missing(value))
        if missing:
            msg = (
                f"y has {missing} missing value(s) (None or NaN); drop those samples (a "
                "model cannot learn from or be scored on a missing target)"
            )
            raise DataError(msg)
    return array


def check_n_splits(n_splits: int, n_samples: int) -> None:
    """Check that there are enough samples for the cross-validation folds.

    Args:
        n_splits: Number of folds.
        n_samples: Number of samples.

    Raises:
        DataError: Fewer samples than folds.
    """
    if n_samples < n_splits:
        msg = (
            f"only {n_samples} sample(s) for cv={n_splits} folds; cross-validation needs "
            f"at least one sample per fold. Lower cv (minimum 2) or provide more data"
        )
        raise DataError(msg)


def check_classification_target(
    y: Any, n_samples: int, *, stratified_splits: int | None
) -> npt.NDArray[Any]:
    """Check a classification target.

    Args:
        y: The labels.
        n_samples: Number of samples in ``X``.
        stratified_splits: Folds of the stratified cross-validation that will be
            used, or ``None`` for a user-given splitter (no per-class check).

    Returns:
        The labels as a 1-D array.

    Raises:
        DataError: ``y`` is not 1-D, has the wrong length, missing values, a single
            class, a class with fewer samples than folds, or continuous values.
    """
    labels = _target_array(y, n_samples)
    kind = type_of_target(labels)
    if kind == "continuous":
        example = next(v for v in labels.tolist() if float(v) != int(v))
        msg = (
            f"y looks continuous (e.g. {example!r} is not a class label): this is a "
            "regression target. Use AutoRegressor (with a regressor space such as "
            "RegressorPipeline), or pass class labels"
        )
        raise DataError(msg)
    if kind not in ("binary", "multiclass"):
        msg = f"y has target type {kind!r}; a classifier needs one class label per sample"
        if kind == "unknown":  # worded as scikit-learn's own check words it
            msg = f"Unknown label type: {msg}"
        raise DataError(msg)
    try:
        classes, counts = np.unique(labels, return_counts=True)
    except TypeError as exc:
        msg = f"y mixes labels of different types ({exc}); use labels of one type"
        raise DataError(msg) from exc
    names = classes.tolist()  # Python scalars: np.int64(1) would print as such
    if len(classes) < 2:
        msg = (
            f"y has a single class ({names[0]!r}); a classifier needs samples of at "
            "least two classes"
        )
        raise DataError(msg)
    if stratified_splits is not None:
        check_n_splits(stratified_splits, n_samples)
        smallest = int(np.argmin(counts))
        if counts[smallest] < stratified_splits:
            msg = (
                f"class {names[smallest]!r} has only {int(counts[smallest])} sample(s) but "
                f"stratified cross-validation with cv={stratified_splits} needs at least "
                f"{stratified_splits} per class; lower cv, or drop or merge the rare class"
            )
            if labels.dtype.kind in "iuf" and len(classes) > n_samples // 4:
                msg += (
                    f" (y has {len(classes)} distinct numbers: if it is a quantity rather "
                    "than a class label, use AutoRegressor)"
                )
            raise DataError(msg)
    return labels


def check_regression_target(y: Any, n_samples: int) -> npt.NDArray[np.float64]:
    """Check a regression target.

    Args:
        y: The target values.
        n_samples: Number of samples in ``X``.

    Returns:
        The target as a 1-D ``float64`` array.

    Raises:
        DataError: ``y`` is not 1-D, has the wrong length, missing or non-numeric
            values (class labels), or is constant.
    """
    values = _target_array(y, n_samples)
    if values.dtype.kind == "b":
        msg = (
            "y holds booleans, which are class labels; use AutoClassifier (with a "
            "classifier space such as ClassifierPipeline) or convert y to numbers"
        )
        raise DataError(msg)
    if values.dtype.kind not in "iuf":
        example = next((v for v in values.tolist() if not _is_number(v)), None)
        if example is not None:
            msg = (
                f"y holds non-numeric values such as {example!r}: these are class labels. "
                "Use AutoClassifier (with a classifier space such as ClassifierPipeline), "
                "or convert y to numbers"
            )
            raise DataError(msg)
    numeric = values.astype(np.float64)
    if numeric.size and float(numeric.min()) == float(numeric.max()):
        first = values[:1].tolist()[0]  # a Python scalar: np.float64(2.5) would print as such
        msg = f"y is constant (every value is {first!r}); there is nothing to learn"
        raise DataError(msg)
    return numeric


def check_progress(progress: object) -> None:
    """Check the ``progress`` option: ``True``, ``False`` or ``None``.

    Raises:
        OptionError: Anything else (a string such as ``"yes"`` is not taken as true).
    """
    if progress is None or isinstance(progress, bool):
        return
    msg = (
        f"progress={progress!r} is not True, False or None; pass progress=True to show "
        "the search's progress"
    )
    raise OptionError(msg)


def check_scoring(scoring: Any, *, estimator: str) -> None:
    """Check the ``scoring`` option: ``None``, a scorer name, or a callable.

    Args:
        scoring: The option as given.
        estimator: The estimator's class name, for messages.

    Raises:
        OptionError: An unknown scorer name, or something that is neither a name nor
            callable (such as a list of names: a search needs one score).
    """
    if scoring is None or callable(scoring):
        return
    if isinstance(scoring, str):
        try:
            get_scorer(scoring)
        except ValueError as exc:
            msg = (
                f"{estimator}(scoring={scoring!r}): not a scikit-learn scorer name; list the "
                "valid names with sklearn.metrics.get_scorer_names(), e.g. 'accuracy', "
                "'f1_macro', 'r2' or 'neg_mean_absolute_error'"
            )
            raise OptionError(msg) from exc
        return
    msg = (
        f"{estimator}(scoring={scoring!r}): scoring must be one scorer name or a callable "
        "scorer (a search optimizes one score); e.g. scoring='f1_macro'"
    )
    raise OptionError(msg)


_TASK_FIX = {
    "classifier": "use AutoRegressor for a regressor space, or a classifier space such as "
    "ClassifierPipeline",
    "regressor": "use AutoClassifier for a classifier space, or a regressor space such as "
    "RegressorPipeline",
}


def check_space(space: Any, task: Task, *, estimator: str) -> Space[Any]:
    """Check that ``space`` compiles and builds estimators of the right task.

    A sample of configurations (:data:`PROBE_CONFIGS`, fixed seed, so every branch of
    a typical union is seen) is decoded and built.

    Args:
        space: The attrs space class given to the estimator.
        task: The task the estimator needs.
        estimator: The estimator's class name, for messages.

    Returns:
        The compiled space.

    Raises:
        SpaceTaskError: ``space`` is not an attrs class, has no ``build()``, builds
            something that is not an estimator, or builds the other task.
        InvalidSpaceError: The space declaration is invalid (from the compiler).
    """
    if not (isinstance(space, type) and attrs.has(space)):
        msg = (
            f"{estimator}(space={space!r}): space must be an attrs class (the class itself, "
            "not an instance) such as ClassifierPipeline or RegressorPipeline"
        )
        raise SpaceTaskError(msg)
    compiled: Space[Any] = compile_space(space)
    if not callable(getattr(space, "build", None)):
        msg = (
            f"{estimator}(space={space.__qualname__}): the space class has no build() method; "
            "add `def build(self)` returning a new scikit-learn estimator, e.g. "
            "`return build_pipeline(self.preprocessing, self.model)`"
        )
        raise SpaceTaskError(msg)
    rng = np.random.default_rng(0)
    for _ in range(PROBE_CONFIGS):
        config: Any = compiled.decode(compiled.sample(rng))
        try:
            built = config.build()
        except Exception as exc:
            msg = f"{config!r}.build() raised {exc!r}; fix the space's build() method"
            raise SpaceTaskError(msg) from exc
        if not callable(getattr(built, "fit", None)):
            msg = (
                f"{config!r}.build() returned {built!r}, which is not a scikit-learn "
                "estimator (it has no fit method)"
            )
            raise SpaceTaskError(msg)
        found = estimator_task(built)
        if found != task:
            what = "neither a classifier nor a regressor" if found is None else f"a {found}"
            msg = (
                f"{estimator} needs a {task} space, but {space.__qualname__} builds "
                f"{type(built).__name__} for {config!r}, which is {what}; {_TASK_FIX[task]}"
            )
            raise SpaceTaskError(msg)
    return compiled
