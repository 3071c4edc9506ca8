"""psycopg connections, and the two thin adapters that run SQL steps on them.

Both adapters expose ``run(step)``: they send each query the step yields, hand it
the rows, and return the step's result. On asyncio the adapter awaits psycopg's
``AsyncConnection``; on trio (or any other backend) a sync ``Connection`` runs the
whole step in an anyio worker thread, one step at a time. The SQL itself lives in
``_pgsql.py`` and is the same for both. This module is the only one that imports
psycopg, and it is imported only when a PostgreSQL store opens.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol, TypeVar, cast

import anyio
import anyio.to_thread
import psycopg
from psycopg import pq

from .._backend import on_asyncio
from .._errors import StorageAccessError, StorageError
from ._pgtypes import Burst, Rows, Step

__all__ = ["Adapter", "Failure", "classify", "connect", "describe"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: SQLSTATEs after which the transaction was rolled back and may simply run again.
_RETRY_TRANSACTION = frozenset({"40001", "40P01"})  # serialization failure, deadlock
#: SQLSTATE classes and codes that mean the session is gone.
_CONNECTION_CLASSES = ("08", "57P")
#: SQLSTATEs of a refused login: retrying does not help.
_ACCESS_DENIED = frozenset({"28000", "28P01", "3D000", "42501"})
#: What libpq says when the server refuses a login (a failed connect has no SQLSTATE).
_REFUSED_LOGIN = (
    "does not exist",
    "authentication failed",
    "pg_hba.conf",
    "permission denied",
    "no password supplied",
)


class Adapter(Protocol):
    """Runs SQL steps on one connection, one step at a time."""

    @property
    def broken(self) -> bool:
        """Whether the connection is closed or lost."""
        ...

    async def run(self, step: Step[T]) -> T:
        """Run ``step``; roll back an open transaction when it fails."""
        ...

    async def close(self) -> None:
        """Close the connection."""
        ...


def _in_transaction(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> bool:
    return conn.info.transaction_status in (
        pq.TransactionStatus.INTRANS,
        pq.TransactionStatus.INERROR,
    )


#: A step that reads more rows than this continues in a worker thread (asyncio).
OFFLOAD_ROWS = 500


def _advance(step: Step[T], rows: Rows) -> tuple[bool, Any]:
    """Send ``rows`` to ``step``: ``(False, next query)``, or ``(True, its result)``.

    (A ``StopIteration`` cannot travel back from a worker thread as an exception.)
    """
    try:
        return False, step.send(rows)
    except StopIteration as stop:
        return True, stop.value


class _AsyncAdapter:
    """asyncio: psycopg's AsyncConnection, awaited on the event loop."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn

    @property
    def broken(self) -> bool:
        return self._conn.closed or self._conn.broken

    async def run(self, step: Step[T]) -> T:
        conn = self._conn
        try:
            async with conn.cursor() as cursor:
                query = next(step)
                while True:
                    if isinstance(query, list):
                        query = step.send(await self._burst(query))
                        continue
                    await cursor.execute(query[0], query[1])
                    rows: Rows = await cursor.fetchall() if cursor.description else []
                    if len(rows) <= OFFLOAD_ROWS:
                        query = step.send(rows)
                        continue
                    # Thousands of rows (a study's trials) take the step long to turn
                    # into records: in a worker thread, so the event loop keeps going.
                    done, value = await anyio.to_thread.run_sync(_advance, step, rows)
                    if done:
                        return cast("T", value)
                    query = value
        except StopIteration as stop:
            result: T = stop.value
            return result
        except BaseException:
            step.close()
            if not self.broken and _in_transaction(conn):
                try:
                    await conn.execute("ROLLBACK")
                except psycopg.Error:
                    logger.debug("rollback after a failed step failed too", exc_info=True)
            raise

    async def _burst(self, burst: Burst) -> list[Rows]:
        """Send every query of the burst in one pipeline, then read all the results."""
        cursors: list[psycopg.AsyncCursor[Any]] = []
        async with self._conn.pipeline():
            for sql, params in burst:
                cursor = self._conn.cursor()
                cursors.append(cursor)
                await cursor.execute(sql, params)
        results = [await cursor.fetchall() if cursor.description else [] for cursor in cursors]
        for cursor in cursors:
            await cursor.close()
        return results

    async def close(self) -> None:
        await self._conn.close()


