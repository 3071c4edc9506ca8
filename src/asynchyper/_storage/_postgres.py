"""PostgreSQL storage: many processes on many machines share one study.

How several processes stay consistent
    The row of a study in ``asynchyper_studies`` is the lock for everything that
    changes its trials. A write transaction starts with ``SELECT ... FOR UPDATE`` on
    the rows of the studies it touches (in id order, so two transactions never wait
    on each other in a cycle); the study row also holds the counters per state and
    the last change number. Starting a trial is then one ``UPDATE ... RETURNING``
    that checks the budget (COMPLETE + RUNNING + WAITING < ``max_trials``) and hands
    out the next number and ``seq`` in the same statement, followed by the insert:
    numbers are unique and contiguous and the budget is exact however many
    processes share it. Claiming a WAITING trial happens under the same lock, so no
    ``SKIP LOCKED`` is needed (two claimers queue on the study row and the second
    sees the first one's claim). Because the lock is held until commit, ``seq``
    order is commit order, and ``trials(changed_after=seq)`` never misses a change.
    Reads take no lock: under READ COMMITTED they see every committed write.

Group commit and connections
    Writes from many tasks of one process queue up while a transaction is in
    flight, and the next transaction carries all of them (up to ``max_batch``): one
    lock acquisition and one commit (one WAL flush) for the lot. The usual writes
    (start, finish, claim, enqueue, heartbeat) are single statements, sent together
    with ``BEGIN`` and the lock in one pipelined round trip (psycopg's pipeline
    mode), then ``COMMIT``: two round trips per batch whatever its size. Each
    process holds one writer connection plus up to ``readers`` reader connections
    (a tiny pool, created on demand). Sessions set
    ``idle_in_transaction_session_timeout`` (30 s, or the database's shorter value)
    and TCP keepalives, so a client frozen or cut off mid-transaction cannot hold a
    study's lock for long; they turn ``statement_timeout`` and ``lock_timeout`` off
    (see ``_configure_session``).

Connection loss
    When the connection drops (server restart, ``pg_terminate_backend``, network),
    or a round trip gets no answer within ``operation_timeout`` (the connection is
    then shut down, see ``_pgconnect``), the call waits and tries again: the store
    reconnects with exponential backoff for up to ``reconnect_timeout`` seconds
    after the loss, and a lost batch of writes is queued again. The wait happens
    outside the group-commit queue and unshielded, so a cancelled caller stops
    there; each try itself is shielded, and bounded by the timeouts. The store
    keeps one outage record (``_Outage``) for all calls: they share its backoff and
    its deadline, and once the deadline has passed they fail at once (one connect
    attempt every few seconds checks whether the server is back).

    Whether the lost COMMIT happened cannot be known, so every write carries a
    random request token stored with the rows it writes; on the retry each write
    first looks for its token and returns what its first attempt did. A retried
    ``start_trial`` never creates a second trial, a retried ``finish_trial`` does
    not fail as "already finished".

Crash recovery
    Owners are ``host:pid:token`` ids (see ``new_owner_id``): ``fail_stale`` fails
    the RUNNING trials of a dead process on this host at once, and those of other
    hosts once their heartbeat (the *server's* clock, so machines with skewed clocks
    agree) is older than ``older_than`` seconds. A killed client's open transaction
    is rolled back by the server when its socket closes, releasing the study lock.
"""

from __future__ import annotations

import functools
import logging
import math
import random
import secrets
import weakref
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.lowlevel

from .._compat import override
from .._errors import MissingExtraError, StorageError
from .._records import StudyRecord, TrialRecord, TrialState
from .._types import JSONValue, Params
from . import _pgschema, _pgsql
from ._base import Storage
from ._common import (
    check_direction,
    check_finish,
    check_study_name,
    check_trial_number,
    dumps,
    import_rows,
    imported_study,
    is_whole,
    log_failed_stale,
    normalize_attrs,
    normalize_params,
    normalize_space,
    params_key,
    stale_study_name,
    state_filter,
    unknown_study_id,
)
from ._groupcommit import PendingWrites
from ._pgtypes import Burst, Step
from ._pgurl import Target, parse_url, quote_identifier

if TYPE_CHECKING:
    from ._pgconnect import Adapter

