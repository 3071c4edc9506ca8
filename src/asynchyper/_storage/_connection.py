"""Opening a SQLite file safely, and the two thin adapters that run SQL functions.

Both adapters expose one coroutine, ``run(function)``, that calls
``function(connection)`` on the thread owning the connection: aiosqlite's thread on
asyncio, an anyio worker thread (one at a time) on trio. The SQL itself lives in
``_sql.py`` and is the same for both.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

import aiosqlite
import anyio
import anyio.to_thread

from .._backend import on_asyncio
from .._errors import StorageAccessError, StorageCorruptError, StorageError
from . import _schema
from ._translate import os_error, sqlite_error

__all__ = ["Runner", "connect"]

T = TypeVar("T")

_MAGIC = b"SQLite format 3\x00"
#: Owner read/write only: studies may hold private configurations and results.
_FILE_MODE = 0o600


class Runner(Protocol):
    """Runs synchronous SQL functions on the connection's own thread."""

    async def run(self, function: Callable[[sqlite3.Connection], T]) -> T:
        """Return ``function(connection)``, run on the connection's thread."""
        ...

    async def close(self) -> None:
        """Close the connection (after the functions already queued)."""
        ...


class _AiosqliteRunner:
    """asyncio: the function runs on aiosqlite's connection thread."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def run(self, function: Callable[[sqlite3.Connection], T]) -> T:
        # aiosqlite proxies single statements; a whole transaction must run as one
        # call on its thread, which its ``_execute`` hook (aiosqlite 0.20-0.22) does.
        try:
            result: T = await self._db._execute(function, self._db._conn)  # type: ignore[no-untyped-call] # untyped hook
        except ValueError:
            if getattr(self._db, "_connection", None) is None:  # aiosqlite: "Connection closed"
                msg = "the storage was closed while in use; open it again (async with storage: ...)"
                raise StorageError(msg) from None
            raise
        return result

    async def close(self) -> None:
        await self._db.close()


class _ThreadRunner:
    """trio (or any backend): the function runs on an anyio worker thread, one at a time."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._limiter = anyio.CapacityLimiter(1)

    async def run(self, function: Callable[[sqlite3.Connection], T]) -> T:
        return await anyio.to_thread.run_sync(function, self._conn, limiter=self._limiter)

    async def close(self) -> None:
        await anyio.to_thread.run_sync(self._conn.close, limiter=self._limiter)


def _precheck(path: str) -> None:
    """Create a new file owner-only, or check that an existing one looks like SQLite.

    Runs before SQLite sees the file, so a rejected file is never modified.
    """
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        msg = f"cannot create {path}: directory {directory} does not exist; create it first"
        raise StorageAccessError(msg)
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, _FILE_MODE)
    except FileExistsError:
        pass
    except OSError as exc:
        raise os_error(exc, path) from exc
    else:
        os.close(descriptor)
        return
    try:
        with open(path, "rb") as file:
            header = file.read(len(_MAGIC))
    except OSError as exc:
        raise os_error(exc, path) from exc
    if header and header != _MAGIC:
        msg = (
            f"{path} is not a SQLite database (its first bytes are {header[:16]!r}); it was "
            "left unchanged. Use another path for the study"
        )
        raise StorageCorruptError(msg)


def _configure(conn: sqlite3.Connection, path: str, synchronous: str, timeout: float) -> None:
    """Check the file is ours, then switch to WAL and create or migrate the schema."""
    version = _schema.check_schema(conn, path)  # reads only: a rejected file stays untouched
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA synchronous = {synchronous}")  # a checked constant
    if synchronous == "FULL" and sys.platform == "darwin":
        # macOS's fsync does not flush the drive's cache: a durable commit needs F_FULLFSYNC.
        conn.execute("PRAGMA fullfsync = ON")
        conn.execute("PRAGMA checkpoint_fullfsync = ON")
    deadline = time.monotonic() + timeout
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            break
        except sqlite3.OperationalError as exc:
            # Switching to WAL needs a moment alone with the file; others may be opening it.
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    if str(mode).lower() != "wal":
        msg = (
            f"{path}: SQLite could not switch to WAL mode (journal_mode is {mode}); the "
            "file system may not support shared memory. Put the study on a local disk"
        )
        raise StorageError(msg)
    if version < _schema.SCHEMA_VERSION:
        _schema.prepare_schema(conn, path, timeout)
    _schema.fill_params_keys(conn, path, timeout)


def _open_sync(path: str, synchronous: str, timeout: float) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    try:
        _configure(conn, path, synchronous, timeout)
    except BaseException:
        conn.close()
        raise
    return conn


async def connect(path: str, *, synchronous: str, busy_timeout: float) -> Runner:
    """Open (creating if needed) the store at ``path`` and return its runner.

    Args:
        path: The database file.
        synchronous: ``PRAGMA synchronous`` level (``"FULL"`` makes commits durable).
        busy_timeout: Seconds to wait for another connection's lock.

    Returns:
        aiosqlite's runner on asyncio, a worker-thread runner otherwise.

    Raises:
        StorageError: Or a subclass, explaining why the file cannot be used.
    """
    try:
        await anyio.to_thread.run_sync(_precheck, path)
        if not on_asyncio():
            conn = await anyio.to_thread.run_sync(_open_sync, path, synchronous, busy_timeout)
            return _ThreadRunner(conn)
        db = aiosqlite.connect(path, timeout=busy_timeout, isolation_level=None)
        # Every write is committed before it returns, so an unclosed store has nothing
        # to lose: its thread must not keep the process alive at exit.
        thread = getattr(db, "_thread", None)
        if isinstance(thread, threading.Thread):
            thread.daemon = True
        await db
        try:
            await db._execute(_configure, db._conn, path, synchronous, busy_timeout)  # type: ignore[no-untyped-call] # aiosqlite leaves it untyped
        except BaseException:
            with anyio.CancelScope(shield=True):
                await db.close()
            raise
        return _AiosqliteRunner(db)
    except sqlite3.Error as exc:
        raise sqlite_error(exc, path) from exc
