"""Every SQL statement of the PostgreSQL store, as sans-IO steps.

This is the one code path for the SQL: each function is a generator that yields
``(sql, params)`` and receives the rows, so the same logic runs on psycopg's
``AsyncConnection`` (asyncio) and on its sync ``Connection`` in a worker thread
(trio); see ``_pgconnect.py`` for the two thin adapters.

Concurrency: the study row is the lock. :func:`run_batch` opens a transaction and
first locks (``SELECT ... FOR UPDATE``, in id order) the row of every study its
writes touch; every write to a study's trials happens while holding that lock, so
numbers, budget counters and ``seq`` values are handed out one transaction at a
time across all processes and machines, and ``seq`` order equals commit order (a
reader that saw seq ``n`` never misses a later commit with a lower seq). Under READ
COMMITTED each statement after the lock sees everything committed before it, so a
write may read, decide in Python, then write. A write validates before it writes:
when it raises (unknown trial, not RUNNING), it has changed nothing, and the other
writes of the batch still commit.

Idempotency: every write carries a random request token, stored with the row it
creates or changes (``create_request``, ``claim_request``, ``finish_request``). When
a connection drops, the caller cannot know whether its COMMIT happened; the batch is
run again with ``retried=True`` and each write first looks for its token, returning
what the first attempt did instead of doing it twice.

All SQL is parameterised; the only text formatted into statements is the fixed
counter-column names and the two sort orders.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Sequence
from typing import Any, TypeVar

import attrs

from .._errors import AsynchyperError, StorageError
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
from ._pgtypes import Burst, Rows, Step

T = TypeVar("T")

__all__ = [
    "Operation",
    "best_trial",
    "claim_trial",
    "count_trials",
    "create_study",
    "delete_study",
    "enqueue_trial",
    "fail_stale",
    "find_trial",
    "finish_trial",
    "get_study",
    "get_trial",
    "heartbeat",
    "import_study",
    "list_studies",
    "run_batch",
    "start_trial",
    "study_name",
    "trials",
]

_NOW = "extract(epoch FROM clock_timestamp())::float8"  # the server's clock, for every host


class Operation(QueuedWrite):
    """One queued write: how to build its step."""

    __slots__ = ("deadline", "make", "retried", "simple", "study_id", "token")

    def __init__(
        self,
        make: Callable[[bool], Step[Any]],
        *,
        study_id: int | None,
        token: str,
        simple: bool = True,
        retried: bool = False,
        deadline: float = math.inf,
    ) -> None:
        super().__init__()
        #: Builds the write's step; the argument says whether this is a retry.
        self.make = make
        #: The study whose row the batch must lock first (``None``: by name).
        self.study_id = study_id
        #: Whether the step (when not retried) writes only with its first query and
        #: then at most reads: such writes are pipelined together.
        self.simple = simple
        self.token = token
        #: Whether an earlier attempt lost its connection: it may have committed, so
        #: the write looks for its request token first.
        self.retried = retried
        #: The caller's deadline (``anyio.current_effective_deadline()``), if any.
        self.deadline = deadline

    def again(self) -> Operation:
        """The same write, queued anew after its attempt lost the connection."""
        return Operation(
            self.make,
            study_id=self.study_id,
            token=self.token,
            simple=self.simple,
            retried=True,
            deadline=self.deadline,
        )


def run_batch(operations: Sequence[Operation], *, retried: bool) -> Step[None]:
    """Run queued writes in one transaction: one commit for all of them.

    Locks the rows of the studies involved (in id order: two batches never wait on
    each other in a cycle), then runs each write. Runs of *simple* writes are sent
    as one burst (one round trip), together with ``BEGIN`` and the lock; their
    follow-up reads, if any, come after. A write that raises one of our own errors
    wrote nothing; its error is kept for its caller and the others go on. A database
    error ends the whole step; the caller rolls back and decides.

    ``retried`` says whether any write of the batch is a retry after a lost
    connection; each write's own ``retried`` says which (a batch may carry new
    writes with the retried ones). A retried write runs alone, looking for its
    request token first.
    """
    pending: Burst = [("BEGIN", ())]
    study_ids = sorted({op.study_id for op in operations if op.study_id is not None})
    if study_ids:
        pending.append(
            (
                "SELECT id FROM asynchyper_studies WHERE id = ANY(%s::bigint[]) ORDER BY id "
                "FOR UPDATE",
                (study_ids,),
            )
        )
    index = 0
    while index < len(operations):
        group = [operations[index]]
        again = retried and group[0].retried
        if not again:
            while index + len(group) < len(operations) and group[-1].simple:
                following = operations[index + len(group)]
                if not following.simple or (retried and following.retried):
                    break
                group.append(following)
        index += len(group)
        for operation in group:
            operation.result = operation.error = None
        if again or not group[0].simple:
            if pending:
                yield pending
                pending = []
            try:
                group[0].result = yield from group[0].make(again)
            except AsynchyperError as exc:
                group[0].error = exc
            continue
        started: list[tuple[Operation, Step[Any]]] = []
        firsts: Burst = []
        for operation in group:
            step = operation.make(False)
            try:
                first = next(step)
            except StopIteration as stop:
                operation.result = stop.value
                continue
            except AsynchyperError as exc:
                operation.error = exc
                continue
            assert not isinstance(first, list)  # a simple step starts with one query
            firsts.append(first)
            started.append((operation, step))
        answers = yield [*pending, *firsts]
        answers = answers[len(pending) :]
        pending = []
        for (operation, step), rows in zip(started, answers, strict=True):
            try:
                operation.result = yield from _resume(step, rows)
            except AsynchyperError as exc:
                operation.error = exc
    if pending:
        yield pending
    yield ("COMMIT", ())


def _resume(step: Step[T], rows: Rows) -> Step[T]:
    """Continue a step that already yielded its first query, whose rows are ``rows``."""
    answer: Any = rows
    while True:
        try:
            query = step.send(answer)
        except StopIteration as stop:
            result: T = stop.value
            return result
        answer = yield query


def _names() -> Step[list[str]]:
    rows = yield ("SELECT name FROM asynchyper_studies ORDER BY id", ())
    return [row[0] for row in rows]


def _counters(where: str, study_id: int) -> Step[tuple[int, int]]:
    """``(last_seq, total trials)`` of a study; raise when it does not exist."""
    rows = yield (f"SELECT last_seq, {TOTAL} FROM asynchyper_studies WHERE id = %s", (study_id,))
    if not rows:
        raise unknown_study_id(study_id, where)
    return rows[0][0], rows[0][1]


def _exists(where: str, study_id: int) -> Step[None]:
    rows = yield ("SELECT 1 FROM asynchyper_studies WHERE id = %s", (study_id,))
    if not rows:
        raise unknown_study_id(study_id, where)


def _move_sql(leave: str | None, enter: str | None) -> str:
    """SET clause moving one trial between counters and handing out the next seq."""
    return ", ".join(["last_seq = last_seq + 1", *counter_moves(leave, enter)])


def _find(study_id: int, column: str, token: str) -> Step[TrialRecord | None]:
    """The trial a retried write's first attempt made (by its request token)."""
    rows = yield (
        f"SELECT {TRIAL_COLUMNS} FROM asynchyper_trials WHERE study_id = %s AND {column} = %s",
        (study_id, token),
    )
    return trial_from_row(study_id, rows[0]) if rows else None


