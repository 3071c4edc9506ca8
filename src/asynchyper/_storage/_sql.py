"""Every SQL statement of the SQLite store, as plain synchronous functions.

This is the one code path for the SQL: each function takes a ``sqlite3.Connection``
and runs on the connection's worker thread, whichever adapter owns it (aiosqlite's
thread on asyncio, an anyio worker thread on trio). Write functions expect to run
inside the transaction that :func:`run_batch` opens; read functions run alone.
All SQL is parameterised; the only text formatted into statements is the
fixed counter-column names (``STATE_COLUMNS``).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any

import attrs

from .._records import StudyRecord, TrialRecord, TrialState
from .._types import JSONScalar, JSONValue
from ._common import (
    BUDGET,
    CLAIM_BUDGET,
    COUNT_COLUMNS,
    KEPT_STATES,
    STUDY_COLUMNS,
    TOTAL,
    TRIAL_COLUMNS,
    check_direction,
    check_existing,
    counter_moves,
    counts_from_row,
    dumps,
    first_holding,
    first_with_result,
    import_exists,
    import_study_row,
    is_stale,
    is_whole,
    live_cutoff,
    not_running,
    params_key,
    space_replaced_meanwhile,
    stale_error,
    study_exists,
    study_from_row,
    trial_from_row,
    unknown_study,
    unknown_study_id,
    unknown_trial,
)
from ._groupcommit import QueuedWrite
from ._schema import begin_immediate

__all__ = [
    "Operation",
    "best_trial",
    "claim_trial",
    "count_trials",
    "create_study",
    "delete_study",
    "enqueue_trial",
    "fail_stale",
    "finish_trial",
    "get_study",
    "get_trial",
    "study_name",
    "heartbeat",
    "import_study",
    "list_studies",
    "run_batch",
    "start_trial",
    "trials",
]


class Operation(QueuedWrite):
    """One queued write: the function to run inside the batch's transaction."""

    __slots__ = ("function",)

    def __init__(self, function: Callable[[sqlite3.Connection], Any]) -> None:
        super().__init__()
        self.function = function


def run_batch(
    conn: sqlite3.Connection, operations: Sequence[Operation], busy_timeout: float
) -> None:
    """Run queued writes in one transaction: one commit (one fsync) for all of them.

    Each operation runs inside its own savepoint, so one that raises is undone alone
    and the others still commit; its exception is kept for its caller. When SQLite
    rolls back the whole transaction (it may, on a full disk) or the commit fails,
    every operation of the batch gets that error.
    """
    remaining = list(operations)
    while remaining:
        culprit = _try_batch(conn, remaining, busy_timeout)
        if culprit is None:
            return
        # SQLite undid the whole transaction (it does on some SQLITE_FULL errors):
        # the culprit keeps its error, the others run again in a new transaction.
        remaining.remove(culprit)
        for operation in remaining:
            operation.result = operation.error = None


def _try_batch(
    conn: sqlite3.Connection, operations: Sequence[Operation], busy_timeout: float
) -> Operation | None:
    """One transaction over ``operations``; the operation whose failure made SQLite roll
    the whole transaction back, or ``None`` when the batch committed."""
    begin_immediate(conn, busy_timeout)
    try:
        for operation in operations:
            conn.execute("SAVEPOINT operation")
            try:
                operation.result = operation.function(conn)
            except Exception as exc:
                operation.error = exc
                if not conn.in_transaction:
                    return operation
                conn.execute("ROLLBACK TO operation")
            conn.execute("RELEASE operation")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return None


def _names(conn: sqlite3.Connection) -> list[str]:
    return [row[0] for row in conn.execute("SELECT name FROM studies ORDER BY id")]


def _counters(conn: sqlite3.Connection, where: str, study_id: int) -> Sequence[Any]:
    """``(last_seq, total trials, trials in the budget)`` of a study."""
    row = conn.execute(
        f"SELECT last_seq, {TOTAL}, {BUDGET} FROM studies WHERE id = ?", (study_id,)
    ).fetchone()
    if row is None:
        raise unknown_study_id(study_id, where)
    return row  # type: ignore[no-any-return] # sqlite3 rows are untyped


def _move(
    conn: sqlite3.Connection, study_id: int, leave: str | None, enter: str | None, seq: int
) -> None:
    """Record a change: set the study's last seq and move one trial between counters."""
    sets = ", ".join(["last_seq = ?", *counter_moves(leave, enter)])
    conn.execute(f"UPDATE studies SET {sets} WHERE id = ?", (seq, study_id))


