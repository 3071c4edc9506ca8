"""Study.add(): results obtained elsewhere recorded as finished trials."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Literal

import anyio
import attrs
import numpy as np
import pytest
from scheduler_helpers import CountingReads, Quad, Recording, loss

import asynchyper as ah
from asynchyper._storage._base import Storage

pytestmark = pytest.mark.anyio


async def test_added_results_are_finished_trials_that_count_in_the_budget(tmp_path: Path) -> None:
    db = str(tmp_path / "study.db")
    async with ah.open_study(Quad, storage=db, name="warm", suggester=ah.Random(), seed=0) as study:
        first = await study.add(Quad(x=1.0, n=1, kind="a"), 1.0, attrs={"source": "grid"})
        second = await study.add({"x": 2.0, "n": 3, "kind": "b"}, 4.5)
        failed = await study.add(Quad(x=0.0, n=2, kind="a"), error="ran out of memory")
        assert [t.number for t in (first, second, failed)] == [0, 1, 2]
        assert first.state is ah.TrialState.COMPLETE
        assert first.value == 1.0
        assert first.config == Quad(x=1.0, n=1, kind="a")
        assert first.user_attrs == {"source": "grid"}
        assert first.started_at is None
        assert first.finished_at is not None
        assert first.duration is None
        assert second.config == Quad(x=2.0, n=3, kind="b")
        assert (failed.state, failed.error) == (ah.TrialState.FAILED, "ran out of memory")
        assert study.best_so_far is not None
        assert study.best_so_far.number == 0
        # the budget counts the two added completed trials: three more run
        result = await study.optimize(loss, trials=5)
        assert [t.state for t in result.trials].count(ah.TrialState.COMPLETE) == 5
        assert len(result.trials) == 6
    async with ah.open_study(Quad, storage=db, name="warm") as study:  # stored for good
        kept = await study.trials()
        assert kept[:3] == [first, second, failed]


async def test_the_suggester_learns_from_added_trials() -> None:
    recording = Recording()
    async with ah.open_study(Quad, suggester=recording, seed=0) as study:
        await study.add(Quad(x=1.0, n=1, kind="a"), 1.0)
        await study.add(Quad(x=0.5, n=1, kind="a"), error="diverged")
        await study.ask()
    assert recording.history_seen == [(2, 1)]  # two rows, one of them failed


async def first_ask_near_the_added_best(n_startup: int) -> int:
    """Over 20 seeds, how often the first ask after 21 added results lands within 0.5
    of their best ``x`` (1.0)."""
    near = 0
    for seed in range(20):
        async with ah.open_study(Quad, suggester=ah.TPE(n_startup=n_startup), seed=seed) as study:
            for x in np.linspace(-5.0, 5.0, 21)[::-1]:  # x = 1.0 among them
                await study.add(Quad(x=float(x), n=1, kind="a"), (float(x) - 1.0) ** 2)
            near += abs((await study.ask()).config.x - 1.0) < 0.5
    return near


async def test_added_trials_count_in_tpes_random_start() -> None:
    # 21 added results: with n_startup=21 the first ask is model-based and lands near
    # the best of them (12 of 20 seeds); with n_startup=22 it is still a random draw
    # (a tenth of the range is within 0.5 of 1.0: 3 of 20).
    assert await first_ask_near_the_added_best(21) >= 10
    assert await first_ask_near_the_added_best(22) <= 6


async def test_a_maximized_study_keeps_the_value_as_given() -> None:
    async with ah.open_study(Quad, direction="maximize", suggester=ah.Random()) as study:
        await study.add(Quad(x=1.0, n=1, kind="a"), 0.75)
        await study.add(Quad(x=2.0, n=1, kind="a"), 0.25)
        result = await study.result()
    assert result.best.value == 0.75


async def test_a_value_that_is_no_finite_float_is_a_failure_and_one_of_no_number_an_error() -> None:
    async with ah.open_study(Quad, suggester=ah.Random()) as study:
        nan = await study.add(Quad(x=1.0, n=1, kind="a"), math.nan)
        huge = await study.add(Quad(x=1.0, n=1, kind="a"), 10**400)
        numpy = await study.add(Quad(x=1.0, n=1, kind="a"), np.float32(0.5))  # type: ignore[arg-type] # numbers.Real
        # a str read from a CSV log: stored, it would have been a FAILED trial for good
        for wrong in ("0.5", True, {"loss": 0.5}):
            with pytest.raises(TypeError, match=r"add\(\) needs a number as value=, got "):
                await study.add(Quad(x=1.0, n=1, kind="a"), wrong)  # type: ignore[arg-type] # on purpose
        assert [t.number for t in await study.trials()] == [0, 1, 2]
    assert nan.state is ah.TrialState.FAILED
    assert nan.error == "add() was given nan; a value must be a finite float"
    assert huge.state is ah.TrialState.FAILED
    assert "too large for a float" in (huge.error or "")
    assert (numpy.state, numpy.value) == (ah.TrialState.COMPLETE, 0.5)


async def test_bad_calls_are_refused_and_store_nothing() -> None:
    async with ah.open_study(Quad, suggester=ah.Random()) as study:
        config = Quad(x=1.0, n=1, kind="a")
        with pytest.raises(ValueError, match=r"add\(\) needs exactly one of value=.*; got neither"):
            await study.add(config)
        with pytest.raises(ValueError, match=r"add\(\) needs exactly one of value=.*; got both"):
            await study.add(config, 1.0, error="x")
        with pytest.raises(TypeError, match=r"add\(\.\.\., attrs=\)"):
            await study.add(config, 1.0, attrs={"f": object()})  # type: ignore[dict-item] # on purpose
        with pytest.raises(ah.ParameterError, match="kind"):
            await study.add({"x": 1.0, "n": 1}, 1.0)  # a whole configuration is needed
        with pytest.raises(ah.ParameterError, match="n"):
            await study.add({"x": 1.0, "n": 11, "kind": "a"}, 1.0)
        with pytest.raises(ah.ParameterError, match="unknown parameter 'y'"):
            await study.add({"x": 1.0, "n": 1, "kind": "a", "y": 2}, 1.0)
        assert await study.trials() == []
    with pytest.raises(ah.StudyClosedError, match=r"add\(\)"):
        await study.add(config, 1.0)


@attrs.frozen(kw_only=True)
class Ordered:
    low: Annotated[float, ah.Float(0.0, 1.0)]
    high: Annotated[float, ah.Float(0.0, 1.0)]
    mode: Literal["x"] = "x"

    def __attrs_post_init__(self) -> None:
        if self.low > self.high:
            msg = f"low {self.low} > high {self.high}"
            raise ValueError(msg)


async def test_the_space_class_checks_and_constants_apply() -> None:
    async with ah.open_study(Ordered, suggester=ah.Random()) as study:
        with pytest.raises(ah.ParameterError, match=r"low 0\.9 > high 0\.1"):
            await study.add({"low": 0.9, "high": 0.1}, 1.0)
        with pytest.raises(ah.ParameterError, match="mode"):
            await study.add(Ordered(low=0.1, high=0.2, mode="y"), 1.0)  # type: ignore[arg-type] # on purpose
        added = await study.add({"low": 0.1, "high": 0.9}, 1.0)
        assert added.config == Ordered(low=0.1, high=0.9)
        assert [t.number for t in await study.trials()] == [0]


class OldStore(ah.MemoryStorage):
    """A store written before Storage.add_trial existed: the base default."""

    add_trial = Storage.add_trial  # the base's default


async def test_a_store_without_add_trial_says_so() -> None:
    async with ah.open_study(Quad, storage=OldStore(), suggester=ah.Random()) as study:
        with pytest.raises(ah.StorageError, match="OldStore cannot add a finished trial"):
            await study.add(Quad(x=1.0, n=1, kind="a"), 1.0)
        assert await study.trials() == []


async def test_a_running_optimize_sees_added_trials() -> None:
    # An add() while optimize() runs counts in its budget and its best at once.
    added: list[ah.Trial[Quad]] = []

    async def objective(config: Quad) -> float:
        if not added:
            added.append(await study.add(Quad(x=1.0, n=1, kind="a"), -1.0))
        return loss(config)

    async with ah.open_study(Quad, suggester=ah.Random(), seed=0) as study:
        result = await study.optimize(objective, trials=4)
    assert len(added) == 1
    assert [t.state for t in result.trials].count(ah.TrialState.COMPLETE) == 4
    assert result.best.number == added[0].number


async def test_skip_if_exists_adds_known_results_once_when_a_script_runs_again(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "study.db")
    known: list[tuple[Quad | dict[str, ah.JSONScalar], float | None, str | None]] = [
        (Quad(x=1.0, n=1, kind="a"), 1.0, None),
        ({"x": 2.0, "n": 3, "kind": "b"}, 4.5, None),
        (Quad(x=0.0, n=2, kind="a"), None, "ran out of memory"),
    ]

    async def script() -> list[ah.Trial[Quad]]:
        async with ah.open_study(Quad, storage=db, name="warm", suggester=ah.Random()) as study:
            return [
                await study.add(config, value, error=error, skip_if_exists=True)
                for config, value, error in known
            ]

    first = await script()
    assert await script() == first  # the re-run after a crash adds nothing
    async with ah.open_study(Quad, storage=db, name="warm") as study:
        assert await study.trials() == first
        # without skip_if_exists each call is one trial; a run trial counts too
        repeated = await study.add(Quad(x=1.0, n=1, kind="a"), 1.0)
        assert repeated.number == 3
        ran = await study.ask()
        told = await study.tell(ran, 7.0)
        assert await study.add(ran.config, 8.0, skip_if_exists=True) == told
        # A trial that failed here (a lost worker, say) does not stand for a known value.
        crashed = await study.ask()
        await study.tell(crashed, error="worker died")
        value = await study.add(crashed.config, 9.0, skip_if_exists=True)
        assert (value.state, value.value) == (ah.TrialState.COMPLETE, 9.0)
        assert value.number > crashed.number


async def test_skip_if_exists_adds_once_when_several_processes_start_together(
    tmp_path: Path,
) -> None:
    db = str(tmp_path / "shared.db")

    async def script() -> None:
        async with ah.open_study(Quad, storage=db, name="s", suggester=ah.Random()) as study:
            for x in (0.5, 1.5, 2.5):
                await study.add(Quad(x=x, n=2, kind="a"), x, skip_if_exists=True)

    async with anyio.create_task_group() as group:
        for _ in range(4):
            group.start_soon(script)
    async with ah.open_study(Quad, storage=db, name="s") as study:
        trials = await study.trials()
    assert sorted(t.config.x for t in trials) == [0.5, 1.5, 2.5]


async def test_skip_if_exists_looks_the_configuration_up_instead_of_reading_the_study() -> None:
    # It read every trial of that outcome on each call: adding n known results, or
    # running the script again, read n^2 / 2 trials (a minute for 2,000 on SQLite).
    storage = CountingReads()
    async with ah.open_study(Quad, storage=storage, suggester=ah.Random()) as study:
        for x in range(50):
            await study.add(Quad(x=x / 10, n=1, kind="a"), float(x), skip_if_exists=True)
        storage.read = 0
        for x in range(50):
            again = await study.add(Quad(x=x / 10, n=1, kind="a"), 0.0, skip_if_exists=True)
            assert (again.number, again.value) == (x, float(x))
        assert storage.read == 0
        assert len(await study.trials()) == 50


class ScanningStore(ah.MemoryStorage):
    """A store of one's own that keeps the base's find_trial (a scan of trials())."""

    find_trial = Storage.find_trial


async def test_skip_if_exists_works_on_a_store_without_its_own_lookup() -> None:
    async with ah.open_study(Quad, storage=ScanningStore(), suggester=ah.Random()) as study:
        first = await study.add({"x": 1.0, "n": 1, "kind": "a"}, 1.0, skip_if_exists=True)
        again = await study.add(Quad(x=1.0, n=1, kind="a"), 2.0, skip_if_exists=True)
        assert again == first
        assert len(await study.trials()) == 1
