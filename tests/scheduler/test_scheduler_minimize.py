"""minimize() and Study.optimize(): budgets, results, failures, stopping, callbacks."""

from __future__ import annotations

import logging
import math
import os
import re
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Annotated, Any, cast

import anyio
import anyio.lowlevel
import attrs
import numpy as np
import pytest
from scheduler_helpers import Quad, Recording, loss

import asynchyper as ah
from asynchyper._executor import current_trial
from asynchyper._scheduler import maximize
from asynchyper._scheduler._callbacks import TrialCallback
from asynchyper._scheduler._progress import ProgressDisplay
from asynchyper._storage._common import log_failed_stale

pytestmark = pytest.mark.anyio


async def quad(config: Quad) -> float:
    await anyio.lowlevel.checkpoint()
    return loss(config)


def states(result: ah.Result[Any]) -> dict[ah.TrialState, int]:
    counts = dict.fromkeys(ah.TrialState, 0)
    for trial in result.trials:
        counts[trial.state] += 1
    return counts


async def test_minimize_returns_every_trial_and_the_best() -> None:
    result = await ah.minimize(quad, Quad, trials=30, concurrency=4, suggester=ah.Random(), seed=1)
    assert [t.number for t in result.trials] == list(range(30))
    assert all(t.state is ah.TrialState.COMPLETE for t in result.trials)
    assert result.stop_reason == "budget"
    best = result.best
    assert isinstance(best.config, Quad)
    assert best.value == min(t.value for t in result.trials if t.value is not None)
    assert result.best_value == best.value
    for trial in result.trials:
        assert trial.value == loss(trial.config)
        assert trial.started_at is not None
        assert trial.finished_at is not None
        assert trial.finished_at >= trial.started_at


async def test_maximize_picks_the_highest_value() -> None:
    result = await maximize(quad, Quad, trials=20, suggester=ah.Random(), seed=2)
    assert result.direction == "maximize"
    assert result.best.value == max(t.value for t in result.trials if t.value is not None)


async def test_trials_is_the_total_budget_of_the_study() -> None:
    storage = ah.MemoryStorage()
    first = await ah.minimize(
        quad, Quad, trials=7, storage=storage, study="s", suggester=ah.Random(), seed=0
    )
    assert len(first.completed) == 7
    again = await ah.minimize(
        quad, Quad, trials=7, storage=storage, study="s", suggester=ah.Random(), seed=0
    )
    assert len(again.trials) == 7  # nothing left to do
    more = await ah.minimize(
        quad, Quad, trials=12, concurrency=3, storage=storage, study="s", suggester=ah.Random()
    )
    assert len(more.completed) == 12
    assert len(more.trials) == 12


async def test_two_studies_on_one_storage_share_the_budget_exactly() -> None:
    storage = ah.MemoryStorage()
    results: list[ah.Result[Quad]] = []

    async def run_one() -> None:
        async with ah.open_study(Quad, storage=storage, name="shared", suggester=ah.Random()) as s:
            results.append(await s.optimize(quad, trials=25, concurrency=4))

    async with anyio.create_task_group() as group:
        group.start_soon(run_one)
        group.start_soon(run_one)
    async with ah.open_study(Quad, storage=storage, name="shared", suggester=ah.Random()) as s:
        final = await s.trials()
    assert sum(t.state is ah.TrialState.COMPLETE for t in final) == 25
    assert len(final) == 25


async def test_keeps_exactly_concurrency_trials_running() -> None:
    running = 0
    peak = 0

    async def objective(config: Quad) -> float:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await anyio.sleep(0.002 * config.n)
        running -= 1
        return loss(config)

    await ah.minimize(objective, Quad, trials=60, concurrency=5, suggester=ah.Random(), seed=3)
    assert peak == 5


async def test_a_new_trial_starts_as_soon_as_one_finishes_not_in_batches() -> None:
    # Trial 0 returns only after eight later trials have finished in the other slot.
    # With batching nothing would start until it finished: the run would hang.
    others_done = anyio.Event()
    finished: list[int] = []

    async def objective(config: Quad) -> float:
        number = current_trial().number
        if number == 0:
            await others_done.wait()
        else:
            await anyio.lowlevel.checkpoint()
            finished.append(number)
            if len(finished) == 8:
                others_done.set()
        return loss(config)

    with anyio.fail_after(60):
        await ah.minimize(objective, Quad, trials=12, concurrency=2, suggester=ah.Random())
    assert finished[:8] == list(range(1, 9))


async def test_every_slot_is_refilled_while_trials_remain() -> None:
    # No wall clock: a trial returns only once every slot is busy again (64 running, or
    # every unfinished trial running near the end). A scheduler that waits for a batch,
    # or refills fewer slots than it has, leaves the trials waiting: the run hangs and
    # the deadline fails the test. (Throughput in numbers: benchmarks/throughput.py.)
    trials, slots = 256, 64
    running = finished = peak = 0
    changed = anyio.Event()

    def count(started: int, ended: int) -> None:
        nonlocal running, finished, peak, changed
        running += started - ended
        finished += ended
        peak = max(peak, running)
        changed.set()
        changed = anyio.Event()

    async def objective(config: Quad) -> float:
        count(1, 0)
        while running < min(slots, trials - finished):
            await changed.wait()
        count(0, 1)
        return loss(config)

    with anyio.fail_after(60):
        result = await ah.minimize(
            objective, Quad, trials=trials, concurrency=slots, suggester=ah.Random()
        )
    assert len(result.completed) == trials
    assert peak == slots


