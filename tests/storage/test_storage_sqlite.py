"""SQLiteStorage passes the storage contract, and handles files the way issue 5 asks."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import sqlite3
import stat
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from storage_contract import (
    REMOTE_OWNER,
    StorageContract,
    StorageFactory,
    enqueue_from_two_connections,
    new_study,
)

from asynchyper import (
    MemoryStorage,
    SQLiteStorage,
    Storage,
    StorageAccessError,
    StorageCorruptError,
    StorageError,
    StorageFullError,
    StorageVersionError,
    TrialRecord,
    TrialState,
    TrialStateError,
    UnknownTrialError,
)
from asynchyper._storage import _schema, _sql, open_storage
from asynchyper._storage._common import params_key
from asynchyper._storage._schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION


class TestSQLiteStorage(StorageContract):
    @pytest.fixture
    def make_storage(self, tmp_path: Path) -> StorageFactory:
        counter = itertools.count()

        @asynccontextmanager
        async def make() -> AsyncIterator[Storage]:
            async with SQLiteStorage(tmp_path / f"study-{next(counter)}.db") as storage:
                yield storage

        return make


# -- helpers --------------------------------------------------------------------------
def run_sql(storage: SQLiteStorage, sql: str) -> Any:
    """Run one statement on the store's own connection (tests only)."""
    runner = storage._runner
    assert runner is not None
    return runner.run(lambda conn: conn.execute(sql).fetchall())


def snapshot(path: Path) -> dict[str, bytes]:
    """Every file of the store (main, -wal, -shm) with its bytes."""
    return {
        candidate.name: candidate.read_bytes()
        for candidate in sorted(path.parent.iterdir())
        if candidate.name.startswith(path.name)
    }


def make_foreign_db(path: Path, application_id: int = 0) -> None:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers (name) VALUES ('ada')")
        if application_id:
            conn.execute(f"PRAGMA application_id = {application_id}")
        conn.commit()


# -- durability, resume, file format ----------------------------------------------------
@pytest.mark.anyio
async def test_reopen_continues_the_study(tmp_path: Path) -> None:
    path = tmp_path / "study.db"
    async with SQLiteStorage(path) as storage:
        study = await new_study(storage)
        for _ in range(3):
            await storage.start_trial(study.id, {"x": 1.5}, owner=REMOTE_OWNER)
        await storage.finish_trial(study.id, 0, state=TrialState.COMPLETE, value=0.5)
        await storage.finish_trial(study.id, 1, state=TrialState.FAILED, error="boom")
        before = await storage.trials(study.id)
    async with SQLiteStorage(path) as storage:
        again = await new_study(storage)
        assert again == study
        assert await storage.trials(study.id) == before
        # COMPLETE + RUNNING = 2 of a budget of 3: one more may start.
        trial = await storage.start_trial(study.id, {}, owner=REMOTE_OWNER, max_trials=3)
        assert trial is not None
        assert trial.number == 3
        assert trial.seq > max(t.seq for t in before)
        assert await storage.start_trial(study.id, {}, owner=REMOTE_OWNER, max_trials=3) is None
        assert (await storage.count_trials(study.id))[TrialState.RUNNING] == 2