# -- studies -----------------------------------------------------------------------
def create_study(
    conn: sqlite3.Connection,
    *,
    where: str,
    name: str,
    fingerprint: str,
    space: list[dict[str, JSONValue]],
    direction: str,
    user_attrs: dict[str, JSONValue],
    load_if_exists: bool,
) -> StudyRecord:
    """Insert a study, or return (after checking) the existing one of that name."""
    row = conn.execute(f"SELECT {STUDY_COLUMNS} FROM studies WHERE name = ?", (name,)).fetchone()
    if row is not None:
        record = check_existing(study_from_row(row), fingerprint, space, direction)
        if not load_if_exists:
            raise study_exists(name, where)
        return record
    now = time.time()
    cursor = conn.execute(
        "INSERT INTO studies (name, direction, fingerprint, space, user_attrs, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            name,
            direction,
            fingerprint,
            dumps(space, "space description"),
            dumps(user_attrs, "study user_attrs") if user_attrs else None,
            now,
        ),
    )
    study_id = cursor.lastrowid
    assert study_id is not None
    return StudyRecord(
        id=study_id,
        name=name,
        direction=check_direction(direction),
        fingerprint=fingerprint,
        space=space,
        created_at=now,
        user_attrs=user_attrs,
    )


def import_study(
    conn: sqlite3.Connection,
    *,
    where: str,
    study: StudyRecord,
    rows: Sequence[tuple[Any, ...]],
) -> StudyRecord:
    """Insert a study (from ``imported_study``) and its trials (rows of
    ``import_rows``) in one go."""
    name = study.name
    if conn.execute("SELECT 1 FROM studies WHERE name = ?", (name,)).fetchone() is not None:
        raise import_exists(name, where)
    study_row = import_study_row(study, rows)
    cursor = conn.execute(
        f"INSERT INTO studies ({', '.join(study_row)}) VALUES ({', '.join('?' * len(study_row))})",
        tuple(study_row.values()),
    )
    study_id = cursor.lastrowid
    assert study_id is not None
    places = ", ".join("?" * (2 + TRIAL_COLUMNS.count(",") + 1))  # study_id, key + the columns
    conn.executemany(
        f"INSERT INTO trials (study_id, params_key, {TRIAL_COLUMNS}) VALUES ({places})",
        # each row's params are its third column, as JSON text
        [(study_id, params_key(json.loads(trial[2])), *trial) for trial in rows],
    )
    return attrs.evolve(study, id=study_id)