# -- studies -----------------------------------------------------------------------
def create_study(
    retried: bool,
    *,
    where: str,
    name: str,
    fingerprint: str,
    space: list[dict[str, JSONValue]],
    space_json: str,
    direction: str,
    user_attrs: dict[str, JSONValue],
    user_attrs_json: str | None,
    load_if_exists: bool,
    token: str,
) -> Step[StudyRecord]:
    """Insert a study, or return (after checking) the existing one of that name."""
    del retried  # the token below recognises a first attempt that committed
    rows = yield (
        "INSERT INTO asynchyper_studies (name, direction, fingerprint, space, user_attrs, "
        f"created_at, create_request) VALUES (%s, %s, %s, %s, %s, {_NOW}, %s) "
        "ON CONFLICT (name) DO NOTHING RETURNING id, created_at",
        (name, direction, fingerprint, space_json, user_attrs_json, token),
    )
    if rows:
        return StudyRecord(
            id=rows[0][0],
            name=name,
            direction=check_direction(direction),
            fingerprint=fingerprint,
            space=space,
            created_at=rows[0][1],
            user_attrs=user_attrs,
        )
    rows = yield (
        f"SELECT {STUDY_COLUMNS}, create_request FROM asynchyper_studies WHERE name = %s",
        (name,),
    )
    if not rows:  # deleted between the two statements: rare enough to ask for a retry
        msg = f"study {name!r} in {where} was deleted while it was being created; try again"
        raise StorageError(msg)
    record = check_existing(study_from_row(rows[0]), fingerprint, space, direction)
    if not load_if_exists and rows[0][-1] != token:
        raise study_exists(name, where)
    return record


