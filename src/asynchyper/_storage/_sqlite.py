"""SQLite storage (aiosqlite on asyncio, a worker thread on trio), with group commit."""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Literal, TypeVar

import anyio

from .._compat import override
from .._errors import StorageError
from .._records import StudyRecord, TrialRecord, TrialState
from .._types import JSONValue, Params
from . import _sql
from ._base import Storage
from ._common import (
    check_direction,
    check_finish,
    check_study_name,
    check_trial_number,
    import_rows,
    imported_study,
    log_failed_stale,
    normalize_attrs,
    normalize_params,
    normalize_space,
    stale_study_name,
    state_filter,
)
from ._connection import Runner, connect
from ._groupcommit import PendingWrites
from ._translate import sqlite_error

__all__ = ["SQLiteStorage"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]
_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


class SQLiteStorage(Storage):
    """Durable storage in one SQLite file, shared safely by several processes.

    Every write is its own short ``BEGIN IMMEDIATE`` transaction in WAL mode and is
    durable (with the default ``synchronous="FULL"``) when the coroutine returns.
    Writes from many concurrent tasks are *group-committed*: they queue up while a
    commit is in flight, and the next commit carries all of them, each inside its
    own savepoint so that one failing write does not undo the others. Writes are
    shielded from cancellation, so a cancelled caller never leaves a transaction
    open or loses a result that was already being written.

    The store opens itself on first use; :meth:`open` or ``async with`` opens it
    explicitly (and reports a bad file early). Use one instance from one event loop.

    Args:
        path: The database file; created (readable by its owner only) if missing.
        synchronous: SQLite ``PRAGMA synchronous``. ``"FULL"`` makes each commit
            durable; ``"NORMAL"`` is faster but may lose the last commits on power loss.
        busy_timeout: Seconds to wait for another process's write lock.
        max_batch: Most writes carried by one commit.

    Raises:
        StorageError: An invalid option.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Synchronous = "FULL",
        busy_timeout: float = 30.0,
        max_batch: int = 512,
    ) -> None:
        if synchronous not in _SYNCHRONOUS:
            msg = f"synchronous must be one of {', '.join(_SYNCHRONOUS)}, got {synchronous!r}"
            raise StorageError(msg)
        if not busy_timeout > 0:  # also rejects NaN
            msg = f"busy_timeout must be a positive number of seconds, got {busy_timeout!r}"
            raise StorageError(msg)
        if max_batch < 1:
            msg = f"max_batch must be a positive int, got {max_batch!r}"
            raise StorageError(msg)
        self._path = os.path.abspath(os.fspath(path))
        self._synchronous = synchronous
        self._busy_timeout = float(busy_timeout)
        self._runner: Runner | None = None
        self._open_lock: anyio.Lock | None = None
        self._pending: PendingWrites[_sql.Operation] = PendingWrites(max_batch)

    def __repr__(self) -> str:
        return f"SQLiteStorage({self._path!r})"

    @property
    def path(self) -> str:
        """Absolute path of the database file."""
        return self._path

    # -- connection ------------------------------------------------------------------
    @override
    async def open(self) -> None:
        """Open the file, creating it and its schema if needed (idempotent).

        Raises:
            StorageCorruptError: Not SQLite, or another program's database.
            StorageVersionError: Written by a newer asynchyper.
            StorageAccessError: Missing directory, or no permission.
            StorageFullError: No space to create it.
        """
        await self._ensure_open()

    async def _ensure_open(self) -> Runner:
        if self._runner is not None:
            return self._runner
        if self._open_lock is None:
            self._open_lock = anyio.Lock()
        async with self._open_lock:
            if self._runner is None:
                self._runner = await connect(
                    self._path, synchronous=self._synchronous, busy_timeout=self._busy_timeout
                )
                logger.debug("opened %s", self._path)
            return self._runner

    @override
    async def close(self) -> None:
        """Wait for queued writes, then close the connection. Safe to call twice."""
        with anyio.CancelScope(shield=True):
            await self._pending.wait_idle()
            runner, self._runner = self._runner, None
            if runner is not None:
                try:
                    await runner.close()
                except sqlite3.Error as exc:
                    raise sqlite_error(exc, self._path) from exc
                logger.debug("closed %s", self._path)

    async def _read(self, function: Callable[[sqlite3.Connection], T]) -> T:
        runner = await self._ensure_open()
        try:
            return await runner.run(function)
        except sqlite3.Error as exc:
            raise sqlite_error(exc, self._path) from exc

    async def _write(self, function: Callable[[sqlite3.Connection], T]) -> T:
        """Queue a write and return its result once the commit carrying it is durable."""
        runner = await self._ensure_open()
        operation = _sql.Operation(function)
        await self._pending.commit(operation, functools.partial(self._run_batch, runner))
        error = operation.error
        if error is not None:
            if isinstance(error, sqlite3.Error):
                raise sqlite_error(error, self._path) from error
            raise error
        result: T = operation.result
        return result

    async def _run_batch(self, runner: Runner, batch: list[_sql.Operation]) -> None:
        await runner.run(
            functools.partial(_sql.run_batch, operations=batch, busy_timeout=self._busy_timeout)
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
        space_copy = normalize_space(space)
        return await self._write(
            functools.partial(
                _sql.create_study,
                where=self._path,
                name=name,
                fingerprint=fingerprint,
                space=space_copy,
                direction=direction,
                user_attrs=normalize_attrs(user_attrs, "study user_attrs"),
                load_if_exists=load_if_exists,
            )
        )

    @override
    async def import_study(
        self, study: StudyRecord, trials: Sequence[TrialRecord], *, name: str | None = None
    ) -> StudyRecord:
        checked, rows = imported_study(study, name), import_rows(trials)
        return await self._write(
            functools.partial(_sql.import_study, where=self._path, study=checked, rows=rows)
        )

    @override
    async def get_study(self, name: str) -> StudyRecord:
        return await self._read(functools.partial(_sql.get_study, where=self._path, name=name))

    @override
    async def list_studies(self) -> list[StudyRecord]:
        return await self._read(_sql.list_studies)

    @override
    async def delete_study(self, name: str) -> None:
        await self._write(functools.partial(_sql.delete_study, where=self._path, name=name))

    @override
    async def replace_space(
        self,
        name: str,
        *,
        fingerprint: str,
        space: list[dict[str, JSONValue]],
        expected_fingerprint: str,
    ) -> StudyRecord:
        return await self._write(
            functools.partial(
                _sql.replace_space,
                where=self._path,
                name=name,
                fingerprint=fingerprint,
                space=normalize_space(space),
                expected_fingerprint=expected_fingerprint,
            )
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
        return await self._write(
            functools.partial(
                _sql.start_trial,
                where=self._path,
                study_id=study_id,
                params=normalize_params(params),
                owner=owner,
                max_trials=max_trials,
            )
        )

    @override
    async def enqueue_trial(
        self, study_id: int, params: Params, *, unless_holding: Params | None = None
    ) -> TrialRecord:
        return await self._write(
            functools.partial(
                _sql.enqueue_trial,
                where=self._path,
                study_id=study_id,
                params=normalize_params(params),
                unless_holding=None if unless_holding is None else normalize_params(unless_holding),
            )
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
        return await self._write(
            functools.partial(
                _sql.add_trial,
                where=self._path,
                study_id=study_id,
                params=normalize_params(params),
                state=state,
                value=checked_value,
                error=checked_error,
                user_attrs=normalize_attrs(user_attrs, "trial user_attrs"),
                skip_if_exists=skip_if_exists,
            )
        )

    @override
    async def claim_trial(
        self, study_id: int, *, owner: str, max_trials: int | None = None
    ) -> TrialRecord | None:
        return await self._write(
            functools.partial(
                _sql.claim_trial,
                where=self._path,
                study_id=study_id,
                owner=owner,
                max_trials=max_trials,
            )
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
        return await self._write(
            functools.partial(
                _sql.finish_trial,
                where=self._path,
                study_id=study_id,
                number=number,
                state=state,
                value=checked_value,
                error=checked_error,
                user_attrs=normalize_attrs(user_attrs, "trial user_attrs"),
            )
        )

    @override
    async def heartbeat(self, study_id: int, *, owner: str) -> None:
        await self._write(
            functools.partial(_sql.heartbeat, where=self._path, study_id=study_id, owner=owner)
        )

    @override
    async def fail_stale(
        self,
        study_id: int,
        *,
        older_than: float,
        requeue: bool = False,
    ) -> list[int]:
        failed = await self._write(
            functools.partial(
                _sql.fail_stale,
                where=self._path,
                study_id=study_id,
                older_than=older_than,
                requeue=requeue,
            )
        )
        if failed:
            read = functools.partial(
                self._read, functools.partial(_sql.study_name, study_id=study_id)
            )
            name = await stale_study_name(read, study_id)
            log_failed_stale(logger, self._path, name, failed, requeue=requeue)
        return failed

    @override
    async def get_trial(self, study_id: int, number: int) -> TrialRecord:
        check_trial_number(number)
        return await self._read(
            functools.partial(_sql.get_trial, where=self._path, study_id=study_id, number=number)
        )

    @override
    async def trials(
        self,
        study_id: int,
        *,
        states: Collection[TrialState] | None = None,
        changed_after: int | None = None,
    ) -> list[TrialRecord]:
        return await self._read(
            functools.partial(
                _sql.trials,
                where=self._path,
                study_id=study_id,
                states=state_filter(states),
                changed_after=changed_after,
            )
        )

    @override
    async def find_trial(
        self, study_id: int, params: Params, *, states: Collection[TrialState]
    ) -> TrialRecord | None:
        return await self._read(
            functools.partial(
                _sql.find_trial,
                where=self._path,
                study_id=study_id,
                params=normalize_params(params),
                states=state_filter(states) or frozenset(),
            )
        )

    @override
    async def best_trial(self, study_id: int, *, direction: str = "minimize") -> TrialRecord | None:
        # One query, instead of the base class reading every COMPLETE trial.
        check_direction(direction)
        return await self._read(
            functools.partial(
                _sql.best_trial, where=self._path, study_id=study_id, direction=direction
            )
        )

    @override
    async def count_trials(self, study_id: int) -> dict[TrialState, int]:
        return await self._read(
            functools.partial(_sql.count_trials, where=self._path, study_id=study_id)
        )
