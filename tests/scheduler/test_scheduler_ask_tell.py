"""open_study(), ask/tell for custom loops, heartbeats and stale trials."""

from __future__ import annotations

import math
import os
import socket
import sys
from typing import Any

import anyio
import pytest
from scheduler_helpers import Quad, Recording, loss

import asynchyper as ah

pytestmark = pytest.mark.anyio


async def test_ask_returns_a_running_trial_with_a_decoded_config() -> None:
    async with ah.open_study(Quad, suggester=ah.Random(), seed=0) as study:
        trial = await study.ask()
        assert trial.number == 0
        assert trial.state is ah.TrialState.RUNNING
        assert isinstance(trial.config, Quad)
        assert trial.params == {"x": trial.config.x, "n": trial.config.n, "kind": trial.config.kind}
        done = await study.tell(trial, 0.25)
        assert done.state is ah.TrialState.COMPLETE
        assert done.value == 0.25
        assert done.config == trial.config


async def test_tell_out_of_order_and_by_number() -> None:
    async with ah.open_study(Quad, suggester=ah.Random()) as study:
        trials = [await study.ask() for _ in range(4)]
        for trial in reversed(trials):
            await study.tell(trial.number, float(trial.number))
        stored = await study.trials()
        assert [t.number for t in stored] == [0, 1, 2, 3]
        assert [t.value for t in stored] == [0.0, 1.0, 2.0, 3.0]
        result = await study.result()
        assert result.best.number == 0


async def test_tell_a_failure_with_a_message_or_an_exception() -> None:
    async with ah.open_study(Quad, suggester=ah.Random()) as study:
        first, second = await study.ask(), await study.ask()
        failed = await study.tell(first, error="the job was preempted")
        assert failed.state is ah.TrialState.FAILED
        assert failed.error == "the job was preempted"
        try:
            msg = "diverged"
            raise ArithmeticError(msg)
        except ArithmeticError as exc:
            failed = await study.tell(second, error=exc, attrs={"epoch": 3})
        assert "ArithmeticError: diverged" in (failed.error or "")
        assert "Traceback" in (failed.error or "")
        assert failed.user_attrs == {"epoch": 3}


async def test_telling_nan_fails_the_trial() -> None:
    async with ah.open_study(Quad, suggester=ah.Random()) as study:
        trial = await study.ask()
        told = await study.tell(trial, math.nan)
        assert told.state is ah.TrialState.FAILED
        assert "nan" in (told.error or "")


async def test_double_tell_and_unknown_trial_are_clear_errors() -> None:
    async with ah.open_study(Quad, suggester=ah.Random()) as study:
        trial = await study.ask()
        await study.tell(trial, 1.0)
        with pytest.raises(ah.TrialStateError, match="0"):
            await study.tell(trial, 2.0)
        with pytest.raises(ah.UnknownTrialError, match="17"):
            await study.tell(17, 1.0)
        stored = await study.trials()
        assert [(t.state, t.value) for t in stored] == [(ah.TrialState.COMPLETE, 1.0)]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({}, "neither"), ({"value": 1.0, "error": "x"}, "both")],
)
async def test_tell_needs_exactly_one_of_value_and_error(
    kwargs: dict[str, Any], match: str
) -> None:
    async with ah.open_study(Quad, suggester=ah.Random()) as study:
        trial = await study.ask()
        with pytest.raises(ValueError, match=match):
            await study.tell(trial, **kwargs)
        with pytest.raises(TypeError, match="JSON-safe"):
            await study.tell(trial, 1.0, attrs={"bad": object()})  # type: ignore[dict-item]
        await study.tell(trial, 1.0)


async def test_concurrent_asks_see_each_other_as_pending() -> None:
    suggester = Recording()
    async with ah.open_study(Quad, suggester=suggester) as study:
        asked: list[ah.Trial[Quad]] = []

        async def ask() -> None:
            asked.append(await study.ask())

        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(ask)
        assert sorted(suggester.pending_sizes) == [0, 1, 2, 3, 4]
        await study.tell(asked[0], 1.0)
        await study.ask()
        assert suggester.pending_sizes[-1] == 4


async def test_other_owners_running_trials_are_pending_too() -> None:
    storage = ah.MemoryStorage()
    suggester = Recording()
    async with ah.open_study(Quad, storage=storage, name="s", suggester=ah.Random()) as one:
        theirs = await one.ask()
        async with ah.open_study(Quad, storage=storage, name="s", suggester=suggester) as two:
            await two.ask()
            assert suggester.pending_seen[-1] == [dict(theirs.params)]
            await one.tell(theirs, 1.0)


