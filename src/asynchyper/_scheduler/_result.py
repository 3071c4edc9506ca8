"""The outcome of an optimization run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Generic, TypeVar, cast

import attrs

from .._errors import NoCompletedTrialsError
from .._executor._remote import short_repr
from .._export import to_dataframe, trial_records
from .._records import Trial, TrialState, error_summary
from .._types import Direction, JSONInput, JSONValue

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Evaluation", "Result", "check_attrs_mapping"]

T = TypeVar("T")


@attrs.frozen
class Evaluation:
    """What an objective may return instead of a bare float: a value plus attributes.

    Attributes:
        value: The objective value.
        attrs: JSON-safe user attributes stored with the trial (e.g. metrics).
    """

    value: float
    attrs: Mapping[str, JSONInput] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        # Checked here, in the objective's own frame, so that a mistake names the call
        # instead of surfacing as an internal error when the result is stored.
        check_attrs_mapping(self.attrs, what="Evaluation(attrs=...)")


def check_attrs_mapping(given: object, *, what: str) -> None:
    """Refuse user attributes that are not a mapping (a list of pairs, ``None``...).

    Raises:
        TypeError: Naming ``what``, the value and the expected form.
    """
    if not isinstance(given, Mapping):
        msg = (
            f"{what} takes a dict of attribute names to JSON-safe values, e.g. "
            f"{{'accuracy': 0.93}}; got {type(given).__qualname__} {short_repr(given)}"
        )
        raise TypeError(msg)


@attrs.frozen(kw_only=True)
class Result(Generic[T]):
    """Every trial of a study after an optimization run.

    Attributes:
        study: The study name.
        direction: ``"minimize"`` or ``"maximize"``.
        trials: Every trial of the study, ordered by number.
        stop_reason: Why the run ended: ``"budget"`` (the study holds ``trials``
            completed trials), ``"timeout"``, ``"target"``, ``"patience"``,
            ``"max_failures"``, ``"stopped"`` (``Study.stop()``, e.g. from a callback),
            or ``None`` when the result was not produced by a run.
        space: The space's JSON description (``Space.describe()``), which gives
            :meth:`to_dataframe` its column types and :func:`parameter_importance`
            and the plots their bounds, log scales and choices; ``None`` infers them
            from the values.
    """

    study: str
    direction: Direction
    # repr: a count (the whole list of a long study made a repr of 300,000 characters)
    trials: Sequence[Trial[T]] = attrs.field(repr=lambda trials: f"<{len(trials)} trials>")
    stop_reason: str | None = None
    space: Sequence[Mapping[str, JSONValue]] | None = attrs.field(
        default=None, repr=False, eq=False
    )

    def records(self) -> list[dict[str, JSONValue]]:
        """Every trial as a flat, JSON-safe dict (``params.<name>`` columns); no pandas.

        The same rows as :meth:`Study.records`, from the trials this result holds.

        Returns:
            One dict per trial, ordered by number.
        """
        return trial_records(self.trials, self.space)

    def to_dataframe(self) -> pd.DataFrame:
        """Every trial as a pandas DataFrame (Optuna's ``trials_dataframe()``).

        The same frame as :meth:`Study.to_dataframe`: one column per flat parameter
        (``params.<name>``), an inactive parameter ``pd.NA`` (``NaN`` in float
        columns).

        Returns:
            The DataFrame, one row per trial.

        Raises:
            MissingExtraError: pandas is not installed (``asynchyper[pandas]``).
        """
        return to_dataframe(self.trials, self.space)

    @property
    def completed(self) -> list[Trial[T]]:
        """The trials that completed with a value."""
        return [t for t in self.trials if t.state is TrialState.COMPLETE]

    @property
    def best(self) -> Trial[T]:
        """The completed trial with the best value (lowest number breaks ties).

        Raises:
            NoCompletedTrialsError: No trial completed.
        """
        done = self.completed
        if not done:
            counts = {s.value: 0 for s in TrialState}
            for t in self.trials:
                counts[t.state.value] += 1
            failed = [t for t in self.trials if t.state is TrialState.FAILED]
            if failed:
                cause = (
                    f"; the last failed trial ({failed[-1].number}) ended with: "
                    f"{error_summary(failed[-1].error)} (every trial's `error` holds its "
                    "traceback)"
                )
            elif not self.trials:
                cause = "; it has no trials at all (is the study name right?)"
            else:
                cause = ""
            msg = f"study {self.study!r} has no completed trial (trial states: {counts}){cause}"
            raise NoCompletedTrialsError(msg)
        sign = -1.0 if self.direction == "maximize" else 1.0
        return min(done, key=lambda t: (sign * t.value if t.value is not None else 0.0, t.number))

    @property
    def best_value(self) -> float:
        """The best trial's value, typed ``float`` (``best.value`` is ``float | None``,
        as for any trial; the best one always has a value).

        Raises:
            NoCompletedTrialsError: No trial completed.
        """
        return cast("float", self.best.value)
