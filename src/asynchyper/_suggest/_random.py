"""Random search: independent draws from the prior, without repeats."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._compat import override
from .._space import Space
from .._types import JSONScalar, Params
from ._base import History, Suggester
from ._encoding import EncodingCache, check_count, pending_matrix
from ._novelty import novel_given, novel_prior, snap

__all__ = ["Random"]


class Random(Suggester):
    """Random search: every suggestion is an independent draw from the prior.

    In a finite (fully discrete) space a draw that equals a finished or pending trial
    is replaced by an untried configuration while one remains. Spaces with a
    continuous dimension skip that check: an exact repeat has probability zero.
    """

    def __init__(self) -> None:
        self._encodings = EncodingCache()

    def __repr__(self) -> str:
        return "Random()"

    @override
    def suggest(
        self,
        space: Space[Any],
        history: History,
        pending: Sequence[Params],
        rng: np.random.Generator,
        k: int = 1,
    ) -> list[dict[str, JSONScalar]]:
        # Draws from the prior; the history and pending trials only serve to avoid
        # repeats in a discrete space.
        check_count(k)
        encoding = self._encodings.get(space)
        if not encoding.is_discrete:
            # A continuous dimension makes an exact repeat a probability-zero event, so
            # skip the O(history) duplicate scan that would dominate each ask.
            return [space.sample(rng) for _ in range(k)]
        seen = np.concatenate([history.X, pending_matrix(space, encoding, pending)])
        out: list[dict[str, JSONScalar]] = []
        for _ in range(k):
            row = novel_prior(encoding, space, rng, seen)
            if row is None:  # every configuration was tried: repeats are allowed now
                row = snap(encoding, space.sample_vectors(rng, 1))[0]
            out.append(space.from_vector(row))
            seen = np.concatenate([seen, row[None, :]])
        return out

    @override
    def suggest_given(
        self,
        space: Space[Any],
        history: History,
        pending: Sequence[Params],
        rng: np.random.Generator,
        fixed: Params,
    ) -> dict[str, JSONScalar]:
        """A prior draw holding the ``fixed`` values, untried while one of a few draws is.

        Args:
            space: The compiled space.
            history: Finished trials (only to avoid repeats).
            pending: Flat parameters of trials still running or queued.
            rng: The only source of randomness.
            fixed: Part of a configuration, valid for ``space``.

        Returns:
            Flat parameters valid for ``space`` holding every ``fixed`` value.
        """
        encoding = self._encodings.get(space)
        seen = np.concatenate([history.X, pending_matrix(space, encoding, pending)])
        return novel_given(encoding, space, rng, fixed, seen)
