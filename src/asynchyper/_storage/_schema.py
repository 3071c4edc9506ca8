"""The SQLite schema, its version and the steps that migrate older files to it.

The file says who wrote it in two header fields: ``PRAGMA application_id`` (always
:data:`APPLICATION_ID` for an asynchyper store) and ``PRAGMA user_version`` (the
schema version). A file with another application id, or with tables but no id, is
someone else's database and is never touched.
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import time
from collections.abc import Callable
from typing import TypeVar

from .._errors import StorageCorruptError, StorageVersionError
from ._common import params_key

__all__ = [
    "APPLICATION_ID",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "begin_immediate",
    "check_schema",
    "fill_params_keys",
    "prepare_schema",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: ``PRAGMA application_id`` of every asynchyper store: ASCII "AHYP".
APPLICATION_ID = 0x41485950

_V1 = """
CREATE TABLE studies (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    direction   TEXT    NOT NULL CHECK (direction IN ('minimize', 'maximize')),
    fingerprint TEXT    NOT NULL,
    space       TEXT    NOT NULL,           -- JSON: Space.describe()
    user_attrs  TEXT,                       -- JSON object, NULL when empty
    created_at  REAL    NOT NULL,
    last_seq    INTEGER NOT NULL DEFAULT 0, -- last change counter handed out
    -- trials per state: the budget check and count_trials need no scan
    n_waiting   INTEGER NOT NULL DEFAULT 0,
    n_running   INTEGER NOT NULL DEFAULT 0,
    n_complete  INTEGER NOT NULL DEFAULT 0,
    n_failed    INTEGER NOT NULL DEFAULT 0,
    n_cancelled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE trials (
    id           INTEGER PRIMARY KEY,
    study_id     INTEGER NOT NULL REFERENCES studies (id),
    number       INTEGER NOT NULL,
    state        TEXT    NOT NULL
        CHECK (state IN ('waiting', 'running', 'complete', 'failed', 'cancelled')),
    params       TEXT    NOT NULL,          -- JSON object of flat, branch-tagged params
    value        REAL,
    error        TEXT,
    user_attrs   TEXT,                      -- JSON object, NULL when empty
    owner        TEXT,                      -- host:pid:token of the running process
    created_at   REAL    NOT NULL,
    started_at   REAL,
    finished_at  REAL,
    heartbeat_at REAL,
    seq          INTEGER NOT NULL,
    UNIQUE (study_id, number)
);
CREATE INDEX trials_by_state ON trials (study_id, state, number);
CREATE INDEX trials_by_seq ON trials (study_id, seq);
"""


def _create_v1(conn: sqlite3.Connection) -> None:
    for statement in _V1.split(";"):
        if statement.strip():
            conn.execute(statement)


def _add_params_key(conn: sqlite3.Connection) -> None:
    """Version 2: each trial's ``params_key`` (see ``params_key``), indexed with its
    study and state, so that ``add_trial(skip_if_exists=True)`` and ``find_trial``
    look a configuration up instead of reading the study.

    The existing trials' keys are left NULL here (adding the column and the indexes
    takes a moment, whatever the size of the store) and filled in afterwards by
    :func:`fill_params_keys`, a chunk per short transaction: computing them here
    held the write lock for 4 s per 100,000 trials.
    """
    conn.execute("ALTER TABLE trials ADD COLUMN params_key BLOB")
    conn.execute("CREATE INDEX trials_by_params ON trials (study_id, state, params_key)")
    conn.execute(_KEYLESS_INDEX)


#: The trials whose key is still to be computed (empty once :func:`fill_params_keys`
#: has run). ``IF NOT EXISTS``: a file migrated to version 2 by an asynchyper that
#: computed the keys inside the migration has no such index until it is next opened.
_KEYLESS_INDEX = (
    "CREATE INDEX IF NOT EXISTS trials_without_key ON trials (id) WHERE params_key IS NULL"
)
_KEYLESS = "FROM trials INDEXED BY trials_without_key WHERE params_key IS NULL"
#: Trials keyed per write transaction by :func:`fill_params_keys` (about 50 ms), and
#: the seconds it then leaves the lock to other processes.
_FILL_CHUNK = 2_000
_FILL_PAUSE = 0.01
#: The longest :func:`fill_params_keys` waits for the write lock (the keys are a hint:
#: opening a file another process holds long waits no longer than this for them).
_FILL_WAIT = 1.0


#: ``MIGRATIONS[v]`` upgrades a store from schema version ``v`` to ``v + 1``;
#: version 0 is an empty file. Append a step for every schema change.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_create_v1, _add_params_key]
#: The schema version this code reads and writes.
SCHEMA_VERSION = len(MIGRATIONS)


def _header(conn: sqlite3.Connection) -> tuple[int, int]:
    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    return int(application_id), int(version)


def _check_owner(conn: sqlite3.Connection, path: str) -> int:
    """Return the file's schema version, or raise if it is not ours to use."""
    application_id, version = _header(conn)
    if application_id == 0:
        tables = [
            row[0]
            for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' LIMIT 5")
        ]
        if tables:
            msg = (
                f"{path} is a SQLite database of another program (tables {tables}), not an "
                "asynchyper store; it was left unchanged. Use another path for the study"
            )
            raise StorageCorruptError(msg)
        return 0
    if application_id != APPLICATION_ID:
        msg = (
            f"{path} is not an asynchyper store (its SQLite application_id is "
            f"{application_id:#010x}, asynchyper writes {APPLICATION_ID:#010x}); it was "
            "left unchanged. Use another path for the study"
        )
        raise StorageCorruptError(msg)
    if version > SCHEMA_VERSION:
        msg = (
            f"{path} uses asynchyper storage schema version {version}, but this version "
            f"of asynchyper reads versions up to {SCHEMA_VERSION}; upgrade asynchyper "
            "to open it (the file was left unchanged)"
        )
        raise StorageVersionError(msg)
    return version