async def test_enqueued_configs_run_first() -> None:
    wanted = Quad(x=0.5, n=3, kind="b")
    async with ah.open_study(Quad, suggester=ah.Random()) as study:
        queued = await study.enqueue(wanted)
        assert queued.state is ah.TrialState.WAITING
        trial = await study.ask()
        assert trial.config == wanted
        assert trial.number == queued.number


async def test_trials_asked_but_not_told_are_cancelled_on_close() -> None:
    storage = ah.MemoryStorage()
    async with ah.open_study(Quad, storage=storage, name="s", suggester=ah.Random()) as study:
        await study.ask()
    record = await storage.get_study("s")
    (trial,) = await storage.trials(record.id)
    assert trial.state is ah.TrialState.CANCELLED
    assert "closed" in (trial.error or "")


async def test_an_error_in_the_body_propagates_unwrapped() -> None:
    async def body() -> None:
        async with ah.open_study(Quad, suggester=ah.Random()) as study:
            await study.ask()
            msg = "user error"
            raise LookupError(msg)

    with pytest.raises(LookupError, match="user error"):
        await body()


async def test_heartbeats_are_sent_while_trials_run() -> None:
    class Spy(ah.MemoryStorage):
        beats: list[str]

        async def heartbeat(self, study_id: int, *, owner: str) -> None:
            self.beats.append(owner)
            await super().heartbeat(study_id, owner=owner)

    storage = Spy()
    storage.beats = []
    async with ah.open_study(
        Quad, storage=storage, suggester=ah.Random(), heartbeat_interval=0.05
    ) as study:
        await anyio.sleep(0.2)
        assert storage.beats == []  # nothing runs, nothing to refresh
        trial = await study.ask()
        await anyio.sleep(0.3)
        assert len(storage.beats) >= 3
        assert set(storage.beats) == {study.owner}
        await study.tell(trial, 1.0)


async def test_stale_trials_are_failed_on_open() -> None:
    storage = ah.MemoryStorage()
    async with ah.open_study(Quad, storage=storage, name="s", suggester=ah.Random()) as study:
        record = await storage.get_study("s")
        await storage.start_trial(record.id, {"x": 0.0, "n": 1, "kind": "a"}, owner="elsewhere:1:x")
        del study
    await anyio.sleep(0.05)
    async with ah.open_study(
        Quad, storage=storage, name="s", suggester=ah.Random(), stale_after=0.01
    ) as study:
        (trial,) = await study.trials()
        assert trial.state is ah.TrialState.FAILED


async def test_trials_of_a_dead_local_process_are_failed_on_open() -> None:
    dead = await anyio.run_process([sys.executable, "-c", "import os; print(os.getpid())"])
    pid = int(dead.stdout)
    storage = ah.MemoryStorage()
    async with ah.open_study(Quad, storage=storage, name="s", suggester=ah.Random()) as study:
        record = await storage.get_study("s")
        owner = f"{socket.gethostname()}:{pid}:dead"
        await storage.start_trial(record.id, {"x": 0.0, "n": 1, "kind": "a"}, owner=owner)
        alive = f"{socket.gethostname()}:{os.getpid()}:alive"
        await storage.start_trial(record.id, {"x": 1.0, "n": 1, "kind": "a"}, owner=alive)
        del study
    async with ah.open_study(Quad, storage=storage, name="s", suggester=ah.Random()) as study:
        first, second = await study.trials()
        assert first.state is ah.TrialState.FAILED
        assert owner in (first.error or "")
        assert second.state is ah.TrialState.RUNNING  # its process (this one) is alive
        await study.tell(second, 1.0)
        result = await study.optimize(_quad, trials=3)
        assert len(result.completed) == 3


async def test_a_run_waits_for_budget_held_elsewhere_then_finishes() -> None:
    storage = ah.MemoryStorage()
    async with ah.open_study(Quad, storage=storage, name="s", suggester=ah.Random()) as one:
        held = await one.ask()
        async with ah.open_study(Quad, storage=storage, name="s", suggester=ah.Random()) as two:

            async def release() -> None:
                await anyio.sleep(0.3)
                await one.tell(held, error="gave up")

            async with anyio.create_task_group() as group:
                group.start_soon(release)
                result = await two.optimize(_quad, trials=3)
            assert len(result.completed) == 3


async def test_optimize_twice_at_once_on_one_study_is_refused() -> None:
    async with ah.open_study(Quad, suggester=ah.Random()) as study:

        async def slow(config: Quad) -> float:
            await anyio.sleep(0.2)
            return loss(config)

        async with anyio.create_task_group() as group:
            group.start_soon(lambda: study.optimize(slow, trials=2))
            await anyio.sleep(0.05)
            with pytest.raises(ah.TrialStateError, match="already running"):
                await study.optimize(slow, trials=4)


async def _quad(config: Quad) -> float:
    return loss(config)
