"""A first study: typed space, async objective, 8 trials in flight, stored in SQLite.

Run it with ``python examples/quickstart.py``. Every trial is written to ``study.db``
(in the current directory); run the script again and the study resumes: ``trials`` is
the study's total budget, so a finished study has nothing left to do, and an
interrupted one (Ctrl-C) finishes only what is missing.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Annotated, Literal

import anyio
import attrs

import asynchyper as ah


@attrs.frozen(kw_only=True)
class SVM:
    C: Annotated[float, ah.Float(1e-3, 1e3, log=True)]
    kernel: Literal["rbf", "poly"]


@attrs.frozen(kw_only=True)
class Forest:
    n_estimators: Annotated[int, ah.Int(10, 1000, log=True)]
    bootstrap: bool


@attrs.frozen(kw_only=True)
class Space:
    lr: Annotated[float, ah.Float(1e-5, 1e-1, log=True)]
    dropout: Annotated[float, ah.Float(0.0, 0.5, step=0.05)]
    model: SVM | Forest  # conditional: only the chosen branch's fields exist


async def objective(cfg: Space) -> float:
    """A stand-in for a remote training job: waits, then reports a validation loss."""
    await anyio.sleep(0.01)
    if isinstance(cfg.model, SVM):
        model_loss = abs(cfg.model.C - 10.0) / 100 + (0.05 if cfg.model.kernel == "poly" else 0)
    else:
        model_loss = abs(cfg.model.n_estimators - 300) / 1000 + (0 if cfg.model.bootstrap else 0.1)
    return model_loss + abs(cfg.lr - 1e-3) * 10 + abs(cfg.dropout - 0.2)


async def main(storage: str, trials: int) -> None:
    started = time.perf_counter()
    result = await ah.minimize(
        objective,
        Space,
        trials=trials,
        concurrency=8,
        storage=storage,
        study="quickstart",
        seed=0,
    )
    elapsed = time.perf_counter() - started
    best = result.best
    print(f"study 'quickstart' in {storage}: {len(result.completed)} completed trials")
    print(f"this run: {elapsed:.2f} s, stopped because of: {result.stop_reason}")
    print(f"best value {best.value:.4f} from trial {best.number}:")
    print(f"  {best.config}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--storage", default="study.db", help="SQLite file (default: study.db)")
    quick = bool(os.environ.get("ASYNCHYPER_QUICK"))
    parser.add_argument("--trials", type=int, default=30 if quick else 100)
    arguments = parser.parse_args()
    anyio.run(main, arguments.storage, arguments.trials)
