"""One SQLite batch of queued writes: each write in its own savepoint (``_sql.run_batch``),
after ``BEGIN IMMEDIATE`` has waited for another connection's write lock."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from asynchyper._storage import _sql
from asynchyper._storage._schema import begin_immediate


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


def _held(path: str) -> sqlite3.Connection:
    """Another connection holding the write lock of ``path`` (until it rolls back)."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("PRAGMA journal_mode = WAL")
    holder.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_a_held_lock_is_waited_for_busy_timeout_once(tmp_path: Path) -> None:
    # Configured as the stores configure it: SQLite's own busy timeout is busy_timeout
    # too. Before, the first BEGIN IMMEDIATE waited in SQLite's busy handler for the
    # whole busy_timeout, then the polling as long again (2.0 s here).
    path = str(tmp_path / "locked.db")
    holder = _held(path)
    conn = sqlite3.connect(path, timeout=1.0, isolation_level=None)
    start = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        begin_immediate(conn, 1.0)
    waited = time.monotonic() - start
    assert 1.0 <= waited < 1.8
    assert conn.execute("PRAGMA busy_timeout").fetchone() == (1000,)  # restored
    holder.rollback()
    begin_immediate(conn, 1.0)  # free now: taken at once
    conn.execute("ROLLBACK")


def test_a_lock_released_during_the_wait_is_taken_soon_after(tmp_path: Path) -> None:
    path = str(tmp_path / "locked.db")
    holder = _held(path)
    conn = sqlite3.connect(path, timeout=5.0, isolation_level=None)
    released: list[float] = []

    def release_later() -> None:
        time.sleep(0.3)
        released.append(time.monotonic())
        holder.rollback()

    thread = threading.Thread(target=release_later)
    thread.start()
    try:
        begin_immediate(conn, 5.0)
        taken = time.monotonic()
    finally:
        thread.join()
    conn.execute("ROLLBACK")
    # Polled every few milliseconds: far sooner than the 5 s timeout (a loaded machine
    # may delay the waiting thread, hence the wide margin).
    assert taken - released[0] < 1.0
