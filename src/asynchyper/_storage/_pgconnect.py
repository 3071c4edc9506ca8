"""psycopg connections, and the two thin adapters that run SQL steps on them.

Both adapters expose ``run(step)``: they send each query the step yields, hand it
the rows, and return the step's result. On asyncio the adapter awaits psycopg's
``AsyncConnection``; on trio (or any other backend) a sync ``Connection`` runs the
whole step in an anyio worker thread, one step at a time. The SQL itself lives in
``_pgsql.py`` and is the same for both. This module is the only one that imports
psycopg, and it is imported only when a PostgreSQL store opens.

Operation timeout
    psycopg has no client-side timeout for a query: a server, proxy or pooler that
    accepts the bytes but never answers would keep a step waiting forever (TCP
    keepalives only notice a peer that stops acknowledging). So every round trip
    is watched: one daemon thread per process (:class:`_Watchdog`) looks at the
    open connections a few times per timeout, and shuts down the socket of one
    that waited longer than its ``operation_timeout``. The waiting psycopg call
    then fails at once, as after any lost connection, on the event loop (asyncio)
    and in the worker thread (trio) alike, and the adapter raises
    :class:`OperationTimeout`. The adapter keeps its own duplicate of the socket
    for this, so a socket that libpq closed meanwhile is never confused with a new
    one that reused its number.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import socket
import threading
import time
import weakref
from typing import Any, Protocol, TypeVar, cast

import anyio
import anyio.to_thread
import psycopg
from psycopg import pq

from .._backend import on_asyncio
from .._errors import StorageAccessError, StorageError
from ._pgtypes import Burst, Rows, Step

__all__ = [
    "Adapter",
    "Failure",
    "OperationTimeout",
    "classify",
    "connect",
    "describe",
    "fails_at_first_connect",
    "is_access_denied",
]

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
#: What libpq says when nothing listens there or the host name is unknown.
_NOBODY_THERE = ("Connection refused", "No such file or directory")
_UNKNOWN_HOST = ("could not translate host name", "failed to resolve host")
#: Connect failures worth retrying even before the first connection succeeded: the
#: server is there but busy, starting or stopping, or dropped the new session.
_TRANSIENT_AT_CONNECT = (
    "starting up",
    "shutting down",
    "in recovery mode",
    "too many clients",
    "connection slots are reserved",
    "closed the connection unexpectedly",
    "terminating connection",
    "Connection reset",
)
#: Why the server ended a session, by SQLSTATE (for the messages).
_ENDED = {
    "57P01": "an administrator terminated it (pg_terminate_backend) or the server is shutting down",
    "57P02": "the server restarted after another server process crashed",
    "57P03": "the server is starting up or shutting down",
    "57P04": "its database was dropped",
    "57P05": "it was idle for longer than the idle_session_timeout of the database or role",
    "25P03": (
        "it stayed idle inside a transaction for longer than idle_in_transaction_session_timeout"
    ),
}
#: SQLSTATEs of a statement cancelled by a timeout or an administrator.
_CANCELLED = frozenset({"57014", "55P03"})  # query_canceled, lock_not_available


class OperationTimeout(psycopg.OperationalError):
    """The server did not answer a round trip within the operation timeout.

    The adapter shut the connection down; it counts as a lost connection.
    """

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"no answer within operation_timeout={seconds:g} s, so the connection was closed"
        )
        self.seconds = seconds


class Adapter(Protocol):
    """Runs SQL steps on one connection, one step at a time."""

    @property
    def broken(self) -> bool:
        """Whether the connection is closed or lost."""
        ...

    async def run(self, step: Step[T]) -> T:
        """Run ``step``; roll back an open transaction when it fails.

        Raises:
            OperationTimeout: The server did not answer within the operation timeout.
        """
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


# -- the operation timeout -------------------------------------------------------------
#: The watchdog looks this many times per operation timeout (within these bounds).
_LOOKS_PER_TIMEOUT = 8
_MIN_LOOK = 0.02
_MAX_LOOK = 1.0


class _Guard:
    """Watches one connection's round trips; shuts it down when one takes too long."""

    def __init__(
        self, conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any], timeout: float
    ):
        self.timeout = timeout
        self.look = min(_MAX_LOOK, max(_MIN_LOOK, timeout / _LOOKS_PER_TIMEOUT))
        #: When the round trip in flight times out (``time.monotonic``), or ``None``.
        self.deadline: float | None = None
        #: Whether the watchdog shut the connection down.
        self.fired = False
        self._socket = _duplicate(conn.pgconn.socket) if math.isfinite(timeout) else None
        self._release = weakref.finalize(self, _close_socket, self._socket)
        _TRACKED.add(conn)
        if self._socket is not None:
            _WATCHDOG.watch(self)

    def arm(self) -> None:
        """A round trip starts."""
        if self._socket is not None:
            self.deadline = time.monotonic() + self.timeout

    def disarm(self) -> None:
        """The round trip ended."""
        self.deadline = None

    def check(self, now: float) -> None:
        """Shut the connection down if its round trip is overdue (watchdog thread)."""
        deadline = self.deadline
        if deadline is None or now < deadline or self.fired or self._socket is None:
            return
        self.fired = True
        with contextlib.suppress(OSError):
            self._socket.shutdown(socket.SHUT_RDWR)

    def timed_out(self) -> OperationTimeout:
        return OperationTimeout(self.timeout)

    def close(self) -> None:
        _WATCHDOG.forget(self)
        self._release()