#: Trials per INSERT statement of ``import_study``: every round trip must be answered
#: within ``operation_timeout``, so a statement's size may not grow with the study.
IMPORT_CHUNK = 5_000

#: Array types of the columns of an imported trial row (``TRIAL_COLUMNS``' order),
#: then of its ``params_key``.
_IMPORT_TYPES = (
    "bigint", "text", "text", "float8", "text", "text", "text",
    "float8", "float8", "float8", "float8", "bigint", "bytea",
)  # fmt: skip


def import_study(
    retried: bool,
    *,
    where: str,
    study: StudyRecord,
    rows: Sequence[tuple[Any, ...]],
    token: str,
) -> Step[StudyRecord]:
    """Insert a study (from ``imported_study``) and its trials (rows of
    ``import_rows``) in one transaction.

    Each trial's ``params_key`` is computed here from the row's JSON parameters (as the
    schema migration does), so the rows stay those that ``import_rows`` makes.
    """
    name = study.name
    if retried:  # the first attempt may have committed: it left its token
        found = yield (
            f"SELECT {STUDY_COLUMNS} FROM asynchyper_studies "
            "WHERE name = %s AND create_request = %s",
            (name, token),
        )
        if found:
            return study_from_row(found[0])
    row = {**import_study_row(study, rows), "create_request": token}
    inserted = yield (
        f"INSERT INTO asynchyper_studies ({', '.join(row)}) "
        f"VALUES ({', '.join(['%s'] * len(row))}) ON CONFLICT (name) DO NOTHING RETURNING id",
        tuple(row.values()),
    )
    if not inserted:
        raise import_exists(name, where)
    study_id = inserted[0][0]
    arrays = ", ".join(f"%s::{kind}[]" for kind in _IMPORT_TYPES)
    for start in range(0, len(rows), IMPORT_CHUNK):
        # one round trip per chunk, each answered well within operation_timeout
        # however many trials the study has (one transaction still holds them all)
        chunk = rows[start : start + IMPORT_CHUNK]
        keys = [params_key(json.loads(row[2])) for row in chunk]
        yield (
            f"INSERT INTO asynchyper_trials (study_id, {TRIAL_COLUMNS}, params_key) "
            f"SELECT %s, * FROM unnest({arrays})",
            (study_id, *(list(column) for column in zip(*chunk, strict=True)), keys),
        )
    return attrs.evolve(study, id=study_id)


def delete_study(retried: bool, *, where: str, name: str) -> Step[None]:
    """Delete a study; its trials go with it (ON DELETE CASCADE)."""
    rows = yield ("DELETE FROM asynchyper_studies WHERE name = %s RETURNING id", (name,))
    if not rows and not retried:  # a retry finding nothing: the first attempt deleted it
        raise unknown_study(name, (yield from _names()), where)


def get_study(*, where: str, name: str) -> Step[StudyRecord]:
    """The study called ``name``."""
    rows = yield (f"SELECT {STUDY_COLUMNS} FROM asynchyper_studies WHERE name = %s", (name,))
    if not rows:
        raise unknown_study(name, (yield from _names()), where)
    return study_from_row(rows[0])


