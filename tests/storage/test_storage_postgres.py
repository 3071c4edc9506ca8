"""PostgresStorage: the storage contract, several processes, crashes and lost connections.

Every test runs against a throwaway database created for this test run (see
``pg_server.py``); each store lives in its own PostgreSQL schema of that database.
Without a server the tests skip with a hint; ``ASYNCHYPER_REQUIRE_POSTGRES=1`` makes
them fail instead.
"""

from __future__ import annotations

import io
import itertools
import json
import logging
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import anyio
import anyio.lowlevel
import anyio.to_thread
import attrs
import pytest
from pg_server import terminate, throwaway_database
from storage_contract import (
    FINGERPRINT,
    REMOTE_OWNER,
    REMOTE_OWNER_2,
    SPACE,
    StorageContract,
    StorageFactory,
    enqueue_from_two_connections,
    new_study,
)

import asynchyper as ah
from asynchyper import (
    MissingExtraError,
    Storage,
    StorageAccessError,
    StorageCorruptError,
    StorageError,
    StorageVersionError,
    StudyRecord,
    TrialRecord,
    TrialState,
    TrialStateError,
    UnknownTrialError,
)
from asynchyper.__main__ import main
from asynchyper._storage import PostgresStorage, _pgschema, _pgsql, open_storage
from asynchyper._storage._pgschema import MIGRATIONS, SCHEMA_VERSION
from asynchyper._storage._pgtypes import Step


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a database created for this test run and dropped afterwards."""
    with throwaway_database() as url:
        yield url


_schemas = itertools.count()


def fresh_schema() -> str:
    return f"store_{next(_schemas)}"


class TestPostgresStorage(StorageContract):
    @pytest.fixture
    def make_storage(self, pg_url: str) -> StorageFactory:
        @asynccontextmanager
        async def make() -> AsyncIterator[Storage]:
            async with PostgresStorage(pg_url, schema=fresh_schema()) as storage:
                yield storage

        return make


# -- helpers --------------------------------------------------------------------------
def store(url: str, **options: Any) -> PostgresStorage:
    """A store in a schema of its own."""
    return PostgresStorage(url, schema=fresh_schema(), **options)


def admin_sql(url: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on the throwaway database as the admin (tests only)."""
    import psycopg  # noqa: PLC0415

    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def lose_connection_after_commit(monkeypatch: pytest.MonkeyPatch, times: int = 1) -> list[int]:
    """Make the next ``times`` write batches commit, then lose their connection.

    The batch commits for real, then its own backend is terminated before the
    caller hears back: the store cannot know that the commit happened and must
    retry without applying the writes twice. Returns a list that counts the drops.
    """
    original = _pgsql.run_batch
    drops: list[int] = []

    def run_batch(operations: Sequence[_pgsql.Operation], *, retried: bool) -> Step[None]:
        yield from original(operations, retried=retried)
        if not retried and len(drops) < times:  # the retry itself goes through
            drops.append(1)
            yield ("SELECT pg_terminate_backend(pg_backend_pid())", ())

    monkeypatch.setattr(_pgsql, "run_batch", run_batch)
    return drops


