"""Storage benchmark: durable trials/s on a real disk, against Optuna's SQLite storage.

Run::

    python benchmarks/storage_bench.py [--dir DIR] [--trials N] [--optuna-trials M]

Prints, from one run on one disk:

1. durable trials/s of a whole ``minimize(..., concurrency=64)`` on asynchyper's
   SQLite store (``synchronous=FULL``, random search, a trivial objective), on
   asyncio and on trio; the storage API alone (64 tasks each running start_trial +
   finish_trial); and one task, which shows the cost of one commit (fsync) on this
   disk;
2. the same workload through Optuna with ``sqlite:///`` storage (``n_jobs=1``, a
   trivial objective), and the ratio;
3. the time to load 100,000 trials with ``trials()``;
4. ``Study.add`` among 10,000 added trials (``--skip-trials``): plain, and with
   ``skip_if_exists=True`` when it finds its trial and when it adds one.

Numbers are printed, never asserted: compare the ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import anyio
import attrs
import optuna

import asynchyper as ah
from asynchyper import SQLiteStorage, TrialState
from asynchyper._storage import new_owner_id
from asynchyper._types import JSONValue

SPACE: list[dict[str, JSONValue]] = [
    {"name": "x", "kind": "float", "low": -10.0, "high": 10.0, "log": False},
    {"name": "y", "kind": "float", "low": -10.0, "high": 10.0, "log": False},
]


@contextlib.contextmanager
def scratch_dir(parent: str | None) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="asynchyper-bench-", dir=parent) as name:
        yield Path(name)


@attrs.frozen(kw_only=True)
class Space:
    """The two parameters the Optuna objective below suggests."""

    x: Annotated[float, ah.Float(-10.0, 10.0)]
    y: Annotated[float, ah.Float(-10.0, 10.0)]


async def quadratic(config: Space) -> float:
    return config.x * config.x + config.y * config.y


async def minimize_trials_per_second(path: Path, trials: int, concurrency: int) -> float:
    """Time a whole ``minimize`` (ask, suggest, start, evaluate, durable tell)."""
    storage = SQLiteStorage(path, synchronous="FULL")
    start = time.perf_counter()
    result = await ah.minimize(
        quadratic,
        Space,
        trials=trials,
        concurrency=concurrency,
        storage=storage,
        study="bench",
        suggester=ah.Random(),
        seed=0,
    )
    elapsed = time.perf_counter() - start
    completed = sum(trial.state is TrialState.COMPLETE for trial in result.trials)
    assert completed == trials, completed
    return trials / elapsed


async def durable_trials_per_second(path: Path, trials: int, concurrency: int) -> float:
    """Drive the storage directly: each task runs start_trial + finish_trial in a loop."""
    owner = new_owner_id()
    async with SQLiteStorage(path, synchronous="FULL") as storage:
        study = await storage.create_study("bench", fingerprint="bench", space=SPACE)

        async def worker() -> None:
            while True:
                trial = await storage.start_trial(
                    study.id, {"x": 1.0, "y": -2.0}, owner=owner, max_trials=trials
                )
                if trial is None:
                    return
                params = trial.params
                x, y = float(params["x"] or 0.0), float(params["y"] or 0.0)
                await storage.finish_trial(
                    study.id, trial.number, state=TrialState.COMPLETE, value=x * x + y * y
                )

        start = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(concurrency):
                tg.start_soon(worker)
        elapsed = time.perf_counter() - start
        counts = await storage.count_trials(study.id)
        assert counts[TrialState.COMPLETE] == trials, counts
    return trials / elapsed


def optuna_trials_per_second(path: Path, trials: int) -> float:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        storage=f"sqlite:///{path}",
        study_name="bench",
        sampler=optuna.samplers.RandomSampler(seed=0),
    )

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -10.0, 10.0)
        y = trial.suggest_float("y", -10.0, 10.0)
        return float(x * x + y * y)

    study.optimize(objective, n_trials=3, n_jobs=1)  # warm up: schema, caches
    start = time.perf_counter()
    study.optimize(objective, n_trials=trials, n_jobs=1)
    return trials / (time.perf_counter() - start)


async def load_time(path: Path, trials: int) -> tuple[float, float, int]:
    """Build a study of ``trials`` finished trials, then time loading it.

    Returns:
        Seconds to build (synchronous=OFF), seconds to load, trials loaded.
    """
    owner = new_owner_id()
    start = time.perf_counter()
    async with SQLiteStorage(path, synchronous="OFF") as storage:
        study = await storage.create_study("load", fingerprint="load", space=SPACE)

        async def worker() -> None:
            while True:
                trial = await storage.start_trial(
                    study.id, {"x": 0.123456789, "y": -4.5}, owner=owner, max_trials=trials
                )
                if trial is None:
                    return
                await storage.finish_trial(
                    study.id,
                    trial.number,
                    state=TrialState.COMPLETE,
                    value=float(trial.number),
                    user_attrs={"fold_scores": [0.1, 0.2]} if trial.number % 10 == 0 else None,
                )

        async with anyio.create_task_group() as tg:
            for _ in range(256):
                tg.start_soon(worker)
    built = time.perf_counter() - start
    async with SQLiteStorage(path) as storage:
        study = await storage.get_study("load")
        start = time.perf_counter()
        loaded = await storage.trials(study.id)
        elapsed = time.perf_counter() - start
    return built, elapsed, len(loaded)


async def skip_if_exists_ms(path: Path, trials: int, repeats: int = 20) -> tuple[float, ...]:
    """Milliseconds per ``Study.add`` among ``trials`` added trials: plain, with
    ``skip_if_exists=True`` finding its trial, and with it adding one."""
    async with (
        SQLiteStorage(path, synchronous="OFF") as storage,
        ah.open_study(Space, storage=storage, name="skip") as study,
    ):
        for i in range(trials):
            await study.add({"x": i / trials, "y": 0.5}, float(i))
        times = []
        for y, skip in ((0.75, False), (0.5, True), (0.25, True)):
            start = time.perf_counter()
            for i in range(repeats):
                await study.add({"x": i / trials, "y": y}, float(i), skip_if_exists=skip)
            times.append(1000 * (time.perf_counter() - start) / repeats)
    return tuple(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=os.environ.get("ASYNCHYPER_BENCH_DIR", "/work"))
    parser.add_argument("--trials", type=int, default=5000)
    parser.add_argument("--optuna-trials", type=int, default=300)
    parser.add_argument("--load-trials", type=int, default=100_000)
    parser.add_argument("--skip-trials", type=int, default=10_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    with scratch_dir(args.dir) as directory:
        print(f"scratch directory: {directory} (device {os.stat(directory).st_dev})")
        single = anyio.run(minimize_trials_per_second, directory / "single.db", 300, 1)
        print(f"asynchyper minimize, concurrency=1, synchronous=FULL:   {single:9.1f} trials/s")
        results: dict[str, float] = {}
        for backend in ("asyncio", "trio"):
            rate = anyio.run(
                minimize_trials_per_second,
                directory / f"minimize-{backend}.db",
                args.trials,
                64,
                backend=backend,
            )
            results[backend] = rate
            print(f"asynchyper minimize, concurrency=64 ({backend:7s}), FULL: {rate:9.1f} trials/s")
        raw = anyio.run(durable_trials_per_second, directory / "raw.db", args.trials, 64)
        print(f"storage API alone, 64 tasks (asyncio), FULL:          {raw:9.1f} trials/s")
        optuna_rate = optuna_trials_per_second(directory / "optuna.db", args.optuna_trials)
        print(
            f"optuna 5, sqlite:///, n_jobs=1:                         {optuna_rate:9.1f} trials/s"
        )
        for backend, rate in results.items():
            print(f"ratio asynchyper minimize ({backend}) / optuna:  {rate / optuna_rate:9.1f}x")
        print(f"group commit gain, concurrency 64 over 1: {results['asyncio'] / single:9.1f}x")

        built, elapsed, count = anyio.run(load_time, directory / "load.db", args.load_trials)
        print(f"built {count} trials in {built:.1f} s (synchronous=OFF, 256 tasks)")
        print(f"load {count} trials with trials():     {elapsed:9.3f} s")

        plain, found, added = anyio.run(skip_if_exists_ms, directory / "skip.db", args.skip_trials)
        print(
            f"Study.add among {args.skip_trials} trials (synchronous=OFF): plain {plain:.2f} ms; "
            f"skip_if_exists=True finding its trial {found:.2f} ms, adding one {added:.2f} ms"
        )


if __name__ == "__main__":
    main()