async def test_evaluation_attrs_and_context_attrs_are_stored() -> None:
    async def objective(config: Quad) -> ah.Evaluation:
        current_trial().set_attr("from_context", 1)
        current_trial().set_attr("both", "context")
        return ah.Evaluation(loss(config), {"both": "returned", "extra": [1, 2]})

    result = await ah.minimize(objective, Quad, trials=3, suggester=ah.Random())
    for trial in result.trials:
        assert trial.user_attrs == {"from_context": 1, "both": "returned", "extra": [1, 2]}


async def test_failures_are_recorded_with_the_reason_and_the_study_goes_on() -> None:
    async def objective(config: Quad) -> Any:
        number = current_trial().number
        if number == 0:
            msg = "boom in trial zero"
            raise RuntimeError(msg)
        if number == 1:
            return math.nan
        if number == 2:
            return math.inf
        if number == 3:
            return "0.5"
        if number == 4:
            return True
        return loss(config)

    result = await ah.minimize(objective, Quad, trials=5, suggester=ah.Random(), seed=0)
    failed = {t.number: t for t in result.trials if t.state is ah.TrialState.FAILED}
    assert sorted(failed) == [0, 1, 2, 3, 4]
    assert "RuntimeError: boom in trial zero" in (failed[0].error or "")
    assert "Traceback (most recent call last)" in (failed[0].error or "")
    assert "in objective" in (failed[0].error or "")
    assert "nan" in (failed[1].error or "")
    assert "inf" in (failed[2].error or "")
    assert "str" in (failed[3].error or "")
    assert "bool" in (failed[4].error or "")
    assert all(t.value is None for t in failed.values())
    assert len(result.completed) == 5  # failures do not count toward the budget
    assert len(result.trials) == 10


async def test_max_failures_bounds_an_always_failing_objective() -> None:
    async def objective(config: Quad) -> float:
        msg = f"always fails {config.x}"
        raise ValueError(msg)

    result = await ah.minimize(
        objective, Quad, trials=50, concurrency=3, max_failures=6, suggester=ah.Random()
    )
    assert result.stop_reason == "max_failures"
    assert 6 <= len(result.trials) <= 6 + 2  # the running ones finish too
    with pytest.raises(ah.NoCompletedTrialsError, match="no completed trial"):
        _ = result.best


async def test_max_failures_has_a_default_bound() -> None:
    def objective(config: Quad) -> float:
        raise ValueError(str(config))

    result = await ah.minimize(objective, Quad, trials=4, suggester=ah.Random())
    assert result.stop_reason == "max_failures"
    assert states(result)[ah.TrialState.FAILED] == 10
    result = await ah.minimize(objective, Quad, trials=20, retries=1, suggester=ah.Random())
    assert states(result)[ah.TrialState.FAILED] == 40


async def test_retries_rerun_failed_trials_with_the_same_params() -> None:
    attempts: dict[float, int] = {}

    async def objective(config: Quad) -> float:
        attempts[config.x] = attempts.get(config.x, 0) + 1
        if attempts[config.x] < 3:
            msg = "flaky"
            raise ConnectionError(msg)
        return loss(config)

    result = await ah.minimize(objective, Quad, trials=2, retries=2, suggester=ah.Random(), seed=5)
    assert sorted(attempts.values()) == [3, 3]
    assert states(result) == {
        ah.TrialState.WAITING: 0,
        ah.TrialState.RUNNING: 0,
        ah.TrialState.COMPLETE: 2,
        ah.TrialState.FAILED: 4,
        ah.TrialState.CANCELLED: 0,
    }
    first_params = result.trials[0].params
    assert [t.params for t in result.trials[:3]] == [first_params] * 3


async def test_trial_timeout_cancels_a_hanging_coroutine() -> None:
    async def objective(config: Quad) -> float:
        if current_trial().number == 1:
            await anyio.sleep_forever()
        return loss(config)

    started = time.perf_counter()
    result = await ah.minimize(objective, Quad, trials=4, trial_timeout=0.2, suggester=ah.Random())
    assert time.perf_counter() - started < 2.0
    hung = result.trials[1]
    assert hung.state is ah.TrialState.FAILED
    assert "trial_timeout=0.2" in (hung.error or "")
    assert len(result.completed) == 4


