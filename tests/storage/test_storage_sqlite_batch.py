"""One SQLite batch of queued writes: each write in its own savepoint (``_sql.run_batch``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from asynchyper._storage import _sql


def _table() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)  # transactions by hand
    conn.execute("CREATE TABLE t (x INTEGER)")
    return conn


def _insert(*values: int, fail: bool = False) -> Callable[[sqlite3.Connection], int]:
    def function(conn: sqlite3.Connection) -> int:
        for value in values:
            conn.execute("INSERT INTO t VALUES (?)", (value,))
        if fail:
            msg = f"after inserting {values}"
            raise ValueError(msg)
        return len(values)

    return function


def test_a_failing_write_of_a_batch_is_undone_alone() -> None:
    conn = _table()
    ops = [_sql.Operation(_insert(1)), _sql.Operation(_insert(2, 3, fail=True))]
    ops.append(_sql.Operation(_insert(4)))
    _sql.run_batch(conn, ops, busy_timeout=1.0)
    assert sorted(x for (x,) in conn.execute("SELECT x FROM t")) == [1, 4]
    assert [op.result for op in ops] == [1, None, 1]
    assert [type(op.error) for op in ops] == [type(None), ValueError, type(None)]


def test_writes_run_again_after_sqlite_undid_the_whole_batch_keep_no_stale_outcome() -> None:
    # An operation that makes SQLite roll back the whole transaction (a full disk may)
    # is the culprit; the others run again, and what they got the first time is gone.
    conn = _table()
    runs = 0

    def flaky_once(conn: sqlite3.Connection) -> int:
        nonlocal runs
        runs += 1
        conn.execute("INSERT INTO t VALUES (10)")
        if runs == 1:
            msg = "first run only"
            raise ValueError(msg)
        return 10

    def undoes_everything(conn: sqlite3.Connection) -> None:
        conn.execute("ROLLBACK")
        msg = "database or disk is full"
        raise sqlite3.OperationalError(msg)

    ops = [_sql.Operation(flaky_once), _sql.Operation(undoes_everything)]
    _sql.run_batch(conn, ops, busy_timeout=1.0)
    assert runs == 2
    assert (ops[0].result, ops[0].error) == (10, None)
    assert isinstance(ops[1].error, sqlite3.OperationalError)
    assert [x for (x,) in conn.execute("SELECT x FROM t")] == [10]
