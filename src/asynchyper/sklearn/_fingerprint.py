"""What a search's objective is made of, so that a stored study is resumed on it only.

A study's trials are scores of one objective: the cross-validated score on one
data set, with one set of folds and one scorer. The fingerprint of those is kept
in the study's user attributes when the study is created; a later fit on other
data must not count (or report) the old study's trials as its own.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from .._records import StudyRecord
from .._types import JSONValue
from ._errors import DataMismatchError

__all__ = ["DATA_ATTR", "DataFingerprint", "check_same_data"]

#: The study user attribute that holds the fingerprint of the data it was made with.
DATA_ATTR = "sklearn_data"
#: Hex digits of the fingerprint appended to a default study name.
_NAME_DIGITS = 12
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


@attrs.frozen(kw_only=True)
class DataFingerprint:
    """The data, folds and scoring that define a search's objective.

    Attributes:
        digest: sha256 over all of them (hex).
        samples: Number of samples.
        features: Number of features.
        data: sha256 of ``X`` and ``y`` alone (hex).
        cv: The cross-validation, e.g. ``"StratifiedKFold(n_splits=3, ...)"``.
        scoring: The scoring, e.g. ``"'accuracy'"`` or ``"None"``.
    """

    digest: str
    samples: int
    features: int
    data: str
    cv: str
    scoring: str

    @classmethod
    def of(
        cls, X: npt.NDArray[Any], y: npt.NDArray[Any], *, cv: Any, scoring: Any, seeds: str = ""
    ) -> DataFingerprint:
        """Fingerprint checked data and the options that define the objective.

        Args:
            X: The checked features (2-D).
            y: The checked target (1-D).
            cv: The cross-validation splitter (described by its ``repr``).
            scoring: The ``scoring`` option.
            seeds: How the models' ``random_state`` is set, when the splitter's
                ``repr`` does not already tell (a splitter the user gave): the
                models' randomness changes their scores too. Added to ``cv``.

        Returns:
            The fingerprint.
        """
        data = hashlib.sha256()
        for array in (X, y):
            _update(data, array)
        cv_text = _describe(cv)
        if seeds:
            cv_text += f"; {seeds}"
        scoring_text = _describe(scoring)
        whole = hashlib.sha256(data.digest())
        for text in (cv_text, scoring_text):
            whole.update(text.encode())
            whole.update(b"\0")
        return cls(
            digest=whole.hexdigest(),
            samples=int(X.shape[0]),
            features=int(X.shape[1]),
            data=data.hexdigest(),
            cv=cv_text,
            scoring=scoring_text,
        )

    def study_name(self, space: type[Any]) -> str:
        """The study name used when none is given: the space's name and this fingerprint."""
        return f"{space.__qualname__}-{self.digest[:_NAME_DIGITS]}"

    def as_json(self) -> dict[str, JSONValue]:
        """The fingerprint as a JSON-safe dict, as stored in the study."""
        return {
            "digest": self.digest,
            "samples": self.samples,
            "features": self.features,
            "data": self.data,
            "cv": self.cv,
            "scoring": self.scoring,
        }


def _update(digest: Any, array: npt.NDArray[Any]) -> None:
    """Feed an array's shape, dtype and values to ``digest``."""
    digest.update(f"{array.shape}{array.dtype.str}".encode())
    if array.dtype.kind == "O":  # object arrays hold pointers; hash the values' text
        digest.update(repr(array.tolist()).encode())
    else:
        digest.update(np.ascontiguousarray(array).tobytes())


def _describe(option: Any) -> str:
    """A text that stays the same across processes for an equal option."""
    if callable(option) and hasattr(option, "__qualname__"):  # a function
        return f"{getattr(option, '__module__', '')}.{option.__qualname__}"
    return _ADDRESS.sub("", repr(option))


def check_same_data(record: StudyRecord, data: DataFingerprint, *, estimator: str) -> None:
    """Refuse a stored study that was made by a fit on other data, folds or scoring.

    Args:
        record: The study as stored.
        data: The fingerprint of this fit.
        estimator: The estimator's class name, for the message.

    Raises:
        DataMismatchError: The study was made with another fingerprint.
    """
    stored = record.user_attrs.get(DATA_ATTR)
    if not isinstance(stored, Mapping):
        # A study made outside a fit (open_study, minimize): nothing to compare with.
        return
    if stored.get("digest") == data.digest:
        return
    changed = _changes(stored, data)
    msg = (
        f"study {record.name!r} was made by a fit on other data or options ({changed}); "
        "its trials do not score this data. Pass a new study name (study=...), or delete "
        f"the old study (`asynchyper delete {record.name} --storage ...`). "
        f"Inside cross_val_score, GridSearchCV or another tool that clones the {estimator} "
        "for each fold, a fixed study name is shared by every fold: leave study=None (each "
        "data set then gets a study of its own) or leave storage unset"
    )
    raise DataMismatchError(msg)


def _changes(stored: Mapping[str, JSONValue], data: DataFingerprint) -> str:
    """What differs between the stored fingerprint and this one, for the message."""
    changes = []
    shape = (stored.get("samples"), stored.get("features"))
    if shape != (data.samples, data.features):
        changes.append(f"X was {shape[0]} x {shape[1]}, now {data.samples} x {data.features}")
    elif stored.get("data") != data.data:
        changes.append("other values of X or y")
    for option in ("cv", "scoring"):
        before = stored.get(option)
        after = getattr(data, option)
        if before != after:
            changes.append(f"{option} was {before}, now {after}")
    return "; ".join(changes) or "another fingerprint"
