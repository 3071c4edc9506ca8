"""The storage interface: async, knows studies and trials, never suggesters."""

from __future__ import annotations

import abc
from collections.abc import Collection, Mapping, Sequence
from types import TracebackType
from typing import Self

from .._errors import StorageError
from .._records import StudyRecord, TrialRecord, TrialState
from .._types import JSONValue, Params
from ._common import check_direction, first_with_result, normalize_params

__all__ = ["Storage"]


class Storage(abc.ABC):
    """Where studies and trials live. Every method is a coroutine.

    Each state change of a trial is one short transaction, durable when the
    coroutine returns. Implementations must be safe to call from many tasks at once,
    and (for file/database stores) from several processes at once.

    Use as an async context manager, or call :meth:`open` / :meth:`close`.
    """

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def open(self) -> None:  # noqa: B027 - optional hook, most stores need it
        """Open connections and create or check the schema."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Flush and release resources. Safe to call twice."""

    # -- studies -------------------------------------------------------------------
    @abc.abstractmethod
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

        Several callers (or processes) may create the same study at once: one
        creates it and the others load it.

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
            SpaceMismatchError: The study exists with another fingerprint; the message
                shows which dimensions differ.
            StorageError: It exists and ``load_if_exists`` is false, it exists with
                the other direction, or an argument is invalid.
        """

    @abc.abstractmethod
    async def get_study(self, name: str) -> StudyRecord:
        """Return the study called ``name``.

        Args:
            name: The study's name.

        Returns:
            The study's record.

        Raises:
            UnknownStudyError: No such study; the message lists the known names.
        """

    @abc.abstractmethod
    async def list_studies(self) -> list[StudyRecord]:
        """All studies, ordered by creation."""

    @abc.abstractmethod
    async def delete_study(self, name: str) -> None:
        """Delete a study and all its trials.

        Args:
            name: The study's name.

        Raises:
            UnknownStudyError: No such study.
        """

    async def replace_space(
        self,
        name: str,
        *,
        fingerprint: str,
        space: list[dict[str, JSONValue]],
        expected_fingerprint: str,
    ) -> StudyRecord:
        """Store a new space for a study, if its stored space is still the expected one.

        :func:`open_study` uses it when the space given contains the stored one (a
        range widened, a choice added), so the study goes on with its trials. Atomic: of
        processes replacing the same space at once, each gets the new record, or a
        ``SpaceMismatchError`` when another stored a different space first. The
        built-in stores implement it; a store of your own need not (this default
        raises, and such a study then needs a new name for a new space).

        Args:
            name: The study's name.
            fingerprint: The new space's fingerprint.
            space: Its JSON description (``Space.describe()``).
            expected_fingerprint: The stored fingerprint this replaces.

        Returns:
            The study with the new space.

        Raises:
            UnknownStudyError: No such study.
            SpaceMismatchError: The stored fingerprint is neither ``expected_fingerprint``
                nor ``fingerprint``: the space changed meanwhile.
            StorageError: This store cannot replace a study's space.
        """
        del name, fingerprint, space, expected_fingerprint
        msg = (
            f"{type(self).__name__} cannot store a widened space: it does not implement "
            "Storage.replace_space; use a new study name for the new space"
        )
        raise StorageError(msg)

    async def import_study(
        self, study: StudyRecord, trials: Sequence[TrialRecord], *, name: str | None = None
    ) -> StudyRecord:
        """Create a study holding copies of ``trials``, all in one transaction.

        The new study takes ``study``'s direction, fingerprint, space, user attributes
        and creation time; each trial keeps its number, state, parameters, value,
        error, user attributes, owner and times (only the change counters ``seq`` are
        new). :func:`asynchyper.copy_study` uses it. The built-in stores implement it;
        a store of your own need not (this default raises).

        Args:
            study: The study to copy (its ``id`` is not used).
            trials: Every trial of that study, numbered ``0..n-1``.
            name: The new study's name (default ``study.name``).

        Returns:
            The new study.

        Raises:
            StorageError: A study of that name exists here, the trials are not numbered
                ``0..n-1`` or one cannot be stored, or this store cannot import.
        """
        del study, trials, name
        msg = (
            f"{type(self).__name__} cannot import a study: it does not implement "
            "Storage.import_study; copy into a SQLiteStorage, PostgresStorage or "
            "MemoryStorage instead"
        )
        raise StorageError(msg)

    # -- trials --------------------------------------------------------------------
    @abc.abstractmethod
    async def start_trial(
        self,
        study_id: int,
        params: Params,
        *,
        owner: str,
        max_trials: int | None = None,
    ) -> TrialRecord | None:
        """Create a RUNNING trial with the next free number.

        Atomic with the budget check: when ``max_trials`` is given and the study
        already holds ``max_trials`` COMPLETE + RUNNING + WAITING trials, nothing is
        created and ``None`` is returned. Processes sharing a store share the budget
        exactly.

        Args:
            study_id: The study.
            params: Flat parameters of the new trial.
            owner: Owner id of the calling process (see ``new_owner_id``).
            max_trials: Budget of COMPLETE + RUNNING + WAITING trials, or ``None``.

        Returns:
            The new trial, or ``None`` when the budget is used up.

        Raises:
            UnknownStudyError: No study with that id.
            StorageError: A parameter is not a JSON scalar.
        """

    @abc.abstractmethod
    async def enqueue_trial(
        self, study_id: int, params: Params, *, unless_holding: Params | None = None
    ) -> TrialRecord:
        """Create a WAITING trial with fixed parameters, to be claimed later.

        Args:
            study_id: The study.
            params: Flat parameters of the new trial.
            unless_holding: Create nothing when a WAITING, RUNNING or COMPLETE trial's
                parameters hold every one of these values; return the lowest-numbered
                such trial instead. Atomic with the insert: processes enqueueing the
                same parameters at once create one trial. When these are all of
                ``params``, a trial with exactly ``params`` is meant (as
                :meth:`find_trial` finds it): the built-in stores then look it up
                through their index instead of reading the study's kept trials.

        Returns:
            The new trial (or, with ``unless_holding``, the existing one).

        Raises:
            UnknownStudyError: No study with that id.
            StorageError: A parameter is not a JSON scalar.
        """

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
        """Create a trial that is already finished: a result obtained elsewhere.

        The trial gets the next free number, its state, value, error and attributes,
        and ``created_at`` and ``finished_at`` set to now; it never ran here, so it has
        no ``started_at`` and no owner. No budget is checked. :meth:`Study.add
        <asynchyper.Study.add>` uses it. The built-in stores implement it; a store of
        your own need not (this default raises).

        Args:
            study_id: The study.
            params: Flat parameters of the trial.
            state: A finished state: ``COMPLETE``, ``FAILED`` or ``CANCELLED``.
            value: The objective value (``COMPLETE`` only; finite).
            error: The failure reason (with ``FAILED`` or ``CANCELLED``).
            user_attrs: JSON-safe attributes to store with it.
            skip_if_exists: Create nothing when a trial in ``state`` has exactly these
                parameters; return the lowest-numbered such trial instead. Atomic with
                the insert: processes adding the same parameters at once create one
                trial. The built-in stores look the parameters up in an index (see
                :meth:`find_trial`) inside the write transaction.

        Returns:
            The new trial (or, with ``skip_if_exists``, the existing one).

        Raises:
            UnknownStudyError: No study with that id.
            TrialStateError: ``state`` is not a finished state, or the value does not
                fit it (as for :meth:`finish_trial`).
            StorageError: A parameter is not a JSON scalar, or this store cannot add
                finished trials.
        """
        del study_id, params, state, value, error, user_attrs, skip_if_exists
        msg = (
            f"{type(self).__name__} cannot add a finished trial: it does not implement "
            "Storage.add_trial; use a SQLiteStorage, PostgresStorage or MemoryStorage"
        )
        raise StorageError(msg)

    @abc.abstractmethod
    async def claim_trial(
        self, study_id: int, *, owner: str, max_trials: int | None = None
    ) -> TrialRecord | None:
        """Move the lowest-numbered WAITING trial to RUNNING for ``owner``.

        Two claimers never get the same trial. Atomic with the budget check: when
        ``max_trials`` is given and the study already holds ``max_trials`` COMPLETE +
        RUNNING trials, nothing is claimed (queued trials beyond a run's budget stay
        queued for a later run).

        Args:
            study_id: The study.
            owner: Owner id of the calling process (see ``new_owner_id``).
            max_trials: Budget of COMPLETE + RUNNING trials, or ``None``.

        Returns:
            The claimed trial, or ``None`` when nothing is waiting or the budget is used.

        Raises:
            UnknownStudyError: No study with that id.
        """

    @abc.abstractmethod
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
            TrialStateError: The trial is not RUNNING (e.g. already told), or the
                outcome is invalid (e.g. COMPLETE with a NaN value).
        """

    @abc.abstractmethod
    async def heartbeat(self, study_id: int, *, owner: str) -> None:
        """Refresh ``heartbeat_at`` of every RUNNING trial that ``owner`` holds.

        Args:
            study_id: The study.
            owner: The owner id (``host:pid:token``) whose trials are alive.

        Raises:
            UnknownStudyError: No study with that id.
        """

    @abc.abstractmethod
    async def fail_stale(
        self,
        study_id: int,
        *,
        older_than: float,
        requeue: bool = False,
    ) -> list[int]:
        """Fail RUNNING trials whose heartbeat is older than ``older_than`` seconds.

        When the owner id (``host:pid:token``, see ``new_owner_id``) names this
        host, the process table decides instead: a dead owner's trials are failed at
        once, and a live process's trials are failed only once their heartbeat is
        older than ``LIVE_SILENCE_FACTOR`` (5) times ``older_than`` (its study closed
        without recording them, during a storage outage, or its event loop is stuck).
        A token ending in ``@`` and the owner's start time (Linux) also tells a dead
        owner from a later process that got its pid. (Without one, an id with the
        calling process's own pid that this process did not make belongs to an
        earlier process with that pid, e.g. a restarted container's PID 1: the
        heartbeat decides for it.)
        ``older_than=math.inf`` fails only the trials of dead owners on this host.
        Any process can call it for any study. A failed trial's ``finished_at`` is
        its last heartbeat (else its start time), the last moment it was known to
        run, so that its ``duration`` does not count the time until recovery.

        Args:
            study_id: The study.
            older_than: Heartbeat age, in seconds, after which a trial is stale.
            requeue: Enqueue each failed trial's parameters again as a new WAITING
                trial.

        Returns:
            The numbers of the trials that were failed.

        Raises:
            UnknownStudyError: No study with that id.
        """

    @abc.abstractmethod
    async def get_trial(self, study_id: int, number: int) -> TrialRecord:
        """One trial by number.

        Args:
            study_id: The study.
            number: The trial's per-study number.

        Returns:
            The trial's record.

        Raises:
            UnknownStudyError: No study with that id.
            UnknownTrialError: No trial with that number.
        """

    @abc.abstractmethod
    async def trials(
        self,
        study_id: int,
        *,
        states: Collection[TrialState] | None = None,
        changed_after: int | None = None,
    ) -> list[TrialRecord]:
        """Trials of a study ordered by number.

        Args:
            study_id: The study.
            states: Only these states, when given.
            changed_after: Only trials whose ``seq`` is greater than this.

        Returns:
            The matching trials.

        Raises:
            UnknownStudyError: No study with that id.
            StorageError: ``states`` holds something other than a ``TrialState``.
        """

    async def find_trial(
        self, study_id: int, params: Params, *, states: Collection[TrialState]
    ) -> TrialRecord | None:
        """The lowest-numbered trial in one of ``states`` with exactly ``params``, or
        ``None``.

        "Exactly": the same names, and values equal as JSON values (``1`` and ``1.0``
        are equal, ``True`` and ``1`` are not). :meth:`Study.add
        <asynchyper.Study.add>` uses it for ``skip_if_exists``. The built-in stores
        look the parameters up in an index, so the cost does not grow with the study;
        this default reads the study's trials in ``states`` (:meth:`trials`), which a
        store of your own may keep.

        Args:
            study_id: The study.
            params: Flat parameters of a whole configuration.
            states: The states the trial may be in.

        Returns:
            The trial, or ``None``.

        Raises:
            UnknownStudyError: No study with that id.
            StorageError: A parameter is not a JSON scalar, or ``states`` holds
                something other than a ``TrialState``.
        """
        given = normalize_params(params)
        chosen = frozenset(states)
        return first_with_result(await self.trials(study_id, states=chosen), given, chosen)

    @abc.abstractmethod
    async def count_trials(self, study_id: int) -> dict[TrialState, int]:
        """Number of trials in each state (every state present as a key).

        Args:
            study_id: The study.

        Returns:
            Each state's trial count.

        Raises:
            UnknownStudyError: No study with that id.
        """

    async def best_trial(self, study_id: int, *, direction: str = "minimize") -> TrialRecord | None:
        """The COMPLETE trial with the lowest (or highest) value; the lowest number wins ties.

        Args:
            study_id: The study.
            direction: ``"minimize"`` or ``"maximize"``.

        Returns:
            The best trial, or ``None`` when no trial completed.

        Raises:
            UnknownStudyError: No study with that id.
            StorageError: ``direction`` is neither ``"minimize"`` nor ``"maximize"``.
        """
        check_direction(direction)
        completed = await self.trials(study_id, states=(TrialState.COMPLETE,))
        sign = -1.0 if direction == "maximize" else 1.0
        return min(
            completed,
            key=lambda trial: (
                sign * (trial.value if trial.value is not None else 0.0),
                trial.number,
            ),
            default=None,
        )