@pytest.mark.parametrize("how", ["shielded", "swallowed"])
async def test_a_trial_that_ignores_its_timeout_and_returns_late_fails(how: str) -> None:
    # A coroutine that shields itself, or catches the cancellation, returns after the
    # deadline: it took longer than trial_timeout all the same (it was stored complete).
    async def objective(config: Quad) -> float:
        if current_trial().number == 1:
            if how == "shielded":
                with anyio.CancelScope(shield=True):
                    await anyio.sleep(0.4)
            else:
                try:
                    await anyio.sleep(30)
                except anyio.get_cancelled_exc_class():
                    pass  # swallowed: returns a value instead
        return loss(config)

    result = await ah.minimize(objective, Quad, trials=3, trial_timeout=0.2, suggester=ah.Random())
    late = result.trials[1]
    assert late.state is ah.TrialState.FAILED
    assert "exceeded trial_timeout=0.2 s" in (late.error or "")
    assert len(result.completed) == 3


async def test_study_timeout_cancels_running_trials_and_returns() -> None:
    async def objective(config: Quad) -> float:
        await anyio.sleep(0.1 if current_trial().number < 3 else 30)
        return loss(config)

    started = time.perf_counter()
    result = await ah.minimize(
        objective, Quad, trials=100, concurrency=3, timeout=0.5, suggester=ah.Random()
    )
    assert time.perf_counter() - started < 3.0
    assert result.stop_reason == "timeout"
    counts = states(result)
    assert counts[ah.TrialState.RUNNING] == 0
    assert counts[ah.TrialState.COMPLETE] == 3
    assert counts[ah.TrialState.CANCELLED] == 3
    cancelled = [t for t in result.trials if t.state is ah.TrialState.CANCELLED]
    assert all("timeout" in (t.error or "") for t in cancelled)


async def test_target_stops_asking() -> None:
    async def objective(config: Quad) -> float:
        return 10.0 - current_trial().number

    result = await ah.minimize(objective, Quad, trials=100, target=5.0, suggester=ah.Random())
    assert result.stop_reason == "target"
    assert result.best.value == 5.0
    assert len(result.trials) == 6


async def test_patience_stops_after_k_trials_without_improvement() -> None:
    values = [5.0, 4.0, 6.0, 3.0, 7.0, 8.0, 9.0, 1.0, 0.0]

    async def objective(config: Quad) -> float:
        return values[current_trial().number]

    result = await ah.minimize(objective, Quad, trials=9, patience=3, suggester=ah.Random())
    assert result.stop_reason == "patience"
    assert [t.value for t in result.trials] == [5.0, 4.0, 6.0, 3.0, 7.0, 8.0, 9.0]


async def test_a_callback_can_stop_the_study() -> None:
    seen: list[int] = []

    def callback(study: ah.Study[Quad], trial: ah.Trial[Quad]) -> None:
        seen.append(trial.number)
        if trial.number == 4:
            study.stop()

    result = await ah.minimize(quad, Quad, trials=50, callbacks=[callback], suggester=ah.Random())
    assert result.stop_reason == "stopped"
    assert seen == [0, 1, 2, 3, 4]
    assert len(result.trials) == 5


async def test_callbacks_see_starts_finishes_and_the_run() -> None:
    events: list[tuple[str, Any]] = []

    class Observer(TrialCallback[Quad]):
        def on_run_start(self, study: ah.Study[Quad], budget: int) -> None:
            events.append(("run_start", budget))

        async def on_trial_start(self, study: ah.Study[Quad], trial: ah.Trial[Quad]) -> None:
            await anyio.lowlevel.checkpoint()
            events.append(("start", (trial.number, trial.state)))

        def on_trial_finish(self, study: ah.Study[Quad], trial: ah.Trial[Quad]) -> None:
            events.append(("finish", (trial.number, trial.state)))

        def on_run_end(self, study: ah.Study[Quad], result: ah.Result[Quad]) -> None:
            events.append(("run_end", len(result.trials)))

    async def async_callback(study: ah.Study[Quad], trial: ah.Trial[Quad]) -> None:
        events.append(("plain", trial.number))

    await ah.minimize(
        quad, Quad, trials=2, callbacks=[async_callback], progress=Observer(), suggester=ah.Random()
    )
    running, complete = ah.TrialState.RUNNING, ah.TrialState.COMPLETE
    assert events == [
        ("run_start", 2),
        ("start", (0, running)),
        ("plain", 0),
        ("finish", (0, complete)),
        ("start", (1, running)),
        ("plain", 1),
        ("finish", (1, complete)),
        ("run_end", 2),
    ]


async def test_a_failing_callback_stops_the_run_and_is_raised() -> None:
    def callback(study: ah.Study[Quad], trial: ah.Trial[Quad]) -> None:
        msg = "callback bug"
        raise KeyError(msg)

    storage = ah.MemoryStorage()
    with pytest.raises(KeyError, match="callback bug"):
        await ah.minimize(
            quad, Quad, trials=5, storage=storage, callbacks=[callback], suggester=ah.Random()
        )
    study = await storage.get_study("Quad")
    counts = await storage.count_trials(study.id)
    assert counts[ah.TrialState.RUNNING] == 0