# -- connection loss ---------------------------------------------------------------------
@pytest.mark.anyio
async def test_every_write_is_applied_once_when_the_reply_is_lost(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with store(pg_url) as storage:
        drops = lose_connection_after_commit(monkeypatch, times=100)
        study = await storage.create_study(
            "s", fingerprint=FINGERPRINT, space=SPACE, load_if_exists=False
        )
        started = await storage.start_trial(study.id, {"x": 1}, owner=REMOTE_OWNER, max_trials=5)
        assert started is not None
        assert started.number == 0
        waiting = await storage.enqueue_trial(study.id, {"x": 2})
        assert waiting.number == 1
        claimed = await storage.claim_trial(study.id, owner=REMOTE_OWNER_2)
        assert claimed is not None
        assert claimed.number == 1
        done = await storage.finish_trial(study.id, 0, state=TrialState.COMPLETE, value=0.5)
        assert (done.state, done.value) == (TrialState.COMPLETE, 0.5)
        await storage.heartbeat(study.id, owner=REMOTE_OWNER_2)
        assert await storage.fail_stale(study.id, older_than=-1.0, requeue=True) == [1]
        added = await storage.add_trial(study.id, {"x": 3}, state=TrialState.COMPLETE, value=0.1)
        assert added.number == 3
        await new_study(storage, "other")
        await storage.delete_study("other")
        assert len(drops) == 10  # every write above lost its connection after committing
        monkeypatch.undo()

        trials = await storage.trials(study.id)
        assert [(t.number, t.state) for t in trials] == [
            (0, TrialState.COMPLETE),
            (1, TrialState.FAILED),
            (2, TrialState.WAITING),
            (3, TrialState.COMPLETE),
        ]
        assert trials[0] == done
        assert trials[3] == added
        assert await storage.count_trials(study.id) == {
            TrialState.WAITING: 1,
            TrialState.RUNNING: 0,
            TrialState.COMPLETE: 2,
            TrialState.FAILED: 1,
            TrialState.CANCELLED: 0,
        }
        assert [s.name for s in await storage.list_studies()] == ["s"]


@pytest.mark.anyio
async def test_terminated_backends_lose_and_duplicate_nothing(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="asynchyper")  # a reconnect that works at once
    budget = 240
    name = f"asynchyper-kill-{fresh_schema()}"
    async with store(pg_url, application_name=name) as storage:
        study = await new_study(storage)
        told: list[int] = []
        killed = 0

        async def worker() -> None:
            while True:
                trial = await storage.start_trial(
                    study.id, {}, owner=REMOTE_OWNER, max_trials=budget
                )
                if trial is None:
                    return
                await anyio.sleep(0.02)  # the objective
                await storage.finish_trial(
                    study.id, trial.number, state=TrialState.COMPLETE, value=float(trial.number)
                )
                told.append(trial.number)

        async def killer() -> None:
            nonlocal killed
            for threshold in (20, 70, 120, 170):  # kill while trials are in flight
                while len(told) < threshold:  # noqa: ASYNC110 - polls a list the workers fill
                    await anyio.sleep(0.002)
                killed += await anyio.to_thread.run_sync(terminate, pg_url, name)

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                tg.start_soon(killer)
                for _ in range(32):
                    tg.start_soon(worker)
        assert killed >= 4, killed
        lost = [r for r in caplog.records if "lost the connection" in r.getMessage()]
        assert lost  # the store noticed, reconnected and retried
        assert sorted(told) == list(range(budget))
        trials = await storage.trials(study.id)
        assert [t.number for t in trials] == list(range(budget))
        assert all(t.state is TrialState.COMPLETE for t in trials)
        assert all(t.value == float(t.number) for t in trials)
        counts = await storage.count_trials(study.id)
        assert counts[TrialState.COMPLETE] == budget
        assert sum(counts.values()) == budget


@attrs.frozen(kw_only=True)
class Plane:
    x: Annotated[float, ah.Float(-5.0, 5.0)]


@pytest.mark.anyio
async def test_minimize_survives_terminated_backends(pg_url: str) -> None:
    budget = 120
    name = f"asynchyper-run-{fresh_schema()}"
    done = 0
    killed = 0

    async def objective(config: Plane) -> float:
        nonlocal done
        await anyio.sleep(0.01)
        done += 1
        return config.x**2

    async def killer() -> None:
        nonlocal killed
        for threshold in (15, 45, 75):
            while done < threshold:  # noqa: ASYNC110 - polls a counter the objective bumps
                await anyio.sleep(0.002)
            killed += await anyio.to_thread.run_sync(terminate, pg_url, name)

    async with store(pg_url, application_name=name) as storage:
        async with anyio.create_task_group() as tg:
            tg.start_soon(killer)
            result = await ah.minimize(
                objective,
                Plane,
                trials=budget,
                concurrency=16,
                storage=storage,
                study="run",
                suggester=ah.Random(),
                seed=1,
            )
        assert killed >= 3
        study = await storage.get_study("run")
        trials = await storage.trials(study.id)
    assert [t.number for t in trials] == list(range(budget))
    assert all(t.state is TrialState.COMPLETE for t in trials)
    assert [t.number for t in result.trials] == list(range(budget))


@pytest.mark.anyio
async def test_gives_up_after_reconnect_timeout(pg_url: str) -> None:
    name = f"asynchyper-gone-{fresh_schema()}"
    async with store(pg_url, application_name=name, reconnect_timeout=0.5) as storage:
        study = await new_study(storage)
        await anyio.to_thread.run_sync(terminate, pg_url, name)
        # Point the store at a port where nothing listens: every reconnect fails.
        storage._target.params["port"] = "1"
        with anyio.fail_after(20), pytest.raises(StorageError, match="could not reconnect"):
            await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)


# -- passwords ---------------------------------------------------------------------------
PASSWORD = "S3cr3t-pa55word"