def replace_space(
    *, where: str, name: str, fingerprint: str, space_json: str, expected_fingerprint: str
) -> Step[StudyRecord]:
    """Store a new space for study ``name`` if its stored one is the expected one (a
    retry finds the new one stored and returns it)."""
    record = yield from get_study(where=where, name=name)
    if record.fingerprint == fingerprint:
        return record
    if record.fingerprint != expected_fingerprint:
        raise space_replaced_meanwhile(name, record.fingerprint, expected_fingerprint)
    # The fingerprint in the WHERE makes it a compare-and-set: under READ COMMITTED a
    # concurrent replace that committed first makes this UPDATE match no row (the plain
    # read above takes no lock, so both would otherwise pass the check and the last
    # write would win).
    rows = yield (
        "UPDATE asynchyper_studies SET fingerprint = %s, space = %s"
        " WHERE id = %s AND fingerprint = %s"
        f" RETURNING {STUDY_COLUMNS}",
        (fingerprint, space_json, record.id, expected_fingerprint),
    )
    if not rows:
        record = yield from get_study(where=where, name=name)
        if record.fingerprint == fingerprint:
            return record
        raise space_replaced_meanwhile(name, record.fingerprint, expected_fingerprint)
    return study_from_row(rows[0])


def list_studies() -> Step[list[StudyRecord]]:
    """All studies in creation order."""
    rows = yield (f"SELECT {STUDY_COLUMNS} FROM asynchyper_studies ORDER BY id", ())
    return [study_from_row(row) for row in rows]


# -- trials ------------------------------------------------------------------------
_START = (
    "WITH s AS ("
    f" UPDATE asynchyper_studies SET {_move_sql(None, 'running')}"
    " WHERE id = %(study_id)s"
    f" AND (%(max_trials)s::bigint IS NULL OR {BUDGET} < %(max_trials)s::bigint)"
    f" RETURNING last_seq, {TOTAL} - 1 AS number, {_NOW} AS now)"
    " INSERT INTO asynchyper_trials (study_id, number, state, params, params_key, owner,"
    " created_at, started_at, heartbeat_at, seq, create_request)"
    " SELECT %(study_id)s, s.number, 'running', %(params)s, %(key)s, %(owner)s, s.now, s.now,"
    " s.now, s.last_seq, %(token)s FROM s"
    f" RETURNING {TRIAL_COLUMNS}"
)


def start_trial(
    retried: bool,
    *,
    where: str,
    study_id: int,
    params_json: str,
    key: bytes,
    owner: str,
    max_trials: int | None,
    token: str,
) -> Step[TrialRecord | None]:
    """Insert a RUNNING trial with the next number, unless the budget is used up.

    One statement: the study-row update checks the budget and hands out the number.
    ``key`` is the ``params_key`` of the parameters.
    """
    if retried:
        first = yield from _find(study_id, "create_request", token)
        if first is not None:
            return first
    rows = yield (
        _START,
        {
            "study_id": study_id,
            "max_trials": max_trials,
            "params": params_json,
            "key": key,
            "owner": owner,
            "token": token,
        },
    )
    if rows:
        return trial_from_row(study_id, rows[0])
    yield from _exists(where, study_id)
    return None


_ENQUEUE = (
    "WITH s AS ("
    f" UPDATE asynchyper_studies SET {_move_sql(None, 'waiting')} WHERE id = %(study_id)s"
    f" RETURNING last_seq, {TOTAL} - 1 AS number, {_NOW} AS now)"
    " INSERT INTO asynchyper_trials (study_id, number, state, params, params_key, created_at,"
    " seq, create_request)"
    " SELECT %(study_id)s, s.number, 'waiting', %(params)s, %(key)s, s.now, s.last_seq,"
    " %(token)s FROM s"
    f" RETURNING {TRIAL_COLUMNS}"
)


def _add_sql(state: TrialState) -> str:
    return (
        "WITH s AS ("
        f" UPDATE asynchyper_studies SET {_move_sql(None, state.value)} WHERE id = %(study_id)s"
        f" RETURNING last_seq, {TOTAL} - 1 AS number, {_NOW} AS now)"
        " INSERT INTO asynchyper_trials (study_id, number, state, params, params_key, value,"
        " error, user_attrs, created_at, finished_at, seq, create_request)"
        f" SELECT %(study_id)s, s.number, '{state.value}', %(params)s, %(key)s, %(value)s,"
        " %(error)s, %(user_attrs)s, s.now, s.now, s.last_seq, %(token)s FROM s"
        f" RETURNING {TRIAL_COLUMNS}"
    )


