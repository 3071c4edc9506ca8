"""The suggester protocol: a synchronous, sans-IO function of data."""

from __future__ import annotations

import abc
import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .._errors import SuggesterError
from .._executor._remote import short_repr
from .._space import Space
from .._types import JSONScalar, Params

__all__ = ["History", "Suggester", "single_proposal", "with_fixed"]

_INITIAL_CAPACITY = 64


def _read_only(view: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``view``, no longer writeable (the history's own buffer stays writeable)."""
    view.flags.writeable = False
    return view


class History:
    """Finished trials of one study, in the numeric encoding of its space.

    Grown incrementally (amortised O(d) per trial) so that a suggester never loops
    over the whole history in Python. Values are *losses* (lower is better);
    ``NaN`` marks a failed trial.

    Args:
        space: The compiled space whose ``to_vector`` encodes each trial.
    """

    def __init__(self, space: Space[Any]) -> None:
        self.space = space
        d = len(space.dimensions)
        self._x = np.full((_INITIAL_CAPACITY, d), np.nan)
        self._y = np.full(_INITIAL_CAPACITY, np.nan)
        self._params: list[dict[str, JSONScalar]] = []

    def __len__(self) -> int:
        return len(self._params)

    def add(self, params: Params, loss: float | None) -> None:
        """Record a finished trial; ``loss`` is ``None`` or ``NaN`` for a failure.

        Args:
            params: The trial's flat parameters, checked against the space.
            loss: Its loss (lower is better), or ``None``/``NaN`` when it failed.

        Raises:
            ParameterError: ``params`` do not fit the space (out of bounds, a missing
                active parameter, an unknown name); the message lists every problem.
            SuggesterError: ``loss`` is infinite or not a number.
        """
        self.space.validate(params)  # a bad row fails here, not in a later suggest()
        given: object = loss  # checked at run time: callers may pass anything
        if given is not None:
            try:
                number = float(given) if isinstance(given, numbers.Real) else math.inf
            except OverflowError:  # an int too large for a float
                number = math.inf
            if math.isinf(number) or isinstance(given, bool):
                msg = (
                    f"History.add(loss={loss!r}): a loss must be a finite number, or None "
                    "or NaN for a failed trial"
                )
                raise SuggesterError(msg)
        n = len(self._params)
        if n == self._x.shape[0]:
            self._x = np.concatenate([self._x, np.full_like(self._x, np.nan)])
            self._y = np.concatenate([self._y, np.full_like(self._y, np.nan)])
        self._x[n] = self.space.to_vector(params)
        self._y[n] = np.nan if loss is None or math.isnan(loss) else loss
        self._params.append(dict(params))

    @property
    def X(self) -> npt.NDArray[np.float64]:  # the conventional design-matrix name
        """``(n, d)`` numeric matrix of finished trials (``NaN`` where inactive).

        A read-only view: copy it (``history.X.copy()``) to change values.
        """
        return _read_only(self._x[: len(self._params)])

    @property
    def y(self) -> npt.NDArray[np.float64]:
        """``(n,)`` losses of finished trials; ``NaN`` for failed ones.

        A read-only view: copy it (``history.y.copy()``) to change values.
        """
        return _read_only(self._y[: len(self._params)])

    @property
    def params(self) -> Sequence[dict[str, JSONScalar]]:
        """Flat parameters of finished trials, in the order they were added."""
        return self._params


class Suggester(abc.ABC):
    """Proposes new configurations from the history. Sans-IO: never awaits, never
    touches storage; the scheduler owns both.

    Subclasses implement :meth:`suggest`. They must be deterministic given the same
    space, history, pending list and generator state.
    """

    def prepare(self, space: Space[Any]) -> None:  # noqa: B027 - optional, no-op by default
        """One-time set-up before the first :meth:`suggest`: slow imports, tables, kernels.

        A study calls it once when it opens, in a worker thread, so that a slow first
        suggestion (TPE's first model fit imports ``scipy.special``, about 0.3 s) never
        stalls the event loop. The default does nothing.

        Args:
            space: The compiled space the study will ask for.
        """

    @abc.abstractmethod
    def suggest(
        self,
        space: Space[Any],
        history: History,
        pending: Sequence[Params],
        rng: np.random.Generator,
        k: int = 1,
    ) -> list[dict[str, JSONScalar]]:
        """Propose ``k`` configurations as flat parameters.

        Args:
            space: The compiled space.
            history: Finished trials (losses; ``NaN`` for failures).
            pending: Flat parameters of trials still running.
            rng: The only source of randomness.
            k: How many to propose; each sees the earlier ones as pending.

        Returns:
            ``k`` flat parameter dicts, each valid for ``space``; none repeats a
            finished or pending configuration of a discrete space while untried
            ones remain.

        Raises:
            SuggesterError: ``k`` is negative.
        """

    def suggest_given(
        self,
        space: Space[Any],
        history: History,
        pending: Sequence[Params],
        rng: np.random.Generator,
        fixed: Params,
    ) -> dict[str, JSONScalar]:
        """Propose one configuration that keeps the ``fixed`` parameters.

        What :meth:`Study.enqueue <asynchyper.Study.enqueue>` calls for a partial
        configuration: some parameters given, the others to be chosen. The default
        asks :meth:`suggest` for one configuration and puts the ``fixed`` values in;
        a parameter that only a fixed branch choice makes active is drawn from the
        prior. A suggester with a model can override it to choose the free
        parameters given the fixed ones, as :class:`~asynchyper.TPE` does.

        Args:
            space: The compiled space.
            history: Finished trials, as for :meth:`suggest`.
            pending: Flat parameters of trials still running.
            rng: The only source of randomness.
            fixed: Part of a configuration, valid for ``space`` (a parameter inside
                a branch comes with its branch choice).

        Returns:
            Flat parameters valid for ``space`` holding every ``fixed`` value.
        """
        proposal = single_proposal(self, self.suggest(space, history, pending, rng, 1))
        return with_fixed(space, space.to_vector(proposal)[None, :], fixed, rng)[0]


def with_fixed(
    space: Space[Any], vectors: npt.NDArray[np.float64], fixed: Params, rng: np.random.Generator
) -> list[dict[str, JSONScalar]]:
    """Rows of ``vectors`` with the ``fixed`` values put in, as flat parameters.

    An entry that the fixed branch choices make active and a row lacks (``NaN``) is
    drawn from the prior.

    Args:
        space: The compiled space.
        vectors: ``(n, d)`` numeric rows.
        fixed: Valid flat parameters, part of a configuration.
        rng: Draws the missing entries.

    Returns:
        One flat parameter dict per row.
    """
    given = space.to_vector(fixed)
    columns = ~np.isnan(given)
    rows = np.array(vectors, dtype=np.float64, copy=True)
    rows[:, columns] = given[columns]
    if (space.active_mask(rows) & np.isnan(rows)).any():
        # Every empty entry from one prior draw, the inactive ones too: a drawn branch
        # entry can activate further entries (a union inside the given branch).
        prior = space.sample_vectors(rng, rows.shape[0], inactive=True)
        rows = np.where(np.isnan(rows), prior, rows)
    return space.from_matrix(rows)


def single_proposal(suggester: Suggester, proposals: object) -> dict[str, JSONScalar]:
    """The one proposal of ``suggest(k=1)``; a SuggesterError naming what came back."""
    given: object = proposals  # checked at run time: a custom suggester may return anything
    if not isinstance(given, list | tuple) or not all(isinstance(p, dict) for p in given):
        msg = (
            f"{suggester!r}.suggest(k=1) returned {type(given).__name__} "
            f"{short_repr(given)}; a suggester must return a list of k dicts of flat "
            "parameters (e.g. [{'lr': 0.01}])"
        )
        raise SuggesterError(msg)
    if len(given) != 1:
        msg = (
            f"{suggester!r}.suggest(k=1) returned {len(given)} proposals; a suggester "
            "must return a list of exactly k"
        )
        raise SuggesterError(msg)
    proposal: dict[str, JSONScalar] = given[0]
    return proposal
