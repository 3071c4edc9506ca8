"""SQLite storage (aiosqlite on asyncio, a worker thread on trio), with group commit."""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
from collections.abc import Callable, Collection, Mapping
from typing import Literal, TypeVar

import anyio

from .._errors import StorageError, UnknownTrialError
from .._records import StudyRecord, TrialRecord, TrialState
from .._types import JSONValue, Params
from . import _sql
from ._base import Storage
from ._common import (
    check_direction,
    check_finish,
    check_study_name,
    normalize_attrs,
    normalize_params,
    state_filter,
)
from ._connection import Runner, connect
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
        self._max_batch = max_batch
        self._runner: Runner | None = None
        self._open_lock: anyio.Lock | None = None
        self._pending: list[_sql.Operation] = []
        self._writing = False
        self._idle: anyio.Event | None = None

    def __repr__(self) -> str:
        return f"SQLiteStorage({self._path!r})"

    @property
    def path(self) -> str:
        """Absolute path of the database file."""
        return self._path

    # -- connection ------------------------------------------------------------------
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

    async def close(self) -> None:
        """Wait for queued writes, then close the connection. Safe to call twice."""
        with anyio.CancelScope(shield=True):
            while self._writing:
                if self._idle is None:
                    self._idle = anyio.Event()
                await self._idle.wait()
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
        operation = _sql.Operation(function, anyio.Event())
        with anyio.CancelScope(shield=True):
            self._pending.append(operation)
            if self._writing:
                await operation.wake.wait()  # done, or woken to lead the next batch
            else:
                self._writing = True
            if not operation.done:
                await self._commit_batch(runner)
        error = operation.error
        if error is not None:
            if isinstance(error, sqlite3.Error):
                raise sqlite_error(error, self._path) from error
            raise error
        result: T = operation.result
        return result

    async def _commit_batch(self, runner: Runner) -> None:
        """Run the queued writes as one transaction, then wake their callers."""
        batch = self._pending[: self._max_batch]
        del self._pending[: len(batch)]
        try:
            await runner.run(
                functools.partial(_sql.run_batch, operations=batch, busy_timeout=self._busy_timeout)
            )
        except BaseException as exc:
            for operation in batch:
                operation.error = exc
            if not isinstance(exc, Exception):
                raise
        finally:
            for operation in batch:
                operation.done = True
                operation.wake.set()
            if self._pending:
                self._pending[0].wake.set()  # the oldest waiter leads the next batch
            else:
                self._writing = False
                if self._idle is not None:
                    self._idle.set()
                    self._idle = None

    # -- studies -------------------------------------------------------------------
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
        """Create a study, or return the existing one of that name.

        Args:
            name: Unique study name.
            fingerprint: Fingerprint of the compiled space.
            space: JSON description of the space (``Space.describe()``).
            direction: ``"minimize"`` or ``"maximize"``.
            user_attrs: JSON-safe attributes stored with a new study.
            load_if_exists: Return an existing study instead of raising.

        Returns:
            The new or existing study.

        Raises:
            SpaceMismatchError: The study exists with another fingerprint.
            StorageError: It exists and ``load_if_exists`` is false, it exists with
                the other direction, or an argument is invalid.
        """
        check_study_name(name)
        check_direction(direction)
        space_copy: list[dict[str, JSONValue]] = normalize_attrs(
            {"space": list(space)}, "space description"
        )["space"]  # type: ignore[assignment] # a JSON list round-trips to a list
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

    async def get_study(self, name: str) -> StudyRecord:
        """Return the study called ``name``.

        Raises:
            UnknownStudyError: No such study; the message lists the known names.
        """
        return await self._read(functools.partial(_sql.get_study, where=self._path, name=name))

    async def list_studies(self) -> list[StudyRecord]:
        """All studies, ordered by creation."""
        return await self._read(_sql.list_studies)

    async def delete_study(self, name: str) -> None:
        """Delete a study and all its trials.

        Raises:
            UnknownStudyError: No such study.
        """
        await self._write(functools.partial(_sql.delete_study, where=self._path, name=name))

    # -- trials --------------------------------------------------------------------
    async def start_trial(
        self,
        study_id: int,
        params: Params,
        *,
        owner: str,
        max_trials: int | None = None,
    ) -> TrialRecord | None:
        """Create a RUNNING trial with the next free number; durable on return.

        Args:
            study_id: The study.
            params: Flat parameters of the new trial.
            owner: Owner id of the calling process (see ``new_owner_id``).
            max_trials: Budget of COMPLETE + RUNNING + WAITING trials, checked in
                the same transaction (so several processes share it exactly).

        Returns:
            The new trial, or ``None`` when the budget is used up.

        Raises:
            UnknownStudyError: No study with that id.
        """
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

    async def enqueue_trial(self, study_id: int, params: Params) -> TrialRecord:
        """Create a WAITING trial with fixed parameters, to be claimed later.

        Raises:
            UnknownStudyError: No study with that id.
        """
        return await self._write(
            functools.partial(
                _sql.enqueue_trial,
                where=self._path,
                study_id=study_id,
                params=normalize_params(params),
            )
        )

    async def claim_trial(self, study_id: int, *, owner: str) -> TrialRecord | None:
        """Move the lowest-numbered WAITING trial to RUNNING for ``owner``.

        Returns:
            The claimed trial, or ``None`` when nothing is waiting.

        Raises:
            UnknownStudyError: No study with that id.
        """
        return await self._write(
            functools.partial(_sql.claim_trial, where=self._path, study_id=study_id, owner=owner)
        )

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
        """Move a RUNNING trial to a finished state; durable on return.

        Args:
            study_id: The study.
            number: The trial's number.
            state: COMPLETE, FAILED or CANCELLED.
            value: The finite objective value of a COMPLETE trial, else ``None``.
            error: The failure reason.
            user_attrs: Attributes merged into the trial's user attributes.

        Returns:
            The finished trial.

        Raises:
            UnknownStudyError: No study with that id.
            UnknownTrialError: No trial with that number.
            TrialStateError: The trial is not RUNNING, or the outcome is invalid
                (e.g. COMPLETE with a NaN value).
        """
        checked_value, checked_error = check_finish(state, value, error)
        _check_number(number)
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

    async def heartbeat(self, study_id: int, *, owner: str) -> None:
        """Refresh ``heartbeat_at`` of every RUNNING trial that ``owner`` holds.

        Raises:
            UnknownStudyError: No study with that id.
        """
        await self._write(
            functools.partial(_sql.heartbeat, where=self._path, study_id=study_id, owner=owner)
        )

    async def fail_stale(
        self,
        study_id: int,
        *,
        older_than: float,
        requeue: bool = False,
    ) -> list[int]:
        """Fail RUNNING trials whose owner is gone.

        On the owner's host, a dead owner process makes its trials stale at once and
        a live one's are never failed; otherwise a heartbeat older than
        ``older_than`` seconds does. Any process can call it for any study.

        Args:
            study_id: The study.
            older_than: Heartbeat age, in seconds, after which a trial is stale.
            requeue: Enqueue each failed trial's parameters again as WAITING.

        Returns:
            The numbers of the trials that were failed.

        Raises:
            UnknownStudyError: No study with that id.
        """
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
            logger.warning(
                "%s: marked trials %s of study %d FAILED, their process is gone%s",
                self._path,
                failed,
                study_id,
                " (requeued)" if requeue else "",
            )
        return failed

    async def get_trial(self, study_id: int, number: int) -> TrialRecord:
        """One trial by number.

        Raises:
            UnknownStudyError: No study with that id.
            UnknownTrialError: No trial with that number.
        """
        _check_number(number)
        return await self._read(
            functools.partial(_sql.get_trial, where=self._path, study_id=study_id, number=number)
        )

    async def trials(
        self,
        study_id: int,
        *,
        states: Collection[TrialState] | None = None,
        changed_after: int | None = None,
    ) -> list[TrialRecord]:
        """Trials of a study ordered by number, read in one query.

        Args:
            study_id: The study.
            states: Only these states, when given.
            changed_after: Only trials whose ``seq`` is greater than this.

        Returns:
            The matching trials.

        Raises:
            UnknownStudyError: No study with that id.
        """
        return await self._read(
            functools.partial(
                _sql.trials,
                where=self._path,
                study_id=study_id,
                states=state_filter(states),
                changed_after=changed_after,
            )
        )

    async def best_trial(self, study_id: int, *, direction: str = "minimize") -> TrialRecord | None:
        """The COMPLETE trial with the lowest (or highest) value, found in one query.

        Args:
            study_id: The study.
            direction: ``"minimize"`` or ``"maximize"``.

        Returns:
            The best trial (the lowest number wins ties), or ``None`` when no trial
            completed.

        Raises:
            UnknownStudyError: No study with that id.
            StorageError: ``direction`` is neither ``"minimize"`` nor ``"maximize"``.
        """
        check_direction(direction)
        return await self._read(
            functools.partial(
                _sql.best_trial, where=self._path, study_id=study_id, direction=direction
            )
        )

    async def count_trials(self, study_id: int) -> dict[TrialState, int]:
        """Number of trials in each state (every state present as a key).

        Raises:
            UnknownStudyError: No study with that id.
        """
        return await self._read(
            functools.partial(_sql.count_trials, where=self._path, study_id=study_id)
        )


def _check_number(number: object) -> None:
    # SQLite would coerce "3" or 3.0 to the integer 3; only real ints name a trial.
    if type(number) is not int:
        msg = f"a trial number is an int, got {number!r} ({type(number).__name__})"
        raise UnknownTrialError(msg)
