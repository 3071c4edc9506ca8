"""A CPU-bound study on a Dask cluster: every trial runs as one Dask task.

Run it with ``python examples/dask_cluster.py`` (needs ``pip install 'asynchyper[dask]'``).
Without arguments it starts a ``LocalCluster`` with two worker processes on this machine
and closes it at the end; ``--scheduler tcp://host:8786`` sends the trials to a running
Dask scheduler instead (its workers need asynchyper installed).

The objective is pure Python, so threads could not run two trials at once; Dask worker
processes can. It is defined in this script, so cloudpickle sends it to the workers by
value; the ``if __name__ == "__main__":`` guard keeps the worker processes, which import
this script, from starting a study of their own.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from typing import Annotated

import anyio
import attrs
from distributed import get_worker

import asynchyper as ah
from asynchyper.dask import DaskExecutor

QUICK = bool(os.environ.get("ASYNCHYPER_QUICK"))


@attrs.frozen(kw_only=True)
class Momentum:
    """Gradient descent with momentum, tuned to minimise the Rosenbrock function."""

    lr: Annotated[float, ah.Float(1e-5, 1e-2, log=True)]
    momentum: Annotated[float, ah.Float(0.0, 0.99)]
    steps: Annotated[int, ah.Int(1_000, 100_000, log=True)]


def rosenbrock_descent(cfg: Momentum) -> float:
    """Run the optimiser in pure Python (CPU-bound) and report the final loss."""
    ah.current_trial().set_attr("worker", get_worker().address)
    x, y = -1.5, 2.0
    vx = vy = 0.0
    steps = cfg.steps // 50 if QUICK else cfg.steps
    for _ in range(steps):
        gx = -2.0 * (1.0 - x) - 400.0 * x * (y - x * x)
        gy = 200.0 * (y - x * x)
        vx = cfg.momentum * vx - cfg.lr * gx
        vy = cfg.momentum * vy - cfg.lr * gy
        x, y = x + vx, y + vy
        if abs(x) > 1e3 or abs(y) > 1e3:
            return 1e6  # diverged: a large, finite loss
    return (1.0 - x) ** 2 + 100.0 * (y - x * x) ** 2


async def main(scheduler: str | None, trials: int) -> None:
    if scheduler is None:
        executor = DaskExecutor(
            cluster_options={"n_workers": 2, "threads_per_worker": 1, "dashboard_address": ":0"}
        )
    else:
        executor = DaskExecutor(scheduler)
    started = time.perf_counter()
    result = await ah.minimize(
        rosenbrock_descent,
        Momentum,
        trials=trials,
        concurrency=2,  # about the cluster's total worker threads
        executor=executor,
        trial_timeout=60.0,
        seed=0,
    )
    elapsed = time.perf_counter() - started
    workers = Counter(str(t.user_attrs.get("worker")) for t in result.completed)
    print(f"{len(result.completed)} trials in {elapsed:.1f} s on {len(workers)} Dask workers:")
    for worker, count in sorted(workers.items()):
        print(f"  {worker}: {count} trials")
    best = result.best
    print(f"best loss {best.value:.3g} from trial {best.number}: {best.config}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scheduler", help="a Dask scheduler address (default: a LocalCluster)")
    parser.add_argument("--trials", type=int, default=8 if QUICK else 60)
    arguments = parser.parse_args()
    anyio.run(main, arguments.scheduler, arguments.trials)
