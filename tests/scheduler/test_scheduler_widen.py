"""A study reopened with a space that contains its own (a range widened, a choice or a
union member added) goes on with its trials; any other change is refused."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Literal

import anyio
import attrs
import pytest

import asynchyper as ah

pytestmark = pytest.mark.anyio


@attrs.frozen(kw_only=True)
class SVM:
    C: Annotated[float, ah.Float(1e-3, 1e3, log=True)]


@attrs.frozen(kw_only=True)
class KNN:
    k: Annotated[int, ah.Int(1, 30)]


@attrs.frozen(kw_only=True)
class Before:
    x: Annotated[float, ah.Float(0.0, 1.0)]
    kind: Literal["a", "b"]
    model: SVM | None


@attrs.frozen(kw_only=True)
class Wider:
    x: Annotated[float, ah.Float(-1.0, 3.0)]
    kind: Literal["a", "b", "c"]
    model: SVM | KNN | None


@attrs.frozen(kw_only=True)
class Narrower:
    x: Annotated[float, ah.Float(0.0, 0.5)]
    kind: Literal["a", "b"]
    model: SVM | None


def value(config: Before | Wider | Narrower) -> float:
    return (config.x - 2.5) ** 2


async def test_a_wider_space_goes_on_with_the_trials(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="asynchyper")
    db = str(tmp_path / "s.db")
    first = await ah.minimize(value, Before, trials=6, storage=db, study="s", seed=0)
    wider = await ah.minimize(value, Wider, trials=30, storage=db, study="s", seed=0)
    assert [t.params for t in wider.trials[:6]] == [t.params for t in first.trials]
    assert all(isinstance(t.config, Wider) for t in wider.trials)
    assert wider.trials[0].config.model == first.trials[0].config.model  # the same SVM
    assert max(t.config.x for t in wider.trials) > 1.0  # the new range is searched
    assert (
        "search space widened (added model:KNN.k; changed x: high 1.0 -> 3.0, low 0.0 -> -1.0; "
        "changed kind: choices ['a', 'b'] -> ['a', 'b', 'c']; changed model: choices "
        "['SVM', 'None'] -> ['SVM', 'KNN', 'None']); every earlier trial"
    ) in caplog.text
    # A warning: a new experiment under the same name would otherwise go on quietly.
    (widened,) = [r for r in caplog.records if "search space widened" in r.getMessage()]
    assert widened.levelno == logging.WARNING
    assert "study=..." in widened.getMessage()
    async with ah.SQLiteStorage(db) as store:
        stored = await store.get_study("s")
    assert stored.fingerprint == ah.compile_space(Wider).fingerprint
    # the old space is now narrower than the stored one: refused, with what changed
    with pytest.raises(ah.SpaceMismatchError, match=r"changed x: high 3\.0 -> 1\.0"):
        await ah.minimize(value, Before, trials=40, storage=db, study="s")


async def test_a_narrower_space_is_refused(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    await ah.minimize(value, Before, trials=3, storage=db, study="s", seed=0)
    with pytest.raises(
        ah.SpaceMismatchError,
        match=r"changed x: high 1\.0 -> 0\.5.*a space that contains the stored one",
    ):
        await ah.minimize(value, Narrower, trials=6, storage=db, study="s")
    async with ah.SQLiteStorage(db) as store:
        assert (await store.get_study("s")).fingerprint == ah.compile_space(Before).fingerprint


async def test_a_wider_space_of_the_other_direction_is_refused(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    await ah.minimize(value, Before, trials=3, storage=db, study="s", seed=0)
    with pytest.raises(ah.SpaceMismatchError):
        await ah.maximize(value, Wider, trials=6, storage=db, study="s")


class OldStore(ah.MemoryStorage):
    """A store written before Storage.replace_space existed: the base default."""

    replace_space = ah.Storage.replace_space


async def test_a_store_that_cannot_replace_a_space_refuses_as_before() -> None:
    store = OldStore()
    await ah.minimize(value, Before, trials=3, storage=store, study="s", seed=0)
    with pytest.raises(ah.SpaceMismatchError, match="another search space"):
        await ah.minimize(value, Wider, trials=6, storage=store, study="s")


async def test_a_process_with_the_narrower_space_stops_with_the_fix(tmp_path: Path) -> None:
    # It crashed in its model (a ParameterError from deep inside) on the first trial of
    # the wider space it read.
    db = str(tmp_path / "s.db")
    started = anyio.Event()

    async def slow(config: Before) -> float:
        started.set()
        await anyio.sleep(0.05)
        return value(config)

    async def run_narrow() -> None:
        async with ah.open_study(Before, storage=db, name="s", seed=0) as narrow:
            with pytest.raises(
                ah.SpaceMismatchError,
                match=r"another process opened the study with a wider space and stored it\. "
                r"Open the study again with that space",
            ):
                await narrow.optimize(slow, trials=1000, concurrency=2)

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(run_narrow)
            await started.wait()
            async with ah.open_study(Wider, storage=db, name="s") as wide:
                await wide.add(Wider(x=2.5, kind="c", model=KNN(k=3)), 0.0)


async def test_a_narrower_process_leaves_a_queued_wider_trial_to_others(tmp_path: Path) -> None:
    # It claimed the trial and failed to decode it: a ParameterError, and the trial
    # stayed RUNNING under its owner until stale detection failed it.
    db = str(tmp_path / "s.db")
    await ah.minimize(value, Before, trials=3, storage=db, study="s", seed=0)
    async with ah.open_study(Before, storage=db, name="s") as narrow:
        async with ah.open_study(Wider, storage=db, name="s") as wide:
            queued = await wide.enqueue(Wider(x=2.5, kind="c", model=KNN(k=3)))
        with pytest.raises(ah.SpaceMismatchError, match="wider space"):
            await narrow.ask()
        with pytest.raises(ah.SpaceMismatchError, match="wider space"):  # and from then on
            await narrow.optimize(value, trials=10)
    async with ah.open_study(Wider, storage=db, name="s") as wide:
        trials = await wide.trials()
        assert trials[queued.number].state is ah.TrialState.CANCELLED
        again = [t for t in trials if t.state is ah.TrialState.WAITING]
        assert [t.params for t in again] == [queued.params]  # queued again, for a wide process
        result = await wide.optimize(value, trials=4)
    assert result.best_value == 0.0