def check_schema(conn: sqlite3.Connection, path: str) -> int:
    """Check, without writing, that the file is ours; return its schema version.

    Raises:
        StorageCorruptError: Another program's database.
        StorageVersionError: Written by a newer schema version.
    """
    # One read transaction: the header and the table list must come from the same
    # snapshot, or a process creating the schema right now looks like another program.
    conn.execute("BEGIN")
    try:
        return _check_owner(conn, path)
    finally:
        conn.execute("ROLLBACK")


def begin_immediate(conn: sqlite3.Connection, busy_timeout: float) -> None:
    """``BEGIN IMMEDIATE``, polling every millisecond or so while another process writes.

    SQLite's own busy handler backs off to sleeps of 25-100 ms, far longer than one
    of our write transactions, so processes sharing a file would mostly sleep. It is
    switched off (``busy_timeout = 0``) from the first attempt on: the whole wait lasts
    ``busy_timeout``, not that in SQLite's handler and as long again polling.

    Raises:
        sqlite3.OperationalError: Still locked after ``busy_timeout`` seconds.
    """
    deadline = time.monotonic() + busy_timeout
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        delay = 0.0005
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(random.uniform(0.0, delay))  # jitter: waiting processes spread out
            delay = min(delay * 1.5, 0.004)
    finally:
        conn.execute(f"PRAGMA busy_timeout = {round(busy_timeout * 1000):d}")


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return str(getattr(exc, "sqlite_errorname", "")).startswith("SQLITE_BUSY")


def prepare_schema(conn: sqlite3.Connection, path: str, busy_timeout: float) -> None:
    """Create or migrate the schema to :data:`SCHEMA_VERSION`, in one transaction.

    Safe when several processes open a new file at once: the version is read
    again after ``BEGIN IMMEDIATE``, so only one of them migrates.

    Raises:
        StorageCorruptError: Another program's database.
        StorageVersionError: Written by a newer schema version.
    """

    def migrate() -> None:
        version = _check_owner(conn, path)
        if version < SCHEMA_VERSION:
            for step in range(version, SCHEMA_VERSION):
                logger.info("migrating %s from schema version %d to %d", path, step, step + 1)
                MIGRATIONS[step](conn)
            # PRAGMA takes no parameters; both values are int constants of this module.
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID:d}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")

    _write(conn, busy_timeout, migrate)


def fill_params_keys(conn: sqlite3.Connection, path: str, busy_timeout: float) -> int:
    """Compute the ``params_key`` of every trial that has none; return how many.

    Such trials are those of a file just migrated to version 2, and any an older
    asynchyper process (one that had the file open before the migration) inserted
    since. Each chunk of :data:`_FILL_CHUNK` trials is one write transaction, so other
    processes write between chunks instead of waiting for the whole store. Lookups
    are correct meanwhile (they also read the trials without a key), only slower.

    Best effort: a file that cannot be written now (read-only, or another process
    holds the write lock for longer than :data:`_FILL_WAIT`, at most ``busy_timeout``)
    keeps its trials without a key until it is next opened.
    """
    wait = min(busy_timeout, _FILL_WAIT)
    filled = 0
    try:
        if not conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'trials_without_key'"
        ).fetchone():
            _write(conn, wait, lambda: conn.execute(_KEYLESS_INDEX))
        # A read first: with nothing to fill (the usual case) no write lock is taken.
        while conn.execute(f"SELECT 1 {_KEYLESS} LIMIT 1").fetchone():
            if not filled:
                logger.info("computing the parameter key of older trials in %s", path)
            filled += _write(conn, wait, lambda: _fill_chunk(conn))
            # Room for the others: waiting writers poll every few milliseconds (see
            # begin_immediate) and would mostly miss a lock free for a moment only.
            time.sleep(_FILL_PAUSE)
    except sqlite3.OperationalError as exc:
        if not (_is_busy(exc) or "readonly" in str(exc)):
            raise
        logger.info("left trials without a parameter key in %s for now: %s", path, exc)
    finally:
        # begin_immediate left SQLite's own wait at the shorter one.
        conn.execute(f"PRAGMA busy_timeout = {round(busy_timeout * 1000):d}")
    return filled


def _fill_chunk(conn: sqlite3.Connection) -> int:
    rows = conn.execute(f"SELECT id, params {_KEYLESS} LIMIT ?", (_FILL_CHUNK,)).fetchall()
    conn.executemany(
        "UPDATE trials SET params_key = ? WHERE id = ?",
        [(params_key(json.loads(params)), row_id) for row_id, params in rows],
    )
    return len(rows)


def _write(conn: sqlite3.Connection, busy_timeout: float, function: Callable[[], T]) -> T:
    """``function()`` in one ``BEGIN IMMEDIATE`` transaction, committed."""
    begin_immediate(conn, busy_timeout)
    try:
        result = function()
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result
