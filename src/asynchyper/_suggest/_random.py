"""Random search: independent draws from the prior."""
# STUB: to be implemented (issue 3).

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._space import Space
from .._types import JSONScalar, Params
from ._base import History, Suggester

__all__ = ["Random"]


class Random(Suggester):
    """Random search: every suggestion is an independent draw from the prior."""

    def suggest(
        self,
        space: Space[Any],
        history: History,
        pending: Sequence[Params],
        rng: np.random.Generator,
        k: int = 1,
    ) -> list[dict[str, JSONScalar]]:
        """Draw ``k`` configurations from the prior."""
        return [space.sample(rng) for _ in range(k)]
