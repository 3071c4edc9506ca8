"""Cancelling a run: storage is left consistent and the cancellation propagates."""

from __future__ import annotations

import asyncio
import time

import anyio
import anyio.lowlevel
import pytest
from scheduler_helpers import Quad, loss

import asynchyper as ah
from asynchyper._executor import current_trial

pytestmark = pytest.mark.anyio


async def sleepy(config: Quad) -> float:
    await anyio.sleep(0.02 if current_trial().number < 4 else 30)
    return loss(config)


async def trial_states(storage: ah.Storage, name: str = "Quad") -> dict[ah.TrialState, int]:
    study = await storage.get_study(name)
    return await storage.count_trials(study.id)


async def test_cancel_scope_mid_flight_marks_running_trials_cancelled() -> None:
    storage = ah.MemoryStorage()
    started = time.perf_counter()
    with anyio.move_on_after(0.4) as scope:
        await ah.minimize(
            sleepy, Quad, trials=100, concurrency=4, storage=storage, suggester=ah.Random()
        )
    assert scope.cancelled_caught
    assert time.perf_counter() - started < 2.0
    counts = await trial_states(storage)
    assert counts[ah.TrialState.RUNNING] == 0
    assert counts[ah.TrialState.COMPLETE] == 4
    assert counts[ah.TrialState.CANCELLED] == 4
    study = await storage.get_study("Quad")
    cancelled = await storage.trials(study.id, states=[ah.TrialState.CANCELLED])
    assert all("cancelled" in (t.error or "") for t in cancelled)


async def test_cancel_propagates_to_the_caller_scope() -> None:
    storage = ah.MemoryStorage()
    with anyio.CancelScope() as outer:
        async with anyio.create_task_group() as group:

            async def cancel_soon() -> None:
                await anyio.sleep(0.2)
                outer.cancel()

            group.start_soon(cancel_soon)
            await ah.minimize(
                sleepy, Quad, trials=100, concurrency=4, storage=storage, suggester=ah.Random()
            )
            pytest.fail("minimize() returned although it was cancelled")
    assert outer.cancelled_caught
    assert (await trial_states(storage))[ah.TrialState.RUNNING] == 0


async def test_a_failing_sibling_task_cancels_the_study_and_its_error_wins() -> None:
    storage = ah.MemoryStorage()

    async def sibling() -> None:
        await anyio.sleep(0.2)
        msg = "sibling failed"
        raise OSError(msg)

    async def both() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(sibling)
            await ah.minimize(
                sleepy, Quad, trials=100, concurrency=4, storage=storage, suggester=ah.Random()
            )

    with pytest.raises(ExceptionGroup) as caught:
        await both()
    assert caught.group_contains(OSError, match="sibling failed")
    counts = await trial_states(storage)
    assert counts[ah.TrialState.RUNNING] == 0
    assert counts[ah.TrialState.CANCELLED] == 4


async def test_keyboard_interrupt_in_a_trial_is_reraised_as_is(anyio_backend: str) -> None:
    if anyio_backend == "asyncio":
        # asyncio turns Ctrl-C into a cancellation of the main task (tested above); a
        # KeyboardInterrupt raised inside a task escapes the event loop itself.
        pytest.skip("KeyboardInterrupt inside an asyncio task stops the event loop")
    storage = ah.MemoryStorage()

    async def objective(config: Quad) -> float:
        if current_trial().number == 5:
            raise KeyboardInterrupt
        await anyio.sleep(0.01 if current_trial().number < 5 else 30)
        return loss(config)

    with pytest.raises(KeyboardInterrupt):
        await ah.minimize(
            objective, Quad, trials=100, concurrency=3, storage=storage, suggester=ah.Random()
        )
    counts = await trial_states(storage)
    assert counts[ah.TrialState.RUNNING] == 0
    assert counts[ah.TrialState.CANCELLED] >= 1


async def test_keyboard_interrupts_in_several_trials_are_one_keyboard_interrupt(
    anyio_backend: str,
) -> None:
    # Ctrl-C in a terminal reaches every process of the group: with executor="process"
    # each running trial's worker raises KeyboardInterrupt, and they come back together.
    if anyio_backend == "asyncio":
        pytest.skip("KeyboardInterrupt inside an asyncio task stops the event loop")
    storage = ah.MemoryStorage()
    started = 0
    all_started = anyio.Event()

    async def objective(config: Quad) -> float:
        nonlocal started
        started += 1
        if started == 3:
            all_started.set()
        await all_started.wait()
        raise KeyboardInterrupt  # in every trial, with no checkpoint in between

    with pytest.raises(KeyboardInterrupt):  # not a BaseExceptionGroup of them
        await ah.minimize(
            objective, Quad, trials=100, concurrency=3, storage=storage, suggester=ah.Random()
        )
    counts = await trial_states(storage)
    assert counts[ah.TrialState.RUNNING] == 0
    assert counts[ah.TrialState.CANCELLED] == 3


