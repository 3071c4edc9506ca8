"""The scheduler on SQLite storage: resume, shared budget, cancellation."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest
from scheduler_helpers import Quad, loss

import asynchyper as ah
from asynchyper._executor import current_trial

pytestmark = pytest.mark.anyio


async def objective(config: Quad) -> float:
    await anyio.sleep(0.002)
    return loss(config)


async def test_a_study_resumes_from_its_file(tmp_path: Path) -> None:
    path = str(tmp_path / "study.db")
    first = await ah.minimize(objective, Quad, trials=6, concurrency=3, storage=path, seed=0)
    assert len(first.completed) == 6
    second = await ah.minimize(objective, Quad, trials=10, concurrency=3, storage=path, seed=1)
    assert len(second.completed) == 10
    assert [t.params for t in second.trials[:6]] == [t.params for t in first.trials]


async def test_two_studies_on_one_file_share_the_budget(tmp_path: Path) -> None:
    path = str(tmp_path / "study.db")

    async def run_one() -> None:
        await ah.minimize(
            objective, Quad, trials=20, concurrency=4, storage=path, suggester=ah.Random()
        )

    async with anyio.create_task_group() as group:
        group.start_soon(run_one)
        group.start_soon(run_one)
    async with ah.open_study(Quad, storage=path) as study:
        trials = await study.trials()
    assert sum(t.state is ah.TrialState.COMPLETE for t in trials) == 20
    assert len(trials) == 20


async def test_cancelling_leaves_no_running_trial_in_the_file(tmp_path: Path) -> None:
    path = str(tmp_path / "study.db")

    async def slow(config: Quad) -> float:
        await anyio.sleep(0.01 if current_trial().number < 4 else 30)
        return loss(config)

    with anyio.move_on_after(0.5):
        await ah.minimize(slow, Quad, trials=50, concurrency=4, storage=path)
    async with ah.open_study(Quad, storage=path) as study:
        trials = await study.trials()
    states = [t.state for t in trials]
    assert ah.TrialState.RUNNING not in states
    assert states.count(ah.TrialState.COMPLETE) == 4
    assert states.count(ah.TrialState.CANCELLED) == 4


async def test_asks_and_tells_racing_the_close_leave_nothing_running(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # An ask still writing when the block ended handed back a trial that stayed RUNNING
    # (failed later as if its process had died); a tell still writing was "cancelled"
    # by the close too, with a warning and a traceback each time.
    path = str(tmp_path / "race.db")
    outcomes: list[str] = []
    with caplog.at_level(logging.WARNING, logger="asynchyper"):
        for cycle in range(5):
            async with (
                anyio.create_task_group() as outside,
                ah.open_study(Quad, storage=path, name=f"s{cycle}") as study,
            ):
                told = [await study.ask() for _ in range(2)]

                async def ask() -> None:
                    try:
                        await study.ask()
                        outcomes.append("asked")
                    except ah.StudyClosedError:
                        outcomes.append("closed")

                async def tell(trial: ah.Trial[Quad]) -> None:
                    await study.tell(trial, 1.0)
                    outcomes.append("told")

                for trial in told:
                    outside.start_soon(tell, trial)
                for _ in range(3):
                    outside.start_soon(ask)
                await anyio.lowlevel.checkpoint()  # they start writing; the block ends
    assert outcomes.count("told") == 10
    assert not [r for r in caplog.records if "could not record" in r.getMessage()]
    async with ah.SQLiteStorage(path) as storage:
        for cycle in range(5):
            study_id = (await storage.get_study(f"s{cycle}")).id
            states = {t.state for t in await storage.trials(study_id)}
            assert ah.TrialState.RUNNING not in states
            assert ah.TrialState.FAILED not in states


async def test_an_optimize_inside_a_trial_of_its_own_study_raises(tmp_path: Path) -> None:
    path = str(tmp_path / "study.db")
    raised: list[BaseException] = []

    async def outer(config: Quad) -> float:
        try:
            with anyio.fail_after(10):  # the old code waited here forever
                await ah.minimize(objective, Quad, trials=4, storage=path, study="s")
        except ah.TrialStateError as exc:
            raised.append(exc)
        return loss(config)

    result = await ah.minimize(outer, Quad, trials=1, storage=path, study="s")
    assert [t.state for t in result.trials if t.number == 0] == [ah.TrialState.COMPLETE]
    (exc,) = raised
    assert "inside trial 0 of the same study" in str(exc)
    assert "'s/trial-0'" in str(exc)
    # the inner run completed what the budget allowed before it waited
    assert sum(t.state is ah.TrialState.COMPLETE for t in result.trials) == 4


async def test_a_search_inside_a_trial_under_another_name_runs(tmp_path: Path) -> None:
    path = str(tmp_path / "study.db")

    async def outer(config: Quad) -> float:
        inner = await ah.minimize(objective, Quad, trials=3, storage=path, study="s/inner")
        assert len(inner.completed) == 3
        return loss(config)

    result = await ah.minimize(outer, Quad, trials=2, storage=path, study="s")
    assert len(result.completed) == 2


async def test_a_run_ends_when_another_owner_completes_the_last_trial(tmp_path: Path) -> None:
    # Nothing of this run is running and the budget's last slot is another study's
    # trial: when that one completes, the run ends ("budget") instead of waiting on.
    path = str(tmp_path / "study.db")
    async with ah.open_study(Quad, storage=path, suggester=ah.Random()) as other:
        held = await other.ask()

        async def tell_later() -> None:
            await anyio.sleep(0.3)
            await other.tell(held, 1.0)

        async with (
            ah.open_study(Quad, storage=path, suggester=ah.Random()) as study,
            anyio.create_task_group() as group,
        ):
            group.start_soon(tell_later)
            with anyio.fail_after(10):
                result = await study.optimize(objective, trials=3)
    assert result.stop_reason == "budget"
    assert len(result.completed) == 3


async def test_a_configuration_queued_by_another_study_during_a_run_is_run(
    tmp_path: Path,
) -> None:
    # A refresh that sees a WAITING trial must make the next ask claim it (the run
    # otherwise only looked for queued trials when it started).
    path = str(tmp_path / "study.db")
    queued = Quad(x=4.321, n=7, kind="b")

    async def slow(config: Quad) -> float:
        await anyio.sleep(0.05)
        return loss(config)

    async def enqueue_later() -> None:
        await anyio.sleep(0.3)
        async with ah.open_study(Quad, storage=path) as other:
            await other.enqueue(queued)

    async with (
        ah.open_study(Quad, storage=path, suggester=ah.Random()) as study,
        anyio.create_task_group() as group,
    ):
        group.start_soon(enqueue_later)
        with anyio.fail_after(20):  # unclaimed, it held a slot of the budget for ever
            result = await study.optimize(slow, trials=30)
    assert queued in [t.config for t in result.trials]


async def test_open_study_takes_the_stored_direction(tmp_path: Path) -> None:
    # open_study on a study that maximize() created needed direction="maximize" again
    # (the error said so); without a direction it now reads the stored one, as
    # Optuna's load_study does. An explicit direction is still checked.
    db = str(tmp_path / "study.db")
    await ah.maximize(loss, Quad, trials=3, storage=db, study="acc", suggester=ah.Random())
    async with ah.open_study(Quad, storage=db, name="acc") as study:
        assert study.direction == "maximize"
        result = await study.result()
    assert result.direction == "maximize"
    assert result.best.value == max(t.value for t in result.completed if t.value is not None)
    with pytest.raises(ah.SpaceMismatchError, match="was created with direction='maximize'"):
        async with ah.open_study(Quad, storage=db, name="acc", direction="minimize"):
            pass
    async with ah.open_study(Quad, storage=db, name="new") as study:
        assert study.direction == "minimize"


@pytest.mark.parametrize("study", ["existing", "new"])
async def test_a_study_opened_on_a_locked_file_waits_busy_timeout_once(
    tmp_path: Path, study: str
) -> None:
    # Before, the create that timed out was retried (as if the study existed), and
    # each BEGIN IMMEDIATE waited twice: four times busy_timeout in all.
    path = str(tmp_path / "study.db")
    await ah.minimize(objective, Quad, trials=1, storage=path, study="existing")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        start = time.monotonic()
        with pytest.raises(ah.StorageError, match="locked"):
            await ah.minimize(
                objective,
                Quad,
                trials=2,
                storage=ah.SQLiteStorage(path, busy_timeout=1.0),
                study=study,
            )
        waited = time.monotonic() - start
    finally:
        holder.rollback()
    assert 1.0 <= waited < 1.8
