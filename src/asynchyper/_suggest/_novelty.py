"""Avoiding repeats: never propose a configuration that was already tried or is running.

Comparisons work on raw numeric vectors (``NaN`` = inactive) with a per-column
tolerance: a fraction of the step for grid values and choices (so neighbours never
merge, however small the step or large the value), relative for continuous floats.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from .._space import Space
from .._types import JSONScalar, Params
from ._base import with_fixed
from ._encoding import ENUMERATION_LIMIT, BoolArray, Encoding, FloatArray

__all__ = ["collides", "novel_given", "novel_prior"]

logger = logging.getLogger(__name__)

_PRIOR_DRAWS = 64
#: Prior draws a completion of a partial configuration picks an untried one from.
_GIVEN_DRAWS = 16


def collides(rows: FloatArray, seen: FloatArray, encoding: Encoding) -> BoolArray:
    """Which of ``rows`` (``(m, d)``) equal some row of ``seen`` (``(n, d)``).

    Equal means: inactive in the same columns, and within the encoding's per-column
    tolerance elsewhere (a fraction of the step for grid values, relative for
    continuous floats).
    """
    if seen.shape[0] == 0 or rows.shape[0] == 0:
        return np.zeros(rows.shape[0], dtype=np.bool_)
    atol, rtol = encoding.same_atol, encoding.same_rtol
    if rows.shape[0] == 1 and rows.shape[1]:
        # The common case (one candidate, continuous values): let the first column
        # rule out almost every row before comparing whole rows.
        # A looser tolerance than below (relative to the candidate): it only filters.
        first, column = float(rows[0, 0]), seen[:, 0]
        if math.isnan(first):
            near = np.isnan(column)
        else:
            near = np.abs(column - first) <= 2 * (atol[0] + rtol[0] * abs(first))
        seen = seen[near]
        if seen.shape[0] == 0:
            return np.zeros(1, dtype=np.bool_)
    a, b = rows[:, None, :], seen[None, :, :]
    with np.errstate(invalid="ignore"):
        close = np.abs(a - b) <= atol + rtol * np.abs(b)
    same = close | (np.isnan(a) & np.isnan(b))
    return np.asarray(np.any(np.all(same, axis=2), axis=1))


def novel_given(
    encoding: Encoding,
    space: Space[object],
    rng: np.random.Generator,
    fixed: Params,
    seen: FloatArray,
) -> dict[str, JSONScalar]:
    """A prior draw holding the ``fixed`` values, untried when one of a few draws is."""
    draws = with_fixed(space, space.sample_vectors(rng, _GIVEN_DRAWS, inactive=True), fixed, rng)
    rows = space.to_matrix(draws)
    fresh = np.flatnonzero(~collides(rows, seen, encoding))
    return draws[int(fresh[0]) if fresh.size else 0]


def _untried(encoding: Encoding, seen: FloatArray) -> FloatArray:
    everything = encoding.enumerate()
    if seen.shape[0] == 0:
        return everything
    keys = np.concatenate([encoding.grid_keys(seen), encoding.grid_keys(everything)])
    _, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    tried = np.zeros(int(inverse.max()) + 1, dtype=np.bool_)
    tried[inverse[: seen.shape[0]]] = True
    return everything[~tried[inverse[seen.shape[0] :]]]


def novel_prior(
    encoding: Encoding,
    space: Space[object],
    rng: np.random.Generator,
    seen: FloatArray,
) -> FloatArray | None:
    """A prior draw that differs from every row of ``seen``, or ``None`` if none is left.

    Tries one draw, then a batch of draws, then (for a finite space small enough to
    list) a uniform pick among the configurations not yet seen. When every
    configuration was seen, logs a warning (once per encoding) and returns ``None``.
    """
    first = snap(encoding, space.sample_vectors(rng, 1))
    if not collides(first, seen, encoding)[0]:
        return np.asarray(first[0], dtype=np.float64)
    draws = snap(encoding, space.sample_vectors(rng, _PRIOR_DRAWS))
    fresh = np.flatnonzero(~collides(draws, seen, encoding))
    if fresh.size:
        return np.asarray(draws[fresh[0]], dtype=np.float64)
    size = encoding.size()
    if size is None or size > ENUMERATION_LIMIT:
        logger.debug("no untried configuration found among %d prior draws", _PRIOR_DRAWS)
        return None
    untried = _untried(encoding, seen)
    if untried.shape[0] == 0:
        if not encoding.exhausted:  # once per suggester and space: not at every ask
            encoding.exhausted = True
            logger.warning(
                "all %d configurations of the space %s have been tried or are running: the "
                "next suggestions repeat them (use trials=%d or fewer, or widen the space, "
                "to avoid evaluating a configuration twice)",
                size,
                space.cls.__qualname__,
                size,
            )
        return None
    return np.asarray(untried[rng.integers(untried.shape[0])], dtype=np.float64)


def snap(encoding: Encoding, matrix: FloatArray) -> FloatArray:
    """Put raw vectors onto their grids and bounds, keeping inactive entries ``NaN``."""
    return encoding.from_unit(encoding.to_unit(matrix))
