"""Child process for the crash and multi-process tests (run as a script, never imported).

Usage::

    python storage_crash_child.py PATH BACKEND forever
    python storage_crash_child.py PATH BACKEND COUNT [MAX_TRIALS]

It opens the SQLite store at PATH, creates or resumes the study ``"crash"`` and runs
trials with 4 concurrent tasks. A trial's line ``"<number> <value>"`` is written to
stdout only *after* ``finish_trial`` returned, so every printed trial must be durable.
With ``forever`` it runs until killed; with COUNT each of the tasks together runs at
most COUNT trials (stopping early when the shared MAX_TRIALS budget is used up).
"""

from __future__ import annotations

import sys

import anyio

from asynchyper import SQLiteStorage, TrialState
from asynchyper._storage import new_owner_id
from asynchyper._types import JSONValue

CONCURRENCY = 4
SPACE: list[dict[str, JSONValue]] = [{"name": "x", "kind": "float", "low": 0.0, "high": 1.0}]


def value_of(number: int) -> float:
    """The value the child reports for trial ``number`` (the parent checks it)."""
    return number * 0.5 + 0.25


async def main(path: str, count: int | None, max_trials: int | None) -> None:
    owner = new_owner_id()
    remaining = count
    async with SQLiteStorage(path) as storage:
        study = await storage.create_study("crash", fingerprint="crash-fp", space=SPACE)

        async def worker() -> None:
            nonlocal remaining
            while remaining is None or remaining > 0:
                if remaining is not None:
                    remaining -= 1
                trial = await storage.start_trial(
                    study.id, {"x": 0.5}, owner=owner, max_trials=max_trials
                )
                if trial is None:
                    return
                await storage.finish_trial(
                    study.id,
                    trial.number,
                    state=TrialState.COMPLETE,
                    value=value_of(trial.number),
                )
                sys.stdout.write(f"{trial.number} {value_of(trial.number)!r}\n")
                sys.stdout.flush()

        async with anyio.create_task_group() as tg:
            for _ in range(CONCURRENCY):
                tg.start_soon(worker)


if __name__ == "__main__":
    db_path, backend, how_many = sys.argv[1:4]
    budget = int(sys.argv[4]) if len(sys.argv) > 4 else None
    anyio.run(
        main, db_path, None if how_many == "forever" else int(how_many), budget, backend=backend
    )