async def test_a_cancelled_error_raised_by_the_objective_fails_only_its_trial(
    anyio_backend: str,
) -> None:
    # e.g. an HTTP client letting an inner task's CancelledError escape: the run was not
    # cancelled, so it must neither stop (stop_reason "timeout" without a timeout) nor
    # leave the budget short.
    if anyio_backend != "asyncio":
        pytest.skip("only asyncio lets code raise its cancellation exception itself")

    async def objective(config: Quad) -> float:
        await anyio.lowlevel.checkpoint()
        if current_trial().number == 2:
            msg = "an inner request was cancelled"
            raise asyncio.CancelledError(msg)
        return loss(config)

    storage = ah.MemoryStorage()
    with anyio.fail_after(60):
        result = await ah.minimize(
            objective, Quad, trials=6, concurrency=2, storage=storage, suggester=ah.Random()
        )
    assert result.stop_reason == "budget"
    assert len(result.completed) == 6
    failed = [t for t in result.trials if t.state is not ah.TrialState.COMPLETE]
    assert [(t.number, t.state) for t in failed] == [(2, ah.TrialState.FAILED)]
    assert "CancelledError: an inner request was cancelled" in (failed[0].error or "")


async def test_a_cancelled_error_raised_by_a_callback_is_raised_like_its_other_errors(
    anyio_backend: str,
) -> None:
    # Not taken for the run's cancellation: the run returned stop_reason="timeout"
    # (there was no timeout) with most of the budget not run.
    if anyio_backend != "asyncio":
        pytest.skip("only asyncio lets code raise its cancellation exception itself")

    async def callback(study: ah.Study[Quad], trial: ah.Trial[Quad]) -> None:
        await anyio.lowlevel.checkpoint()
        if trial.number == 2:
            msg = "a callback's inner task was cancelled"
            raise asyncio.CancelledError(msg)

    storage = ah.MemoryStorage()
    with anyio.fail_after(60), pytest.raises(asyncio.CancelledError, match="callback's inner"):
        await ah.minimize(
            sleepy,
            Quad,
            trials=10,
            concurrency=2,
            storage=storage,
            callbacks=[callback],
            suggester=ah.Random(),
        )
    assert (await trial_states(storage))[ah.TrialState.RUNNING] == 0


async def test_stop_with_cancel_cancels_running_trials() -> None:
    storage = ah.MemoryStorage()

    async def objective(config: Quad) -> float:
        number = current_trial().number
        await anyio.sleep({0: 0.01, 1: 0.01, 2: 0.01, 3: 0.3}.get(number, 30))
        return loss(config)

    def callback(study: ah.Study[Quad], trial: ah.Trial[Quad]) -> None:
        if trial.number == 3:
            study.stop(cancel=True)

    result = await ah.minimize(
        objective,
        Quad,
        trials=100,
        concurrency=4,
        storage=storage,
        callbacks=[callback],
        suggester=ah.Random(),
    )
    assert result.stop_reason == "stopped"
    counts = await trial_states(storage)
    assert counts[ah.TrialState.RUNNING] == 0
    assert counts[ah.TrialState.COMPLETE] == 4
    assert counts[ah.TrialState.CANCELLED] == 3


async def test_a_suggester_error_stops_the_run_and_is_raised() -> None:
    class Broken(ah.Suggester):
        def suggest(self, space, history, pending, rng, k=1):  # type: ignore[no-untyped-def]
            if len(history) + len(pending) >= 3:
                msg = "suggester bug"
                raise ZeroDivisionError(msg)
            return [space.sample(rng)]

    storage = ah.MemoryStorage()
    with pytest.raises(ZeroDivisionError, match="suggester bug"):
        await ah.minimize(
            sleepy, Quad, trials=10, concurrency=2, storage=storage, suggester=Broken()
        )
    assert (await trial_states(storage))[ah.TrialState.RUNNING] == 0


async def test_a_suggestion_outside_the_space_is_a_suggester_error() -> None:
    class Wrong(ah.Suggester):
        def suggest(self, space, history, pending, rng, k=1):  # type: ignore[no-untyped-def]
            return [{"x": 99.0, "n": 1, "kind": "a"}]

    storage = ah.MemoryStorage()
    with pytest.raises(ah.SuggesterError, match="outside the space"):
        await ah.minimize(sleepy, Quad, trials=3, storage=storage, suggester=Wrong())
    study = await storage.get_study("Quad")
    assert await storage.trials(study.id) == []


@pytest.mark.parametrize(
    ("returned", "named"),
    [
        ({"x": 0.5, "n": 1, "kind": "a"}, "returned dict"),  # one dict, not a list of them
        ((p for p in [{"x": 0.5, "n": 1, "kind": "a"}]), "returned generator"),
        ([], "returned 0 proposals"),
    ],
)
async def test_a_suggestion_of_the_wrong_shape_is_a_suggester_error(
    returned: object, named: str
) -> None:
    class Shapeless(ah.Suggester):
        def suggest(self, space, history, pending, rng, k=1):  # type: ignore[no-untyped-def]
            return returned

    with pytest.raises(ah.SuggesterError, match=named):
        await ah.minimize(sleepy, Quad, trials=2, suggester=Shapeless())


def _leaky_client(config: Quad) -> float:
    """A thread objective driving its own asyncio client, whose inner task's
    cancellation escapes: nobody cancelled the trial."""

    async def call() -> float:
        inner = asyncio.ensure_future(asyncio.sleep(10))
        await asyncio.sleep(0)
        inner.cancel()
        await inner
        return loss(config)

    return asyncio.run(call())


async def test_an_asyncio_cancelled_error_from_a_thread_objective_fails_only_its_trial() -> None:
    # On trio it stopped the whole study: any CancelledError counted as a cancellation.
    result = await ah.minimize(
        _leaky_client, Quad, trials=2, max_failures=2, executor="thread", suggester=ah.Random()
    )
    assert result.stop_reason == "max_failures"
    assert [t.state for t in result.trials] == [ah.TrialState.FAILED] * 2
    assert all("CancelledError" in (t.error or "") for t in result.trials)