#: The study's trials in some states, by number (for the checks before an insert).
_IN_STATES = (
    f"SELECT {TRIAL_COLUMNS} FROM asynchyper_trials WHERE study_id = %(study_id)s"
    " AND state = ANY(%(states)s::text[]) ORDER BY number"
)

#: The study's trials in some states that may have exactly some parameters: those with
#: their ``params_key`` (found through ``asynchyper_trials_by_params``), and those
#: without a key (through ``asynchyper_trials_without_key``). A NULL key is a trial
#: inserted by an older asynchyper process that still had the tables open when a newer
#: one migrated them to version 2 (its INSERTs do not name the column): rare, and each
#: one is checked in Python. Two searches, not an OR, and no ORDER BY (the rows are
#: sorted in Python): without statistics (a table not analysed yet, autovacuum off) the
#: planner took the OR, or the order, through ``asynchyper_trials_by_state``, every
#: trial of the study in those states.
_WITH_KEY = " UNION ALL ".join(
    f"SELECT {TRIAL_COLUMNS} FROM asynchyper_trials WHERE study_id = %(study_id)s"
    f" AND state = ANY(%(states)s::text[]) AND params_key {test}"
    for test in ("= %(key)s", "IS NULL")
)


def _with_params(
    study_id: int, params: dict[str, JSONScalar], key: bytes, states: Collection[TrialState]
) -> Step[tuple[TrialRecord | None, bool]]:
    """The lowest-numbered trial in one of ``states`` with exactly ``params`` (whose
    ``params_key`` is ``key``), and whether the query found any row at all.

    A key is a hint (two configurations may share one): each hit is checked in
    Python, as the other stores do, by :func:`first_with_result`.
    """
    names = sorted(state.value for state in states)
    rows = yield (_WITH_KEY, {"study_id": study_id, "states": names, "key": key})
    rows = sorted(rows, key=lambda row: row[0])  # by number, the first column
    trials = (trial_from_row(study_id, row) for row in rows)
    return first_with_result(trials, params, states), bool(rows)


def enqueue_trial(
    retried: bool,
    *,
    where: str,
    study_id: int,
    params_json: str,
    key: bytes,
    token: str,
    given: dict[str, JSONScalar] | None = None,
    whole: bool = False,
) -> Step[TrialRecord]:
    """Insert a WAITING trial with the next number (``key``: the ``params_key`` of its
    parameters); with ``given``, return the first kept trial holding those values
    instead, if there is one (the batch holds the study's row lock: the check and the
    insert are atomic). ``whole``: ``given`` is all of the parameters (see
    :func:`is_whole`), looked up through the ``params_key`` index."""
    if retried:
        first = yield from _find(study_id, "create_request", token)
        if first is not None:
            return first
    if given is not None and whole:
        found, _ = yield from _with_params(study_id, given, key, KEPT_STATES)
        if found is not None:
            return found
    elif given is not None:
        # compared in Python, as the other stores do: jsonb refuses \u0000 in any row
        # and its equality differs from Python's
        kept = [state.value for state in KEPT_STATES]
        rows = yield (_IN_STATES, {"study_id": study_id, "states": kept})
        found = first_holding((trial_from_row(study_id, row) for row in rows), given)
        if found is not None:
            return found
    args = {"study_id": study_id, "params": params_json, "key": key, "token": token}
    rows = yield (_ENQUEUE, args)
    if not rows:
        raise unknown_study_id(study_id, where)
    return trial_from_row(study_id, rows[0])


