"""copy_study: a study moves between SQLite files, PostgreSQL and memory, and goes on."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, cast

import anyio
import attrs
import pytest
from pg_server import throwaway_database

import asynchyper as ah
from asynchyper import MemoryStorage, Storage, TrialRecord, TrialState
from asynchyper._storage import open_storage


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """URL of a database created for this module and dropped afterwards."""
    with throwaway_database() as url:
        yield url


@attrs.frozen(kw_only=True)
class Svm:
    C: Annotated[float, ah.Float(1e-3, 1e3, log=True)]


@attrs.frozen(kw_only=True)
class Tree:
    depth: Annotated[int, ah.Int(1, 8)]


@attrs.frozen(kw_only=True)
class Model:
    model: Svm | Tree
    batch: Annotated[int, ah.Int(8, 256, log=True, step=8)]


def objective(cfg: Model) -> float:
    if isinstance(cfg.model, Tree) and cfg.model.depth > 6:
        msg = "too deep"
        raise ValueError(msg)
    ah.current_trial().set_attr("batch", cfg.batch)
    size = cfg.model.C if isinstance(cfg.model, Svm) else cfg.model.depth
    return abs(size - 3) + cfg.batch / 256


async def _trials(url: str, name: str, *, delete: bool = False) -> list[TrialRecord]:
    """The trials of study ``name`` (study ids and change counters zeroed)."""
    async with open_storage(url) as storage:
        records = await storage.trials((await storage.get_study(name)).id)
        if delete:
            await storage.delete_study(name)
    return [attrs.evolve(t, study_id=0, seq=0) for t in records]


@pytest.mark.anyio
async def test_a_study_goes_to_postgresql_and_back_and_resumes(tmp_path: Path, pg_url: str) -> None:
    first, back = str(tmp_path / "laptop.db"), str(tmp_path / "archive.db")
    await ah.minimize(objective, Model, trials=12, storage=first, study="tune", seed=1)
    original = await _trials(first, "tune")
    assert {t.state for t in original} >= {TrialState.COMPLETE, TrialState.FAILED}

    shared = await ah.copy_study("tune", from_storage=first, to_storage=pg_url)
    assert shared.name == "tune"
    await ah.copy_study("tune", from_storage=pg_url, to_storage=back, to_name="tune-2026")
    assert await _trials(pg_url, "tune") == original
    assert await _trials(back, "tune-2026") == original

    # the copy is a study like any other: the same call finishes its budget there
    result = await ah.minimize(objective, Model, trials=20, storage=back, study="tune-2026")
    assert sum(t.state is TrialState.COMPLETE for t in result.trials) == 20
    assert (await _trials(back, "tune-2026"))[: len(original)] == original
    await _trials(pg_url, "tune", delete=True)


@pytest.mark.anyio
async def test_copy_names_what_stops_it() -> None:
    store = MemoryStorage()
    result = await ah.minimize(objective, Model, trials=3, storage=store, study="a")
    with pytest.raises(ah.UnknownStudyError, match="'b'"):
        await ah.copy_study("b", from_storage=store, to_storage=store)
    with pytest.raises(ah.StorageError, match="'a' already exists"):
        await ah.copy_study("a", from_storage=store, to_storage=store)
    copy = await ah.copy_study("a", from_storage=store, to_storage=store, to_name="b")
    assert [s.name for s in await store.list_studies()] == ["a", "b"]
    assert len(await store.trials(copy.id)) == len(result.trials)

    class OwnStore(MemoryStorage):
        """A store of one's own that predates import_study."""

        import_study = Storage.import_study

    with pytest.raises(ah.StorageError, match=r"OwnStore cannot import.*import_study"):
        await ah.copy_study("a", from_storage=store, to_storage=OwnStore())


@pytest.mark.anyio
async def test_an_error_text_postgresql_cannot_hold_is_kept_visible(
    tmp_path: Path, pg_url: str
) -> None:
    path = str(tmp_path / "nul.db")
    async with ah.open_study(Model, storage=path, name="nul") as study:
        trial = await study.ask()
        await study.tell(trial, error="bad byte \x00 here")
    await ah.copy_study("nul", from_storage=path, to_storage=pg_url)
    (copied,) = await _trials(pg_url, "nul", delete=True)
    assert copied.state is TrialState.FAILED
    assert copied.error is not None
    assert "bad byte \\x00 here" in copied.error


def test_a_postgresql_import_sends_its_trials_in_statements_of_bounded_size() -> None:
    # Each round trip must be answered within operation_timeout (60 s by default, less
    # when set), so the statement carrying the trials may not grow with the study: a
    # study of a million trials in one INSERT timed out, was sent again and again, and
    # failed as a lost connection.
    from asynchyper._storage import _pgsql  # noqa: PLC0415
    from asynchyper._storage._common import import_rows  # noqa: PLC0415

    n = 25_001
    study = ah.StudyRecord(
        id=1, name="big", direction="minimize", fingerprint="f", space=[], created_at=1.0
    )
    trials = [
        TrialRecord(study_id=1, number=i, state=TrialState.WAITING, params={"x": i})
        for i in range(n)
    ]
    step = _pgsql.import_study(False, where="pg", study=study, rows=import_rows(trials), token="t")
    next(step)  # the study's row
    sizes = []
    query = step.send([(7,)])
    while True:
        _, args = cast("tuple[str, tuple[Any, ...]]", query)
        assert args[0] == 7
        sizes.append(len(args[1]))
        try:
            query = step.send([])
        except StopIteration as stop:
            copied = stop.value
            break
    assert copied.id == 7
    assert sum(sizes) == n
    assert max(sizes) <= 10_000


def test_a_mistyped_source_path_creates_nothing(tmp_path: Path) -> None:
    # Reading the source must not create it: a typo left an empty database behind.
    copy = functools.partial(
        ah.copy_study,
        "tune",
        from_storage=str(tmp_path / "tpyo.db"),
        to_storage=str(tmp_path / "to.db"),
    )
    with pytest.raises(ah.UnknownStudyError, match=r"tpyo\.db does not exist"):
        anyio.run(copy)
    assert list(tmp_path.iterdir()) == []
