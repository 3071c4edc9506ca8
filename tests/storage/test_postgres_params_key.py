"""PostgresStorage: the ``params_key`` index behind ``find_trial`` and ``skip_if_exists``.

Schema version 2 adds each trial's ``params_key`` (a digest of its parameters) and an
index on ``(study_id, state, params_key)``, so that looking a configuration up costs
the same however many trials the study has. The migration from version 1 adds the
column and the indexes; the keys of the existing trials are computed in Python after
it, a chunk per transaction, whenever a store is opened with trials that have none. A
trial written without a key (by an older process that still had the tables open when
they were migrated) is found meanwhile.

Every test runs against a throwaway database created for this module (see
``pg_server.py``), each store in a PostgreSQL schema of its own; the database and its
schemas are dropped at the end.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from typing import Any, TypeVar

import pytest
from pg_server import throwaway_database
from storage_contract import FINGERPRINT, REMOTE_OWNER, SPACE, new_study

from asynchyper import (
    StorageError,
    StorageVersionError,
    TrialRecord,
    TrialState,
    UnknownStudyError,
)
from asynchyper._storage import PostgresStorage, _pgschema, _pgsql
from asynchyper._storage._common import params_key
from asynchyper._storage._pgtypes import Step
from asynchyper._types import JSONScalar

T = TypeVar("T")

COMPLETE = TrialState.COMPLETE
FAILED = TrialState.FAILED


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """URL of a database created for this module and dropped afterwards."""
    with throwaway_database() as url:
        yield url


_schemas = itertools.count()


def fresh_schema() -> str:
    return f"params_key_{next(_schemas)}"


def sql(url: str, schema: str, statement: str, params: Any = ()) -> list[tuple[Any, ...]]:
    """Run one statement in ``schema`` as the admin (autocommit; tests only)."""
    import psycopg  # noqa: PLC0415 - the postgres extra is optional

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def old_add(
    url: str,
    schema: str,
    study_id: int,
    params: dict[str, JSONScalar],
    state: TrialState,
    *,
    value: float | None = None,
) -> int:
    """Add a finished trial as asynchyper with schema version 1 did: without a
    ``params_key`` (also what such a process still does once the tables were
    migrated under it). Returns its number."""
    counter = f"n_{state.value}"
    rows = sql(
        url,
        schema,
        "WITH s AS ("
        f" UPDATE asynchyper_studies SET last_seq = last_seq + 1, {counter} = {counter} + 1"
        " WHERE id = %(study_id)s RETURNING last_seq,"
        " n_waiting + n_running + n_complete + n_failed + n_cancelled - 1 AS number)"
        " INSERT INTO asynchyper_trials (study_id, number, state, params, value, error,"
        " created_at, finished_at, seq)"
        " SELECT %(study_id)s, s.number, %(state)s, %(params)s, %(value)s, %(error)s, 1.0,"
        " 1.0, s.last_seq FROM s RETURNING number",
        {
            "study_id": study_id,
            "state": state.value,
            "params": json.dumps(params),
            "value": value,
            "error": None if state is COMPLETE else "old",
        },
    )
    return int(rows[0][0])


def version_1_store(url: str) -> str:
    """A new schema holding the tables of schema version 1 (as asynchyper with that
    version created them), without studies yet."""
    schema = fresh_schema()
    sql(url, "public", f"CREATE SCHEMA {schema}")
    v1 = _pgschema.MIGRATIONS[0]
    assert not callable(v1)  # version 1 is plain statements
    for statement in v1:
        sql(url, schema, statement)
    sql(
        url,
        schema,
        "INSERT INTO asynchyper_meta VALUES ('application', 'asynchyper'), ('schema_version', '1')",
    )
    return schema


def old_study(url: str, schema: str, name: str) -> int:
    """A study created in a version 1 store; returns its id."""
    rows = sql(
        url,
        schema,
        "INSERT INTO asynchyper_studies (name, direction, fingerprint, space, created_at) "
        "VALUES (%s, 'minimize', %s, %s, 1.0) RETURNING id",
        (name, FINGERPRINT, json.dumps(SPACE)),
    )
    return int(rows[0][0])


def stored_keys(url: str, schema: str) -> list[tuple[int, int, bytes | None, bytes]]:
    """``(study_id, number, params_key, the key its params should have)`` of every trial."""
    rows = sql(
        url,
        schema,
        "SELECT study_id, number, params_key, params FROM asynchyper_trials "
        "ORDER BY study_id, number",
    )
    return [
        (row[0], row[1], None if row[2] is None else bytes(row[2]), params_key(json.loads(row[3])))
        for row in rows
    ]


def store(url: str, schema: str | None = None) -> PostgresStorage:
    return PostgresStorage(url, schema=fresh_schema() if schema is None else schema)


def recording(step: Step[T], queries: list[str]) -> Step[T]:
    """``step``, noting the SQL of every query it sends."""
    answer: Any = None
    while True:
        try:
            query = step.send(answer)
        except StopIteration as stop:
            result: T = stop.value
            return result
        for text, _ in query if isinstance(query, list) else [query]:
            queries.append(text)
        answer = yield query


def record(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> list[str]:
    """The SQL of every query the step function ``module.name`` sends from now on."""
    queries: list[str] = []
    original = getattr(module, name)

    def recorded(*args: Any, **kwargs: Any) -> Step[Any]:
        return recording(original(*args, **kwargs), queries)

    monkeypatch.setattr(module, name, recorded)
    return queries


# -- the migration -------------------------------------------------------------------
@pytest.mark.anyio
async def test_a_version_1_store_is_migrated_and_its_trials_are_found(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = version_1_store(pg_url)
    one = old_study(pg_url, schema, "one")
    two = old_study(pg_url, schema, "two")
    old: list[tuple[int, dict[str, JSONScalar], TrialState, float | None]] = [
        (one, {"x": 1, "y": "a"}, COMPLETE, 0.5),
        (one, {"x": 2.5, "flag": True}, COMPLETE, 0.7),
        (one, {"x": 1, "y": "a"}, FAILED, None),
        (one, {"y": "a", "x": 1.0}, COMPLETE, 0.9),  # the same as #0 (which comes first)
        (one, {"x": -0.0}, COMPLETE, 1.0),
        (two, {"x": 1, "y": "a"}, COMPLETE, 0.1),
        (two, {"z": None}, TrialState.CANCELLED, None),
        (two, {"x": True, "y": "a"}, COMPLETE, 0.3),
    ]
    for study_id, params, state, value in old:
        old_add(pg_url, schema, study_id, params, state, value=value)
    # chunks of two rows: the backfill goes on across studies, and ends
    monkeypatch.setattr(_pgschema, "_BACKFILL_CHUNK", 2)

    async with store(pg_url, schema) as storage:
        assert [s.name for s in await storage.list_studies()] == ["one", "two"]

        version = sql(
            pg_url, schema, "SELECT value FROM asynchyper_meta WHERE key = 'schema_version'"
        )
        assert version == [("2",)] == [(str(_pgschema.SCHEMA_VERSION),)]
        keys = stored_keys(pg_url, schema)
        assert len(keys) == len(old)
        assert all(stored == expected for _, _, stored, expected in keys)
        # the same parameters (in any state or study) share a key, others do not
        assert keys[0][2] == keys[2][2] == keys[3][2] == keys[5][2] != keys[7][2]
        index = sql(
            pg_url,
            schema,
            "SELECT indexdef FROM pg_indexes WHERE schemaname = %s "
            "AND indexname = 'asynchyper_trials_by_params'",
            (schema,),
        )
        assert len(index) == 1
        assert "(study_id, state, params_key)" in index[0][0]

        found = await storage.find_trial(one, {"y": "a", "x": 1.0}, states=(COMPLETE,))
        assert found is not None
        assert (found.study_id, found.number, found.value) == (one, 0, 0.5)
        found = await storage.find_trial(one, {"x": 0}, states=(COMPLETE,))
        assert found is not None
        assert found.number == 4
        found = await storage.find_trial(two, {"x": 1, "y": "a"}, states=(COMPLETE,))
        assert found is not None
        assert (found.study_id, found.number) == (two, 0)
        assert await storage.find_trial(two, {"x": 1, "y": "a"}, states=(FAILED,)) is None
        failed = await storage.find_trial(one, {"x": 1, "y": "a"}, states=(FAILED,))
        assert failed is not None
        assert failed.number == 2

        same = await storage.add_trial(
            one, {"flag": True, "x": 2.5}, state=COMPLETE, value=5.0, skip_if_exists=True
        )
        assert (same.number, same.value) == (1, 0.7)
        cancelled = await storage.add_trial(
            two, {"z": None}, state=TrialState.CANCELLED, error="again", skip_if_exists=True
        )
        assert (cancelled.number, cancelled.error) == (1, "old")
        new = await storage.add_trial(one, {"x": 3}, state=COMPLETE, value=1.0, skip_if_exists=True)
        assert new.number == 5
        assert len(await storage.trials(one)) == 6
        assert len(await storage.trials(two)) == 3
    assert all(stored == expected for _, _, stored, expected in stored_keys(pg_url, schema))


@pytest.mark.anyio
async def test_a_migrated_store_is_refused_by_code_that_reads_version_1(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = version_1_store(pg_url)
    async with store(pg_url, schema) as storage:
        await new_study(storage)
    monkeypatch.setattr(_pgschema, "MIGRATIONS", _pgschema.MIGRATIONS[:1])
    with pytest.raises(StorageVersionError, match="upgrade asynchyper"):
        async with store(pg_url, schema):
            pass


# -- trials without a key --------------------------------------------------------------
@pytest.mark.anyio
async def test_a_trial_without_a_key_is_still_found(pg_url: str) -> None:
    # An older process that had the tables open when they were migrated keeps
    # inserting without the key: its trials must still count as existing.
    schema = fresh_schema()
    async with store(pg_url, schema) as storage:
        study = await new_study(storage)
        await storage.add_trial(study.id, {"x": 0}, state=COMPLETE, value=0.0)
        assert old_add(pg_url, schema, study.id, {"x": 1}, COMPLETE, value=1.0) == 1
        assert old_add(pg_url, schema, study.id, {"x": 2}, COMPLETE, value=2.0) == 2
        await storage.add_trial(study.id, {"x": 1}, state=COMPLETE, value=3.0)  # #3, keyed
        assert [key is None for _, _, key, _ in stored_keys(pg_url, schema)] == [
            False,
            True,
            True,
            False,
        ]

        found = await storage.find_trial(study.id, {"x": 2.0}, states=(COMPLETE,))
        assert found is not None
        assert (found.number, found.value) == (2, 2.0)
        found = await storage.find_trial(study.id, {"x": 1}, states=(COMPLETE,))
        assert found is not None
        assert found.number == 1  # the lowest number, keyed or not
        found = await storage.find_trial(study.id, {"x": 0}, states=(COMPLETE,))
        assert found is not None
        assert found.number == 0
        assert await storage.find_trial(study.id, {"x": 5}, states=(COMPLETE,)) is None
        assert await storage.find_trial(study.id, {"x": 2}, states=(FAILED,)) is None

        same = await storage.add_trial(
            study.id, {"x": 2}, state=COMPLETE, value=9.0, skip_if_exists=True
        )
        assert (same.number, same.value) == (2, 2.0)
        assert len(await storage.trials(study.id)) == 4


@pytest.mark.anyio
async def test_the_keys_are_filled_after_the_migration_a_chunk_per_transaction(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Computing every key inside the migration kept the trials table locked for 7 s
    # per 100,000 trials: every other process's write waited.
    schema = version_1_store(pg_url)
    one = old_study(pg_url, schema, "one")
    for x in range(5):
        old_add(pg_url, schema, one, {"x": x}, COMPLETE, value=float(x))
    monkeypatch.setattr(_pgschema, "_BACKFILL_CHUNK", 2)
    migration = record(monkeypatch, _pgschema, "prepare_schema")
    fill = record(monkeypatch, _pgschema, "fill_params_keys")
    async with store(pg_url, schema):
        pass
    assert not any("UPDATE asynchyper_trials" in query for query in migration)
    assert [q.split()[0] for q in fill if q.split()[0] in {"BEGIN", "UPDATE", "COMMIT"}] == [
        *(["BEGIN", "UPDATE", "COMMIT"] * 3),
        "BEGIN",
        "COMMIT",
    ]
    assert all(stored == expected for _, _, stored, expected in stored_keys(pg_url, schema))


@pytest.mark.anyio
async def test_trials_left_without_a_key_get_one_when_the_store_is_opened(pg_url: str) -> None:
    schema = fresh_schema()
    n = 3_000  # enough that a scan of the table costs more than a look at the index
    async with store(pg_url, schema) as storage:
        source = await new_study(storage, "source")
        trials = [
            TrialRecord(
                study_id=source.id,
                number=i,
                state=COMPLETE,
                params={"x": i},
                value=float(i),
                created_at=1.0,
                finished_at=2.0,
            )
            for i in range(n)
        ]
        study = await storage.import_study(source, trials, name="big")
        old_add(pg_url, schema, study.id, {"x": -1}, COMPLETE, value=1.0)
    assert sum(key is None for _, _, key, _ in stored_keys(pg_url, schema)) == 1
    async with store(pg_url, schema):
        pass
    assert all(stored == expected for _, _, stored, expected in stored_keys(pg_url, schema))
    # With every key in, opening costs one query of the (empty) partial index.
    with pytest.MonkeyPatch.context() as patch:
        queries = record(patch, _pgschema, "fill_params_keys")
        async with store(pg_url, schema):
            pass
    assert len(queries) == 1
    plan = sql(pg_url, schema, f"EXPLAIN (FORMAT JSON) {queries[0]}")
    names = {node.get("Index Name") for node in plan_nodes(plan[0][0][0]["Plan"])}
    assert "asynchyper_trials_without_key" in names, plan


@pytest.mark.anyio
async def test_a_role_that_may_only_read_opens_a_store_with_trials_left_without_a_key(
    pg_url: str,
) -> None:
    # Keying them needs UPDATE: a reader (the default create=True) opens as before,
    # leaving them to a process that may write.
    import psycopg  # noqa: PLC0415 - the postgres extra is optional

    schema = fresh_schema()
    async with store(pg_url, schema) as storage:
        study = await new_study(storage)
        old_add(pg_url, schema, study.id, {"x": 1}, COMPLETE, value=1.0)
    reader = f"asynchyper_reader_{os.getpid()}"
    sql(pg_url, schema, f"CREATE ROLE {reader} LOGIN")
    try:
        sql(pg_url, schema, f"GRANT USAGE ON SCHEMA {schema} TO {reader}")
        sql(pg_url, schema, f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {reader}")
        url = psycopg.conninfo.make_conninfo(pg_url, user=reader)
        async with PostgresStorage(url, schema=schema) as storage:
            found = await storage.find_trial(study.id, {"x": 1}, states=(COMPLETE,))
            assert found is not None
            assert found.number == 0
        assert [key is None for _, _, key, _ in stored_keys(pg_url, schema)] == [True]
    finally:
        sql(pg_url, schema, f"DROP OWNED BY {reader}")
        sql(pg_url, schema, f"DROP ROLE {reader}")
    async with store(pg_url, schema):
        pass
    assert all(stored == expected for _, _, stored, expected in stored_keys(pg_url, schema))


def test_only_refusals_and_conflicts_leave_keys_for_later() -> None:
    errors = pytest.importorskip("psycopg.errors", reason="the postgres extra is optional")
    from asynchyper._storage import _pgconnect  # noqa: PLC0415 - it imports psycopg

    for later in (
        errors.InsufficientPrivilege,
        errors.SerializationFailure,
        errors.DeadlockDetected,
        errors.LockNotAvailable,
    ):
        assert _pgconnect.leaves_keys_for_later(later("x"))
    assert not _pgconnect.leaves_keys_for_later(errors.UniqueViolation("x"))
    assert not _pgconnect.leaves_keys_for_later(ValueError("x"))


# -- find_trial ------------------------------------------------------------------------
@pytest.mark.anyio
async def test_find_trial_matches_exactly_and_the_lowest_number_wins(pg_url: str) -> None:
    async with store(pg_url) as storage:
        study = await new_study(storage)
        added: list[tuple[dict[str, JSONScalar], TrialState]] = [
            ({"x": 1, "y": "a"}, COMPLETE),  # 0
            ({"x": 1}, COMPLETE),  # 1: one parameter fewer
            ({"x": 1, "y": "a", "z": None}, COMPLETE),  # 2: one more
            ({"x": True, "y": "a"}, COMPLETE),  # 3: True is not 1
            ({"x": 1, "y": "a"}, FAILED),  # 4: another state
            ({"y": "a", "x": 1.0}, COMPLETE),  # 5: the same as 0
            ({"x": -0.0}, COMPLETE),  # 6
        ]
        for params, state in added:
            await storage.add_trial(
                study.id,
                params,
                state=state,
                value=1.0 if state is COMPLETE else None,
                error=None if state is COMPLETE else "oom",
            )

        async def number(params: dict[str, JSONScalar], state: TrialState) -> int | None:
            found = await storage.find_trial(study.id, params, states=(state,))
            if found is not None:
                assert found.state is state
                assert found.params == next(p for p, s in added[found.number :] if s is state)
            return None if found is None else found.number

        assert await number({"x": 1.0, "y": "a"}, COMPLETE) == 0
        assert await number({"y": "a", "x": 1}, COMPLETE) == 0
        assert await number({"x": 1}, COMPLETE) == 1
        assert await number({"x": 1.0}, COMPLETE) == 1
        assert await number({"x": 1, "y": "a", "z": None}, COMPLETE) == 2
        assert await number({"x": True, "y": "a"}, COMPLETE) == 3
        assert await number({"x": 1, "y": "a"}, FAILED) == 4
        assert await number({"x": 0}, COMPLETE) == 6
        assert await number({"x": 1, "y": "a"}, TrialState.CANCELLED) is None
        assert await number({"x": 2, "y": "a"}, COMPLETE) is None
        assert await number({"x": 1, "y": "b"}, COMPLETE) is None
        assert await number({"x": True}, COMPLETE) is None
        assert await number({}, COMPLETE) is None

        with pytest.raises(UnknownStudyError):
            await storage.find_trial(study.id + 1000, {"x": 1}, states=(COMPLETE,))
        with pytest.raises(StorageError, match="TrialState"):
            await storage.find_trial(study.id, {"x": 1}, states=("complete",))  # type: ignore[arg-type]
        other = await new_study(storage, "other")
        assert await storage.find_trial(other.id, {"x": 1}, states=(COMPLETE,)) is None


@pytest.mark.anyio
async def test_every_insert_stores_the_key(pg_url: str) -> None:
    schema = fresh_schema()
    async with store(pg_url, schema) as storage:
        study = await new_study(storage)
        running = await storage.start_trial(study.id, {"x": 1, "b": True}, owner=REMOTE_OWNER)
        assert running is not None
        await storage.enqueue_trial(study.id, {"x": 2.5})
        await storage.enqueue_trial(study.id, {"x": 3}, unless_holding={"x": 3})
        await storage.add_trial(study.id, {"s": "é"}, state=COMPLETE, value=0.5)
        await storage.add_trial(study.id, {"n": None}, state=FAILED, skip_if_exists=True)
        assert await storage.fail_stale(study.id, older_than=-1.0, requeue=True) == [0]
        trials = await storage.trials(study.id)
        assert len(trials) == 6  # the requeued copy of #0 is #5
        copy = await storage.import_study(study, trials, name="copy")

        keys = stored_keys(pg_url, schema)
        assert len(keys) == 12
        assert all(stored == expected for _, _, stored, expected in keys)
        expected: list[tuple[dict[str, JSONScalar], TrialState]] = [
            ({"b": True, "x": 1}, FAILED),
            ({"x": 1, "b": True}, TrialState.WAITING),
            ({"x": 2.5}, TrialState.WAITING),
            ({"x": 3.0}, TrialState.WAITING),
            ({"s": "é"}, COMPLETE),
            ({"n": None}, FAILED),
        ]
        for params, state in expected:
            for study_id in (study.id, copy.id):
                found = await storage.find_trial(study_id, params, states=(state,))
                assert found is not None, (study_id, params, state)


@pytest.mark.anyio
async def test_skip_if_exists_reads_only_the_trials_with_the_key(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The check inside the write transaction must not read the study's trials.
    queries = record(monkeypatch, _pgsql, "add_trial")
    async with store(pg_url) as storage:
        study = await new_study(storage)
        first = await storage.add_trial(
            study.id, {"x": 1}, state=COMPLETE, value=1.0, skip_if_exists=True
        )
        again = await storage.add_trial(
            study.id, {"x": 1}, state=COMPLETE, value=2.0, skip_if_exists=True
        )
    assert again == first
    reads = [q for q in queries if q.lstrip().startswith("SELECT")]
    assert len(reads) == 2
    assert all("params_key = %(key)s" in q for q in reads)


@pytest.mark.anyio
async def test_enqueue_unless_holding_a_whole_configuration_reads_only_its_key(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Reading every kept trial made enqueueing n new warm starts cost O(n^2).
    queries = record(monkeypatch, _pgsql, "enqueue_trial")
    async with store(pg_url) as storage:
        study = await new_study(storage)
        params: dict[str, JSONScalar] = {"x": 1, "kind": "a"}
        first = await storage.enqueue_trial(study.id, params, unless_holding=params)
        again = await storage.enqueue_trial(study.id, params, unless_holding=params)
        assert again == first
        reads = [q for q in queries if q.lstrip().startswith("SELECT")]
        assert len(reads) == 2
        assert all("params_key = %(key)s" in q for q in reads)
        queries.clear()
        part = await storage.enqueue_trial(study.id, params, unless_holding={"x": 1})
        assert part == first  # a part still reads the kept trials
        assert not any("params_key = %(key)s" in q for q in queries)


@pytest.mark.anyio
async def test_a_retried_add_finds_its_first_try(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each batch commits, then loses its connection before the reply: the retry must
    # find what the first try did (by its token, or through the key), adding nothing.
    original = _pgsql.run_batch
    drops: list[int] = []

    def run_batch(operations: Any, *, retried: bool) -> Step[None]:
        yield from original(operations, retried=retried)
        if not retried:
            drops.append(1)
            yield ("SELECT pg_terminate_backend(pg_backend_pid())", ())

    async with store(pg_url) as storage:
        study = await new_study(storage)
        monkeypatch.setattr(_pgsql, "run_batch", run_batch)
        first = await storage.add_trial(
            study.id, {"x": 1}, state=COMPLETE, value=1.0, skip_if_exists=True
        )
        again = await storage.add_trial(
            study.id, {"x": 1.0}, state=COMPLETE, value=2.0, skip_if_exists=True
        )
        other = await storage.add_trial(
            study.id, {"x": 2}, state=COMPLETE, value=3.0, skip_if_exists=True
        )
        assert len(drops) == 3
        monkeypatch.undo()
        assert (first.number, again, other.number) == (0, first, 1)
        assert [t.number for t in await storage.trials(study.id)] == [0, 1]


# -- the index -------------------------------------------------------------------------
def plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


@pytest.mark.anyio
async def test_the_lookup_uses_the_index(pg_url: str) -> None:
    schema = fresh_schema()
    n = 5_000
    async with store(pg_url, schema) as storage:
        source = await new_study(storage, "source")
        trials = [
            TrialRecord(
                study_id=source.id,
                number=i,
                state=COMPLETE,
                params={"i": i, "kind": "a" if i % 2 else "b"},
                value=float(i),
                created_at=1.0,
                finished_at=2.0,
            )
            for i in range(n)
        ]
        study = await storage.import_study(source, trials, name="big")
        params: dict[str, JSONScalar] = {"i": 1234, "kind": "b"}
        args = {"study_id": study.id, "states": [COMPLETE.value], "key": params_key(params)}
        # Without statistics (a table not analysed yet, or autovacuum off), the planner
        # took an OR of the two conditions, or the trials without a key, through
        # asynchyper_trials_by_state (every trial of the study in that state); and with.
        for analysed in (False, True):
            if analysed:
                sql(pg_url, schema, "ANALYZE asynchyper_trials")
            rows = sql(pg_url, schema, f"EXPLAIN (FORMAT JSON) {_pgsql._WITH_KEY}", args)
            nodes = list(plan_nodes(rows[0][0][0]["Plan"]))
            scans = [node for node in nodes if "Scan" in node["Node Type"]]
            assert len(scans) == 2, nodes
            names = {node.get("Index Name") for node in scans}
            expected = {"asynchyper_trials_by_params", "asynchyper_trials_without_key"}
            assert names == expected, (analysed, nodes)

        found = await storage.find_trial(study.id, params, states=(COMPLETE,))
        assert found is not None
        assert (found.number, found.value) == (1234, 1234.0)
        assert (
            await storage.find_trial(study.id, {"i": 1234, "kind": "a"}, states=(COMPLETE,)) is None
        )
        same = await storage.add_trial(
            study.id, {"kind": "a", "i": 4999}, state=COMPLETE, value=0.0, skip_if_exists=True
        )
        assert same.number == 4999