def password_url(url: str, database: str | None = None, port: int | None = None) -> str:
    parts = urllib.parse.urlsplit(url)
    netloc = (
        f"{parts.username or 'postgres'}:{PASSWORD}@{parts.hostname}:{port or parts.port or 5432}"
    )
    path = parts.path if database is None else "/" + database
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc, path=path))


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("url", "kept"),
    [
        # Every "1" and every "e" of the message were replaced: the message was garbled,
        # the password guessable, and "e" turned "failed to resolve" into a lost connection.
        ("postgresql://alice:1@127.0.0.1:1/test", 'at "127.0.0.1", port 1 failed'),
        ("postgresql://alice:e@no-such-host.invalid/test", "failed to resolve host"),
    ],
)
async def test_a_short_password_does_not_garble_messages(url: str, kept: str) -> None:
    pytest.importorskip("psycopg")
    with pytest.raises(StorageError) as caught:
        async with PostgresStorage(url, connect_timeout=2, reconnect_timeout=0.5):
            pass
    assert kept in str(caught.value)
    assert "***" not in str(caught.value)


@pytest.mark.anyio
async def test_a_password_never_shows(
    pg_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    url = password_url(pg_url)
    storage = PostgresStorage(url, schema=fresh_schema())
    assert PASSWORD not in repr(storage)
    assert PASSWORD not in storage.url
    assert ":***@" not in storage.url  # no user-info at all beyond the user name
    async with storage:  # the trust-auth test server ignores the password
        study = await new_study(storage)
        lose_connection_after_commit(monkeypatch)
        await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)  # logs the lost connection
    assert any("lost the connection" in record.getMessage() for record in caplog.records)

    failures: list[BaseException] = []
    for bad in (
        password_url(pg_url, database="no_such_database_here"),
        password_url(pg_url, port=1),
        url.replace("postgresql://", "postgresql+psycopg://") + "?bad_option=1",
        url + "?sslmode=nonsense",
    ):
        with pytest.raises(StorageError) as caught:
            async with PostgresStorage(bad, connect_timeout=2):
                pass
        failures.append(caught.value)
    assert isinstance(failures[0], StorageAccessError)
    assert "no_such_database_here" in str(failures[0])
    for failure in failures:
        assert PASSWORD not in str(failure), failure
        assert PASSWORD not in repr(failure)
        assert failure.__cause__ is None or PASSWORD not in str(failure.__cause__)
    assert caplog.records
    for record in caplog.records:
        assert PASSWORD not in record.getMessage()
        assert PASSWORD not in str(record.exc_info)
    parsed = open_storage(url)
    assert isinstance(parsed, PostgresStorage)
    assert PASSWORD not in repr(parsed)


# -- schema --------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_tables_and_version(pg_url: str) -> None:
    schema = fresh_schema()
    async with PostgresStorage(f"{pg_url}?schema={schema}") as storage:
        assert storage.schema == schema
        await new_study(storage)
    rows = admin_sql(pg_url, f"SELECT key, value FROM {schema}.asynchyper_meta ORDER BY key")
    assert rows == [("application", "asynchyper"), ("schema_version", str(SCHEMA_VERSION))]
    assert SCHEMA_VERSION == len(MIGRATIONS) >= 1


@pytest.mark.anyio
async def test_a_newer_schema_version_is_refused(pg_url: str) -> None:
    schema = fresh_schema()
    async with PostgresStorage(pg_url, schema=schema) as storage:
        await new_study(storage)
    admin_sql(
        pg_url,
        f"UPDATE {schema}.asynchyper_meta SET value = %s WHERE key = 'schema_version'",
        (str(SCHEMA_VERSION + 1),),
    )
    with pytest.raises(StorageVersionError, match="upgrade asynchyper"):
        async with PostgresStorage(pg_url, schema=schema):
            pass
    assert admin_sql(pg_url, f"SELECT name FROM {schema}.asynchyper_studies") == [("study",)]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "setup",
    [
        ["CREATE TABLE {s}.asynchyper_studies (id int, customer text)"],
        [
            "CREATE TABLE {s}.asynchyper_meta (key text PRIMARY KEY, value text NOT NULL)",
            "INSERT INTO {s}.asynchyper_meta VALUES ('application', 'someone-else')",
        ],
        ["CREATE TABLE {s}.asynchyper_meta (x int)"],  # other columns than ours
        [
            "CREATE TABLE {s}.asynchyper_meta (name text, value text)",
            "INSERT INTO {s}.asynchyper_meta VALUES ('application', 'asynchyper')",
        ],
    ],
)
async def test_foreign_tables_are_refused_and_left_alone(pg_url: str, setup: list[str]) -> None:
    schema = fresh_schema()
    admin_sql(pg_url, f"CREATE SCHEMA {schema}")
    for statement in setup:
        admin_sql(pg_url, statement.format(s=schema))
    before = admin_sql(
        pg_url,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1",
        (schema,),
    )
    with pytest.raises(StorageCorruptError, match="another program"):
        async with PostgresStorage(pg_url, schema=schema):
            pass
    after = admin_sql(
        pg_url,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1",
        (schema,),
    )
    assert after == before


