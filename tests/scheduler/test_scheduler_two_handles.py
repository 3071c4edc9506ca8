"""One study opened twice (another replica of a service, another process): each handle
sees what the other did, and a run's stop rules count it."""

from __future__ import annotations

import logging
from pathlib import Path

import anyio
import pytest
from scheduler_helpers import Quad, loss

import asynchyper as ah

pytestmark = pytest.mark.anyio


async def test_a_trial_told_through_another_handle_is_finished_for_the_asker(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The asker kept such a trial as running: optimize() waited for it forever, and
    # closing logged a warning with a traceback (it could not cancel a COMPLETE trial).
    caplog.set_level(logging.INFO, logger="asynchyper")
    db = str(tmp_path / "s.db")
    async with ah.open_study(Quad, storage=db, name="s", suggester=ah.Random()) as asker:
        trial = await asker.ask()
        async with ah.open_study(Quad, storage=db, name="s") as teller:
            await teller.tell(trial.number, 0.5)
        with anyio.fail_after(10):
            result = await asker.optimize(loss, trials=3)
        assert result.stop_reason == "budget"
        assert [(t.number, t.state) for t in result.trials] == [
            (0, ah.TrialState.COMPLETE),
            (1, ah.TrialState.COMPLETE),
            (2, ah.TrialState.COMPLETE),
        ]
        assert result.trials[0].value == 0.5
        assert "run started (trials: 1 completed, budget 3;" in caplog.text
        second = await asker.ask()  # told elsewhere; the asker closes without a refresh
        async with ah.open_study(Quad, storage=db, name="s") as teller:
            await teller.tell(second.number, error="preempted")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    async with ah.open_study(Quad, storage=db, name="s") as study:
        kept = await study.trials()
    assert (kept[3].state, kept[3].error) == (ah.TrialState.FAILED, "preempted")


async def test_a_target_reached_by_an_earlier_run_ends_the_next_one_at_once(
    tmp_path: Path,
) -> None:
    # Like trials=, target= is safe to re-run: the study's best counts, not the run's.
    db = str(tmp_path / "s.db")
    first = await ah.minimize(
        loss, Quad, trials=500, target=3.0, storage=db, study="s", suggester=ah.Random(), seed=0
    )
    assert first.stop_reason == "target"
    again = await ah.minimize(
        loss, Quad, trials=500, target=3.0, storage=db, study="s", suggester=ah.Random(), seed=0
    )
    assert again.stop_reason == "target"
    assert len(again.trials) == len(first.trials)
    # a target the study has not reached yet runs on from its trials
    best = Quad(x=1.0, n=1, kind="a")  # the optimum, 1.0: reached on the first new trial
    lower = await ah.minimize(
        loss, Quad, trials=500, target=1.2, storage=db, study="s", enqueue=[best], seed=0
    )
    assert lower.stop_reason == "target"
    assert len(lower.trials) == len(first.trials) + 1
    assert lower.best.config == best


async def test_a_target_reached_elsewhere_stops_a_running_optimize(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    runs: list[ah.Result[Quad]] = []

    async def slow(config: Quad) -> float:
        await anyio.sleep(0.02)
        return 10.0 + loss(config)  # never reaches the target itself

    async def run() -> None:
        async with ah.open_study(Quad, storage=db, name="s", suggester=ah.Random()) as study:
            runs.append(await study.optimize(slow, trials=10_000, concurrency=2, target=0.0))

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            async with ah.open_study(Quad, storage=db, name="s") as other:
                while len(await other.trials()) < 6:  # noqa: ASYNC110 - polls the storage
                    await anyio.sleep(0.02)
                added = await other.add(Quad(x=1.0, n=1, kind="a"), 0.0)
    (result,) = runs
    assert result.stop_reason == "target"
    assert result.best.number == added.number
    assert len(result.trials) < 200  # seen within about half a second (REFRESH_SECONDS)


async def test_a_target_reached_elsewhere_stops_the_next_ask(tmp_path: Path) -> None:
    # The target check looked at the best known before the ask's own refresh: a run
    # started one more trial (one more hour, with hour-long trials) after another
    # process reached the target.
    db = str(tmp_path / "s.db")
    started = anyio.Event()

    async def slow(config: Quad) -> float:
        started.set()
        await anyio.sleep(0.8)  # longer than REFRESH_SECONDS
        return 10.0 + loss(config)

    runs: list[ah.Result[Quad]] = []

    async def run() -> None:
        async with ah.open_study(Quad, storage=db, name="s", suggester=ah.Random()) as study:
            runs.append(await study.optimize(slow, trials=100, target=0.0))

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            async with ah.open_study(Quad, storage=db, name="s") as other:
                await started.wait()
                await other.add(Quad(x=1.0, n=1, kind="a"), 0.0)
    (result,) = runs
    assert result.stop_reason == "target"
    assert [t.number for t in result.trials] == [0, 1]  # its first trial and the added one


class Finished(ah.TrialCallback[Quad]):
    def __init__(self) -> None:
        self.seen: list[tuple[int, ah.TrialState, float | None]] = []

    def on_trial_finish(self, study: object, trial: ah.Trial[Quad]) -> None:
        del study
        self.seen.append((trial.number, trial.state, trial.value))


async def test_a_trial_told_elsewhere_while_it_runs_is_reported_as_stored(tmp_path: Path) -> None:
    # The run's own result for it cannot be stored; callbacks (the progress display)
    # never heard of the trial, and the display counted it as cancelled.
    db = str(tmp_path / "s.db")
    started, release = anyio.Event(), anyio.Event()
    finished = Finished()

    async def objective(config: Quad) -> float:
        if ah.current_trial().number == 0:
            started.set()
            await release.wait()
            return 100.0
        return loss(config)

    runs: list[ah.Result[Quad]] = []

    async def run(asker: ah.Study[Quad]) -> None:
        runs.append(await asker.optimize(objective, trials=4, concurrency=2, callbacks=[finished]))

    with anyio.fail_after(20):
        async with (
            ah.open_study(Quad, storage=db, name="s", suggester=ah.Random()) as asker,
            anyio.create_task_group() as tg,
        ):
            tg.start_soon(run, asker)
            await started.wait()
            async with ah.open_study(Quad, storage=db, name="s") as teller:
                await teller.tell(0, -5.0)
            release.set()
    (result,) = runs
    assert result.stop_reason == "budget"
    assert [t.state for t in result.trials] == [ah.TrialState.COMPLETE] * 4
    assert result.best.number == 0
    assert result.best_value == -5.0
    assert sorted(n for n, _, _ in finished.seen) == [0, 1, 2, 3]
    assert (0, ah.TrialState.COMPLETE, -5.0) in finished.seen