def _duplicate(fileno: int) -> socket.socket | None:
    """Our own handle on the connection's socket (``None`` if it cannot be had).

    The connection's blocking mode is left as libpq set it: ``socket.socket.dup()``
    ends with ``settimeout(None)``, which made the file description (shared by both
    descriptors) blocking, so that a reply too large for one read blocked the event
    loop's thread until the watchdog fired. Wrapping a bare ``socket.dup()`` never
    sets the mode (and ``os.get_blocking`` does not take Windows socket handles).
    """
    try:
        duplicate = socket.dup(fileno)
    except OSError:
        return None
    try:
        return socket.socket(fileno=duplicate)
    except OSError:
        with contextlib.suppress(OSError):
            socket.close(duplicate)
        return None


def _close_socket(sock: socket.socket | None) -> None:
    if sock is not None:
        sock.close()


class _Watchdog:
    """One daemon thread that checks every watched connection a few times a timeout.

    It runs while some connection is watched, and stops when none is left.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._guards: weakref.WeakSet[_Guard] = weakref.WeakSet()
        self._running = False

    def watch(self, guard: _Guard) -> None:
        with self._lock:
            self._guards.add(guard)
            if not self._running:
                self._running = True
                threading.Thread(
                    target=self._loop, name="asynchyper-pg-watchdog", daemon=True
                ).start()

    def forget(self, guard: _Guard) -> None:
        with self._lock:
            self._guards.discard(guard)

    def _loop(self) -> None:
        while True:
            with self._lock:
                guards = list(self._guards)
                if not guards:
                    self._running = False
                    return
            now = time.monotonic()
            look = _MAX_LOOK
            for guard in guards:
                look = min(look, guard.look)
                try:
                    guard.check(now)
                except Exception:  # never let the watchdog die  # pragma: no cover
                    logger.debug("the PostgreSQL watchdog failed on a connection", exc_info=True)
            del guards
            time.sleep(look)


_WATCHDOG = _Watchdog()

#: Our connections, so that psycopg's warnings about them can be told apart.
_TRACKED: weakref.WeakSet[Any] = weakref.WeakSet()


class _QuietLostPipelines(logging.Filter):
    """Drop psycopg's "error ignored terminating <Pipeline [BAD]>" for our connections.

    When a connection is lost inside a pipeline, psycopg logs that warning on top of
    raising the error; the store handles the error (and logs the reconnect once).
    Records about other programs' connections pass untouched.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith("error ignored "):
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        conn = getattr(args[0], "_conn", None) if args else None
        if conn is None or conn not in _TRACKED:
            return True
        logger.debug("psycopg: %s", record.getMessage())
        return False