def _run_sync(conn: psycopg.Connection[Any], step: Step[T]) -> T:
    try:
        with conn.cursor() as cursor:
            query = next(step)
            while True:
                if isinstance(query, list):
                    query = step.send(_burst_sync(conn, query))
                    continue
                cursor.execute(query[0], query[1])
                rows: Rows = cursor.fetchall() if cursor.description else []
                query = step.send(rows)
    except StopIteration as stop:
        result: T = stop.value
        return result
    except BaseException:
        step.close()
        if not (conn.closed or conn.broken) and _in_transaction(conn):
            try:
                conn.execute("ROLLBACK")
            except psycopg.Error:
                logger.debug("rollback after a failed step failed too", exc_info=True)
        raise


def _burst_sync(conn: psycopg.Connection[Any], burst: Burst) -> list[Rows]:
    """Send every query of the burst in one pipeline, then read all the results."""
    cursors: list[psycopg.Cursor[Any]] = []
    with conn.pipeline():
        for sql, params in burst:
            cursor = conn.cursor()
            cursors.append(cursor)
            cursor.execute(sql, params)
    results = [cursor.fetchall() if cursor.description else [] for cursor in cursors]
    for cursor in cursors:
        cursor.close()
    return results


class _ThreadAdapter:
    """trio (or any backend): a sync Connection, one step at a time on a worker thread."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn
        self._limiter = anyio.CapacityLimiter(1)

    @property
    def broken(self) -> bool:
        return self._conn.closed or self._conn.broken

    async def run(self, step: Step[T]) -> T:
        return await anyio.to_thread.run_sync(_run_sync, self._conn, step, limiter=self._limiter)

    async def close(self) -> None:
        await anyio.to_thread.run_sync(self._conn.close, limiter=self._limiter)


async def connect(params: dict[str, Any]) -> Adapter:
    """Open one autocommit connection with ``params`` (psycopg keyword arguments).

    Returns:
        The asyncio adapter on asyncio, the worker-thread adapter otherwise.

    Raises:
        psycopg.Error: The connection failed (the caller translates it).
    """
    if on_asyncio():
        async_conn = await psycopg.AsyncConnection.connect(**params, autocommit=True)
        return _AsyncAdapter(async_conn)
    conn = await anyio.to_thread.run_sync(
        lambda: psycopg.Connection.connect(**params, autocommit=True)
    )
    return _ThreadAdapter(conn)


class Failure:
    """What a psycopg error means for the caller."""

    #: The session is gone: reconnect, and retry writes with their request tokens.
    CONNECTION = "connection"
    #: The transaction was rolled back by a conflict (deadlock): run it again.
    TRANSACTION = "transaction"
    #: Anything else: the statements themselves failed.
    OTHER = "other"


def classify(exc: BaseException, adapter: Adapter | None) -> str:
    """Sort a failure into a :class:`Failure` kind."""
    if not isinstance(exc, psycopg.Error):
        return Failure.OTHER
    sqlstate = exc.sqlstate or ""
    if (adapter is not None and adapter.broken) or sqlstate.startswith(_CONNECTION_CLASSES):
        return Failure.CONNECTION
    if sqlstate in _RETRY_TRANSACTION:
        return Failure.TRANSACTION
    if isinstance(exc, psycopg.OperationalError) and not sqlstate:
        return Failure.CONNECTION  # e.g. "connection failed", "server closed the connection"
    return Failure.OTHER


def is_psycopg_error(exc: BaseException) -> bool:
    """Whether ``exc`` comes from psycopg."""
    return isinstance(exc, psycopg.Error)


def describe(exc: BaseException, where: str, redact: Any) -> StorageError:
    """The StorageError that explains a psycopg error met on the store ``where``.

    Args:
        exc: The psycopg exception.
        where: The redacted URL.
        redact: Removes the password from a text.

    Returns:
        A new exception, its message free of the password.
    """
    text = redact(str(exc).strip())
    sqlstate = getattr(exc, "sqlstate", None) or ""
    if sqlstate in _ACCESS_DENIED or (not sqlstate and any(w in text for w in _REFUSED_LOGIN)):
        msg = (
            f"PostgreSQL refused access to {where}: {text}. Check the user, password, "
            "database name and the user's privileges"
        )
        return StorageAccessError(msg)
    if classify(exc, None) == Failure.CONNECTION:
        msg = (
            f"cannot reach PostgreSQL at {where}: {text}. Check that the server is running "
            "and the host and port are right"
        )
        return StorageError(msg)
    msg = f"PostgreSQL failed on {where}: {text} (SQLSTATE {sqlstate or 'unknown'})"
    return StorageError(msg)