async def test_a_failing_start_callback_cancels_its_trial_instead_of_failing_it() -> None:
    # The objective never ran: a FAILED trial would tell the suggester (of this and
    # every resumed run) that its parameters are bad.
    class FailingStart(TrialCallback[Quad]):
        def on_trial_start(self, study: ah.Study[Quad], trial: ah.Trial[Quad]) -> None:
            if trial.number == 2:
                msg = "start callback bug"
                raise KeyError(msg)

    storage = ah.MemoryStorage()
    with pytest.raises(KeyError, match="start callback bug"):
        await ah.minimize(
            quad, Quad, trials=5, storage=storage, callbacks=[FailingStart()], suggester=ah.Random()
        )
    study = await storage.get_study("Quad")
    trials = await storage.trials(study.id)
    assert [t.state for t in trials] == [
        ah.TrialState.COMPLETE,
        ah.TrialState.COMPLETE,
        ah.TrialState.CANCELLED,
    ]
    assert "start callback bug" in (trials[2].error or "")


@pytest.mark.parametrize("suggester", [ah.Random, ah.TPE])
async def test_same_seed_and_concurrency_one_give_identical_trials(
    suggester: type[ah.Suggester],
) -> None:
    async def run(seed: int) -> list[tuple[dict[str, Any], float | None]]:
        result = await ah.minimize(quad, Quad, trials=25, suggester=suggester(), seed=seed)
        return [(dict(t.params), t.value) for t in result.trials]

    first = await run(42)
    assert first == await run(42)
    assert [p for p, _ in await run(43)] != [p for p, _ in first]


async def test_sync_objective_runs_in_a_worker_thread() -> None:
    loop_thread = threading.get_ident()
    threads: set[int] = set()

    def objective(config: Quad) -> float:
        threads.add(threading.get_ident())
        time.sleep(0.01)
        return loss(config)

    result = await ah.minimize(objective, Quad, trials=8, concurrency=4, suggester=ah.Random())
    assert len(result.completed) == 8
    assert loop_thread not in threads


async def test_a_custom_suggester_sees_running_trials_as_pending() -> None:
    suggester = Recording()

    async def objective(config: Quad) -> float:
        await anyio.sleep(0.01)
        return loss(config)

    await ah.minimize(objective, Quad, trials=12, concurrency=4, suggester=suggester)
    assert suggester.pending_sizes[:4] == [0, 1, 2, 3]
    assert max(suggester.pending_sizes) == 3


@pytest.mark.parametrize(
    ("option", "value", "error"),
    [
        ("trials", 0, ValueError),
        ("trials", 2.5, TypeError),
        ("concurrency", 0, ValueError),
        ("timeout", -1.0, ValueError),
        ("trial_timeout", 0, ValueError),
        ("patience", 0, ValueError),
        ("retries", -1, ValueError),
        ("target", math.nan, ValueError),
    ],
)
async def test_bad_options_are_rejected_before_any_trial(
    option: str, value: Any, error: type[Exception]
) -> None:
    storage = ah.MemoryStorage()
    options: dict[str, Any] = {"trials": 3, option: value}
    with pytest.raises(error, match=option):
        await ah.minimize(quad, Quad, storage=storage, suggester=ah.Random(), **options)
    assert await storage.list_studies() == []  # refused before the study was created


async def test_reopening_with_another_direction_is_an_error() -> None:
    storage = ah.MemoryStorage()
    await ah.minimize(quad, Quad, trials=1, storage=storage, suggester=ah.Random())
    with pytest.raises(ah.SpaceMismatchError, match="direction"):
        await maximize(quad, Quad, trials=1, storage=storage, suggester=ah.Random())


async def test_reopening_a_file_with_another_direction_is_a_space_mismatch(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "study.db")
    await ah.minimize(quad, Quad, trials=1, storage=path, suggester=ah.Random())
    with pytest.raises(ah.SpaceMismatchError, match="direction='minimize'"):
        await maximize(quad, Quad, trials=1, storage=path, suggester=ah.Random())


@pytest.mark.parametrize(
    ("option", "value"),
    [("trials", 0), ("concurrency", 0), ("timeout", 0), ("retries", -1), ("target", math.inf)],
)
async def test_bad_options_are_rejected_before_the_storage_is_touched(
    tmp_path: Path, option: str, value: Any
) -> None:
    path = tmp_path / "study.db"
    options: dict[str, Any] = {"trials": 3, option: value}
    with pytest.raises(ValueError, match=option):
        await ah.minimize(quad, Quad, storage=str(path), suggester=ah.Random(), **options)
    assert not path.exists()


async def test_a_numpy_int_seeds_a_study_as_the_int_does() -> None:
    seeds: tuple[Any, ...] = (3, np.int64(3))
    results = [await ah.minimize(quad, Quad, trials=4, seed=seed) for seed in seeds]
    assert [t.params for t in results[0].trials] == [t.params for t in results[1].trials]