logging.getLogger("psycopg").addFilter(_QuietLostPipelines())


# -- the adapters ----------------------------------------------------------------------
class _AsyncAdapter:
    """asyncio: psycopg's AsyncConnection, awaited on the event loop."""

    def __init__(self, conn: psycopg.AsyncConnection[Any], timeout: float) -> None:
        self._conn = conn
        self._guard = _Guard(conn, timeout)

    @property
    def broken(self) -> bool:
        return self._conn.closed or self._conn.broken or self._guard.fired

    async def run(self, step: Step[T]) -> T:
        try:
            return await self._run(step)
        except psycopg.Error as exc:
            if self._guard.fired:
                raise self._guard.timed_out() from exc
            raise

    async def _run(self, step: Step[T]) -> T:
        conn = self._conn
        guard = self._guard
        try:
            async with conn.cursor() as cursor:
                query = next(step)
                while True:
                    if isinstance(query, list):
                        query = step.send(await self._burst(query))
                        continue
                    guard.arm()
                    try:
                        await cursor.execute(query[0], query[1])
                        rows: Rows = await cursor.fetchall() if cursor.description else []
                    finally:
                        guard.disarm()
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
                guard.arm()
                try:
                    await conn.execute("ROLLBACK")
                except psycopg.Error:
                    logger.debug("rollback after a failed step failed too", exc_info=True)
                finally:
                    guard.disarm()
            raise

    async def _burst(self, burst: Burst) -> list[Rows]:
        """Send every query of the burst in one pipeline, then read all the results."""
        cursors: list[psycopg.AsyncCursor[Any]] = []
        self._guard.arm()
        try:
            async with self._conn.pipeline():
                for sql, params in burst:
                    cursor = self._conn.cursor()
                    cursors.append(cursor)
                    await cursor.execute(sql, params)
            results = [await cursor.fetchall() if cursor.description else [] for cursor in cursors]
        finally:
            self._guard.disarm()
        for cursor in cursors:
            await cursor.close()
        return results

    async def close(self) -> None:
        try:
            await self._conn.close()
        finally:
            self._guard.close()


def _run_sync(conn: psycopg.Connection[Any], step: Step[T], guard: _Guard) -> T:
    try:
        with conn.cursor() as cursor:
            query = next(step)
            while True:
                if isinstance(query, list):
                    query = step.send(_burst_sync(conn, query, guard))
                    continue
                guard.arm()
                try:
                    cursor.execute(query[0], query[1])
                    rows: Rows = cursor.fetchall() if cursor.description else []
                finally:
                    guard.disarm()
                query = step.send(rows)
    except StopIteration as stop:
        result: T = stop.value
        return result
    except BaseException:
        step.close()
        if not (conn.closed or conn.broken or guard.fired) and _in_transaction(conn):
            guard.arm()
            try:
                conn.execute("ROLLBACK")
            except psycopg.Error:
                logger.debug("rollback after a failed step failed too", exc_info=True)
            finally:
                guard.disarm()
        raise


def _burst_sync(conn: psycopg.Connection[Any], burst: Burst, guard: _Guard) -> list[Rows]:
    """Send every query of the burst in one pipeline, then read all the results."""
    cursors: list[psycopg.Cursor[Any]] = []
    guard.arm()
    try:
        with conn.pipeline():
            for sql, params in burst:
                cursor = conn.cursor()
                cursors.append(cursor)
                cursor.execute(sql, params)
        results = [cursor.fetchall() if cursor.description else [] for cursor in cursors]
    finally:
        guard.disarm()
    for cursor in cursors:
        cursor.close()
    return results


