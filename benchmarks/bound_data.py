"""Data bound to an objective: the time of a study with threads, processes and Dask.

An objective that carries data (``functools.partial(train, X=X)``) must send it to
worker processes; asynchyper pickles it once per run and sends it once to each worker
(each trial then loads its own copy there). This times ``trials`` trivial trials at
concurrency 2 with ``--megabytes`` MB bound, with ``executor="thread"`` (no copying at
all), ``"process"``, and a ``DaskExecutor`` on a two-worker local cluster (when
``distributed`` is installed), and prints each time and what each trial cost more
than with threads (the transfer); the worker processes and the cluster are started
(and warmed up) before the timing. Run::

    python benchmarks/bound_data.py                   # 100 MB, 20 trials
    python benchmarks/bound_data.py --megabytes 10 --trials 4
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import logging
import time
import warnings
from typing import Annotated, Any

import anyio
import attrs
import numpy as np

import asynchyper as ah


@attrs.frozen
class Space:
    """One float: the trials are trivial, the data is what costs."""

    x: Annotated[float, ah.Float(0.0, 1.0)]


def train(config: Space, data: np.ndarray) -> float:
    """Reads a little of the data, as a real objective would read all of it."""
    return float(data[:10].sum()) + config.x


async def timed(objective: Any, executor: Any, trials: int) -> float:
    """Seconds for a study of ``trials`` trials at concurrency 2 (all must complete)."""
    started = time.perf_counter()
    result = await ah.minimize(
        objective, Space, trials=trials, concurrency=2, executor=executor, progress=False, seed=0
    )
    seconds = time.perf_counter() - started
    if len(result.completed) != trials:
        msg = f"{executor!r}: {len(result.completed)} of {trials} trials completed"
        raise RuntimeError(msg)
    return seconds


async def main(megabytes: float, trials: int) -> None:
    """Print the table."""
    data = np.ones(int(megabytes * 1_000_000) // 8)
    objective = functools.partial(train, data=data)
    small = functools.partial(train, data=np.ones(10))
    await timed(small, "thread", 2)  # the first study of a process pays its imports
    times = {"thread": await timed(objective, "thread", trials)}
    await timed(small, "process", 2)  # start the workers: not what is measured
    times["process"] = await timed(objective, "process", trials)
    if importlib.util.find_spec("distributed") is not None:
        import distributed  # noqa: PLC0415 - optional: timed only when installed

        from asynchyper.dask import DaskExecutor  # noqa: PLC0415

        logging.getLogger("distributed").setLevel(logging.ERROR)
        # Each worker's first task carries the pickle: Dask warns of the large graph.
        warnings.filterwarnings("ignore", message="Sending large graph")
        async with distributed.LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=2, threads_per_worker=1, asynchronous=True, dashboard_address=":0"
        ) as cluster:
            executor = DaskExecutor(cluster.scheduler_address)
            await timed(small, executor, 2)  # connect and warm the workers up
            times["dask"] = await timed(objective, executor, trials)
    print(f"{megabytes:g} MB bound, {trials} trials at concurrency 2")
    print(f"{'executor':<9} | {'seconds':>8} | {'ms per trial more than threads':>30}")
    for name, seconds in times.items():
        extra = 1000 * (seconds - times["thread"]) / trials
        print(f"{name:<9} | {seconds:>8.2f} | {extra:>30.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--megabytes", type=float, default=100.0)
    parser.add_argument("--trials", type=int, default=20)
    args = parser.parse_args()
    anyio.run(main, args.megabytes, args.trials)