def delete_study(conn: sqlite3.Connection, *, where: str, name: str) -> None:
    """Delete a study and its trials."""
    row = conn.execute("SELECT id FROM studies WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise unknown_study(name, _names(conn), where)
    conn.execute("DELETE FROM trials WHERE study_id = ?", (row[0],))
    conn.execute("DELETE FROM studies WHERE id = ?", (row[0],))


def get_study(conn: sqlite3.Connection, *, where: str, name: str) -> StudyRecord:
    """The study called ``name``."""
    row = conn.execute(f"SELECT {STUDY_COLUMNS} FROM studies WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise unknown_study(name, _names(conn), where)
    return study_from_row(row)


def replace_space(
    conn: sqlite3.Connection,
    *,
    where: str,
    name: str,
    fingerprint: str,
    space: list[dict[str, JSONValue]],
    expected_fingerprint: str,
) -> StudyRecord:
    """Store a new space for study ``name`` if its stored one is the expected one."""
    record = get_study(conn, where=where, name=name)
    if record.fingerprint == fingerprint:
        return record
    if record.fingerprint != expected_fingerprint:
        raise space_replaced_meanwhile(name, record.fingerprint, expected_fingerprint)
    conn.execute(
        "UPDATE studies SET fingerprint = ?, space = ? WHERE id = ?",
        (fingerprint, dumps(space, "space description"), record.id),
    )
    return get_study(conn, where=where, name=name)


def list_studies(conn: sqlite3.Connection) -> list[StudyRecord]:
    """All studies in creation order."""
    return [
        study_from_row(row)
        for row in conn.execute(f"SELECT {STUDY_COLUMNS} FROM studies ORDER BY id")
    ]


# -- trials ------------------------------------------------------------------------
def start_trial(
    conn: sqlite3.Connection,
    *,
    where: str,
    study_id: int,
    params: dict[str, JSONScalar],
    owner: str,
    max_trials: int | None,
) -> TrialRecord | None:
    """Insert a RUNNING trial with the next number, unless the budget is used up."""
    last_seq, number, used = _counters(conn, where, study_id)
    if max_trials is not None and used >= max_trials:
        return None
    seq = last_seq + 1
    now = time.time()
    conn.execute(
        "INSERT INTO trials (study_id, number, state, params, params_key, owner, created_at, "
        "started_at, heartbeat_at, seq) VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?)",
        (study_id, number, dumps(params, "params"), params_key(params), owner, now, now, now, seq),
    )
    _move(conn, study_id, None, "running", seq)
    return TrialRecord(
        study_id=study_id,
        number=number,
        state=TrialState.RUNNING,
        params=params,
        owner=owner,
        created_at=now,
        started_at=now,
        heartbeat_at=now,
        seq=seq,
    )


def _insert_waiting(
    conn: sqlite3.Connection,
    study_id: int,
    number: int,
    params: dict[str, JSONScalar],
    *,
    seq: int,
    now: float,
) -> None:
    conn.execute(
        "INSERT INTO trials (study_id, number, state, params, params_key, created_at, seq) "
        "VALUES (?, ?, 'waiting', ?, ?, ?, ?)",
        (study_id, number, dumps(params, "params"), params_key(params), now, seq),
    )
    _move(conn, study_id, None, "waiting", seq)


def enqueue_trial(
    conn: sqlite3.Connection,
    *,
    where: str,
    study_id: int,
    params: dict[str, JSONScalar],
    unless_holding: dict[str, JSONScalar] | None = None,
) -> TrialRecord:
    """Insert a WAITING trial with the next number; with ``unless_holding``, return
    the first kept trial holding those values instead, if there is one (this write's
    transaction holds the database's write lock: the check and the insert are atomic)."""
    last_seq, number, _ = _counters(conn, where, study_id)
    if unless_holding is not None:
        if is_whole(unless_holding, params):
            found = _with_params(conn, study_id, params, KEPT_STATES)
        else:
            found = first_holding(_trials_in(conn, study_id, KEPT_STATES), unless_holding)
        if found is not None:
            return found
    now = time.time()
    _insert_waiting(conn, study_id, number, params, seq=last_seq + 1, now=now)
    return TrialRecord(
        study_id=study_id,
        number=number,
        state=TrialState.WAITING,
        params=params,
        created_at=now,
        seq=last_seq + 1,
    )


def _trials_in(
    conn: sqlite3.Connection,
    study_id: int,
    states: Collection[TrialState] | None,
    changed_after: int | None = None,
) -> Iterator[TrialRecord]:
    """The study's trials (in ``states``; changed after ``changed_after``), by
    number, decoded as they are consumed."""
    sql = f"SELECT {TRIAL_COLUMNS} FROM trials WHERE study_id = ?"
    args: list[Any] = [study_id]
    if states is not None:
        if not states:
            return iter(())
        sql += f" AND state IN ({', '.join('?' * len(states))})"
        args.extend(state.value for state in states)
    if changed_after is not None:
        sql += " AND seq > ?"
        args.append(changed_after)
    sql += " ORDER BY number"
    return (trial_from_row(study_id, row) for row in conn.execute(sql, args))


def _with_params(
    conn: sqlite3.Connection,
    study_id: int,
    params: dict[str, JSONScalar],
    states: Collection[TrialState],
) -> TrialRecord | None:
    """The lowest-numbered trial in one of ``states`` with exactly ``params``, found
    through the ``params_key`` index (a key is a hint: each hit is checked)."""
    if not states:
        return None
    # A NULL key is a trial written by an older asynchyper that still had the file open
    # when a newer one migrated it: rare, and checked the slow way. The index named:
    # without statistics (no ANALYZE) the planner would as soon walk trials_by_state
    # (study and state) through every trial of the study in that state.
    names = [state.value for state in states]
    select = (
        f"SELECT {TRIAL_COLUMNS} FROM trials INDEXED BY trials_by_params "
        f"WHERE study_id = ? AND state IN ({', '.join('?' * len(names))}) AND params_key"
    )
    rows = conn.execute(
        f"{select} = ? UNION ALL {select} IS NULL",
        (study_id, *names, params_key(params), study_id, *names),
    ).fetchall()
    rows.sort(key=lambda row: row[0])  # the number: the first column
    return first_with_result((trial_from_row(study_id, row) for row in rows), params, states)


def find_trial(
    conn: sqlite3.Connection,
    *,
    where: str,
    study_id: int,
    params: dict[str, JSONScalar],
    states: Collection[TrialState],
) -> TrialRecord | None:
    """The lowest-numbered trial in one of ``states`` with exactly ``params``."""
    _counters(conn, where, study_id)
    return _with_params(conn, study_id, params, states)


def add_trial(
    conn: sqlite3.Connection,
    *,
    where: str,
    study_id: int,
    params: dict[str, JSONScalar],
    state: TrialState,
    value: float | None,
    error: str | None,
    user_attrs: dict[str, JSONValue],
    skip_if_exists: bool = False,
) -> TrialRecord:
    """Insert a trial that is already finished, with the next number; with
    ``skip_if_exists``, return the first trial in ``state`` with these parameters
    instead, if there is one (atomic, as in :func:`enqueue_trial`)."""
    last_seq, number, _ = _counters(conn, where, study_id)
    if skip_if_exists:
        found = _with_params(conn, study_id, params, (state,))
        if found is not None:
            return found
    seq = last_seq + 1
    now = time.time()
    conn.execute(
        "INSERT INTO trials (study_id, number, state, params, params_key, value, error, "
        "user_attrs, created_at, finished_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            study_id,
            number,
            state.value,
            dumps(params, "params"),
            params_key(params),
            value,
            error,
            dumps(user_attrs, "trial user_attrs") if user_attrs else None,
            now,
            now,
            seq,
        ),
    )
    _move(conn, study_id, None, state.value, seq)
    return TrialRecord(
        study_id=study_id,
        number=number,
        state=state,
        params=params,
        value=value,
        error=error,
        user_attrs=user_attrs,
        created_at=now,
        finished_at=now,
        seq=seq,
    )


def claim_trial(
    conn: sqlite3.Connection, *, where: str, study_id: int, owner: str, max_trials: int | None
) -> TrialRecord | None:
    """Move the lowest-numbered WAITING trial to RUNNING, unless the budget is used up."""
    last_seq, _, _ = _counters(conn, where, study_id)
    if max_trials is not None:
        (used,) = conn.execute(
            f"SELECT {CLAIM_BUDGET} FROM studies WHERE id = ?", (study_id,)
        ).fetchone()
        if used >= max_trials:
            return None
    row = conn.execute(
        f"SELECT {TRIAL_COLUMNS} FROM trials WHERE study_id = ? AND state = 'waiting' "
        "ORDER BY number LIMIT 1",
        (study_id,),
    ).fetchone()
    if row is None:
        return None
    seq = last_seq + 1
    now = time.time()
    conn.execute(
        "UPDATE trials SET state = 'running', owner = ?, started_at = ?, heartbeat_at = ?, "
        "seq = ? WHERE study_id = ? AND number = ?",
        (owner, now, now, seq, study_id, row[0]),
    )
    _move(conn, study_id, "waiting", "running", seq)
    return attrs.evolve(
        trial_from_row(study_id, row),
        state=TrialState.RUNNING,
        owner=owner,
        started_at=now,
        heartbeat_at=now,
        seq=seq,
    )


def finish_trial(
    conn: sqlite3.Connection,
    *,
    where: str,
    study_id: int,
    number: int,
    state: TrialState,
    value: float | None,
    error: str | None,
    user_attrs: dict[str, JSONValue],
) -> TrialRecord:
    """Move a RUNNING trial to a finished state."""
    row = conn.execute(
        f"SELECT {TRIAL_COLUMNS} FROM trials WHERE study_id = ? AND number = ?",
        (study_id, number),
    ).fetchone()
    last_seq, total, _ = _counters(conn, where, study_id)
    if row is None:
        raise unknown_trial(study_id, number, total)
    current = trial_from_row(study_id, row)
    if current.state is not TrialState.RUNNING:
        raise not_running(number, current.state)
    merged = {**current.user_attrs, **user_attrs}
    seq = last_seq + 1
    now = time.time()
    conn.execute(
        "UPDATE trials SET state = ?, value = ?, error = ?, user_attrs = ?, finished_at = ?, "
        "seq = ? WHERE study_id = ? AND number = ?",
        (
            state.value,
            value,
            error,
            dumps(merged, "trial user_attrs") if merged else None,
            now,
            seq,
            study_id,
            number,
        ),
    )
    _move(conn, study_id, "running", state.value, seq)
    return attrs.evolve(
        current,
        state=state,
        value=value,
        error=error,
        user_attrs=merged,
        finished_at=now,
        seq=seq,
    )


def heartbeat(conn: sqlite3.Connection, *, where: str, study_id: int, owner: str) -> None:
    """Refresh the heartbeat of the owner's RUNNING trials."""
    _counters(conn, where, study_id)
    conn.execute(
        "UPDATE trials SET heartbeat_at = ? WHERE study_id = ? AND state = 'running' AND owner = ?",
        (time.time(), study_id, owner),
    )


def fail_stale(
    conn: sqlite3.Connection, *, where: str, study_id: int, older_than: float, requeue: bool
) -> list[int]:
    """Fail (and maybe requeue) RUNNING trials whose owner is gone."""
    last_seq, total, _ = _counters(conn, where, study_id)
    now = time.time()
    cutoff = now - older_than
    stale = [
        (number, owner, params)
        for number, owner, heartbeat_at, params in conn.execute(
            "SELECT number, owner, heartbeat_at, params FROM trials "
            "WHERE study_id = ? AND state = 'running' ORDER BY number",
            (study_id,),
        ).fetchall()
        if is_stale(owner, heartbeat_at, cutoff, live_cutoff(now, older_than))
    ]
    for number, owner, _ in stale:
        last_seq += 1
        conn.execute(
            # It finished when it was last known alive, not now (hours later, maybe).
            "UPDATE trials SET state = 'failed', error = ?, "
            "finished_at = COALESCE(heartbeat_at, started_at, ?), seq = ? "
            "WHERE study_id = ? AND number = ?",
            (stale_error(owner), now, last_seq, study_id, number),
        )
        _move(conn, study_id, "running", "failed", last_seq)
    if requeue:
        for _, _, params in stale:
            last_seq += 1
            _insert_waiting(conn, study_id, total, json.loads(params), seq=last_seq, now=now)
            total += 1
    return [number for number, _, _ in stale]


def study_name(conn: sqlite3.Connection, *, study_id: int) -> str:
    """A study's name from its id (for messages; the id itself if it is gone)."""
    row = conn.execute("SELECT name FROM studies WHERE id = ?", (study_id,)).fetchone()
    return str(row[0]) if row is not None else f"#{study_id}"


def get_trial(conn: sqlite3.Connection, *, where: str, study_id: int, number: int) -> TrialRecord:
    """One trial by number."""
    _, total, _ = _counters(conn, where, study_id)
    row = conn.execute(
        f"SELECT {TRIAL_COLUMNS} FROM trials WHERE study_id = ? AND number = ?",
        (study_id, number),
    ).fetchone()
    if row is None:
        raise unknown_trial(study_id, number, total)
    return trial_from_row(study_id, row)


def trials(
    conn: sqlite3.Connection,
    *,
    where: str,
    study_id: int,
    states: Collection[TrialState] | None,
    changed_after: int | None,
) -> list[TrialRecord]:
    """A study's trials ordered by number, in one query."""
    _counters(conn, where, study_id)
    return list(_trials_in(conn, study_id, states, changed_after))


def best_trial(
    conn: sqlite3.Connection, *, where: str, study_id: int, direction: str
) -> TrialRecord | None:
    """The best COMPLETE trial (lowest number among ties), in one query."""
    _counters(conn, where, study_id)
    order = "DESC" if direction == "maximize" else "ASC"  # one of two fixed words
    row = conn.execute(
        f"SELECT {TRIAL_COLUMNS} FROM trials WHERE study_id = ? AND state = 'complete' "
        f"ORDER BY value {order}, number LIMIT 1",
        (study_id,),
    ).fetchone()
    return None if row is None else trial_from_row(study_id, row)


def count_trials(conn: sqlite3.Connection, *, where: str, study_id: int) -> dict[TrialState, int]:
    """Trials per state, from the study's counters."""
    row = conn.execute(f"SELECT {COUNT_COLUMNS} FROM studies WHERE id = ?", (study_id,)).fetchone()
    if row is None:
        raise unknown_study_id(study_id, where)
    return counts_from_row(row)