class _ThreadAdapter:
    """trio (or any backend): a sync Connection, one step at a time on a worker thread."""

    def __init__(self, conn: psycopg.Connection[Any], timeout: float) -> None:
        self._conn = conn
        self._guard = _Guard(conn, timeout)
        self._limiter = anyio.CapacityLimiter(1)

    @property
    def broken(self) -> bool:
        return self._conn.closed or self._conn.broken or self._guard.fired

    async def run(self, step: Step[T]) -> T:
        try:
            return await anyio.to_thread.run_sync(
                _run_sync, self._conn, step, self._guard, limiter=self._limiter
            )
        except psycopg.Error as exc:
            if self._guard.fired:
                raise self._guard.timed_out() from exc
            raise

    async def close(self) -> None:
        try:
            await anyio.to_thread.run_sync(self._conn.close, limiter=self._limiter)
        finally:
            self._guard.close()


class _Handoff:
    """A connection made in a worker thread that the caller may stop waiting for.

    The thread keeps the connection only if the caller still wants it; otherwise
    the one that comes last (the thread, or the caller giving up) closes it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._abandoned = False
        self._conn: psycopg.Connection[Any] | None = None

    def connect(self, params: dict[str, Any]) -> psycopg.Connection[Any] | None:
        conn = psycopg.Connection.connect(**params, autocommit=True)
        with self._lock:
            if not self._abandoned:
                self._conn = conn
                return conn
        conn.close()
        return None

    def abandon(self) -> None:
        with self._lock:
            self._abandoned = True
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


async def connect(params: dict[str, Any], *, operation_timeout: float = math.inf) -> Adapter:
    """Open one autocommit connection with ``params`` (psycopg keyword arguments).

    May be cancelled (e.g. by a deadline) on both backends without leaking the
    connection.

    Args:
        params: psycopg keyword arguments.
        operation_timeout: Seconds a round trip on the connection may take before the
            connection is shut down (``inf``: never).

    Returns:
        The asyncio adapter on asyncio, the worker-thread adapter otherwise.

    Raises:
        psycopg.Error: The connection failed (the caller translates it).
    """
    if on_asyncio() and not _windows_proactor():
        async_conn = await psycopg.AsyncConnection.connect(**params, autocommit=True)
        return _AsyncAdapter(async_conn, operation_timeout)
    # trio, or asyncio's default loop on Windows (ProactorEventLoop), which psycopg's
    # AsyncConnection refuses: a sync connection in a worker thread works on both.
    handoff = _Handoff()
    try:
        conn = await anyio.to_thread.run_sync(handoff.connect, params, abandon_on_cancel=True)
    except BaseException:
        handoff.abandon()
        raise
    assert conn is not None  # only None once abandoned
    return _ThreadAdapter(conn, operation_timeout)


def _windows_proactor() -> bool:
    """Whether the running loop is asyncio's ProactorEventLoop (Windows' default)."""
    proactor = getattr(asyncio, "ProactorEventLoop", None)  # defined on Windows only
    return proactor is not None and isinstance(asyncio.get_running_loop(), proactor)


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


#: Failures that leave trials without a parameter key for a later open (see
#: ``PostgresStorage``): no right to update the table, a serialization failure or a
#: deadlock with another process keying the same rows, a lock not available.
_LATER = frozenset({"42501", "40001", "40P01", "55P03"})


def leaves_keys_for_later(exc: BaseException) -> bool:
    """Whether a failed ``fill_params_keys`` may leave its rows to a later open."""
    return isinstance(exc, psycopg.Error) and (exc.sqlstate or "") in _LATER


def is_psycopg_error(exc: BaseException) -> bool:
    """Whether ``exc`` comes from psycopg."""
    return isinstance(exc, psycopg.Error)


def is_access_denied(exc: BaseException) -> bool:
    """Whether the server refused the login or the database (retrying cannot help)."""
    sqlstate = getattr(exc, "sqlstate", None) or ""
    return sqlstate in _ACCESS_DENIED or (
        not sqlstate and any(word in str(exc) for word in _REFUSED_LOGIN)
    )


def fails_at_first_connect(exc: BaseException) -> bool:
    """Whether a failed connect should be reported at once when none succeeded yet.

    Only a busy, starting or stopping server, or a session dropped during the login,
    is worth waiting for. A refused connection, an unknown host, a timeout or a bad
    parameter most likely mean a wrong URL: better said at once than after minutes.
    """
    if classify(exc, None) != Failure.CONNECTION or is_access_denied(exc):
        return True
    text = str(exc)
    return not any(word in text for word in _TRANSIENT_AT_CONNECT)


def describe(exc: BaseException, where: str, redact: Any) -> StorageError:
    """The StorageError that explains a psycopg error met on the store ``where``.

    Args:
        exc: The psycopg exception.
        where: The redacted URL.
        redact: Removes the password from a text.

    Returns:
        A new exception, its message free of the password, worded by its SQLSTATE.
    """
    text = _one_line(redact(str(exc)))  # redacted first
    sqlstate = getattr(exc, "sqlstate", None) or ""
    if is_access_denied(exc):
        msg = (
            f"PostgreSQL refused access to {where}: {text}. Check the user, password, "
            "database name and the user's privileges"
        )
        return StorageAccessError(msg)
    if isinstance(exc, OperationTimeout):
        msg = (
            f"PostgreSQL at {where} gave {_sentence(text)} Check the server and the network (and "
            "any proxy or connection pooler in between), or raise operation_timeout if "
            "the server is merely slow"
        )
        return StorageError(msg)
    if sqlstate in _ENDED:
        why = _ENDED[sqlstate]
        msg = f"PostgreSQL at {where} ended the session: {text} (SQLSTATE {sqlstate}: {why})"
        return StorageError(msg)
    if sqlstate in _CANCELLED:
        msg = (
            f"PostgreSQL cancelled a statement on {where}: {text} (SQLSTATE {sqlstate}). "
            "asynchyper turns statement_timeout and lock_timeout off in its own sessions, "
            "so an administrator cancelled it (pg_cancel_backend) or a connection pooler "
            "dropped that setting; if a timeout is set for the database or the role, turn "
            "it off for asynchyper's role: ALTER ROLE <role> SET statement_timeout = 0, "
            "and the same for lock_timeout"
        )
        return StorageError(msg)
    if classify(exc, None) == Failure.CONNECTION:
        if any(word in text for word in _UNKNOWN_HOST):
            advice = "Check the host name"
        elif any(word in text for word in _NOBODY_THERE):
            advice = "Check that the server is running and the host and port are right"
        elif "timeout expired" in text:
            advice = (
                "Check the host, the port and any firewall in between, or raise "
                "connect_timeout (?connect_timeout=SECONDS) on a slow network"
            )
        elif text.startswith(("connection failed", "connection is bad")):
            return StorageError(f"cannot connect to PostgreSQL at {where}: {text}")
        else:
            state = f" (SQLSTATE {sqlstate})" if sqlstate else ""
            return StorageError(f"lost the connection to PostgreSQL at {where}: {text}{state}")
        return StorageError(f"cannot reach PostgreSQL at {where}: {_sentence(text)} {advice}")
    msg = f"PostgreSQL failed on {where}: {text} (SQLSTATE {sqlstate or 'unknown'})"
    return StorageError(msg)


def _one_line(message: str) -> str:
    """libpq's message on one line: its lines (``Connection refused`` and ``Is the
    server running...?``) joined as separate sentences."""
    lines = [" ".join(line.split()) for line in message.splitlines()]
    out = ""
    for line in filter(None, lines):
        if out:
            out += " " if out.endswith((".", "?", "!", ":", ";")) else "; "
        out += line
    return out


def _sentence(text: str) -> str:
    """``text`` ending as a sentence (no ``?.`` after a question)."""
    return text if text.endswith((".", "?", "!")) else f"{text}."
