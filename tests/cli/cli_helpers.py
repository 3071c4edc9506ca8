"""Spaces, objectives and study builders shared by the command-line tests.

Module level on purpose: ``asynchyper worker --objective cli_helpers:...`` imports them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated, Literal

import anyio
import attrs

import asynchyper as ah
from asynchyper._storage import SQLiteStorage
from asynchyper._types import JSONValue

#: The study every read-only test looks at.
STUDY = "demo"
#: Completed trials in the demo study.
N_COMPLETE = 20


@attrs.frozen(kw_only=True)
class SVM:
    """One branch."""

    C: Annotated[float, ah.Float(1e-3, 1e3, log=True)]
    kernel: Literal["rbf", "poly"]


@attrs.frozen(kw_only=True)
class Forest:
    """The other branch."""

    n_estimators: Annotated[int, ah.Int(10, 1000, log=True)]
    bootstrap: bool


@attrs.frozen(kw_only=True)
class Demo:
    """A small space with a conditional branch."""

    x: Annotated[float, ah.Float(-5.0, 5.0)]
    n: Annotated[int, ah.Int(1, 10)]
    model: SVM | Forest


def loss(config: Demo) -> float:
    """A deterministic value of a configuration."""
    return (config.x - 1.0) ** 2 + config.n


async def demo_objective(config: Demo) -> float:
    """Records an attribute and returns the loss."""
    ah.current_trial().set_attr("half", loss(config) / 2)
    return loss(config)


def worker_objective(config: Demo) -> float:
    """A plain function for `asynchyper worker` (runs in threads)."""
    time.sleep(0.02)
    return loss(config)


def barrier_objective(config: Demo) -> float:
    """Like ``worker_objective``, but waits until two processes have started trials.

    Each process marks itself in the directory ``$CLI_TEST_BARRIER``, so a test of
    several workers knows that each one ran trials, however late it started.
    """
    directory = Path(os.environ["CLI_TEST_BARRIER"])
    (directory / str(os.getpid())).touch()
    deadline = time.monotonic() + 30
    while len(list(directory.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    return worker_objective(config)


def sleepy_objective(config: Demo) -> float:
    """Runs far longer than any test waits: only Ctrl-C ends it."""
    del config
    time.sleep(60)
    return 0.0


def unannotated(config):  # type: ignore[no-untyped-def] # no annotation on purpose
    """An objective whose space cannot be inferred."""
    return 0.0


def make_study(path: Path, *, failed: int = 1, stale: int = 1) -> None:
    """A SQLite study ``demo``: 20 completed trials, ``failed`` failed ones, and
    ``stale`` running ones owned by a process on another host with an old heartbeat."""

    async def build() -> None:
        await ah.minimize(
            demo_objective,
            Demo,
            trials=N_COMPLETE,
            concurrency=4,
            storage=str(path),
            study=STUDY,
            suggester=ah.Random(),
            seed=0,
        )
        async with SQLiteStorage(path) as store:
            record = await store.get_study(STUDY)
            for _ in range(failed):
                trial = await store.start_trial(
                    record.id,
                    {
                        "x": 0.0,
                        "n": 1,
                        "model": "SVM",
                        "model:SVM.C": 1.0,
                        "model:SVM.kernel": "rbf",
                    },
                    owner="elsewhere:1:feed",
                )
                assert trial is not None
                await store.finish_trial(
                    record.id, trial.number, state=ah.TrialState.FAILED, error="boom"
                )
            for _ in range(stale):
                await store.start_trial(
                    record.id,
                    {
                        "x": 2.0,
                        "n": 2,
                        "model": "Forest",
                        "model:Forest.n_estimators": 10,
                        "model:Forest.bootstrap": True,
                    },
                    owner="elsewhere:1:feed",
                )

    anyio.run(build)


async def read_trials(path: Path, study: str = STUDY) -> list[ah.TrialRecord]:
    """Every stored trial of ``study``."""
    async with SQLiteStorage(path) as store:
        record = await store.get_study(study)
        return await store.trials(record.id)


def failing_objective(config: Demo) -> float:
    """Always fails."""
    msg = f"cannot evaluate x={config.x:.3f}"
    raise ValueError(msg)


def loss_of_int(config: int) -> float:
    """Annotated, but not with a space class."""
    return float(config)


async def stored_space(path: Path, study: str = STUDY) -> list[dict[str, JSONValue]]:
    """The space description stored with ``study``."""
    async with SQLiteStorage(path) as store:
        return (await store.get_study(study)).space
