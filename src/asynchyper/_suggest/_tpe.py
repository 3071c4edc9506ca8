"""Tree-structured Parzen estimator with a constant liar."""
# STUB: to be implemented (issue 3).

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._space import Space
from .._types import JSONScalar, Params
from ._base import History, Suggester

__all__ = ["TPE"]


class TPE(Suggester):
    """Tree-structured Parzen estimator (placeholder until issue 3 lands)."""

    def suggest(
        self,
        space: Space[Any],
        history: History,
        pending: Sequence[Params],
        rng: np.random.Generator,
        k: int = 1,
    ) -> list[dict[str, JSONScalar]]:
        """Propose ``k`` configurations."""
        return [space.sample(rng) for _ in range(k)]
