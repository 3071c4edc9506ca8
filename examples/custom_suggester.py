"""Writing a suggester: a nearest-neighbour search, compared with random search.

A suggester is a plain, synchronous function of data (see docs/algorithm.md, "Writing
a suggester"). This one draws candidates from the prior, scores each by the loss of
its nearest finished trial (a crude surrogate), skips candidates close to a running
trial (so that trials in flight spread out) and proposes the best. It follows the
rules every suggester must: it returns values through ``space.from_matrix`` (plain
Python values on the space's grid), keeps no state between calls (a resumed study or
another process gets a fresh instance), draws randomness from ``rng`` only, and reads
``history`` without changing it.

Run it with ``python examples/custom_suggester.py``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import anyio
import attrs
import numpy as np

import asynchyper as ah

QUICK = bool(os.environ.get("ASYNCHYPER_QUICK"))


@attrs.frozen(kw_only=True)
class Space:
    x: Annotated[float, ah.Float(-5.0, 5.0)]
    y: Annotated[float, ah.Float(-5.0, 5.0)]
    shape: Literal["bowl", "ridge"]


def loss(cfg: Space) -> float:
    """Branin-like bumps; the bowl is the better shape."""
    base = (cfg.x - 1.0) ** 2 + (cfg.y + 2.0) ** 2 + math.sin(3 * cfg.x) ** 2
    return base if cfg.shape == "bowl" else base + 2.0


class NearestNeighbour(ah.Suggester):
    """Proposes the prior draw whose nearest finished trial has the lowest loss."""

    def __init__(self, *, n_startup: int = 8, n_candidates: int = 64) -> None:
        self.n_startup = n_startup
        self.n_candidates = n_candidates

    def __repr__(self) -> str:
        return f"NearestNeighbour(n_startup={self.n_startup}, n_candidates={self.n_candidates})"

    def suggest(
        self,
        space: ah.Space[Any],
        history: ah.History,
        pending: Sequence[ah.Params],
        rng: np.random.Generator,
        k: int = 1,
    ) -> list[dict[str, ah.JSONScalar]]:
        if k < 1:
            msg = f"{self!r}.suggest(k={k!r}): k must be >= 1"
            raise ah.SuggesterError(msg)
        ok = ~np.isnan(history.y)  # NaN marks a failed trial
        if np.count_nonzero(ok) + len(pending) < self.n_startup:
            return space.from_matrix(space.sample_vectors(rng, k))
        finished = np.nan_to_num(history.X[ok])  # a copy: history stays as it is
        losses = history.y[ok]
        running = np.nan_to_num(space.to_matrix(list(pending))).reshape(-1, len(space.names))
        chosen: list[np.ndarray[Any, np.dtype[np.float64]]] = []
        for _ in range(k):
            candidates = space.sample_vectors(rng, self.n_candidates)
            filled = np.nan_to_num(candidates)
            near = np.linalg.norm(filled[:, None, :] - finished[None, :, :], axis=2)
            score = losses[np.argmin(near, axis=1)]
            if running.shape[0]:  # spread out: nothing within 0.5 of a running trial
                crowded = np.linalg.norm(filled[:, None, :] - running[None, :, :], axis=2)
                score = np.where(crowded.min(axis=1) < 0.5, np.inf, score)
            best = candidates[int(np.argmin(score))]
            chosen.append(best)
            running = np.vstack([running, np.nan_to_num(best)])  # the next sees it pending
        return space.from_matrix(np.array(chosen))


async def main() -> None:
    trials = 20 if QUICK else 80
    for suggester in (ah.Random(), NearestNeighbour()):
        result = await ah.minimize(
            loss, Space, trials=trials, concurrency=4, suggester=suggester, seed=0
        )
        print(f"{suggester!r:48} best loss {result.best.value:.3f} after {trials} trials")


if __name__ == "__main__":
    print((__doc__ or "").splitlines()[0])
    anyio.run(main)