def add_trial(
    retried: bool,
    *,
    where: str,
    study_id: int,
    params_json: str,
    key: bytes,
    state: TrialState,
    value: float | None,
    error: str | None,
    user_attrs: dict[str, JSONValue],
    token: str,
    existing: dict[str, JSONScalar] | None = None,
) -> Step[TrialRecord]:
    """Insert a trial that is already finished, with the next number, in one statement
    (``key``: the ``params_key`` of its parameters); with ``existing`` (the same
    parameters), return the first trial in ``state`` with those parameters instead, if
    there is one, found through the ``params_key`` index (atomic, as in
    :func:`enqueue_trial`)."""
    if retried:
        first = yield from _find(study_id, "create_request", token)
        if first is not None:
            return first
    if existing is not None:
        found, _ = yield from _with_params(study_id, existing, key, (state,))
        if found is not None:
            return found
    args = {
        "study_id": study_id,
        "params": params_json,
        "key": key,
        "value": value,
        "error": error,
        "user_attrs": dumps(user_attrs, "trial user_attrs") if user_attrs else None,
        "token": token,
    }
    rows = yield (_ADD[state], args)
    if not rows:
        raise unknown_study_id(study_id, where)
    return trial_from_row(study_id, rows[0])


_CLAIM = (
    "WITH w AS (SELECT number FROM asynchyper_trials"
    " WHERE study_id = %(study_id)s AND state = 'waiting' ORDER BY number LIMIT 1),"
    " s AS ("
    f" UPDATE asynchyper_studies SET {_move_sql('waiting', 'running')}"
    " WHERE id = %(study_id)s AND EXISTS (SELECT 1 FROM w)"
    f" AND (%(max_trials)s::bigint IS NULL OR {CLAIM_BUDGET} < %(max_trials)s::bigint)"
    f" RETURNING last_seq, {_NOW} AS now)"
    " UPDATE asynchyper_trials t SET state = 'running', owner = %(owner)s,"
    " started_at = s.now, heartbeat_at = s.now, seq = s.last_seq, claim_request = %(token)s"
    " FROM s, w WHERE t.study_id = %(study_id)s AND t.number = w.number"
    f" RETURNING {', '.join('t.' + column for column in TRIAL_COLUMNS.split(', '))}"
)


def claim_trial(
    retried: bool, *, where: str, study_id: int, owner: str, max_trials: int | None, token: str
) -> Step[TrialRecord | None]:
    """Move the lowest-numbered WAITING trial to RUNNING, in one statement.

    The study-row update checks the budget (COMPLETE + RUNNING < ``max_trials``).
    """
    if retried:
        first = yield from _find(study_id, "claim_request", token)
        if first is not None:
            return first
    rows = yield (
        _CLAIM,
        {"study_id": study_id, "owner": owner, "max_trials": max_trials, "token": token},
    )
    if rows:
        return trial_from_row(study_id, rows[0])
    yield from _exists(where, study_id)
    return None


def _finish_sql(state: TrialState) -> str:
    """Finish a trial in one statement, if it is RUNNING and has no user_attrs yet.

    Returns the trial as it was, plus ``finished_at`` and ``seq`` when it changed
    (NULL otherwise: not RUNNING, or attributes to merge in Python).
    """
    return (
        f"WITH cur AS (SELECT {TRIAL_COLUMNS}, finish_request FROM asynchyper_trials"
        " WHERE study_id = %(study_id)s AND number = %(number)s),"
        " s AS ("
        f" UPDATE asynchyper_studies SET {_move_sql('running', state.value)}"
        " WHERE id = %(study_id)s AND EXISTS"
        " (SELECT 1 FROM cur WHERE state = 'running' AND user_attrs IS NULL)"
        f" RETURNING last_seq, {_NOW} AS now),"
        " t AS ("
        " UPDATE asynchyper_trials SET state = %(state)s, value = %(value)s,"
        " error = %(error)s, user_attrs = %(user_attrs)s, finished_at = s.now,"
        " seq = s.last_seq, finish_request = %(token)s"
        " FROM s WHERE study_id = %(study_id)s AND number = %(number)s"
        " RETURNING asynchyper_trials.finished_at, asynchyper_trials.seq)"
        " SELECT cur.*, t.finished_at, t.seq FROM cur LEFT JOIN t ON true"
    )