class AsyncSuggester(ah.Random):
    """A suggester whose suggest awaits: refused, it would return a coroutine."""

    async def suggest(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return super().suggest(*args, **kwargs)


@pytest.mark.parametrize(
    ("option", "value", "error", "match"),
    [
        ("callbacks", [3], TypeError, r"callbacks\[0\] must be"),
        ("progress", "yes", TypeError, "progress must be"),
        ("seed", "x", TypeError, "seed must be an int"),
        ("seed", -1, ValueError, "seed must be >= 0"),
        ("suggester", "tpe", TypeError, "suggester must be a Suggester"),
        ("suggester", AsyncSuggester(), TypeError, r"AsyncSuggester.suggest is async def"),
        ("study", "", ValueError, "name must be a non-empty string"),
        ("study", "n" * 501, ValueError, "at most 500 characters"),
        ("study", 3, TypeError, "name must be a str"),
    ],
)
async def test_bad_study_options_are_rejected_before_the_storage_is_touched(
    tmp_path: Path, option: str, value: Any, error: type[Exception], match: str
) -> None:
    path = tmp_path / "study.db"
    options: dict[str, Any] = {"trials": 3, option: value}
    with pytest.raises(error, match=match):
        await ah.minimize(quad, Quad, storage=str(path), **options)
    assert not path.exists()
    open_options = {"name" if option == "study" else option: value}
    if option in ("callbacks", "progress"):
        return  # options of a run, not of open_study
    with pytest.raises(error, match=match):
        async with ah.open_study(Quad, storage=str(path), **open_options):
            pass
    assert not path.exists()


async def test_an_unknown_executor_is_rejected_before_the_storage_is_touched(
    tmp_path: Path,
) -> None:
    path = tmp_path / "study.db"
    with pytest.raises(ah.ExecutorError, match="'threads'"):
        await ah.minimize(
            quad,
            Quad,
            trials=3,
            storage=str(path),
            executor="threads",  # type: ignore[arg-type]
        )
    assert not path.exists()


async def test_an_executor_that_cannot_run_the_objective_touches_no_storage(
    tmp_path: Path,
) -> None:
    async def objective(config: Quad) -> float:
        return config.x

    path = tmp_path / "study.db"
    with pytest.raises(ah.ExecutorError, match="executor='thread' cannot run the async"):
        await ah.minimize(objective, Quad, trials=3, storage=str(path), executor="thread")
    assert not path.exists()


async def test_an_int_too_large_for_a_float_fails_the_trial() -> None:
    async def objective(config: Quad) -> int:
        return 10**400 if current_trial().number == 0 else 1

    result = await ah.minimize(objective, Quad, trials=2, suggester=ah.Random())
    first = result.trials[0]
    assert first.state is ah.TrialState.FAILED
    assert "objective returned int 1000" in (first.error or "")
    assert "too large" in (first.error or "")
    assert len(result.completed) == 2


async def test_runs_and_failures_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def objective(config: Quad) -> float:
        if current_trial().number == 1:
            msg = "logged failure"
            raise ValueError(msg)
        return loss(config)

    with caplog.at_level(logging.INFO, logger="asynchyper"):
        await ah.minimize(objective, Quad, trials=3, suggester=ah.Random())
    records = [r for r in caplog.records if r.name.startswith("asynchyper.")]
    messages = [r.getMessage() for r in records]
    assert any("run started" in m for m in messages)
    [ended] = [m for m in messages if "run ended (budget)" in m]
    assert re.search(
        r"after \d+\.\d s: 3 trials completed and 1 failed in this run; 3 completed in the", ended
    )
    # A warning: Python shows warnings by default, and a failure does not stop the run.
    [failure] = [r for r in records if "trial 1 failed: ValueError: logged failure" in r.message]
    assert failure.levelno == logging.WARNING


async def test_log_records_carry_the_study_and_trial_as_fields(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # For structured-logging handlers (JSON lines in a service running many studies):
    # every record of the scheduler names its study, and a trial's records its number.
    async def objective(config: Quad) -> float:
        await anyio.lowlevel.checkpoint()
        if current_trial().number == 1:
            msg = "logged failure"
            raise ValueError(msg)
        return loss(config)

    with caplog.at_level(logging.DEBUG, logger="asynchyper"):
        await ah.minimize(objective, Quad, trials=3, suggester=ah.Random(), study="fields")
    records = [r for r in caplog.records if r.name.startswith("asynchyper._scheduler")]
    assert len(records) >= 6  # run started and ended, trials started and finished
    for record in records:
        assert record.__dict__["asynchyper_study"] == "fields", record.getMessage()
        trial = record.__dict__["asynchyper_trial"]
        named = re.search(r"trial (\d+)", record.getMessage())
        assert trial == (int(named.group(1)) if named else None), record.getMessage()
    [failure] = [r for r in records if "logged failure" in r.getMessage()]
    assert failure.__dict__["asynchyper_trial"] == 1


def test_the_stale_trials_warning_names_its_study_as_a_field(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("asynchyper._storage._memory")
    with caplog.at_level(logging.WARNING, logger="asynchyper"):
        log_failed_stale(logger, "the in-memory storage", "svm", [3, 4], requeue=False)
    [record] = caplog.records
    assert record.__dict__["asynchyper_study"] == "svm"
    assert record.__dict__["asynchyper_trial"] is None  # several trials: the study's record


async def test_a_failing_progress_display_names_its_study_as_a_field(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: object, file: object) -> None:
        msg = "no display today"
        raise RuntimeError(msg)

    monkeypatch.setattr(ProgressDisplay, "_open_view", broken)
    with caplog.at_level(logging.WARNING, logger="asynchyper"):
        await ah.minimize(loss, Quad, trials=2, study="shown", progress=True)
    [record] = [r for r in caplog.records if "cannot show the progress display" in r.message]
    assert (record.__dict__["asynchyper_study"], record.__dict__["asynchyper_trial"]) == (
        "shown",
        None,
    )


async def test_a_failing_objective_names_its_error_when_the_run_stops(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A broken objective used up max_failures with one unexplained warning, and
    # Result.best said only "check the failed trials' `error`".
    def objective(config: Quad) -> float:
        msg = "the objective is broken"
        raise KeyError(msg)

    with caplog.at_level(logging.WARNING, logger="asynchyper"):
        result = await ah.minimize(objective, Quad, trials=9, max_failures=3)
    [stop] = [r.getMessage() for r in caplog.records if "stopping (max_failures)" in r.message]
    assert stop.endswith("which failed: KeyError: 'the objective is broken'")
    with pytest.raises(ah.NoCompletedTrialsError) as caught:
        _ = result.best
    message = str(caught.value)
    assert f"the last failed trial ({result.trials[-1].number}) ended with: KeyError" in message


async def test_a_repeated_failure_is_warned_about_a_few_times(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # One warning per failure printed 300 lines for max_failures=300 and one bug.
    def objective(config: Quad) -> float:
        if config.kind == "a":
            msg = "another error"
            raise RuntimeError(msg)
        msg = "the same error"
        raise KeyError(msg)

    with caplog.at_level(logging.INFO, logger="asynchyper"):
        await ah.minimize(objective, Quad, trials=5, max_failures=12, suggester=ah.Random(), seed=0)
    failures = [
        r for r in caplog.records if " failed: " in r.message and "stopping" not in r.message
    ]
    same = [r for r in failures if "KeyError: 'the same error'" in r.message]
    warned = [r for r in same if r.levelno == logging.WARNING]
    assert len(warned) == 3
    assert warned[-1].message.endswith("further ones are logged at info level)")
    assert len(same) > 3
    assert all(r.levelno == logging.INFO for r in same[3:])
    other = [r for r in failures if "RuntimeError: another error" in r.message]
    assert [r.levelno for r in other[:3]] == [logging.WARNING] * min(3, len(other))


async def test_best_of_a_study_without_trials_says_so() -> None:
    async with ah.open_study(Quad, name="empty") as study:
        result = await study.result()
    with pytest.raises(ah.NoCompletedTrialsError, match="it has no trials at all"):
        _ = result.best
    with pytest.raises(ah.NoCompletedTrialsError, match="it has no trials at all"):
        _ = result.best_value


def _above_low(instance: Ordered, attribute: object, value: int) -> None:
    if value <= instance.low:
        msg = f"high={value} must exceed low={instance.low}"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class Ordered:
    """A constraint between fields: an attrs validator on ``high``."""

    low: Annotated[int, ah.Int(0, 10)]
    high: Annotated[int, ah.Int(0, 10)] = attrs.field(validator=_above_low)


@pytest.mark.parametrize("suggester", [ah.TPE(), ah.Random()], ids=["tpe", "random"])
async def test_proposals_the_space_class_rejects_are_drawn_again(suggester: ah.Suggester) -> None:
    # The best width (1) lies on the constraint's edge: TPE's model pulls toward the
    # rejected side, and learns from each rejection (as a failure) to stay out of it.
    seen: list[Ordered] = []

    async def width(config: Ordered) -> float:
        seen.append(config)
        return float(config.high - config.low)

    result = await ah.minimize(width, Ordered, trials=40, suggester=suggester, seed=0)
    assert result.stop_reason == "budget"
    assert len(result.completed) == 40
    assert all(c.high > c.low for c in seen)
    assert result.best.value == 1.0


def _never(instance: object, attribute: object, value: int) -> None:
    msg = "never valid"
    raise ValueError(msg)


@attrs.frozen(kw_only=True)
class Impossible:
    n: Annotated[int, ah.Int(0, 10)] = attrs.field(validator=_never)


async def never_called(config: Impossible) -> float:  # pragma: no cover - no valid config
    return float(config.n)


async def test_a_space_class_that_rejects_everything_is_a_clear_error() -> None:
    storage = ah.MemoryStorage()
    with pytest.raises(ah.ParameterError, match=r"Impossible rejected 100 proposals in a row") as e:
        await ah.minimize(never_called, Impossible, trials=3, storage=storage)
    assert "never valid" in str(e.value)
    assert "narrow the markers" in str(e.value)
    study = await storage.get_study("Impossible")
    assert await storage.trials(study.id) == []


class FlakyResults(ah.MemoryStorage):
    """Refuses to record the first ``failures`` results (a storage outage)."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def finish_trial(self, study_id: int, number: int, **kw: Any) -> ah.TrialRecord:
        if kw.get("state") is ah.TrialState.COMPLETE and self.failures > 0:
            self.failures -= 1
            msg = "the database went away"
            raise ah.StorageError(msg)
        return await super().finish_trial(study_id, number, **kw)


async def test_a_result_that_could_not_be_stored_is_not_a_failed_trial() -> None:
    # It was stored FAILED with the storage's traceback, steering the suggester away
    # from parameters that were judged, and its value was lost.
    storage = FlakyResults(failures=2)  # the first write and its second try
    with pytest.raises(ah.StorageError, match="went away") as caught:
        await ah.minimize(quad, Quad, trials=5, storage=storage, study="s")
    notes = "\n".join(getattr(caught.value, "__notes__", []))
    assert "trial 0 of study 's' returned" in notes
    async with ah.open_study(Quad, storage=storage, name="s") as study:
        (trial,) = await study.trials()
    assert trial.state is ah.TrialState.CANCELLED
    assert "its result could not be stored: StorageError: the database went away" in (
        trial.error or ""
    )


async def test_a_result_stored_on_the_second_try_lets_the_run_go_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    storage = FlakyResults(failures=1)
    with caplog.at_level(logging.WARNING, logger="asynchyper"):
        result = await ah.minimize(quad, Quad, trials=5, storage=storage, study="s")
    assert [t.state for t in result.trials] == [ah.TrialState.COMPLETE] * 5
    assert "trial 0 recorded on a second try" in caplog.text


async def test_enqueue_runs_given_configurations_first_and_once(tmp_path: Path) -> None:
    # Hyperopt's points_to_evaluate: whole and partial configurations, run first; the
    # same call again (a resumed script) does not queue them a second time.
    path = str(tmp_path / "warm.db")
    warm: list[Quad | dict[str, Any]] = [Quad(x=0.5, n=3, kind="b"), {"x": 1.0}]
    first = await ah.minimize(quad, Quad, trials=6, storage=path, seed=0, enqueue=warm)
    assert first.trials[0].config == Quad(x=0.5, n=3, kind="b")
    assert first.trials[1].params["x"] == 1.0
    again = await ah.minimize(quad, Quad, trials=10, storage=path, seed=0, enqueue=warm)
    assert len(again.trials) == 10
    assert [t.params.get("x") for t in again.trials].count(1.0) == 1
    result = await maximize(quad, Quad, trials=3, enqueue=[Quad(x=2.0, n=9, kind="a")])
    assert result.trials[0].config == Quad(x=2.0, n=9, kind="a")


async def test_enqueue_is_checked_before_anything_is_stored(tmp_path: Path) -> None:
    path = tmp_path / "never.db"
    with pytest.raises(TypeError, match=r"a list of configurations \(put a single"):
        await ah.minimize(quad, Quad, trials=3, storage=str(path), enqueue={"x": 1.0})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"enqueue\[1\] is a int; give an instance of Quad"):
        await ah.minimize(
            quad, Quad, trials=3, storage=str(path), enqueue=cast("Any", [{"x": 1.0}, 3])
        )
    with pytest.raises(ah.ParameterError, match="out of bounds") as info:
        await ah.minimize(quad, Quad, trials=3, storage=str(path), enqueue=[{"x": 99.0}])
    assert info.value.__notes__ == ["in enqueue[0]"]
    assert not path.exists()


async def test_enqueue_a_configuration_the_class_refuses_stores_nothing(tmp_path: Path) -> None:
    # The class's own checks (a validator between fields) run before the storage is
    # opened, as the docstring says: no file, no study, nothing of enqueue[0] queued.
    path = tmp_path / "never.db"
    bad = [{"low": 1, "high": 2}, {"low": 5, "high": 1}]
    with pytest.raises(ah.ParameterError, match="rejected the parameters") as info:
        await ah.minimize(lambda c: 0.0, Ordered, trials=3, storage=str(path), enqueue=bad)
    assert info.value.__notes__ == ["in enqueue[1]"]
    assert not path.exists()


async def test_enqueue_a_part_no_completion_fits_names_its_position() -> None:
    # A part is completed (and checked) only once the study is open: its error still
    # says which configuration it was.
    with pytest.raises(ah.ParameterError, match="rejected") as info:
        await ah.minimize(lambda c: 0.0, Impossible, trials=3, enqueue=[{}], suggester=ah.Random())
    assert info.value.__notes__[-1] == "in enqueue[0]"


async def test_enqueue_beyond_the_budget_says_what_did_not_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Hyperopt's points_to_evaluate are all evaluated; here a budget already held (a
    # re-run) leaves the given configurations WAITING: say so rather than stay silent.
    storage = ah.MemoryStorage()
    await ah.minimize(quad, Quad, trials=2, storage=storage, seed=0)
    with caplog.at_level(logging.WARNING, logger="asynchyper"):
        result = await ah.minimize(
            quad, Quad, trials=2, storage=storage, enqueue=[{"x": 0.5}, {"x": 1.0}]
        )
    assert [t.state for t in result.trials][2:] == [ah.TrialState.WAITING] * 2
    assert "2 queued configuration(s) were not evaluated" in caplog.text
    assert "trials=2" in caplog.text


async def test_a_rerun_with_enqueue_queues_nothing_and_writes_nothing() -> None:
    # The configurations already held are skipped after one read: a re-run of the
    # same call neither queues them again nor pays a transaction for each.
    class Counting(ah.MemoryStorage):
        enqueued = 0

        async def enqueue_trial(self, *args: Any, **kwargs: Any) -> ah.TrialRecord:
            Counting.enqueued += 1
            return await super().enqueue_trial(*args, **kwargs)

    store = Counting()
    warm: list[Quad | dict[str, Any]] = [{"x": float(x)} for x in range(-4, 5)]
    warm += [{"x": 0.0}, Quad(x=0.5, n=3, kind="b")]  # a duplicate inside the list too
    await ah.minimize(quad, Quad, trials=12, storage=store, enqueue=warm)
    assert Counting.enqueued == 10
    result = await ah.minimize(quad, Quad, trials=12, storage=store, enqueue=warm)
    assert Counting.enqueued == 10
    assert len(result.trials) == 12


async def test_failures_that_differ_only_by_an_id_in_the_message_are_one_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The throttle blanked digits only: a message with a uuid, a temporary path or an
    # object address was a new error every time (107 warnings for 107 failures).
    def objective(config: Quad) -> float:
        path = f"/scratch/run-{uuid.uuid4()}/checkpoint.pt"
        raise FileNotFoundError(path)

    with caplog.at_level(logging.INFO, logger="asynchyper"):
        await ah.minimize(objective, Quad, trials=3, max_failures=8)
    failures = [
        r for r in caplog.records if " failed: " in r.message and "stopping" not in r.message
    ]
    assert len(failures) == 8
    assert [r.levelno for r in failures].count(logging.WARNING) == 3


def _group_failure(config: Quad) -> float:
    try:
        config.kind.missing  # type: ignore[union-attr]  # noqa: B018 - the failure
    except AttributeError as exc:
        exc.add_note("while reading the configuration")
        msg = "several failures"
        raise ExceptionGroup(msg, [exc, ValueError("second")]) from None
    return 0.0


async def test_a_failure_is_summed_up_by_its_exception_not_the_last_line_of_its_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="asynchyper"):
        result = await ah.minimize(_group_failure, Quad, trials=1, max_failures=1)
    error = result.trials[0].error or ""
    assert error.splitlines()[-1].strip() == "+------------------------------------"
    [stop] = [r.getMessage() for r in caplog.records if "stopping (max_failures)" in r.message]
    assert stop.endswith(
        "which failed: ExceptionGroup: several failures (2 sub-exceptions); the first: "
        "AttributeError: 'str' object has no attribute 'missing'"
    )


async def test_the_first_failure_of_each_error_shows_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Without it, a broken objective's traceback was in trial.error only: with the
    # default in-memory storage it was gone once the result was dropped.
    def objective(config: Quad) -> float:
        if config.kind == "a":
            msg = f"bad x {config.x}"
            raise ValueError(msg)
        return loss(config)

    with caplog.at_level(logging.WARNING, logger="asynchyper"):
        await ah.minimize(objective, Quad, trials=4, max_failures=20, suggester=ah.Random(), seed=0)
    failed = [r.getMessage() for r in caplog.records if " failed: ValueError" in r.message]
    assert len(failed) >= 2
    assert "Traceback (most recent call last):" in failed[0]
    assert "in objective\n    raise ValueError(msg)" in failed[0]
    assert all("\n" not in message for message in failed[1:])


async def test_a_result_repr_counts_its_trials_instead_of_listing_them() -> None:
    result = await ah.minimize(loss, Quad, trials=30, suggester=ah.Random(), seed=0)
    assert repr(result) == (
        "Result(study='Quad', direction='minimize', trials=<30 trials>, stop_reason='budget')"
    )


async def test_a_failure_that_is_retried_says_so_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def objective(config: Quad) -> float:
        msg = "transient"
        raise ConnectionError(msg)

    with caplog.at_level(logging.INFO, logger="asynchyper"):
        await ah.minimize(objective, Quad, trials=1, retries=2, max_failures=3)
    failed = [
        r.getMessage().split("\n")[0]
        for r in caplog.records
        if " failed: " in r.message and "stopping" not in r.message
    ]
    assert [line.split("transient", 1)[1] for line in failed] == [
        " (retried: attempt 2 of 3)",
        " (retried: attempt 3 of 3)",
        " (3 failures with this error; further ones are logged at info level)",
    ]


async def test_trials_name_the_process_that_ran_them(tmp_path: Path) -> None:
    # In a study shared by several machines, which one a failure happened on: the
    # owner (host:pid:token) was stored but not on Trial, in exports or in the CLI.
    async with ah.open_study(Quad, storage=str(tmp_path / "o.db"), suggester=ah.Random()) as study:
        await study.optimize(loss, trials=2, progress=False)
        await study.add({"x": 0.0, "n": 1, "kind": "a"}, 1.0)
        trials = await study.trials()
        records = await study.records()
    owners = [trial.owner for trial in trials]
    host = socket.gethostname().replace(":", "_")
    assert all(
        owner is not None and owner.startswith(host) and f":{os.getpid()}:" in owner
        for owner in owners[:2]
    )
    assert owners[2] is None  # added with its result: it never ran here
    assert [record["owner"] for record in records] == owners