@pytest.mark.anyio
async def test_file_format_and_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "study.db"
    async with SQLiteStorage(path) as storage:
        await new_study(storage)
        assert await run_sql(storage, "PRAGMA journal_mode") == [("wal",)]
        assert await run_sql(storage, "PRAGMA synchronous") == [(2,)]  # FULL
        assert await run_sql(storage, "PRAGMA busy_timeout") == [(30000,)]
        assert await run_sql(storage, "PRAGMA application_id") == [(APPLICATION_ID,)]
        assert await run_sql(storage, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
        assert SCHEMA_VERSION == len(MIGRATIONS) >= 1
        for name in snapshot(path):
            mode = stat.S_IMODE(os.stat(tmp_path / name).st_mode)
            assert mode == 0o600, (name, oct(mode))
    async with SQLiteStorage(path, synchronous="NORMAL", busy_timeout=2.5) as storage:
        assert await run_sql(storage, "PRAGMA synchronous") == [(1,)]
        assert await run_sql(storage, "PRAGMA busy_timeout") == [(2500,)]


@pytest.mark.anyio
async def test_opens_lazily_and_reopens_after_close(tmp_path: Path) -> None:
    storage = SQLiteStorage(tmp_path / "lazy.db")
    assert not (tmp_path / "lazy.db").exists()
    try:
        study = await new_study(storage)
        await storage.close()
        assert (await storage.get_study("study")) == study
    finally:
        await storage.close()
    assert storage.path == str(tmp_path / "lazy.db")


@pytest.mark.anyio
async def test_migrations_run_in_order_on_an_older_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.db"
    async with SQLiteStorage(path) as storage:
        await new_study(storage)

    def add_notes(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE studies ADD COLUMN notes TEXT")

    monkeypatch.setattr(_schema, "MIGRATIONS", [*_schema.MIGRATIONS, add_notes])
    monkeypatch.setattr(_schema, "SCHEMA_VERSION", _schema.SCHEMA_VERSION + 1)
    async with SQLiteStorage(path) as storage:
        assert await run_sql(storage, "PRAGMA user_version") == [(SCHEMA_VERSION + 1,)]
        columns = [row[1] for row in await run_sql(storage, "PRAGMA table_info(studies)")]
        assert "notes" in columns
        assert (await storage.get_study("study")).name == "study"


def make_version_1_file(path: Path, trials: list[tuple[str, str, float | None]]) -> None:
    """A store as asynchyper wrote it at schema version 1 (no ``params_key``): one
    study, "study", with ``trials`` as (state, params JSON, value)."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        MIGRATIONS[0](conn)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")
        conn.execute("PRAGMA user_version = 1")
        counts = {state: sum(t[0] == state for t in trials) for state in ("complete", "failed")}
        conn.execute(
            "INSERT INTO studies (id, name, direction, fingerprint, space, created_at, last_seq, "
            "n_complete, n_failed) VALUES (1, 'study', 'minimize', 'f', '[]', 0, ?, ?, ?)",
            (len(trials), counts["complete"], counts["failed"]),
        )
        conn.executemany(
            "INSERT INTO trials (study_id, number, state, params, value, error, created_at, "
            "finished_at, seq) VALUES (1, ?, ?, ?, ?, ?, 0, 0, ?)",
            [
                (number, state, params, value, None if value is not None else "boom", number + 1)
                for number, (state, params, value) in enumerate(trials)
            ],
        )
        conn.commit()


@pytest.mark.anyio
async def test_a_version_1_file_gets_an_indexed_key_for_every_trial(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    make_version_1_file(
        path,
        [
            ("complete", '{"x": 1, "kind": "a"}', 0.5),
            ("failed", '{"x": 2}', None),
            ("complete", '{"x": 1, "kind": "a"}', 0.25),
        ],
    )
    async with SQLiteStorage(path) as storage:
        assert await run_sql(storage, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
        rows = await run_sql(storage, "SELECT params, params_key FROM trials ORDER BY number")
        assert [key for _, key in rows] == [params_key(json.loads(p)) for p, _ in rows]
        study = await storage.get_study("study")
        found = await storage.find_trial(
            study.id, {"kind": "a", "x": 1.0}, states=(TrialState.COMPLETE,)
        )
        assert found is not None
        assert (found.number, found.value) == (0, 0.5)
        again = await storage.add_trial(
            study.id, {"x": 2}, state=TrialState.FAILED, error="boom", skip_if_exists=True
        )
        assert again.number == 1
        assert len(await storage.trials(study.id)) == 3


@pytest.mark.anyio
async def test_a_trial_without_a_key_is_still_found(tmp_path: Path) -> None:
    # An older asynchyper that had the file open while a newer one migrated it goes on
    # inserting trials without a key.
    async with SQLiteStorage(tmp_path / "mixed.db") as storage:
        study = await new_study(storage)
        old = await storage.add_trial(study.id, {"x": 1}, state=TrialState.COMPLETE, value=1.0)
        await storage.add_trial(study.id, {"x": 2}, state=TrialState.COMPLETE, value=2.0)
        await run_sql(storage, "UPDATE trials SET params_key = NULL")
        assert await storage.find_trial(study.id, {"x": 1}, states=(TrialState.COMPLETE,)) == old
        again = await storage.add_trial(
            study.id, {"x": 1}, state=TrialState.COMPLETE, value=3.0, skip_if_exists=True
        )
        assert again == old


def test_the_migration_leaves_the_keys_to_short_transactions_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Computing every key inside the migration held the write lock for 4 s per 100,000
    # trials: other processes' writes waited, and gave up past their busy_timeout.
    path = tmp_path / "v1.db"
    make_version_1_file(path, [("complete", f'{{"x": {i}}}', float(i)) for i in range(5)])
    monkeypatch.setattr(_schema, "_FILL_CHUNK", 2)
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        _schema.prepare_schema(conn, str(path), 1.0)
        assert conn.execute("SELECT count(*) FROM trials WHERE params_key IS NULL").fetchone() == (
            5,
        )
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        assert _schema.fill_params_keys(conn, str(path), 1.0) == 5
        conn.set_trace_callback(None)
        assert [s for s in statements if s in {"BEGIN IMMEDIATE", "COMMIT"}] == [
            "BEGIN IMMEDIATE",
            "COMMIT",
        ] * 3
        rows = conn.execute("SELECT params, params_key FROM trials").fetchall()
    assert [key for _, key in rows] == [params_key(json.loads(p)) for p, _ in rows]


@pytest.mark.anyio
async def test_trials_left_without_a_key_get_one_when_the_file_is_opened(tmp_path: Path) -> None:
    # Left by an older process that had the file open across the migration, or by a
    # file migrated when the keys were computed inside the migration (no index of
    # the trials without a key).
    path = tmp_path / "mixed.db"
    async with SQLiteStorage(path) as storage:
        study = await new_study(storage)
        for x in range(3):
            await storage.add_trial(study.id, {"x": x}, state=TrialState.COMPLETE, value=1.0)
        await run_sql(storage, "DROP INDEX trials_without_key")
        await run_sql(storage, "UPDATE trials SET params_key = NULL WHERE number > 0")
    async with SQLiteStorage(path) as storage:
        rows = await run_sql(storage, "SELECT params, params_key FROM trials")
        assert [key for _, key in rows] == [params_key(json.loads(p)) for p, _ in rows]
        indexes = await run_sql(storage, "SELECT name FROM sqlite_master WHERE type = 'index'")
        assert ("trials_without_key",) in indexes


@pytest.mark.anyio
async def test_a_file_locked_by_another_process_opens_with_its_keys_left_for_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The keys are a hint: the open waits _FILL_WAIT for them, not the whole busy_timeout.
    monkeypatch.setattr(_schema, "_FILL_WAIT", 0.2)
    path = tmp_path / "locked.db"
    async with SQLiteStorage(path) as storage:
        study = await new_study(storage)
        old = await storage.add_trial(study.id, {"x": 1}, state=TrialState.COMPLETE, value=1.0)
        await run_sql(storage, "UPDATE trials SET params_key = NULL")
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        async with SQLiteStorage(path, busy_timeout=60) as storage:
            assert time.monotonic() - started < 20
            # The lookup reads the trials without a key too.
            assert (
                await storage.find_trial(study.id, {"x": 1}, states=(TrialState.COMPLETE,)) == old
            )
            assert await run_sql(storage, "SELECT params_key FROM trials") == [(None,)]
        other.execute("ROLLBACK")
    async with SQLiteStorage(path, busy_timeout=60) as storage:
        assert await run_sql(storage, "SELECT params_key FROM trials") == [(params_key({"x": 1}),)]
        # The fill waits _FILL_WAIT for the lock; later writes wait busy_timeout again.
        assert await run_sql(storage, "PRAGMA busy_timeout") == [(60_000,)]


def test_the_parameter_lookup_searches_the_index(tmp_path: Path) -> None:
    # On a file never analysed, the planner once preferred walking trials_by_state in
    # number order (for an ORDER BY), through every trial of the study in that state.
    path = tmp_path / "plan.db"
    anyio.run(fill_study, path, 300)
    statements: list[str] = []
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.set_trace_callback(statements.append)
        found = _sql.find_trial(
            conn, where=str(path), study_id=1, params={"i": 7}, states=(TrialState.COMPLETE,)
        )
        assert found is not None
        assert found.number == 7
        conn.set_trace_callback(None)
        (lookup,) = [sql for sql in statements if "params_key" in sql]
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {lookup}")]
    searches = [step for step in plan if step.startswith(("SEARCH", "SCAN"))]
    assert (
        searches
        == ["SEARCH trials USING INDEX trials_by_params (study_id=? AND state=? AND params_key=?)"]
        * 2
    ), plan


def test_enqueue_unless_holding_a_whole_configuration_searches_the_index(
    tmp_path: Path,
) -> None:
    # Reading every kept trial made enqueueing n new warm starts cost O(n^2).
    path = tmp_path / "enqueue.db"
    anyio.run(fill_study, path, 300)
    statements: list[str] = []
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.set_trace_callback(statements.append)
        conn.execute("BEGIN IMMEDIATE")
        found = _sql.enqueue_trial(
            conn, where=str(path), study_id=1, params={"i": 7}, unless_holding={"i": 7}
        )
        added = _sql.enqueue_trial(
            conn, where=str(path), study_id=1, params={"i": 1000}, unless_holding={"i": 1000}
        )
        conn.execute("COMMIT")
        conn.set_trace_callback(None)
    assert (found.number, found.state) == (7, TrialState.COMPLETE)
    assert (added.number, added.state) == (300, TrialState.WAITING)
    reads = [sql for sql in statements if sql.startswith("SELECT") and "FROM trials" in sql]
    assert len(reads) == 2
    assert all("INDEXED BY trials_by_params" in sql for sql in reads), reads


async def fill_study(path: Path, n: int) -> None:
    async with SQLiteStorage(path) as storage:
        study = await new_study(storage)
        for i in range(n):
            await storage.add_trial(study.id, {"i": i}, state=TrialState.COMPLETE, value=float(i))


# -- bad files and places: a clear StorageError subclass, and the file untouched --------
@pytest.mark.anyio
async def test_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database\n" * 100)
    before = snapshot(path)
    with pytest.raises(StorageCorruptError, match="not a SQLite database"):
        async with SQLiteStorage(path):
            pass
    assert snapshot(path) == before


@pytest.mark.anyio
async def test_a_file_with_a_sqlite_header_but_garbage(tmp_path: Path) -> None:
    path = tmp_path / "broken.db"
    path.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 40)
    before = snapshot(path)
    with pytest.raises(StorageCorruptError):
        async with SQLiteStorage(path):
            pass
    assert snapshot(path) == before


@pytest.mark.anyio
@pytest.mark.parametrize("application_id", [0, 0x12345678])
async def test_another_programs_database(tmp_path: Path, application_id: int) -> None:
    path = tmp_path / "shop.db"
    make_foreign_db(path, application_id)
    before = snapshot(path)
    with pytest.raises(StorageCorruptError, match=r"not an asynchyper store|another program"):
        async with SQLiteStorage(path):
            pass
    assert snapshot(path) == before
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)


@pytest.mark.anyio
async def test_a_newer_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    async with SQLiteStorage(path) as storage:
        await new_study(storage)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        conn.commit()
    before = snapshot(path)
    with pytest.raises(StorageVersionError, match="upgrade asynchyper"):
        async with SQLiteStorage(path):
            pass
    assert snapshot(path) == before


@pytest.mark.anyio
async def test_a_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "dir" / "study.db"
    with pytest.raises(StorageAccessError, match="does not exist"):
        async with SQLiteStorage(path):
            pass
    assert not (tmp_path / "no").exists()


@pytest.mark.anyio
async def test_a_directory_instead_of_a_file(tmp_path: Path) -> None:
    with pytest.raises(StorageAccessError, match="directory"):
        async with SQLiteStorage(tmp_path):
            pass


@pytest.mark.anyio
@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
async def test_a_read_only_directory(tmp_path: Path) -> None:
    directory = tmp_path / "ro"
    directory.mkdir()
    directory.chmod(0o500)
    try:
        with pytest.raises(StorageAccessError):
            async with SQLiteStorage(directory / "study.db"):
                pass
    finally:
        directory.chmod(0o700)


@pytest.mark.anyio
async def test_a_full_disk_fails_only_the_write_that_did_not_fit(tmp_path: Path) -> None:
    path = tmp_path / "full.db"
    async with SQLiteStorage(path) as storage:
        study = await new_study(storage)
        await storage.start_trial(study.id, {"x": 1}, owner=REMOTE_OWNER)
        ((pages,),) = await run_sql(storage, "PRAGMA page_count")
        await run_sql(storage, f"PRAGMA max_page_count = {pages + 8}")
        huge = {"blob": "x" * 200_000}
        outcomes: dict[str, Any] = {}

        async def attempt(key: str, params: dict[str, Any]) -> None:
            try:
                outcomes[key] = await storage.start_trial(study.id, params, owner=REMOTE_OWNER)
            except StorageError as exc:
                outcomes[key] = exc

        async with anyio.create_task_group() as tg:
            tg.start_soon(attempt, "small-1", {"x": 2})
            tg.start_soon(attempt, "huge", huge)
            tg.start_soon(attempt, "small-2", {"x": 3})
        assert isinstance(outcomes["huge"], StorageFullError)
        assert "full" in str(outcomes["huge"])
        small = [outcomes["small-1"], outcomes["small-2"]]
        assert all(isinstance(t, TrialRecord) for t in small)
        trials = await storage.trials(study.id)
        assert sorted(t.params["x"] for t in trials) == [1, 2, 3]  # type: ignore[type-var]
        assert [t.number for t in trials] == [0, 1, 2]
        with pytest.raises(StorageFullError):
            await storage.enqueue_trial(study.id, huge)
        await run_sql(storage, "PRAGMA max_page_count = 1073741823")
        assert (await storage.enqueue_trial(study.id, huge)).number == 3
        assert await run_sql(storage, "PRAGMA integrity_check") == [("ok",)]


# -- concurrency, group commit, cancellation -------------------------------------------
async def count_commits(storage: SQLiteStorage) -> list[str]:
    statements: list[str] = []
    runner = storage._runner
    assert runner is not None
    await runner.run(lambda conn: conn.set_trace_callback(statements.append))
    return statements


@pytest.mark.anyio
async def test_concurrent_writes_share_commits(tmp_path: Path) -> None:
    async with SQLiteStorage(tmp_path / "group.db") as storage:
        study = await new_study(storage)
        statements = await count_commits(storage)

        async def run_trial(i: int) -> None:
            trial = await storage.start_trial(study.id, {"i": i}, owner=REMOTE_OWNER)
            assert trial is not None
            await storage.finish_trial(
                study.id, trial.number, state=TrialState.COMPLETE, value=float(i)
            )

        async with anyio.create_task_group() as tg:
            for i in range(64):
                tg.start_soon(run_trial, i)
        commits = statements.count("COMMIT")
        assert 1 <= commits <= 16, commits  # 128 writes, carried by a handful of commits
        assert (await storage.count_trials(study.id))[TrialState.COMPLETE] == 64


@pytest.mark.anyio
async def test_errors_in_a_batch_reach_only_their_callers(tmp_path: Path) -> None:
    async with SQLiteStorage(tmp_path / "batch.db") as storage:
        study = await new_study(storage)
        for _ in range(10):
            await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)
        for number in range(0, 10, 2):
            await storage.finish_trial(study.id, number, state=TrialState.FAILED)
        statements = await count_commits(storage)
        outcomes: dict[int, object] = {}

        async def finish(number: int) -> None:
            try:
                outcomes[number] = await storage.finish_trial(
                    study.id, number, state=TrialState.COMPLETE, value=float(number)
                )
            except TrialStateError as exc:
                outcomes[number] = exc

        async with anyio.create_task_group() as tg:
            for number in range(12):
                tg.start_soon(finish, number)
        assert statements.count("COMMIT") < 12
        for number in range(12):
            if number >= 10:
                assert isinstance(outcomes[number], UnknownTrialError)
            elif number % 2 == 0:
                assert type(outcomes[number]) is TrialStateError
            else:
                assert isinstance(outcomes[number], TrialRecord)
        trials = await storage.trials(study.id)
        assert [t.value for t in trials] == [None if n % 2 == 0 else float(n) for n in range(10)]


@pytest.mark.anyio
async def test_a_cancelled_write_still_completes(tmp_path: Path) -> None:
    async with SQLiteStorage(tmp_path / "cancel.db") as storage:
        study = await new_study(storage)
        for _ in range(20):
            await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)
        with anyio.CancelScope() as scope:
            scope.cancel()
            await storage.finish_trial(study.id, 0, state=TrialState.COMPLETE, value=1.0)
        assert (await storage.get_trial(study.id, 0)).state is TrialState.COMPLETE

        returned: set[int] = set()

        async def finish(number: int) -> None:
            await storage.finish_trial(study.id, number, state=TrialState.COMPLETE, value=2.0)
            await anyio.lowlevel.checkpoint()  # a cancelled caller stops here at the latest
            returned.add(number)

        with anyio.fail_after(20):  # a write lost to cancellation would hang its batch
            async with anyio.create_task_group() as tg:
                for number in range(1, 20):
                    tg.start_soon(finish, number)
                while not storage._pending:
                    await anyio.lowlevel.checkpoint()  # until writes wait behind a commit
                tg.cancel_scope.cancel()
        # The callers were cancelled while their writes were queued or committing, yet
        # every write was committed, and no transaction was left open.
        assert returned == set()
        counts = await storage.count_trials(study.id)
        assert counts[TrialState.COMPLETE] == 20
        assert await run_sql(storage, "PRAGMA integrity_check") == [("ok",)]
        runner = storage._runner
        assert runner is not None
        assert not await runner.run(lambda conn: conn.in_transaction)


@pytest.mark.anyio
async def test_each_backend_uses_its_adapter(tmp_path: Path, anyio_backend: str) -> None:
    async with SQLiteStorage(tmp_path / "adapter.db") as storage:
        await new_study(storage)
        expected = "_AiosqliteRunner" if anyio_backend == "asyncio" else "_ThreadRunner"
        assert type(storage._runner).__name__ == expected


@pytest.mark.anyio
async def test_two_stores_on_one_file_share_numbers_and_budget(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    async with SQLiteStorage(path) as first, SQLiteStorage(path) as second:
        study = await new_study(first)
        assert await new_study(second) == study
        started: list[TrialRecord] = []

        async def start(storage: SQLiteStorage) -> None:
            while True:
                trial = await storage.start_trial(study.id, {}, owner=REMOTE_OWNER, max_trials=40)
                if trial is None:
                    return
                started.append(trial)

        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(start, first)
                tg.start_soon(start, second)
        assert sorted(t.number for t in started) == list(range(40))


def test_invalid_options() -> None:
    with pytest.raises(StorageError, match="synchronous"):
        SQLiteStorage("x.db", synchronous="SOMETIMES")  # type: ignore[arg-type]
    with pytest.raises(StorageError, match="busy_timeout"):
        SQLiteStorage("x.db", busy_timeout=0)
    with pytest.raises(StorageError, match="max_batch"):
        SQLiteStorage("x.db", max_batch=0)


# -- open_storage ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argument", "expected"),
    [
        ("study.db", "{cwd}/study.db"),
        ("runs/study.db", "{cwd}/runs/study.db"),
        ("sqlite:///study.db", "{cwd}/study.db"),
        ("sqlite:////abs/dir/study.db", "/abs/dir/study.db"),
        ("SQLITE:///study.db", "{cwd}/study.db"),
    ],
)
def test_open_storage_paths(argument: str, expected: str) -> None:
    storage = open_storage(argument)
    assert isinstance(storage, SQLiteStorage)
    assert storage.path == expected.format(cwd=os.getcwd())


def test_open_storage_path_object(tmp_path: Path) -> None:
    storage = open_storage(tmp_path / "s.db")
    assert isinstance(storage, SQLiteStorage)
    assert storage.path == str(tmp_path / "s.db")


@pytest.mark.parametrize("argument", ["mongodb://host/db", "", "  "])
def test_open_storage_rejects_unknown_forms(argument: str) -> None:
    with pytest.raises(StorageError, match="sqlite:///"):
        open_storage(argument)


@pytest.mark.parametrize(
    "argument",
    ["sqlite:x.db", "sqlite:/x.db", "SQLite:x.db", "file:x.db", "postgresql:x", "postgres:/x"],
)
def test_open_storage_rejects_a_url_without_its_slashes(
    argument: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StorageError, match="without its '//'") as caught:
        open_storage(argument)
    assert repr(argument) in str(caught.value)
    fix = "postgres" if argument.lower().startswith("postgres") else "sqlite:///x.db"
    assert fix in str(caught.value).split("; use ")[1]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argument", "shown"),
    [
        # the user name and the slash are what shows the mistake: only a password hides
        ("postgresql:/postgres@127.0.0.1/db", "'postgresql:/postgres@127.0.0.1/db'"),
        ("postgresql:/u:secret@h/db", "'postgresql:/u:***@h/db'"),
    ],
)
def test_a_url_without_its_slashes_shows_all_but_the_password(argument: str, shown: str) -> None:
    with pytest.raises(StorageError, match="without its '//'") as caught:
        open_storage(argument)
    assert f"storage {shown} looks like" in str(caught.value)
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize("argument", ["run:1.db", "C:\\studies\\x.db"])
def test_open_storage_keeps_other_paths_with_a_colon(argument: str) -> None:
    assert isinstance(open_storage(argument), SQLiteStorage)


@pytest.mark.parametrize(
    ("argument", "fix"),
    [
        ("sqlite:///x.db?mode=ro", "the plain path 'x.db' or 'sqlite:///x.db'"),
        ("SQLite:///runs/x.db?cache=shared", "the plain path 'runs/x.db' or 'sqlite:///runs/x.db'"),
        ("sqlite:////abs/x.db?mode=ro", "the plain path '/abs/x.db' or 'sqlite:////abs/x.db'"),
        ("sqlite:///:memory:?cache=shared", "the plain path ':memory:' or 'sqlite:///:memory:'"),
        (
            "sqlite:///x.db#part",
            "the plain path 'x.db#part' (a file of that name) or 'sqlite:///x.db'",
        ),
        ("sqlite:x.db?mode=ro", "the plain path 'x.db' or 'sqlite:///x.db'"),
        ("file:x.db?mode=ro", "the plain path 'x.db' or 'sqlite:///x.db'"),
        ("sqlite:///?mode=ro", "a file path such as 'study.db'"),
    ],
)
def test_open_storage_refuses_options_in_a_sqlite_url(
    argument: str, fix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLAlchemy-style options would become part of the file name: 'x.db?mode=ro'.
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StorageError) as caught:
        open_storage(argument)
    message = str(caught.value)
    assert message.startswith(f"storage {argument!r} has a URL ")
    assert "asynchyper's SQLite storage takes no URL options; use " + fix in message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argument", ["x.db?mode=ro", "run#3.db", "runs/a?b#c.db"])
def test_open_storage_keeps_plain_paths_with_url_characters(argument: str) -> None:
    # Only URLs have queries: a plain path names a file, whatever its characters.
    storage = open_storage(argument)
    assert isinstance(storage, SQLiteStorage)
    assert storage.path == os.path.join(os.getcwd(), argument)


@pytest.mark.parametrize(
    ("platform", "synchronous", "full"),
    [("darwin", "FULL", 1), ("darwin", "NORMAL", 0), ("linux", "FULL", 0)],
)
def test_durable_commits_on_macos_use_fullfsync(
    platform: str, synchronous: str, full: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # macOS's fsync leaves the data in the drive's cache: "durable" was not, there.
    import sys  # noqa: PLC0415

    from asynchyper._storage import _connection  # noqa: PLC0415

    path = str(tmp_path / "mac.db")
    monkeypatch.setattr(sys, "platform", platform)
    conn = sqlite3.connect(path)
    try:
        _connection._configure(conn, path, synchronous, 5.0)
        assert conn.execute("PRAGMA fullfsync").fetchone()[0] == full
        assert conn.execute("PRAGMA checkpoint_fullfsync").fetchone()[0] == full
    finally:
        conn.close()


@pytest.mark.anyio
async def test_enqueue_unless_holding_is_atomic_across_processes(tmp_path: Path) -> None:
    # The same script started twice (two machines sharing a study) queued its warm
    # starts twice with skip_if_exists: the check and the insert were separate.
    path = tmp_path / "shared.db"
    async with SQLiteStorage(path) as one, SQLiteStorage(path) as two:
        await enqueue_from_two_connections(one, two)


@pytest.mark.parametrize(
    ("argument", "fix"),
    [
        ("sqlite://y.db", "use 'sqlite:///y.db' (three slashes: a relative path)"),
        ("~/study.db", "pass os.path.expanduser('~/study.db')"),
        ("sqlite:///~/study.db", "pass os.path.expanduser('~/study.db')"),
        (":memory", "use ':memory:' (a colon at each end) or None"),
        (":MEM:", "use ':memory:'"),
        ("sqlite:///tmp/runs/x.db", "write four slashes: 'sqlite:////tmp/runs/x.db'"),
    ],
)
def test_open_storage_refuses_slips_that_would_create_an_odd_file(
    argument: str, fix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each of these used to create a file (or fail later with a misleading fix) in the
    # working directory: ./y.db, ./~/study.db, ./:memory, ./tmp/runs/x.db.
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StorageError) as caught:
        open_storage(argument)
    assert fix in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_open_storage_keeps_a_relative_url_whose_directory_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tmp").mkdir()  # ./tmp exists: the relative reading is the one meant
    storage = open_storage("sqlite:///tmp/x.db")
    assert isinstance(storage, SQLiteStorage)
    assert storage.path == str(tmp_path / "tmp" / "x.db")
    (tmp_path / "~").mkdir()  # a directory really named '~'
    assert isinstance(open_storage("~/x.db"), SQLiteStorage)


@pytest.mark.parametrize("argument", [123, b"study.db", ["study.db"]])
def test_open_storage_refuses_arguments_of_another_type(argument: object) -> None:
    kind = type(argument).__name__
    with pytest.raises(TypeError, match=f"storage= takes a file path.*got {kind}"):
        open_storage(argument)  # type: ignore[arg-type]


def test_open_storage_keeps_sqlalchemys_memory_url_and_files_starting_with_a_tilde(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert isinstance(open_storage("sqlite://:memory:"), MemoryStorage)
    # '~backup.db' is no home directory (expanduser leaves it): a file of that name
    assert isinstance(open_storage("~backup.db"), SQLiteStorage)
