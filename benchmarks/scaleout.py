"""Scale-out benchmark: trials/s with 1, 2 and 4 worker processes on one PostgreSQL study.

Run::

    python benchmarks/scaleout.py [--admin-url URL] [--trials N] [--optuna-trials M]
                                  [--processes 1 2 4] [--concurrency 16]

Each worker is a separate OS process (as if on separate machines) running, on one
shared study in a throwaway database:

- asynchyper: ``minimize(objective, Space, trials=N, concurrency=16,
  storage="postgresql://...", suggester=ah.Random())`` -- ``trials`` is the study's
  total budget, so the processes share it and stop at exactly N;
- Optuna: ``study.optimize(objective, callbacks=[MaxTrialsCallback(M)])`` with
  ``RandomSampler`` on ``RDBStorage("postgresql+psycopg://...")``, the way Optuna
  shares a total budget between processes (``n_jobs=1`` per process, Optuna's
  advice for multi-process runs; ``--optuna-jobs`` changes it).

The objective is trivial, so the numbers measure the storage and the scheduling.
Workers import and connect first, then wait at a barrier and start together once all
are ready; throughput is the completed trials divided by the time from that common
start to the last worker's end.
Every database is created for the run and dropped afterwards. Numbers are printed,
never asserted: compare the ratios measured in the same run on the same server.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import anyio
import attrs

import asynchyper as ah
from asynchyper._storage import PostgresStorage

DEFAULT_ADMIN_URL = os.environ.get(
    "ASYNCHYPER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@attrs.frozen(kw_only=True)
class Space:
    """Two continuous parameters (random search)."""

    x: Annotated[float, ah.Float(-10.0, 10.0)]
    y: Annotated[float, ah.Float(-10.0, 10.0)]


async def objective(config: Space) -> float:
    return config.x**2 + config.y**2


def with_database(url: str, database: str, scheme: str | None = None) -> str:
    parts = urllib.parse.urlsplit(url)
    parts = parts._replace(path="/" + database)
    if scheme is not None:
        parts = parts._replace(scheme=scheme)
    return urllib.parse.urlunsplit(parts)


@contextmanager
def throwaway_database(admin_url: str) -> Iterator[str]:
    """Create a database, yield its URL, drop it afterwards."""
    import psycopg  # noqa: PLC0415 - the postgres extra
    from psycopg import sql  # noqa: PLC0415

    name = f"asynchyper_bench_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield with_database(admin_url, name)
        finally:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


# -- workers (run in child processes) ------------------------------------------------
def wait_for_start(barrier: str, seed: int) -> float:
    """Say this worker is ready, wait for the common start time, sleep until it."""
    Path(barrier, f"ready-{seed}").touch()
    go = Path(barrier, "go")
    while not go.exists():
        time.sleep(0.005)
    start_at = float(go.read_text())
    time.sleep(max(0.0, start_at - time.time()))
    return start_at


def asynchyper_worker(url: str, trials: int, concurrency: int, barrier: str, seed: int) -> None:
    async def main() -> int:
        async with ah.open_study(
            Space, storage=url, name="bench", suggester=ah.Random(), seed=seed
        ) as study:
            await anyio.to_thread.run_sync(wait_for_start, barrier, seed)
            result = await study.optimize(objective, trials=trials, concurrency=concurrency)
        return sum(1 for t in result.trials if t.state is ah.TrialState.COMPLETE)

    completed = anyio.run(main)
    print(json.dumps({"end": time.time(), "completed": completed}))


def optuna_worker(url: str, trials: int, jobs: int, barrier: str, seed: int) -> None:
    import optuna  # noqa: PLC0415 - a peer, imported only in its workers
    from optuna.study import MaxTrialsCallback  # noqa: PLC0415
    from optuna.trial import TrialState  # noqa: PLC0415

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = optuna.storages.RDBStorage(url)
    study = optuna.load_study(
        study_name="bench", storage=storage, sampler=optuna.samplers.RandomSampler(seed=seed)
    )

    def optuna_objective(trial: Any) -> float:
        x = trial.suggest_float("x", -10.0, 10.0)
        y = trial.suggest_float("y", -10.0, 10.0)
        return float(x**2 + y**2)

    wait_for_start(barrier, seed)
    study.optimize(
        optuna_objective,
        n_trials=trials,
        n_jobs=jobs,
        callbacks=[MaxTrialsCallback(trials, states=(TrialState.COMPLETE,))],
    )
    print(json.dumps({"end": time.time(), "completed": 0}))


# -- the parent ----------------------------------------------------------------------
def run_workers(kind: str, url: str, processes: int, trials: int, option: int) -> float:
    """Launch ``processes`` workers on one study; return completed trials per second.

    The workers import and connect, then wait at a barrier: the clock starts when
    every one of them is ready, whatever their start-up times.
    """
    with tempfile.TemporaryDirectory(prefix="asynchyper-scaleout-") as barrier:
        children = [
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    kind,
                    url,
                    str(trials),
                    str(option),
                    barrier,
                    str(seed),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            for seed in range(processes)
        ]
        deadline = time.monotonic() + 300
        while len(list(Path(barrier).glob("ready-*"))) < processes:
            if time.monotonic() > deadline or any(c.poll() is not None for c in children):
                msg = f"the {kind} workers did not all start"
                raise RuntimeError(msg)
            time.sleep(0.01)
        start_at = time.time() + 0.2
        Path(barrier, "go.tmp").write_text(repr(start_at))
        Path(barrier, "go.tmp").rename(Path(barrier, "go"))  # appears complete, at once
        ends: list[float] = []
        for child in children:
            out, _ = child.communicate(timeout=900)
            if child.returncode != 0:
                msg = f"a {kind} worker failed with exit code {child.returncode}"
                raise RuntimeError(msg)
            ends.append(json.loads(out.strip().splitlines()[-1])["end"])
    completed = count_completed(kind, url)
    return completed / (max(ends) - start_at)


def count_completed(kind: str, url: str) -> int:
    if kind == "optuna":
        import optuna  # noqa: PLC0415
        from optuna.trial import TrialState  # noqa: PLC0415

        study = optuna.load_study(study_name="bench", storage=url)
        completed: list[Any] = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        return len(completed)

    async def count() -> int:
        async with PostgresStorage(url) as storage:
            study = await storage.get_study("bench")
            counts = await storage.count_trials(study.id)
            return counts[ah.TrialState.COMPLETE]

    return anyio.run(count)


def measure(kind: str, admin_url: str, processes: int, trials: int, option: int) -> float:
    with throwaway_database(admin_url) as url:
        if kind == "optuna":
            import optuna  # noqa: PLC0415

            optuna.logging.set_verbosity(optuna.logging.ERROR)
            database = urllib.parse.urlsplit(url).path[1:]
            optuna_url = with_database(admin_url, database, "postgresql+psycopg")
            optuna.create_study(study_name="bench", storage=optuna_url)  # before workers race
            return run_workers(kind, optuna_url, processes, trials, option)
        return run_workers(kind, url, processes, trials, option)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--trials", type=int, default=1500, help="asynchyper budget per run")
    parser.add_argument("--optuna-trials", type=int, default=400, help="Optuna budget per run")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--optuna-jobs", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(
        f"one shared study per run; asynchyper: {args.trials} trials, minimize(concurrency="
        f"{args.concurrency}); Optuna RDBStorage: {args.optuna_trials} trials, "
        f"n_jobs={args.optuna_jobs}; random search, trivial objective\n"
    )
    rows: list[tuple[int, float, float]] = []
    for processes in args.processes:
        ours = measure("asynchyper", args.admin_url, processes, args.trials, args.concurrency)
        theirs = measure("optuna", args.admin_url, processes, args.optuna_trials, args.optuna_jobs)
        rows.append((processes, ours, theirs))
        print(f"  {processes} process(es): asynchyper {ours:8.1f}/s   optuna {theirs:8.1f}/s")
    print()
    print("| processes | asynchyper trials/s | Optuna RDB trials/s | asynchyper / Optuna |")
    print("|---:|---:|---:|---:|")
    for processes, ours, theirs in rows:
        print(f"| {processes} | {ours:.1f} | {theirs:.1f} | {ours / theirs:.1f}x |")
    base_ours, base_theirs = rows[0][1], rows[0][2]
    print()
    print("scaling against the first row (same library):")
    for processes, ours, theirs in rows:
        print(
            f"  {processes} process(es): asynchyper {ours / base_ours:.2f}x, "
            f"optuna {theirs / base_theirs:.2f}x"
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        kind, url, trials_text, option_text, barrier_dir, seed_text = sys.argv[2:8]
        worker = asynchyper_worker if kind == "asynchyper" else optuna_worker
        worker(url, int(trials_text), int(option_text), barrier_dir, int(seed_text))
    else:
        main()