__all__ = ["PostgresStorage"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: First pause before reconnecting; it doubles up to :data:`_MAX_DELAY`.
_FIRST_DELAY = 0.05
_MAX_DELAY = 2.0
#: Transactions run again after a deadlock or serialization failure before giving up.
_CONFLICT_RETRIES = 20
#: The least time given to a connect attempt cut short by a deadline.
_MIN_CONNECT = 1.0


def _require_psycopg() -> None:
    try:
        import psycopg  # noqa: F401, PLC0415 - only checks that the extra is installed
    except ImportError as exc:
        msg = (
            "PostgreSQL storage needs psycopg 3, which is not installed; install it with "
            "pip install 'asynchyper[postgres]'"
        )
        raise MissingExtraError(msg) from exc


def _connect_module() -> Any:
    from . import _pgconnect  # noqa: PLC0415 - imports psycopg, so only when needed

    return _pgconnect


class PostgresStorage(Storage):
    """Durable storage in a PostgreSQL database, shared by processes on many machines.

    Each state change of a trial is committed (and durable, with PostgreSQL's
    default ``synchronous_commit``) before the coroutine returns. Concurrent writes
    of one process share a transaction (group commit). Heartbeat ages
    (``fail_stale``) are measured by the database server's clock, so machines with
    skewed clocks agree. See the module docstring of
    ``asynchyper._storage._postgres`` for the locking scheme.

    Connection trouble:

    * Each attempt of a call is shielded from cancellation, so a cancelled caller
      never leaves a transaction open or loses a result that was being written.
      Every round trip has to be answered within ``operation_timeout``; otherwise
      the connection is closed and treated as lost. An attempt therefore ends
      within about ``operation_timeout`` (a connect within ``connect_timeout``),
      and a cancelled caller gets its cancellation then, instead of waiting for
      the retries (a write cancelled after losing its connection may or may not
      have been applied).
    * After a lost connection (a server restart or failover,
      ``pg_terminate_backend``, a network cut, or ``operation_timeout``), calls
      wait (cancellably) and try again, reconnecting with exponential backoff for
      up to ``reconnect_timeout`` after the loss; every connect attempt is limited
      to the time left. Writes are retried with request tokens, so none is ever
      applied twice. Once ``reconnect_timeout`` has passed without a connection,
      the waiting calls raise ``StorageError`` and later calls raise at once
      (one of them checks every few seconds whether the server is back), until a
      connection succeeds again.
    * Opening retries the same way when the server ends the session, is starting
      up or shutting down, or has no free connection slots. A refused connection,
      an unknown host, a connect timeout or a refused login at the first open
      raise without retrying: they most likely mean a wrong URL.
    * The store's own sessions set ``statement_timeout`` and ``lock_timeout`` to
      0 (``operation_timeout`` takes their place on the client), and
      ``idle_in_transaction_session_timeout`` to 30 s unless the database or role
      sets a shorter one.

    The store opens itself on first use; :meth:`open` or ``async with`` opens it
    explicitly (and reports a bad URL or database early). Use one instance from one
    event loop. The tables (``asynchyper_meta``, ``asynchyper_studies``,
    ``asynchyper_trials``) are created when missing, unless ``create=False``.

    Args:
        url: ``postgresql://user:password@host:5432/database`` (also ``postgres://``
            and ``postgresql+psycopg://``; libpq parameters go in the query string,
            e.g. ``?sslmode=require``), or a libpq ``"key=value ..."`` string.
            ``?schema=NAME`` puts the tables into that PostgreSQL schema, and
            ``?operation_timeout=SECONDS`` sets ``operation_timeout`` (so that a URL
            passed as ``storage=`` can set it).
        schema: The PostgreSQL schema for the tables (created when missing), instead
            of the connection's default ``search_path``.
        readers: Most connections used for reads at once (besides the writer).
        max_batch: Most writes carried by one transaction.
        connect_timeout: Seconds to wait for a connection (libpq's
            ``connect_timeout``; a ``?connect_timeout=`` in the URL wins).
        reconnect_timeout: Seconds to keep trying to reconnect after losing the
            connection (or to connect at open, when the server is starting up,
            busy or ended the session) before the waiting calls raise
            ``StorageError``. Calls made after that raise at once until the server
            answers again.
        operation_timeout: Seconds the server has to answer each round trip (a
            query, or the few statements of a transaction sent together) before the
            connection is closed and treated as lost: the call then reconnects and
            retries as after any lost connection. It bounds how long a server,
            proxy or pooler that accepts the connection but stops answering can
            hold a call, and so how long a cancelled run waits. ``None``: the
            URL's ``?operation_timeout=``, else 60 s; ``math.inf``: no limit. Raise
            it if a single statement can legitimately take longer (migrating the
            tables of a huge store, or waiting for a lock that another client
            holds that long).
        application_name: Shown in ``pg_stat_activity`` (unless the URL sets it).
        create: Create the schema and the tables when missing, and migrate tables
            of an older version. With ``False`` (for tools that only read or edit
            existing studies, such as the command line) nothing is created or
            changed on open: a missing schema or missing tables raise
            ``StorageError``, and an older schema version ``StorageVersionError``.

    Raises:
        MissingExtraError: psycopg is not installed.
        StorageError: An invalid URL or option.
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        readers: int = 2,
        max_batch: int = 256,
        connect_timeout: float = 10.0,
        reconnect_timeout: float = 60.0,
        operation_timeout: float | None = None,
        application_name: str = "asynchyper",
        create: bool = True,
    ) -> None:
        _require_psycopg()
        if type(readers) is not int or readers < 1:
            msg = f"readers must be a positive int, got {readers!r}"
            raise StorageError(msg)
        if type(max_batch) is not int or max_batch < 1:
            msg = f"max_batch must be a positive int, got {max_batch!r}"
            raise StorageError(msg)
        for name, seconds in (
            ("connect_timeout", connect_timeout),
            ("reconnect_timeout", reconnect_timeout),
            ("operation_timeout", 1.0 if operation_timeout is None else operation_timeout),
        ):
            given: object = seconds  # checked at run time: callers may pass anything
            number = isinstance(given, int | float) and not isinstance(given, bool)
            if not (number and seconds > 0):  # also rejects NaN
                msg = f"{name} must be a positive number of seconds, got {seconds!r}"
                raise StorageError(msg)
        self._target: Target = parse_url(
            url,
            schema=schema,
            application_name=application_name,
            connect_timeout=connect_timeout,
            operation_timeout=None if operation_timeout is None else float(operation_timeout),
        )
        self._create = bool(create)
        self._reconnect_timeout = float(reconnect_timeout)
        self._readers = readers
        self._writer: Adapter | None = None
        self._idle_readers: list[Adapter] = []
        self._reader_slots: anyio.Semaphore | None = None
        self._schema_ready = False
        self._opened = False
        self._open_lock: anyio.Lock | None = None
        self._pending: PendingWrites[_pgsql.Operation] = PendingWrites(max_batch)
        #: Whether a connection ever succeeded (a refused one then means a restart).
        self._connected_once = False
        #: Set while the server cannot be reached: calls wait for its ``next_try``.
        self._outage: _Outage | None = None
        #: When the last outage began, and when each open connection was made
        #: (``anyio.current_time()``): a retry failing on a connection older than
        #: the loss found another stale one, not a failed reconnect.
        self._last_loss = -math.inf
        self._connected_at: weakref.WeakKeyDictionary[Adapter, float] = weakref.WeakKeyDictionary()
        #: Writes in progress (queued, or waiting to try again), for :meth:`close`.
        self._writing = 0
        self._writes_done: anyio.Event | None = None

    def __repr__(self) -> str:
        return f"PostgresStorage({self._target.display!r})"

    @property
    def url(self) -> str:
        """The database URL without its password."""
        return self._target.display

    @property
    def schema(self) -> str | None:
        """The PostgreSQL schema holding the tables, or ``None`` for the default."""
        return self._target.schema

    @property
    def operation_timeout(self) -> float:
        """Seconds the server has to answer a round trip before the connection is dropped."""
        return self._target.operation_timeout

    # -- connections -----------------------------------------------------------------
    @override
    async def open(self) -> None:
        """Connect, creating the tables if needed (idempotent).

        Raises:
            StorageAccessError: The server refused the login or the database.
            StorageError: With ``create=False``, the schema or the tables are missing.
            StorageCorruptError: Tables named like ours that another program wrote.
            StorageVersionError: Tables written by a newer asynchyper (or, with
                ``create=False``, by an older one).
            StorageError: The server cannot be reached (at once when it refuses the
                connection or the host is unknown; after ``reconnect_timeout`` when
                it keeps ending the session or is starting up).
        """
        deadline = anyio.current_effective_deadline()
        await self._retry_loop(lambda tries: self._ensure_open(deadline, retry=tries > 0))

    async def _ensure_open(self, deadline: float = math.inf, *, retry: bool = False) -> None:
        """Open once: connect, and prepare the tables.

        Raises:
            _Lost: The connection was lost or could not be made (worth another try).
            StorageError: Anything else, translated.
        """
        if self._opened:
            return
        if self._open_lock is None:
            self._open_lock = anyio.Lock()
        async with self._open_lock:  # a second caller finds it open (or tries again)
            try:
                await self._open_raw(deadline, retry=retry)
            except BaseException:
                writer, self._writer = self._writer, None
                if writer is not None:  # e.g. the tables are not ours: do not leak it
                    await _close_quietly(writer)
                raise
            self._opened = True
        self._recovered()

    async def _open_raw(self, deadline: float = math.inf, *, retry: bool = False) -> Adapter:
        """The writer connection, connecting and preparing the schema when needed.

        Raises:
            _Lost: The connection was lost or could not be made.
            StorageError: Anything else, translated.
        """
        if self._writer is None:
            self._writer = await self._connect_raw(deadline)
        if not self._schema_ready:
            try:
                await self._prepare(self._writer)
            except Exception as exc:
                module = _connect_module()
                if not module.is_psycopg_error(exc):
                    raise
                if module.classify(exc, self._writer) == module.Failure.CONNECTION:
                    raise self._lost(exc, escalate=retry) from None
                raise self._translate(exc) from None
        return self._writer

    async def _connect_raw(self, deadline: float = math.inf) -> Adapter:
        """One new connection, its session configured (``search_path`` and timeouts).

        While the server is unreachable, one call at a time tries (when the backoff
        allows), and the attempt is limited to the time left of ``reconnect_timeout``
        and of the caller's deadline.

        Raises:
            _Lost: The connection could not be made (worth another try).
            StorageError: It cannot work (refused login, bad parameter; at the first
                connect also a refused connection, unknown host or timeout).
        """
        module = _connect_module()
        now = anyio.current_time()
        outage = self._outage
        if outage is not None and now < outage.next_try:
            raise _Lost(outage.error)  # another call failed to connect a moment ago
        limit = self._connect_limit(now, deadline)
        try:
            with anyio.move_on_after(limit) as scope:
                adapter: Adapter = await module.connect(
                    self._target.connect_params(),
                    operation_timeout=self._target.operation_timeout,
                )
        except Exception as exc:
            if not module.is_psycopg_error(exc):
                raise
            if module.is_access_denied(exc) or (
                not self._connected_once and module.fails_at_first_connect(exc)
            ):
                raise self._translate(exc) from None
            raise self._lost(exc, escalate=True) from None
        if scope.cancelled_caught:
            error = StorageError(
                f"cannot reach PostgreSQL at {self.url}: no connection within {limit:.1f} s "
                "(the time left)"
            )
            if anyio.current_time() >= deadline:  # the caller's time is up, not the server
                raise _Lost(error)
            raise self._lost(error, escalate=True)
        self._connected_once = True
        self._connected_at[adapter] = anyio.current_time()
        try:
            await adapter.run(_configure_session(self._target.schema))
        except BaseException as exc:
            await _close_quietly(adapter)
            if isinstance(exc, Exception) and module.is_psycopg_error(exc):
                if module.classify(exc, adapter) == module.Failure.CONNECTION:
                    raise self._lost(exc, escalate=True) from None
                raise self._translate(exc) from None
            raise
        return adapter

    def _connect_limit(self, now: float, deadline: float) -> float:
        """Seconds a connect attempt may take: what is left of the outage and the
        caller's deadline (at least :data:`_MIN_CONNECT`; otherwise libpq's
        ``connect_timeout`` alone)."""
        limit = math.inf
        if self._outage is not None:
            limit = max(self._outage.deadline - now, _MIN_CONNECT)
        if deadline < math.inf:
            limit = min(limit, max(deadline - now, _MIN_CONNECT))
        return limit

    async def _prepare(self, adapter: Adapter) -> None:
        schema = self._target.schema
        where = self._target.display
        if not self._create:
            await adapter.run(_pgschema.check_schema(where, schema))
            self._schema_ready = True
            logger.debug("opened %s without creating anything", where)
            return

        def on_migrate(version: int) -> None:
            logger.info("migrating %s from schema version %d to %d", where, version, version + 1)

        create = (
            None if schema is None else f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(schema)}"
        )
        await adapter.run(_pgschema.prepare_schema(where, schema, create, on_migrate))
        try:
            filled = await adapter.run(_pgschema.fill_params_keys())
        except Exception as exc:
            # Best effort (lookups read the trials without a key too): a role that may
            # only read, or another process keying the same rows under a stricter
            # isolation level, leaves them to a later open.
            if not _connect_module().leaves_keys_for_later(exc):
                raise
            logger.info("left trials without a parameter key in %s for now: %s", where, exc)
        else:
            if filled:
                logger.info("computed the parameter key of %d older trial(s) in %s", filled, where)
        self._schema_ready = True
        logger.debug("opened %s", where)

    def _translate(self, exc: BaseException) -> StorageError:
        translated: StorageError = _connect_module().describe(
            exc, self._target.display, self._target.redact
        )
        return translated

    @override
    async def close(self) -> None:
        """Wait for queued writes, then close every connection. Safe to call twice."""
        with anyio.CancelScope(shield=True):
            while self._writing:  # a write waiting to try again would reopen the store
                if self._writes_done is None:
                    self._writes_done = anyio.Event()
                await self._writes_done.wait()
            await self._pending.wait_idle()
            adapters = [] if self._writer is None else [self._writer]
            adapters.extend(self._idle_readers)
            self._writer = None
            self._idle_readers = []
            self._schema_ready = False
            self._opened = False
            self._outage = None
            for adapter in adapters:
                try:
                    await adapter.close()
                except Exception:  # closing a lost connection may fail; nothing to save
                    logger.debug("closing a connection to %s failed", self.url, exc_info=True)
            if adapters:
                logger.debug("closed %s", self.url)

    # -- lost connections ------------------------------------------------------------
    async def _retry_loop(self, once: Callable[[int], Awaitable[T]]) -> T:
        """Run ``once(tries)`` shielded until it does not lose the connection.

        Between tries the call waits for the outage's next attempt, unshielded: a
        cancelled caller stops there. A try is bounded by the operation timeout (and
        a connect by the time left), so a cancellation is honoured within about
        that long.

        Raises:
            StorageError: The server stayed unreachable past ``reconnect_timeout``.
        """
        tries = 0
        while True:
            await self._before_try(tries)
            with anyio.CancelScope(shield=True):
                try:
                    return await once(tries)
                except _Lost:
                    pass
            tries += 1

    async def _before_try(self, tries: int) -> None:
        """Wait until the next attempt is due; raise when the store is down.

        A first try outside an outage goes ahead at once, without a checkpoint (so
        a write of a caller cancelled a moment ago still happens, as ever).
        """
        outage = self._outage
        if outage is None:
            if tries:
                await anyio.lowlevel.checkpoint()  # someone reconnected: try again
            return
        now = anyio.current_time()
        if now >= outage.deadline:
            if not tries and now >= outage.next_try:
                # Down: this call checks whether the server is back (one connect
                # attempt; when it fails, the backoff puts the next check a few
                # seconds later, and the calls until then fail at once).
                return
            raise self._gave_up(outage)
        await anyio.sleep(max(0.0, min(outage.next_try, outage.deadline) - now))

    def _lost(self, exc: BaseException, *, escalate: bool) -> _Lost:
        """Record a lost connection (or a failed connect); the error to raise.

        ``escalate``: a reconnect or a retry failed (not merely another connection
        found lost): the backoff grows, and the first time a warning is logged.
        """
        error = exc if isinstance(exc, StorageError) else self._translate(exc)
        now = anyio.current_time()
        outage = self._outage
        if outage is None:
            reason = " ".join(self._target.redact(str(exc)).split())
            opening = not self._connected_once
            outage = self._outage = _Outage(reason, error, now, self._reconnect_timeout, opening)
            self._last_loss = now
        outage.error = error
        if escalate:
            outage.delay = min(outage.delay * 2, _MAX_DELAY)
            outage.next_try = now + outage.delay * random.uniform(0.5, 1.0)
            if not outage.warned:
                outage.warned = True
                logger.warning(
                    "%s: %s (%s); retrying for up to %g s",
                    self.url,
                    "cannot connect" if outage.opening else "lost the connection",
                    outage.reason,
                    self._reconnect_timeout,
                )
        return _Lost(error)

    def _recovered(self) -> None:
        """A call succeeded: the outage, if any, is over (logged in one line)."""
        outage = self._outage
        if outage is None:
            return
        self._outage = None
        if outage.warned:
            seconds = anyio.current_time() - outage.started
            done = "connected" if outage.opening else "reconnected"
            logger.info("%s: %s after %.1f s", self.url, done, seconds)
        else:
            logger.info(
                "%s: lost the connection (%s); reconnected at once", self.url, outage.reason
            )

    def _gave_up(self, outage: _Outage) -> StorageError:
        """The error of a call that stops trying: the first cause and the last error."""
        last = str(outage.error)
        cause = "" if outage.reason in last else f" ({outage.reason})"
        timeout = f"reconnect_timeout={self._reconnect_timeout:g} s"
        if outage.opening:
            msg = f"could not connect to {self.url}{cause} within {timeout}: {last}"
        else:
            msg = (
                f"lost the connection to {self.url}{cause} and could not reconnect within "
                f"{timeout}: {last}"
            )
        return StorageError(msg)

    async def _attempt(
        self,
        run: Callable[[Adapter], Awaitable[T]],
        acquire: Callable[[float], Awaitable[Adapter]],
        release: Callable[[Adapter | None], Awaitable[None]],
        *,
        retry: bool,
        deadline: float,
    ) -> T:
        """Run ``run(adapter)`` once on a connection, repeating transaction conflicts.

        Raises:
            _Lost: The connection was lost or could not be made.
            _StatementFailed: The statements failed (not the connection).
            StorageError: The connection cannot be made (see :meth:`_connect_raw`).
        """
        module = _connect_module()
        conflicts = 0
        while True:
            adapter = await acquire(deadline)
            try:
                result = await run(adapter)
            except Exception as exc:
                if not module.is_psycopg_error(exc):
                    await release(adapter)
                    raise
                kind = module.classify(exc, adapter)
                if kind == module.Failure.CONNECTION or adapter.broken:
                    await _close_quietly(adapter)
                    await release(None)
                else:
                    await release(adapter)
                if kind == module.Failure.TRANSACTION and conflicts < _CONFLICT_RETRIES:
                    conflicts += 1
                    logger.debug("%s: transaction conflict, running it again", self.url)
                    await anyio.sleep(random.uniform(0.0, 0.01 * conflicts))
                    continue
                if kind == module.Failure.CONNECTION:
                    # A retry failing on a connection made since the loss means the
                    # reconnect failed (a pooled one may merely be stale as well); a
                    # timeout already took operation_timeout: say so at once.
                    escalate = retry and self._made_since_loss(adapter)
                    stalled = isinstance(exc, module.OperationTimeout)
                    raise self._lost(exc, escalate=escalate or stalled) from None
                raise _StatementFailed(self._translate(exc)) from None
            if adapter.broken:  # timed out just as the answer came: do not reuse it
                await _close_quietly(adapter)
                await release(None)
            else:
                await release(adapter)
            self._recovered()
            return result

    def _made_since_loss(self, adapter: Adapter) -> bool:
        """Whether ``adapter`` was connected after the last loss (or outage) began."""
        born = self._connected_at.get(adapter)
        return born is None or born >= self._last_loss

    async def _acquire_writer(self, deadline: float) -> Adapter:
        if self._writer is not None and self._schema_ready:
            return self._writer
        assert self._open_lock is not None
        async with self._open_lock:
            return await self._open_raw(deadline)

    async def _release_writer(self, adapter: Adapter | None) -> None:
        if adapter is None:
            self._writer = None

    async def _acquire_reader(self, deadline: float) -> Adapter:
        if self._idle_readers:
            return self._idle_readers.pop()
        return await self._connect_raw(deadline)

    async def _release_reader(self, adapter: Adapter | None) -> None:
        if adapter is None:
            return
        if not self._opened:  # closed meanwhile
            await _close_quietly(adapter)
        else:
            self._idle_readers.append(adapter)

    async def _read(self, make: Callable[[], Step[T]]) -> T:
        """Run a read on a pooled reader connection (tried again after a lost connection)."""
        deadline = anyio.current_effective_deadline()

        async def run(adapter: Adapter) -> T:
            return await adapter.run(make())

        async def once(tries: int) -> T:
            await self._ensure_open(deadline, retry=tries > 0)
            if self._reader_slots is None:
                self._reader_slots = anyio.Semaphore(self._readers)
            async with self._reader_slots:
                try:
                    return await self._attempt(
                        run,
                        self._acquire_reader,
                        self._release_reader,
                        retry=tries > 0,
                        deadline=deadline,
                    )
                except _StatementFailed as failed:
                    raise failed.error from None

        return await self._retry_loop(once)

    async def _write(
        self,
        make: Callable[[bool, str], Step[T]],
        study_id: int | None,
        *,
        simple: bool = True,
    ) -> T:
        """Queue a write; return its result once the transaction carrying it committed.

        A write whose transaction lost the connection is queued again, marked as
        retried (its first attempt may have committed), after waiting for the
        reconnect outside the group-commit queue.
        """
        token = secrets.token_hex(16)
        operation = _pgsql.Operation(
            functools.partial(_call_with_token, make, token),
            study_id=study_id,
            token=token,
            simple=simple,
            deadline=anyio.current_effective_deadline(),
        )

        async def once(tries: int) -> None:
            nonlocal operation
            if tries:
                operation = operation.again()
            await self._ensure_open(operation.deadline, retry=tries > 0)
            await self._pending.commit(operation, self._commit_batch)
            if isinstance(operation.error, _Lost):
                raise operation.error

        self._writing += 1
        try:
            await self._retry_loop(once)
        finally:
            self._writing -= 1
            if not self._writing and self._writes_done is not None:
                self._writes_done.set()
                self._writes_done = None
        if operation.error is not None:
            raise operation.error
        result: T = operation.result
        return result

    async def _commit_batch(self, batch: list[_pgsql.Operation]) -> None:
        """Run queued writes as one transaction, or one by one if a write breaks it."""
        try:
            await self._run_batch(batch)
        except _StatementFailed as failed:
            if len(batch) == 1:
                raise failed.error from None
            # One write broke the transaction: run each alone so only it fails.
            for index, operation in enumerate(batch):
                try:
                    await self._run_batch([operation])
                except _StatementFailed as alone:
                    operation.error = alone.error
                except _Lost as lost:  # this one and the rest are queued again
                    for rest in batch[index:]:
                        rest.error = lost
                    return

    async def _run_batch(self, batch: list[_pgsql.Operation]) -> None:
        retried = any(operation.retried for operation in batch)

        async def run(adapter: Adapter) -> None:
            await adapter.run(_pgsql.run_batch(batch, retried=retried))

        await self._attempt(
            run,
            self._acquire_writer,
            self._release_writer,
            retry=retried,
            deadline=max(operation.deadline for operation in batch),
        )

    # -- studies -------------------------------------------------------------------
    @override
    async def create_study(
        self,
        name: str,
        *,
        fingerprint: str,
        space: list[dict[str, JSONValue]],
        direction: str = "minimize",
        user_attrs: Mapping[str, JSONValue] | None = None,
        load_if_exists: bool = True,
    ) -> StudyRecord:
        check_study_name(name)
        check_direction(direction)
        _check_text(name, "study name")
        space_copy = normalize_space(space)
        attrs = normalize_attrs(user_attrs, "study user_attrs")
        return await self._write(
            lambda retried, token: _pgsql.create_study(
                retried,
                where=self.url,
                name=name,
                fingerprint=fingerprint,
                space=space_copy,
                space_json=dumps(space_copy, "space description"),
                direction=direction,
                user_attrs=attrs,
                user_attrs_json=dumps(attrs, "study user_attrs") if attrs else None,
                load_if_exists=load_if_exists,
                token=token,
            ),
            None,
        )

    @override
    async def import_study(
        self, study: StudyRecord, trials: Sequence[TrialRecord], *, name: str | None = None
    ) -> StudyRecord:
        checked = imported_study(study, name)
        _check_text(checked.name, "study name")
        rows = [_storable_row(row) for row in import_rows(trials)]
        return await self._write(
            lambda retried, token: _pgsql.import_study(
                retried, where=self.url, study=checked, rows=rows, token=token
            ),
            None,
            simple=False,
        )

    @override
    async def get_study(self, name: str) -> StudyRecord:
        return await self._read(functools.partial(_pgsql.get_study, where=self.url, name=name))

    @override
    async def list_studies(self) -> list[StudyRecord]:
        return await self._read(_pgsql.list_studies)

    @override
    async def delete_study(self, name: str) -> None:
        await self._write(
            lambda retried, _: _pgsql.delete_study(retried, where=self.url, name=name), None
        )

    @override
    async def replace_space(
        self,
        name: str,
        *,
        fingerprint: str,
        space: list[dict[str, JSONValue]],
        expected_fingerprint: str,
    ) -> StudyRecord:
        space_json = dumps(normalize_space(space), "space description")
        return await self._write(
            lambda _retried, _token: _pgsql.replace_space(
                where=self.url,
                name=name,
                fingerprint=fingerprint,
                space_json=space_json,
                expected_fingerprint=expected_fingerprint,
            ),
            None,
            simple=False,  # reads, decides in Python, then writes
        )

    # -- trials --------------------------------------------------------------------
    @override
    async def start_trial(
        self,
        study_id: int,
        params: Params,
        *,
        owner: str,
        max_trials: int | None = None,
    ) -> TrialRecord | None:
        params_copy = normalize_params(params)
        params_json = dumps(params_copy, "params")
        key = params_key(params_copy)
        _check_id(study_id, self.url)
        return await self._write(
            lambda retried, token: _pgsql.start_trial(
                retried,
                where=self.url,
                study_id=study_id,
                params_json=params_json,
                key=key,
                owner=owner,
                max_trials=max_trials,
                token=token,
            ),
            study_id,
        )

    @override
    async def enqueue_trial(
        self, study_id: int, params: Params, *, unless_holding: Params | None = None
    ) -> TrialRecord:
        params_copy = normalize_params(params)
        params_json = dumps(params_copy, "params")
        key = params_key(params_copy)
        given = None if unless_holding is None else normalize_params(unless_holding)
        _check_id(study_id, self.url)
        return await self._write(
            lambda retried, token: _pgsql.enqueue_trial(
                retried,
                where=self.url,
                study_id=study_id,
                params_json=params_json,
                key=key,
                token=token,
                given=given,
                whole=given is not None and is_whole(given, params_copy),
            ),
            study_id,
            # with the check, it reads before it writes: alone, after earlier writes
            simple=given is None,
        )

    @override
    async def add_trial(
        self,
        study_id: int,
        params: Params,
        *,
        state: TrialState,
        value: float | None = None,
        error: str | None = None,
        user_attrs: Mapping[str, JSONValue] | None = None,
        skip_if_exists: bool = False,
    ) -> TrialRecord:
        checked_value, checked_error = check_finish(state, value, error, what="add_trial")
        params_copy = normalize_params(params)
        params_json = dumps(params_copy, "params")
        key = params_key(params_copy)
        _check_id(study_id, self.url)
        checked_error = _storable_error(checked_error)
        attrs = normalize_attrs(user_attrs, "trial user_attrs")
        return await self._write(
            lambda retried, token: _pgsql.add_trial(
                retried,
                where=self.url,
                study_id=study_id,
                params_json=params_json,
                key=key,
                state=state,
                value=checked_value,
                error=checked_error,
                user_attrs=attrs,
                token=token,
                existing=params_copy if skip_if_exists else None,
            ),
            study_id,
            # with the check, it reads before it writes: alone, after earlier writes
            simple=not skip_if_exists,
        )

    @override
    async def claim_trial(
        self, study_id: int, *, owner: str, max_trials: int | None = None
    ) -> TrialRecord | None:
        _check_id(study_id, self.url)
        return await self._write(
            lambda retried, token: _pgsql.claim_trial(
                retried,
                where=self.url,
                study_id=study_id,
                owner=owner,
                max_trials=max_trials,
                token=token,
            ),
            study_id,
        )

    @override
    async def finish_trial(
        self,
        study_id: int,
        number: int,
        *,
        state: TrialState,
        value: float | None = None,
        error: str | None = None,
        user_attrs: Mapping[str, JSONValue] | None = None,
    ) -> TrialRecord:
        checked_value, checked_error = check_finish(state, value, error)
        check_trial_number(number)
        _check_id(study_id, self.url)
        checked_error = _storable_error(checked_error)
        attrs = normalize_attrs(user_attrs, "trial user_attrs")
        return await self._write(
            lambda retried, token: _pgsql.finish_trial(
                retried,
                where=self.url,
                study_id=study_id,
                number=number,
                state=state,
                value=checked_value,
                error=checked_error,
                user_attrs=attrs,
                token=token,
            ),
            study_id,
        )

    @override
    async def heartbeat(self, study_id: int, *, owner: str) -> None:
        _check_id(study_id, self.url)
        await self._write(
            lambda retried, _: _pgsql.heartbeat(
                retried, where=self.url, study_id=study_id, owner=owner
            ),
            study_id,
        )

    @override
    async def fail_stale(
        self,
        study_id: int,
        *,
        older_than: float,
        requeue: bool = False,
    ) -> list[int]:
        _check_id(study_id, self.url)
        failed = await self._write(
            lambda retried, token: _pgsql.fail_stale(
                retried,
                where=self.url,
                study_id=study_id,
                older_than=older_than,
                requeue=requeue,
                token=token,
            ),
            study_id,
            simple=False,  # reads, decides in Python, then writes
        )
        if failed:
            read = functools.partial(
                self._read, functools.partial(_pgsql.study_name, study_id=study_id)
            )
            name = await stale_study_name(read, study_id)
            log_failed_stale(logger, self.url, name, failed, requeue=requeue)
        return failed

    @override
    async def get_trial(self, study_id: int, number: int) -> TrialRecord:
        check_trial_number(number)
        _check_id(study_id, self.url)
        return await self._read(
            functools.partial(_pgsql.get_trial, where=self.url, study_id=study_id, number=number)
        )

    @override
    async def trials(
        self,
        study_id: int,
        *,
        states: Collection[TrialState] | None = None,
        changed_after: int | None = None,
    ) -> list[TrialRecord]:
        chosen = state_filter(states)
        _check_id(study_id, self.url)
        return await self._read(
            functools.partial(
                _pgsql.trials,
                where=self.url,
                study_id=study_id,
                states=chosen,
                changed_after=changed_after,
            )
        )

    @override
    async def find_trial(
        self, study_id: int, params: Params, *, states: Collection[TrialState]
    ) -> TrialRecord | None:
        # One indexed query, instead of the base class reading the trials in ``states``.
        chosen = state_filter(states) or frozenset()
        params_copy = normalize_params(params)
        key = params_key(params_copy)
        _check_id(study_id, self.url)
        return await self._read(
            functools.partial(
                _pgsql.find_trial,
                where=self.url,
                study_id=study_id,
                params=params_copy,
                key=key,
                states=chosen,
            )
        )

    @override
    async def best_trial(self, study_id: int, *, direction: str = "minimize") -> TrialRecord | None:
        # One query, instead of the base class reading every COMPLETE trial.
        check_direction(direction)
        _check_id(study_id, self.url)
        return await self._read(
            functools.partial(
                _pgsql.best_trial, where=self.url, study_id=study_id, direction=direction
            )
        )

    @override
    async def count_trials(self, study_id: int) -> dict[TrialState, int]:
        _check_id(study_id, self.url)
        return await self._read(
            functools.partial(_pgsql.count_trials, where=self.url, study_id=study_id)
        )


class _StatementFailed(Exception):
    """The database rejected a statement (the connection is fine); carries the error."""

    def __init__(self, error: StorageError) -> None:
        super().__init__(str(error))
        self.error = error


class _Lost(Exception):
    """The connection was lost or could not be made: wait, then try again."""

    def __init__(self, error: StorageError) -> None:
        super().__init__(str(error))
        self.error = error


class _Outage:
    """The server has been unreachable since ``started`` (``anyio.current_time()``).

    Calls wait for ``next_try`` (exponential backoff with jitter); once ``deadline``
    (``reconnect_timeout`` after the loss) has passed, the store is down and calls
    fail at once, but for one connect attempt every :data:`_MAX_DELAY` seconds.
    """

    __slots__ = ("deadline", "delay", "error", "next_try", "opening", "reason", "started", "warned")

    def __init__(
        self, reason: str, error: StorageError, now: float, timeout: float, opening: bool
    ) -> None:
        #: The first failure, in one line (for the log).
        self.reason = reason
        #: The last failure, translated (for the final error).
        self.error = error
        self.started = now
        self.deadline = now + timeout
        self.delay = _FIRST_DELAY
        self.next_try = now + _FIRST_DELAY * random.uniform(0.5, 1.0)
        #: Whether the one warning of this outage was logged.
        self.warned = False
        #: Whether no connection ever succeeded (the first open).
        self.opening = opening


def _call_with_token(make: Callable[[bool, str], Step[T]], token: str, retried: bool) -> Step[T]:
    return make(retried, token)


#: A client that stops mid-transaction (frozen, or cut off by the network) while
#: holding a study's lock would stall every other worker; the server ends such a
#: session after this long. Our transactions never wait on the client that long.
#: A shorter value set for the database or the role is kept.
_IDLE_IN_TRANSACTION_MS = 30_000


def _configure_session(schema: str | None) -> Step[None]:
    """Session settings of every connection of the store, in one round trip.

    ``statement_timeout`` and ``lock_timeout`` are turned off rather than retried:
    the store's transactions are a few statements long and only ever wait for a
    study row that another worker locks for milliseconds, or for a stalled worker
    that ``idle_in_transaction_session_timeout`` soon ends, and all of them are
    needed (a finished trial's result must be written). A timeout meant for
    interactive sessions (set for the database or the role) would only end the run
    in a busy moment; the client's ``operation_timeout`` bounds every wait instead.
    """
    queries: Burst = [
        (
            "SELECT set_config('statement_timeout', '0', false), "
            "set_config('lock_timeout', '0', false)",
            (),
        ),
        (
            "SELECT set_config('idle_in_transaction_session_timeout', %s, false) "
            "FROM pg_catalog.pg_settings WHERE name = 'idle_in_transaction_session_timeout' "
            "AND setting::bigint NOT BETWEEN 1 AND %s",
            (f"{_IDLE_IN_TRANSACTION_MS}ms", _IDLE_IN_TRANSACTION_MS),
        ),
    ]
    if schema is not None:
        queries.append((f"SET search_path TO {quote_identifier(schema)}", ()))
    yield queries


async def _close_quietly(adapter: Adapter) -> None:
    try:
        await adapter.close()
    except Exception:  # already lost; nothing to save
        logger.debug("closing a lost connection failed", exc_info=True)


_BIGINT = 2**63


def _check_id(study_id: object, where: str) -> None:
    # Out-of-range ids would fail in the driver; they name no study either way.
    if type(study_id) is int and not -_BIGINT <= study_id < _BIGINT:
        raise unknown_study_id(study_id, where)


def _storable_error(error: str | None) -> str | None:
    """An error text as PostgreSQL text can hold it: a NUL written out as ``\\x00``."""
    return None if error is None else error.replace("\x00", "\\x00")


def _storable_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row of ``import_rows`` as PostgreSQL text can hold it (which has no NUL): an
    error's NUL written out, as ``finish_trial`` does; an owner's refused."""
    number, state, params, value, error, user_attrs, owner, *times = row
    error = _storable_error(error)
    if owner is not None:
        _check_text(owner, f"trial {number}'s owner")
    return (number, state, params, value, error, user_attrs, owner, *times)


def _check_text(text: str, what: str) -> None:
    if "\x00" in text:
        msg = f"{what} {text!r} contains a NUL character, which PostgreSQL text cannot hold"
        raise StorageError(msg)
