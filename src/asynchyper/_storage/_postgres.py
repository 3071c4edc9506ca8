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
    ``idle_in_transaction_session_timeout`` (30 s) and TCP keepalives, so a client
    frozen or cut off mid-transaction cannot hold a study's lock for long.

Connection loss
    When the connection drops (server restart, ``pg_terminate_backend``, network),
    the store reconnects with exponential backoff for up to ``reconnect_timeout``
    seconds and runs the lost batch again. Whether the lost COMMIT happened cannot
    be known, so every write carries a random request token stored with the rows it
    writes; on the retry each write first looks for its token and returns what its
    first attempt did. A retried ``start_trial`` never creates a second trial, a
    retried ``finish_trial`` does not fail as "already finished".

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
import random
import secrets
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

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
    log_failed_stale,
    normalize_attrs,
    normalize_params,
    normalize_space,
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
    of one process share a transaction (group commit). Writes and reads are shielded
    from cancellation, so a cancelled caller never leaves a transaction open or
    loses a result that was being written. The connection is re-established after a
    loss, and writes are retried without ever being applied twice. Heartbeat ages
    (``fail_stale``) are measured by the database server's clock, so machines with
    skewed clocks agree. See the module docstring of
    ``asynchyper._storage._postgres`` for the locking scheme.

    The store opens itself on first use; :meth:`open` or ``async with`` opens it
    explicitly (and reports a bad URL or database early). Use one instance from one
    event loop. The tables (``asynchyper_meta``, ``asynchyper_studies``,
    ``asynchyper_trials``) are created when missing, unless ``create=False``.

    Args:
        url: ``postgresql://user:password@host:5432/database`` (also ``postgres://``
            and ``postgresql+psycopg://``; libpq parameters go in the query string,
            e.g. ``?sslmode=require``), or a libpq ``"key=value ..."`` string.
            ``?schema=NAME`` puts the tables into that PostgreSQL schema.
        schema: The PostgreSQL schema for the tables (created when missing), instead
            of the connection's default ``search_path``.
        readers: Most connections used for reads at once (besides the writer).
        max_batch: Most writes carried by one transaction.
        connect_timeout: Seconds to wait for a connection.
        reconnect_timeout: Seconds to keep trying to reconnect after losing the
            connection before the pending calls fail with a StorageError.
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
        ):
            if not seconds > 0:  # also rejects NaN
                msg = f"{name} must be a positive number of seconds, got {seconds!r}"
                raise StorageError(msg)
        self._target: Target = parse_url(
            url,
            schema=schema,
            application_name=application_name,
            connect_timeout=connect_timeout,
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
            StorageError: The server cannot be reached.
        """
        with anyio.CancelScope(shield=True):
            await self._ensure_open()

    async def _ensure_open(self) -> None:
        """Open once; errors of this first connection are raised at once, translated."""
        if self._opened:
            return
        if self._open_lock is None:
            self._open_lock = anyio.Lock()
        try:
            async with self._open_lock:
                try:
                    await self._open_raw()
                except BaseException:
                    writer, self._writer = self._writer, None
                    if writer is not None:  # e.g. the tables are not ours: do not leak it
                        await _close_quietly(writer)
                    raise
        except Exception as exc:
            if _connect_module().is_psycopg_error(exc):
                raise self._translate(exc) from None
            raise
        self._opened = True

    async def _open_raw(self) -> Adapter:
        """The writer connection, connecting and preparing the schema when needed.

        Driver errors are raised untranslated, for :meth:`_retrying` to classify.
        """
        if self._writer is None:
            self._writer = await self._connect_raw()
        if not self._schema_ready:
            await self._prepare(self._writer)
        return self._writer

    async def _connect_raw(self) -> Adapter:
        """One new connection, its ``search_path`` set to the schema."""
        adapter: Adapter = await _connect_module().connect(self._target.connect_params())
        try:
            await adapter.run(_configure_session(self._target.schema))
        except BaseException:
            await _close_quietly(adapter)
            raise
        return adapter

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
            await self._pending.wait_idle()
            adapters = [] if self._writer is None else [self._writer]
            adapters.extend(self._idle_readers)
            self._writer = None
            self._idle_readers = []
            self._schema_ready = False
            self._opened = False
            for adapter in adapters:
                try:
                    await adapter.close()
                except Exception:  # closing a lost connection may fail; nothing to save
                    logger.debug("closing a connection to %s failed", self.url, exc_info=True)
            if adapters:
                logger.debug("closed %s", self.url)

    async def _retrying(
        self,
        attempt: Callable[[Adapter, bool], Awaitable[T]],
        acquire: Callable[[], Awaitable[Adapter]],
        release: Callable[[Adapter | None], Awaitable[None]],
    ) -> T:
        """Run ``attempt(adapter, retried)``, reconnecting after a lost connection.

        ``retried`` is true once a connection was lost during an attempt: its commit
        may have happened, and the writes must look for their request tokens.

        Raises:
            _StatementFailed: The statements failed (not the connection).
            StorageError: The connection could not be re-established in time.
        """
        module = _connect_module()
        retried = False
        conflicts = 0
        delay = _FIRST_DELAY
        deadline: float | None = None
        while True:
            adapter: Adapter | None = None
            try:
                adapter = await acquire()
                result = await attempt(adapter, retried)
            except Exception as exc:
                if not module.is_psycopg_error(exc):
                    await release(adapter)
                    raise
                kind = module.classify(exc, adapter)
                if adapter is not None and adapter.broken:
                    await _close_quietly(adapter)
                    adapter = None
                await release(adapter)
                if kind == module.Failure.TRANSACTION and conflicts < _CONFLICT_RETRIES:
                    conflicts += 1
                    logger.debug("%s: transaction conflict, running it again", self.url)
                    await anyio.sleep(random.uniform(0.0, 0.01 * conflicts))
                    continue
                if kind != module.Failure.CONNECTION:
                    raise _StatementFailed(self._translate(exc)) from None
                retried = True
                now = time.monotonic()
                if deadline is None:
                    deadline = now + self._reconnect_timeout
                    logger.warning(
                        "%s: lost the connection (%s); reconnecting",
                        self.url,
                        self._target.redact(str(exc).strip()),
                    )
                if now >= deadline:
                    error = self._translate(exc)
                    msg = (
                        f"lost the connection to {self.url} and could not reconnect within "
                        f"reconnect_timeout={self._reconnect_timeout:g} s: {error}"
                    )
                    raise StorageError(msg) from None
                await anyio.sleep(min(delay, max(0.0, deadline - now)) * random.uniform(0.5, 1.0))
                delay = min(delay * 2, _MAX_DELAY)
                continue
            await release(adapter)
            if deadline is not None:
                logger.info("%s: reconnected", self.url)
            return result

    async def _acquire_writer(self) -> Adapter:
        if self._writer is not None and self._schema_ready:
            return self._writer
        assert self._open_lock is not None
        async with self._open_lock:
            return await self._open_raw()

    async def _release_writer(self, adapter: Adapter | None) -> None:
        if adapter is None:
            self._writer = None

    async def _read(self, make: Callable[[], Step[T]]) -> T:
        """Run a read on a pooled reader connection (retried after a lost connection)."""
        with anyio.CancelScope(shield=True):
            result = await self._read_now(make)
        return result

    async def _read_now(self, make: Callable[[], Step[T]]) -> T:
        await self._ensure_open()
        if self._reader_slots is None:
            self._reader_slots = anyio.Semaphore(self._readers)

        async def acquire() -> Adapter:
            if self._idle_readers:
                return self._idle_readers.pop()
            return await self._connect_raw()

        async def release(adapter: Adapter | None) -> None:
            if adapter is None:
                return
            if not self._opened:  # closed meanwhile
                await _close_quietly(adapter)
            else:
                self._idle_readers.append(adapter)

        async def attempt(adapter: Adapter, retried: bool) -> T:
            del retried  # reads are safe to repeat
            return await adapter.run(make())

        async with self._reader_slots:
            try:
                return await self._retrying(attempt, acquire, release)
            except _StatementFailed as failed:
                raise failed.error from None

    async def _write(
        self,
        make: Callable[[bool, str], Step[T]],
        study_id: int | None,
        *,
        simple: bool = True,
    ) -> T:
        """Queue a write; return its result once the transaction carrying it committed."""
        token = secrets.token_hex(16)
        operation = _pgsql.Operation(
            functools.partial(_call_with_token, make, token),
            study_id=study_id,
            token=token,
            simple=simple,
        )
        with anyio.CancelScope(shield=True):
            await self._ensure_open()
            await self._pending.commit(operation, self._commit_batch)
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
            for operation in batch:
                try:
                    await self._run_batch([operation])
                except _StatementFailed as alone:
                    operation.error = alone.error

    async def _run_batch(self, batch: list[_pgsql.Operation]) -> None:
        async def attempt(adapter: Adapter, retried: bool) -> None:
            await adapter.run(_pgsql.run_batch(batch, retried=retried))

        await self._retrying(attempt, self._acquire_writer, self._release_writer)

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
        params_json = dumps(normalize_params(params), "params")
        _check_id(study_id, self.url)
        return await self._write(
            lambda retried, token: _pgsql.start_trial(
                retried,
                where=self.url,
                study_id=study_id,
                params_json=params_json,
                owner=owner,
                max_trials=max_trials,
                token=token,
            ),
            study_id,
        )

    @override
    async def enqueue_trial(self, study_id: int, params: Params) -> TrialRecord:
        params_json = dumps(normalize_params(params), "params")
        _check_id(study_id, self.url)
        return await self._write(
            lambda retried, token: _pgsql.enqueue_trial(
                retried, where=self.url, study_id=study_id, params_json=params_json, token=token
            ),
            study_id,
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
        if checked_error is not None:
            checked_error = checked_error.replace("\x00", "\\x00")  # PostgreSQL text has no NUL
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
        log_failed_stale(logger, self.url, study_id, failed, requeue=requeue)
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


def _call_with_token(make: Callable[[bool, str], Step[T]], token: str, retried: bool) -> Step[T]:
    return make(retried, token)


#: A client that stops mid-transaction (frozen, or cut off by the network) while
#: holding a study's lock would stall every other worker; the server ends such a
#: session after this long. Our transactions never wait on the client that long.
_IDLE_IN_TRANSACTION_TIMEOUT = "30s"


def _configure_session(schema: str | None) -> Step[None]:
    queries: Burst = [
        (
            "SELECT set_config('idle_in_transaction_session_timeout', %s, false)",
            (_IDLE_IN_TRANSACTION_TIMEOUT,),
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


def _check_text(text: str, what: str) -> None:
    if "\x00" in text:
        msg = f"{what} {text!r} contains a NUL character, which PostgreSQL text cannot hold"
        raise StorageError(msg)
