"""Trials as flat plain records (CSV/JSON rows) or as a pandas DataFrame."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._errors import MissingExtraError
from ._records import TrialLike
from ._types import JSONValue

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "PARAM_PREFIX",
    "USER_ATTR_PREFIX",
    "TrialLike",
    "record_columns",
    "to_dataframe",
    "trial_records",
]

#: Prefix of the parameter columns: ``params.lr``, ``params.model:SVM.C``.
PARAM_PREFIX = "params."
#: Prefix of the user attribute columns: ``user_attrs.accuracy``.
USER_ATTR_PREFIX = "user_attrs."

_LEADING = ("number", "state", "value", "duration", "started_at", "finished_at")
_TRAILING = ("owner", "error")


def record_columns(
    trials: Iterable[TrialLike],
    space: Sequence[Mapping[str, JSONValue]] | None = None,
) -> list[str]:
    """The column names of :func:`trial_records` for these trials, in order.

    Args:
        trials: The trials.
        space: The study's space description (``Space.describe()``, or
            ``StudyRecord.space``); its parameters come first, in its order, even
            those no trial has.

    Returns:
        ``number``, ``state``, ``value``, ``duration``, ``started_at``,
        ``finished_at``, one ``params.<name>`` column per flat parameter, one
        ``user_attrs.<key>`` column per user attribute, then ``owner`` and ``error``.
    """
    params: dict[str, None] = {}
    for dimension in space or ():
        params[str(dimension["name"])] = None
    attributes: dict[str, None] = {}
    for trial in trials:
        params.update(dict.fromkeys(trial.params))
        attributes.update(dict.fromkeys(trial.user_attrs))
    return [
        *_LEADING,
        *(PARAM_PREFIX + name for name in params),
        *(USER_ATTR_PREFIX + key for key in attributes),
        *_TRAILING,
    ]


def trial_records(
    trials: Iterable[TrialLike],
    space: Sequence[Mapping[str, JSONValue]] | None = None,
) -> list[dict[str, JSONValue]]:
    """Trials as flat, JSON-safe dicts: one row each, usable without pandas.

    Every dict has the same keys (see :func:`record_columns`), so the rows can be
    written with :class:`csv.DictWriter` as they are. A parameter that is inactive
    in a trial (another branch was chosen) and a user attribute that a trial lacks
    are ``None``, so a parameter whose choices include ``None`` is ``None`` both
    when that choice was made and when the parameter was inactive: its branch
    parameter's column (``params.model`` for ``params.model:SVM.kernel``) tells
    them apart, as does the trial's ``params`` dict (an inactive parameter has no
    key there). :func:`to_dataframe` keeps the difference.

    Args:
        trials: :class:`TrialRecord` or :class:`Trial` objects.
        space: The study's space description; orders the parameter columns.

    Returns:
        One dict per trial, in the given order: ``number``, ``state`` (its value,
        e.g. ``"complete"``), ``value``, ``duration`` (seconds), ``started_at`` and
        ``finished_at`` (Unix times), ``params.<flat name>``, ``user_attrs.<key>``,
        ``owner`` (the study process that ran it, ``host:pid:token``) and ``error``.
    """
    trials = list(trials)
    columns = record_columns(trials, space)
    records: list[dict[str, JSONValue]] = []
    for trial in trials:
        record: dict[str, JSONValue] = dict.fromkeys(columns)
        record["number"] = trial.number
        record["state"] = trial.state.value
        record["value"] = trial.value
        record["duration"] = _duration(trial)
        record["started_at"] = trial.started_at
        record["finished_at"] = trial.finished_at
        for name, param in trial.params.items():
            record[PARAM_PREFIX + name] = param
        for key, attribute in trial.user_attrs.items():
            record[USER_ATTR_PREFIX + key] = attribute
        record["owner"] = trial.owner
        record["error"] = trial.error
        records.append(record)
    return records


def to_dataframe(
    trials: Iterable[TrialLike],
    space: Sequence[Mapping[str, JSONValue]] | None = None,
) -> pd.DataFrame:
    """Trials as a pandas DataFrame with one column per flat parameter.

    The columns are those of :func:`trial_records`. ``started_at`` and
    ``finished_at`` become UTC timestamps, ``duration`` stays in seconds; with a
    space description, int parameters get the nullable ``Int64`` dtype and float
    parameters ``float64``. A parameter inactive in a trial (another branch was
    chosen) is pandas' missing value (``pd.NA`` in ``Int64`` columns, ``NaN`` in
    ``float64`` and string ones). A parameter with a ``None`` choice that some trial
    made gets an ``object`` column in which a ``None`` cell is that choice and
    ``pd.NA`` an inactive parameter (``isna()`` is true for both;
    ``column.map(lambda v: v is pd.NA)`` finds the inactive ones).

    Args:
        trials: :class:`TrialRecord` or :class:`Trial` objects.
        space: The study's space description (``Space.describe()`` or
            ``StudyRecord.space``).

    Returns:
        The DataFrame, one row per trial in the given order.

    Raises:
        MissingExtraError: pandas is not installed.
    """
    try:
        import pandas as pd  # noqa: PLC0415 - optional extra, imported on use
    except ImportError as exc:
        msg = (
            "to_dataframe() needs pandas, which is not installed; install it with "
            "pip install 'asynchyper[pandas]', or use `await study.records()` for the "
            "same rows as plain dicts (`asynchyper export` writes them as CSV or JSON)"
        )
        raise MissingExtraError(msg) from exc
    trials = list(trials)
    columns = record_columns(trials, space)
    frame = pd.DataFrame.from_records(trial_records(trials, space), columns=columns)
    frame["number"] = frame["number"].astype("int64")
    frame["state"] = frame["state"].astype("object")
    for column in ("value", "duration"):
        frame[column] = frame[column].astype("float64")
    for column in ("started_at", "finished_at"):
        frame[column] = pd.to_datetime(frame[column].astype("float64"), unit="s", utc=True)
    for dimension in space or ():
        dtype = _DTYPES.get(str(dimension.get("kind")))
        if dtype is not None:
            column = PARAM_PREFIX + str(dimension["name"])
            frame[column] = _as_dtype(pd, frame[column], dtype)
    for column in frame.columns:
        name = column.removeprefix(PARAM_PREFIX)
        if column == name or not any(
            name in trial.params and trial.params[name] is None for trial in trials
        ):
            continue
        # A None choice was made: keep None for it and pd.NA (as in Int64 columns) for
        # an inactive parameter, in an object column (pandas' string dtype would turn
        # both into NaN).
        frame[column] = pd.Series(
            [trial.params.get(name, pd.NA) for trial in trials],
            index=frame.index,
            dtype=object,
        )
    return frame


_DTYPES = {"int": "Int64", "float": "float64"}


def _as_dtype(pd: Any, column: Any, dtype: str) -> Any:
    """A parameter column in its numeric dtype (``None`` becomes a missing value)."""
    if dtype == "Int64":
        # pd.array takes ints mixed with None exactly (no detour through float)
        return pd.Series(pd.array(column.tolist(), dtype="Int64"), index=column.index)
    return column.astype(dtype)


def _duration(trial: TrialLike) -> float | None:
    """Seconds from start to finish, when both are known."""
    if trial.started_at is None or trial.finished_at is None:
        return None
    return trial.finished_at - trial.started_at