def _merge_sql(state: TrialState) -> str:
    """Finish a RUNNING trial whose user_attrs were merged in Python."""
    return (
        "WITH s AS ("
        f" UPDATE asynchyper_studies SET {_move_sql('running', state.value)}"
        f" WHERE id = %(study_id)s RETURNING last_seq, {_NOW} AS now)"
        " UPDATE asynchyper_trials t SET state = %(state)s, value = %(value)s,"
        " error = %(error)s, user_attrs = %(user_attrs)s, finished_at = s.now,"
        " seq = s.last_seq, finish_request = %(token)s"
        " FROM s WHERE t.study_id = %(study_id)s AND t.number = %(number)s"
        " RETURNING t.finished_at, t.seq"
    )


_FINISHED = [state for state in TrialState if state.is_finished]
_FINISH = {state: _finish_sql(state) for state in _FINISHED}
_ADD = {state: _add_sql(state) for state in _FINISHED}
_MERGE = {state: _merge_sql(state) for state in _FINISHED}


def finish_trial(
    retried: bool,
    *,
    where: str,
    study_id: int,
    number: int,
    state: TrialState,
    value: float | None,
    error: str | None,
    user_attrs: dict[str, JSONValue],
    token: str,
) -> Step[TrialRecord]:
    """Move a RUNNING trial to a finished state, in one statement in the usual case."""
    args = {
        "study_id": study_id,
        "number": number,
        "state": state.value,
        "value": value,
        "error": error,
        "user_attrs": dumps(user_attrs, "trial user_attrs") if user_attrs else None,
        "token": token,
    }
    if retried:  # the first attempt may have finished it: look before writing
        rows = yield (
            f"SELECT {TRIAL_COLUMNS}, finish_request FROM asynchyper_trials "
            "WHERE study_id = %s AND number = %s",
            (study_id, number),
        )
        if rows and rows[0][12] == token:
            return trial_from_row(study_id, rows[0])
    rows = yield (_FINISH[state], args)
    if not rows:
        _, total = yield from _counters(where, study_id)
        raise unknown_trial(study_id, number, total)
    current = trial_from_row(study_id, rows[0])
    finished_at, seq = rows[0][13], rows[0][14]
    merged = {**current.user_attrs, **user_attrs}
    if seq is None:
        if current.state is not TrialState.RUNNING:
            raise not_running(number, current.state)
        # It holds attributes already (e.g. given when it was queued): merge them here.
        args["user_attrs"] = dumps(merged, "trial user_attrs")
        ((finished_at, seq),) = yield (_MERGE[state], args)
    return attrs.evolve(
        current,
        state=state,
        value=value,
        error=error,
        user_attrs=merged,
        finished_at=finished_at,
        seq=seq,
    )


def heartbeat(retried: bool, *, where: str, study_id: int, owner: str) -> Step[None]:
    """Refresh the heartbeat of the owner's RUNNING trials (idempotent)."""
    del retried
    yield (
        f"UPDATE asynchyper_trials SET heartbeat_at = {_NOW} "
        "WHERE study_id = %s AND state = 'running' AND owner = %s",
        (study_id, owner),
    )
    yield from _exists(where, study_id)


def fail_stale(
    retried: bool, *, where: str, study_id: int, older_than: float, requeue: bool, token: str
) -> Step[list[int]]:
    """Fail (and maybe requeue) RUNNING trials whose owner is gone."""
    if retried:
        rows = yield (
            "SELECT number FROM asynchyper_trials WHERE study_id = %s AND finish_request = %s "
            "ORDER BY number",
            (study_id, token),
        )
        if rows:
            return [row[0] for row in rows]
    yield from _exists(where, study_id)
    rows = yield (
        f"SELECT number, owner, heartbeat_at, params, {_NOW} FROM asynchyper_trials "
        "WHERE study_id = %s AND state = 'running' ORDER BY number",
        (study_id,),
    )
    stale = [
        row
        for row in rows
        if is_stale(row[1], row[2], row[4] - older_than, live_cutoff(row[4], older_than))
    ]
    for number, owner, _, _, _ in stale:
        yield (
            "WITH s AS ("
            f" UPDATE asynchyper_studies SET {_move_sql('running', 'failed')}"
            f" WHERE id = %(study_id)s RETURNING last_seq, {_NOW} AS now)"
            " UPDATE asynchyper_trials t SET state = 'failed', error = %(error)s,"
            # It finished when it was last known alive, not now (hours later, maybe).
            " finished_at = COALESCE(t.heartbeat_at, t.started_at, s.now),"
            " seq = s.last_seq, finish_request = %(token)s"
            " FROM s WHERE t.study_id = %(study_id)s AND t.number = %(number)s",
            {"study_id": study_id, "number": number, "error": stale_error(owner), "token": token},
        )
    if requeue:
        for _, _, _, params_json, _ in stale:
            # the key from the parameters, not the row's: an older process may have
            # written the row without one
            key = params_key(json.loads(params_json))
            args = {"study_id": study_id, "params": params_json, "key": key, "token": token}
            yield (_ENQUEUE, args)
    return [row[0] for row in stale]