@pytest.mark.anyio
async def test_migrations_run_in_order(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    schema = fresh_schema()
    async with PostgresStorage(pg_url, schema=schema) as storage:
        await new_study(storage)
    monkeypatch.setattr(
        _pgschema,
        "MIGRATIONS",
        [*_pgschema.MIGRATIONS, ["ALTER TABLE asynchyper_studies ADD COLUMN notes text"]],
    )
    async with PostgresStorage(pg_url, schema=schema) as storage:
        assert (await storage.get_study("study")).name == "study"
    rows = admin_sql(
        pg_url,
        f"SELECT notes, value FROM {schema}.asynchyper_studies, "
        f"{schema}.asynchyper_meta WHERE key = 'schema_version'",
    )
    assert rows == [(None, str(SCHEMA_VERSION + 1))]


@pytest.mark.anyio
async def test_many_stores_open_a_new_schema_at_once(pg_url: str) -> None:
    schema = fresh_schema()
    studies: list[StudyRecord] = []

    async def open_one() -> None:
        async with PostgresStorage(pg_url, schema=schema) as storage:
            studies.append(await new_study(storage))

    async with anyio.create_task_group() as tg:
        for _ in range(6):
            tg.start_soon(open_one)
    assert len({study.id for study in studies}) == 1


def tables_in(url: str, schema: str) -> list[str]:
    """The tables of ``schema`` (empty when it does not exist)."""
    rows = admin_sql(
        url,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1",
        (schema,),
    )
    return [str(row[0]) for row in rows]


def schema_exists(url: str, schema: str) -> bool:
    return bool(admin_sql(url, "SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)))


@pytest.mark.anyio
async def test_without_create_a_missing_schema_is_refused_and_not_created(pg_url: str) -> None:
    schema = fresh_schema()
    storage = PostgresStorage(pg_url, schema=schema, create=False)
    with pytest.raises(StorageError, match=f"schema '{schema}' does not exist") as info:
        await storage.list_studies()
    message = str(info.value)
    assert "\n" not in message
    assert f"?schema={schema}" in message  # the URL, as given
    assert "run a study there first" in message
    await storage.close()
    assert not schema_exists(pg_url, schema)


@pytest.mark.anyio
async def test_without_create_missing_tables_are_refused_and_not_created(pg_url: str) -> None:
    schema = fresh_schema()
    admin_sql(pg_url, f"CREATE SCHEMA {schema}")
    with pytest.raises(StorageError, match="has no asynchyper tables") as info:
        async with PostgresStorage(pg_url, schema=schema, create=False):
            pass
    assert "\n" not in str(info.value)
    assert tables_in(pg_url, schema) == []


@pytest.mark.anyio
async def test_without_create_an_existing_store_is_read(pg_url: str) -> None:
    schema = fresh_schema()
    async with PostgresStorage(pg_url, schema=schema) as storage:
        study = await new_study(storage)
    async with PostgresStorage(f"{pg_url}?schema={schema}", create=False) as storage:
        assert await storage.list_studies() == [study]


@pytest.mark.anyio
async def test_without_create_an_older_schema_is_not_migrated(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = fresh_schema()
    async with PostgresStorage(pg_url, schema=schema) as storage:
        await new_study(storage)
    monkeypatch.setattr(
        _pgschema,
        "MIGRATIONS",
        [*_pgschema.MIGRATIONS, ["ALTER TABLE asynchyper_studies ADD COLUMN notes text"]],
    )
    with pytest.raises(StorageVersionError, match="older asynchyper"):
        async with PostgresStorage(pg_url, schema=schema, create=False):
            pass
    version = admin_sql(
        pg_url, f"SELECT value FROM {schema}.asynchyper_meta WHERE key = 'schema_version'"
    )
    assert version == [(str(SCHEMA_VERSION),)]


@pytest.mark.parametrize(
    "command", ["studies", "show", "trials", "export", "fail-stale", "delete", "plot"]
)
def test_cli_reading_a_missing_schema_creates_nothing(
    command: str, pg_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    schema = fresh_schema()
    url = f"{pg_url}?schema={schema}"
    argv = {
        "studies": [],
        "plot": ["demo", "history", "-o", str(tmp_path / "h.png")],
        "delete": ["demo", "--yes"],
    }.get(command, ["demo"])
    assert main([command, *argv, "--storage", url]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert f"schema '{schema}' does not exist" in err
    assert "Traceback" not in err
    assert not schema_exists(pg_url, schema)


def test_cli_reading_a_schema_without_tables_creates_nothing(
    pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = fresh_schema()
    admin_sql(pg_url, f"CREATE SCHEMA {schema}")
    assert main(["studies", "--storage", f"{pg_url}?schema={schema}"]) == 1
    _, err = capsys.readouterr()
    assert len(err.splitlines()) == 1, err
    assert "has no asynchyper tables" in err
    assert tables_in(pg_url, schema) == []


def test_cli_reads_an_existing_store(pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    schema = fresh_schema()
    url = f"{pg_url}?schema={schema}"

    async def create() -> None:
        async with PostgresStorage(url) as storage:
            await new_study(storage)

    anyio.run(create)
    assert main(["studies", "--storage", url, "--json"]) == 0
    out, _ = capsys.readouterr()
    assert [study["name"] for study in json.loads(out)] == ["study"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_cli_messages_never_show_the_password(
    pg_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # "no studies in URL" and the delete prompt printed the URL as given (the server
    # trusts every login here, so the password is accepted and ignored).
    parts = urllib.parse.urlsplit(pg_url)
    if parts.password:
        pytest.skip("the test server's URL has a password of its own")
    user = parts.username or "postgres"
    netloc = f"{user}:CliS3cr3t@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    url = urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=f"schema={fresh_schema()}"))

    async def create() -> None:
        async with PostgresStorage(url):
            pass

    anyio.run(create)
    assert main(["studies", "--storage", url]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"no studies in postgresql://{user}@")
    anyio.run(lambda: _create_study(url))
    monkeypatch.setattr("sys.stdin", _Terminal("n\n"))
    assert main(["delete", "study", "--storage", url]) == 1
    prompt_out, prompt = capsys.readouterr()
    assert f"delete study 'study' and its 0 trial(s) from postgresql://{user}@" in prompt
    assert "CliS3cr3t" not in out + err + prompt_out + prompt


async def _create_study(url: str) -> None:
    async with PostgresStorage(url) as storage:
        await new_study(storage)


@pytest.mark.anyio
async def test_a_proactor_loop_gets_the_worker_thread_connection(
    pg_url: str, anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # psycopg's AsyncConnection refuses Windows' default loop (ProactorEventLoop): the
    # store takes the worker-thread connection there, as on trio. Here an ordinary
    # asyncio loop stands in for the proactor.
    if anyio_backend != "asyncio":
        pytest.skip("asyncio only")
    import asyncio  # noqa: PLC0415

    from asynchyper._storage import _pgconnect  # noqa: PLC0415

    assert _pgconnect._windows_proactor() is False
    loop_class = type(asyncio.get_running_loop())
    monkeypatch.setattr(asyncio, "ProactorEventLoop", loop_class, raising=False)
    assert _pgconnect._windows_proactor() is True
    made: list[str] = []
    for name in ("_ThreadAdapter", "_AsyncAdapter"):
        original = getattr(_pgconnect, name)

        def adapter(*args: Any, _original: Any = original, _name: str = name) -> Any:
            made.append(_name)
            return _original(*args)

        monkeypatch.setattr(_pgconnect, name, adapter)
    async with store(pg_url) as storage:
        study = await new_study(storage)
        await storage.start_trial(study.id, {"x": 1}, owner=REMOTE_OWNER)
        assert len(await storage.trials(study.id)) == 1
    assert made
    assert set(made) == {"_ThreadAdapter"}


# -- group commit, cancellation, adapters ------------------------------------------------
@pytest.mark.anyio
async def test_concurrent_writes_share_transactions(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with store(pg_url) as storage:
        study = await new_study(storage)
        batches: list[int] = []
        original = _pgsql.run_batch

        def counting(operations: Sequence[_pgsql.Operation], *, retried: bool) -> Step[None]:
            batches.append(len(operations))
            return original(operations, retried=retried)

        monkeypatch.setattr(_pgsql, "run_batch", counting)

        async def run_trial(i: int) -> None:
            trial = await storage.start_trial(study.id, {"i": i}, owner=REMOTE_OWNER)
            assert trial is not None
            await storage.finish_trial(
                study.id, trial.number, state=TrialState.COMPLETE, value=float(i)
            )

        async with anyio.create_task_group() as tg:
            for i in range(64):
                tg.start_soon(run_trial, i)
        assert sum(batches) == 128
        assert len(batches) <= 24, batches  # 128 writes in a handful of transactions
        assert (await storage.count_trials(study.id))[TrialState.COMPLETE] == 64


@pytest.mark.anyio
async def test_a_failing_write_does_not_undo_its_batch(pg_url: str) -> None:
    async with store(pg_url) as storage:
        study = await new_study(storage)
        for _ in range(6):
            await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)
        await storage.finish_trial(study.id, 0, state=TrialState.FAILED)
        outcomes: dict[int, object] = {}

        async def finish(number: int) -> None:
            try:
                outcomes[number] = await storage.finish_trial(
                    study.id, number, state=TrialState.COMPLETE, value=float(number)
                )
            except TrialStateError as exc:
                outcomes[number] = exc

        async with anyio.create_task_group() as tg:
            for number in range(8):
                tg.start_soon(finish, number)
        assert type(outcomes[0]) is TrialStateError
        assert isinstance(outcomes[6], UnknownTrialError)
        assert isinstance(outcomes[7], UnknownTrialError)
        assert all(isinstance(outcomes[n], TrialRecord) for n in range(1, 6))
        values = [t.value for t in await storage.trials(study.id)]
        assert values == [None, 1.0, 2.0, 3.0, 4.0, 5.0]


@pytest.mark.anyio
async def test_a_cancelled_write_still_completes(pg_url: str) -> None:
    async with store(pg_url) as storage:
        study = await new_study(storage)
        for _ in range(20):
            await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)
        with anyio.CancelScope() as scope:
            scope.cancel()
            await storage.finish_trial(study.id, 0, state=TrialState.COMPLETE, value=1.0)
        assert (await storage.get_trial(study.id, 0)).state is TrialState.COMPLETE

        async def finish(number: int) -> None:
            await storage.finish_trial(study.id, number, state=TrialState.COMPLETE, value=2.0)

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                for number in range(1, 20):
                    tg.start_soon(finish, number)
                while not storage._pending:
                    await anyio.lowlevel.checkpoint()
                tg.cancel_scope.cancel()
        assert (await storage.count_trials(study.id))[TrialState.COMPLETE] == 20


@pytest.mark.anyio
async def test_each_backend_uses_its_adapter(pg_url: str, anyio_backend: str) -> None:
    async with store(pg_url) as storage:
        await new_study(storage)
        expected = "_AsyncAdapter" if anyio_backend == "asyncio" else "_ThreadAdapter"
        assert type(storage._writer).__name__ == expected


@pytest.mark.anyio
async def test_opens_lazily_and_reopens_after_close(pg_url: str) -> None:
    storage = store(pg_url)
    try:
        study = await new_study(storage)
        await storage.close()
        assert await storage.get_study("study") == study
    finally:
        await storage.close()


def test_invalid_options() -> None:
    pytest.importorskip("psycopg")
    for options, word in (
        ({"readers": 0}, "readers"),
        ({"max_batch": 0}, "max_batch"),
        ({"connect_timeout": 0}, "connect_timeout"),
        ({"reconnect_timeout": float("nan")}, "reconnect_timeout"),
        ({"schema": ""}, "schema"),
    ):
        with pytest.raises(StorageError, match=word):
            PostgresStorage("postgresql://u@h/db", **options)
    with pytest.raises(StorageError, match="given twice"):
        PostgresStorage("postgresql://u@h/db?schema=a", schema="b")
    with pytest.raises(StorageError, match="not a PostgreSQL URL"):
        PostgresStorage("mysql://u:pw@h/db")


# -- open_storage --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "postgresql://me:pw@db.example:5433/studies",
        "postgres://me:pw@db.example:5433/studies",
        "postgresql+psycopg://me:pw@db.example:5433/studies",
        "POSTGRESQL://me:pw@db.example:5433/studies",
    ],
)
def test_open_storage_postgresql_urls(url: str) -> None:
    pytest.importorskip("psycopg")
    storage = open_storage(url)
    assert isinstance(storage, PostgresStorage)
    assert storage.url == "postgresql://me@db.example:5433/studies"
    assert "pw" not in repr(storage)


def test_open_storage_takes_a_libpq_string_for_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PostgresStorage accepts "key=value" strings; as storage= they must not become a
    # SQLite file named after them (password included).
    pytest.importorskip("psycopg")
    monkeypatch.chdir(tmp_path)
    storage = open_storage("host=db.example port=5433 user=me password=pw dbname=studies")
    assert isinstance(storage, PostgresStorage)
    assert "pw" not in repr(storage)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("secret", ["Sx9@Qz/Wv7 k", "Sx9/Qz7", "Ab3@Zq8"])
def test_an_unencoded_password_is_refused_without_showing_it(secret: str) -> None:
    # '@' or '/' written as is cuts the password short; no part of it may show.
    pytest.importorskip("psycopg")
    for url in (
        f"postgresql://me:{secret}@db.example/studies",
        f"postgresql://me:{secret}@db.example/studies?schema=a",
    ):
        with pytest.raises(StorageError, match="percent-encode the password") as caught:
            PostgresStorage(url)
        for part in secret.replace("/", "@").split("@"):
            assert part not in str(caught.value)
    encoded = urllib.parse.quote(secret, safe="")
    storage = PostgresStorage(f"postgresql://me:{encoded}@db.example/studies")
    assert storage.url == "postgresql://me@db.example/studies"
    # A port then a database name holding an '@' looks like a password with a '/'
    # ("user:98761/pw@host" was shown as a port and a database): refused, with the fix.
    with pytest.raises(StorageError, match=r"or an '@' in the database name \(%40\)"):
        PostgresStorage("postgresql://host:5432/db@x")
    assert PostgresStorage("postgresql://host:5432/db%40x").url.endswith("/db%40x")
    with pytest.raises(StorageError, match="percent-encode the password") as caught:
        PostgresStorage("postgresql://me:98761/zzSecAI@127.0.0.1/test")
    assert "98761" not in str(caught.value)
    assert "zzSecAI" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "secrets"),
    [
        ("mysql://u:pw@h/db?password=S3cr3tAS", ["S3cr3tAS"]),  # unknown scheme
        ("postgresql:h/db?password=S3cr3tAU", ["S3cr3tAU"]),  # no '//'
        ("postgresql://me:S3cQ?r3tAF@127.0.0.1/test", ["S3cQ", "r3tAF"]),  # unencoded '?'
        ("postgresql://me:S3c r3tAH@127.0.0.1:1/test", ["S3c", "r3tAH"]),  # a space
    ],
)
def test_a_malformed_url_error_never_shows_the_password(url: str, secrets: list[str]) -> None:
    pytest.importorskip("psycopg")
    with pytest.raises(StorageError) as caught:
        open_storage(url)
    chain: list[BaseException] = []
    error: BaseException | None = caught.value
    while error is not None:  # the driver's own error (__context__) quoted the password
        chain.append(error)
        error = error.__cause__ or error.__context__
    for secret in secrets:
        assert all(secret not in str(e) for e in chain), chain


def test_a_schema_name_postgresql_would_cut_is_refused() -> None:
    # Names are cut to 63 bytes: two 71-character schemas opened the same one.
    pytest.importorskip("psycopg")
    PostgresStorage("postgresql://db.example/x", schema="é" * 31 + "a")  # 63 bytes: accepted
    with pytest.raises(StorageError, match="is 64 bytes long; PostgreSQL keeps only the first 63"):
        PostgresStorage("postgresql://db.example/x", schema="é" * 32)
    with pytest.raises(StorageError, match="use a shorter schema name"):
        PostgresStorage(f"postgresql://db.example/x?schema={'s' * 70}_A")


def test_without_psycopg_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # makes `import psycopg` fail
    with pytest.raises(MissingExtraError, match=r"asynchyper\[postgres\]"):
        open_storage("postgresql://me:pw@db.example/studies")
    with pytest.raises(MissingExtraError, match=r"asynchyper\[postgres\]"):
        PostgresStorage("postgresql://me:pw@db.example/studies")


# -- several processes ---------------------------------------------------------------------
WORKER = str(Path(__file__).with_name("pg_worker.py"))


def start_worker(
    url: str,
    study: str,
    trials: int,
    *,
    concurrency: int,
    pause: float,
    seed: int,
    backend: str,
    barrier: Path | None = None,
) -> subprocess.Popen[str]:
    """An independent ``minimize`` run in its own OS process, as on another machine."""
    args = [url, study, str(trials), str(concurrency), str(pause), str(seed), backend]
    if barrier is not None:
        args.append(str(barrier))
    return subprocess.Popen(
        [sys.executable, WORKER, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def study_trials(url: str, study: str) -> list[TrialRecord]:
    async with PostgresStorage(url) as storage:
        record = await storage.get_study(study)
        return await storage.trials(record.id)


@pytest.mark.slow
def test_four_processes_share_one_study(pg_url: str, tmp_path: Path) -> None:
    budget = 160
    url = f"{pg_url}?schema={fresh_schema()}"
    workers = [
        start_worker(
            url,
            "shared",
            budget,
            concurrency=8,
            pause=0.15,  # long enough that a process slow to start still gets trials
            seed=seed,
            backend=("asyncio", "trio")[seed % 2],
            barrier=tmp_path,
        )
        for seed in range(4)
    ]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("ready-*"))) < 4:  # start together: all four take part
        assert time.monotonic() < deadline, "the workers did not start"
        assert all(worker.poll() is None for worker in workers)
        time.sleep(0.01)
    (tmp_path / "go").touch()
    outputs = [worker.communicate(timeout=120) for worker in workers]
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
        assert out.startswith("done "), (out, err)
    trials = anyio.run(study_trials, url, "shared")
    assert [t.number for t in trials] == list(range(budget))
    assert all(t.state is TrialState.COMPLETE for t in trials)
    owners = {t.owner for t in trials}
    assert len(owners) == 4, owners  # every process did part of the work
    assert len({(t.params["x"], t.params["y"]) for t in trials}) == budget


@pytest.mark.slow
def test_a_killed_worker_is_recovered_by_the_survivors(pg_url: str) -> None:
    budget = 90
    url = f"{pg_url}?schema={fresh_schema()}"
    workers = [
        start_worker(url, "crash", budget, concurrency=4, pause=0.05, seed=seed, backend=backend)
        for seed, backend in enumerate(("asyncio", "trio", "asyncio"))
    ]
    victim = workers[0]
    victim_owner: str | None = None
    deadline = time.monotonic() + 60
    while victim_owner is None:  # wait until the victim holds RUNNING trials
        assert time.monotonic() < deadline, "the victim never started a trial"
        time.sleep(0.05)
        try:
            running = [
                t for t in anyio.run(study_trials, url, "crash") if t.state is TrialState.RUNNING
            ]
        except StorageError:
            continue  # the study or its tables do not exist yet
        victim_owner = next(
            (t.owner for t in running if t.owner and t.owner.split(":")[1] == str(victim.pid)),
            None,
        )
    victim.send_signal(signal.SIGKILL)
    victim.communicate()
    for survivor in workers[1:]:
        out, err = survivor.communicate(timeout=120)
        assert survivor.returncode == 0, err
        assert out.startswith("done "), (out, err)

    trials = anyio.run(study_trials, url, "crash")
    assert [t.number for t in trials] == list(range(len(trials)))
    states = [t.state for t in trials]
    assert states.count(TrialState.COMPLETE) == budget
    assert TrialState.RUNNING not in states
    lost = [t for t in trials if t.owner == victim_owner and t.state is not TrialState.COMPLETE]
    assert lost, "the victim held RUNNING trials when it was killed"
    for trial in lost:
        assert trial.state is TrialState.FAILED
        assert trial.error is not None
        assert victim_owner in trial.error
    assert all(t.state is TrialState.COMPLETE for t in trials if t.owner != victim_owner)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # trio: every step is in a thread
async def test_many_rows_become_records_off_the_event_loop(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, anyio_backend: str
) -> None:
    # On asyncio the steps ran on the loop: 20,000 trials held it 0.4-0.6 s.
    import threading  # noqa: PLC0415 - only this test needs it

    from asynchyper._storage import _pgconnect  # noqa: PLC0415 - imported with psycopg

    async with store(pg_url) as storage:
        study = await new_study(storage)
        for _ in range(12):
            await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)
        on_the_loop = await storage.trials(study.id)
        threads: list[str] = []
        advance = _pgconnect._advance

        def recording(step: Any, rows: Any) -> Any:
            threads.append(threading.current_thread().name)
            return advance(step, rows)

        monkeypatch.setattr(_pgconnect, "OFFLOAD_ROWS", 5)
        monkeypatch.setattr(_pgconnect, "_advance", recording)
        off_the_loop = await storage.trials(study.id)
    assert off_the_loop == on_the_loop
    assert len(off_the_loop) == 12
    assert threads
    assert threading.current_thread().name not in threads


@pytest.mark.anyio
async def test_enqueue_unless_holding_is_atomic_across_processes(pg_url: str) -> None:
    schema = fresh_schema()
    async with (
        PostgresStorage(pg_url, schema=schema) as one,
        PostgresStorage(pg_url, schema=schema) as two,
    ):
        await enqueue_from_two_connections(one, two)
        await one.delete_study("study")