# -- reading -----------------------------------------------------------------------
def study_name(*, study_id: int) -> Step[str]:
    """A study's name from its id (for messages; the id itself if it is gone)."""
    rows = yield ("SELECT name FROM asynchyper_studies WHERE id = %s", (study_id,))
    return str(rows[0][0]) if rows else f"#{study_id}"


def get_trial(*, where: str, study_id: int, number: int) -> Step[TrialRecord]:
    """One trial by number."""
    rows = yield (
        f"SELECT {TRIAL_COLUMNS} FROM asynchyper_trials WHERE study_id = %s AND number = %s",
        (study_id, number),
    )
    if not rows:
        _, total = yield from _counters(where, study_id)
        raise unknown_trial(study_id, number, total)
    return trial_from_row(study_id, rows[0])


def trials(
    *,
    where: str,
    study_id: int,
    states: Collection[TrialState] | None,
    changed_after: int | None,
) -> Step[list[TrialRecord]]:
    """A study's trials ordered by number, in one query (plus a check when empty)."""
    if states is not None and not states:
        yield from _exists(where, study_id)
        return []
    sql = f"SELECT {TRIAL_COLUMNS} FROM asynchyper_trials WHERE study_id = %s"
    args: list[Any] = [study_id]
    if states is not None:
        sql += " AND state = ANY(%s::text[])"
        args.append([state.value for state in states])
    if changed_after is not None:
        sql += " AND seq > %s"
        args.append(changed_after)
    rows: Rows = yield (sql + " ORDER BY number", args)
    if not rows:
        yield from _exists(where, study_id)
    return [trial_from_row(study_id, row) for row in rows]


def find_trial(
    *,
    where: str,
    study_id: int,
    params: dict[str, JSONScalar],
    key: bytes,
    states: Collection[TrialState],
) -> Step[TrialRecord | None]:
    """The lowest-numbered trial in one of ``states`` with exactly ``params`` (whose
    ``params_key`` is ``key``), in one indexed query (plus a check when none is found)."""
    found, any_rows = yield from _with_params(study_id, params, key, states)
    if not any_rows:  # a row of the study means it exists: check only without one
        yield from _exists(where, study_id)
    return found


def best_trial(*, where: str, study_id: int, direction: str) -> Step[TrialRecord | None]:
    """The best COMPLETE trial (lowest number among ties), in one query."""
    order = "DESC" if direction == "maximize" else "ASC"  # one of two fixed words
    rows = yield (
        f"SELECT {TRIAL_COLUMNS} FROM asynchyper_trials WHERE study_id = %s "
        f"AND state = 'complete' ORDER BY value {order}, number LIMIT 1",
        (study_id,),
    )
    if not rows:
        yield from _exists(where, study_id)
        return None
    return trial_from_row(study_id, rows[0])


def count_trials(*, where: str, study_id: int) -> Step[dict[TrialState, int]]:
    """Trials per state, from the study's counters."""
    rows = yield (f"SELECT {COUNT_COLUMNS} FROM asynchyper_studies WHERE id = %s", (study_id,))
    if not rows:
        raise unknown_study_id(study_id, where)
    return counts_from_row(rows[0])
