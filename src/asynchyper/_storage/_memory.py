"""In-memory storage: the default when no storage is given."""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Collection, Mapping, Sequence

import anyio.lowlevel
import attrs

from .._compat import override
from .._records import StudyRecord, TrialRecord, TrialState
from .._types import JSONScalar, JSONValue, Params
from ._base import Storage
from ._common import (
    BUDGET_STATES,
    CLAIM_BUDGET_STATES,
    KEPT_STATES,
    check_direction,
    check_existing,
    check_finish,
    check_study_name,
    first_holding,
    first_with_result,
    import_exists,
    import_rows,
    imported_study,
    is_stale,
    is_trial_number,
    is_whole,
    live_cutoff,
    log_failed_stale,
    normalize_attrs,
    normalize_params,
    normalize_space,
    not_running,
    params_key,
    space_replaced_meanwhile,
    stale_error,
    state_filter,
    study_exists,
    trial_from_row,
    unknown_study,
    unknown_study_id,
    unknown_trial,
)

__all__ = ["MemoryStorage"]

logger = logging.getLogger(__name__)

_WHERE = "the in-memory storage"


@attrs.define
class _StudyState:
    """One study's mutable state; ``trials[n]`` is trial number ``n``."""

    record: StudyRecord
    trials: list[TrialRecord] = attrs.field(factory=list)
    waiting: collections.deque[int] = attrs.field(factory=collections.deque)
    counts: dict[TrialState, int] = attrs.field(factory=lambda: dict.fromkeys(TrialState, 0))
    seq: int = 0
    #: ``params_key`` -> the numbers of the trials with it (params never change)
    by_key: dict[bytes, list[int]] = attrs.field(factory=dict)

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def add(self, trial: TrialRecord) -> None:
        self.trials.append(trial)
        self.counts[trial.state] += 1
        self.by_key.setdefault(params_key(trial.params), []).append(trial.number)

    def with_params(
        self, params: dict[str, JSONScalar], states: Collection[TrialState]
    ) -> TrialRecord | None:
        """The lowest-numbered trial in one of ``states`` with exactly ``params``."""
        numbers = self.by_key.get(params_key(params), ())
        return first_with_result((self.trials[n] for n in numbers), params, states)

    def replace(self, trial: TrialRecord) -> None:
        old = self.trials[trial.number]
        self.counts[old.state] -= 1
        self.counts[trial.state] += 1
        self.trials[trial.number] = trial

    def enqueue(self, params: Mapping[str, JSONScalar], now: float) -> TrialRecord:
        """Add a WAITING trial with the next number."""
        trial = TrialRecord(
            study_id=self.record.id,
            number=len(self.trials),
            state=TrialState.WAITING,
            params=params,
            created_at=now,
            seq=self.next_seq(),
        )
        self.add(trial)
        self.waiting.append(trial.number)
        return trial


class MemoryStorage(Storage):
    """Keeps studies in this process's memory; nothing survives the process.

    Every method does its work without awaiting in between, under one thread lock,
    so each call is atomic on either anyio backend (and from several event loops
    in different threads). Each method checks for cancellation on entry and then
    runs to completion without yielding to other tasks (there is nothing to wait
    for in memory, and a yield per call would put many trials in flight in lockstep):
    a cancelled call changes nothing, a call that returns has changed the store.
    Values go through the same JSON checks as the SQLite store, so both return the
    same records. Usable without :meth:`open`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_name: dict[str, _StudyState] = {}
        self._by_id: dict[int, _StudyState] = {}
        self._next_id = 1

    def __repr__(self) -> str:
        return f"MemoryStorage({len(self._by_id)} studies)"

    def _study(self, study_id: int) -> _StudyState:
        state = self._by_id.get(study_id)
        if state is None:
            raise unknown_study_id(study_id, _WHERE)
        return state

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
        await anyio.lowlevel.checkpoint_if_cancelled()
        check_study_name(name)
        checked = check_direction(direction)
        attrs_copy = normalize_attrs(user_attrs, "study user_attrs")
        space_copy = normalize_space(space)
        with self._lock:
            existing = self._by_name.get(name)
            if existing is None:
                record = StudyRecord(
                    id=self._next_id,
                    name=name,
                    direction=checked,
                    fingerprint=fingerprint,
                    space=space_copy,
                    created_at=time.time(),
                    user_attrs=attrs_copy,
                )
                self._next_id += 1
                state = _StudyState(record)
                self._by_name[name] = state
                self._by_id[record.id] = state
            else:
                record = check_existing(existing.record, fingerprint, space_copy, direction)
                if not load_if_exists:
                    raise study_exists(name, _WHERE)
        return record

    @override
    async def import_study(
        self, study: StudyRecord, trials: Sequence[TrialRecord], *, name: str | None = None
    ) -> StudyRecord:
        await anyio.lowlevel.checkpoint_if_cancelled()
        checked = imported_study(study, name)
        rows = import_rows(trials)
        with self._lock:
            if checked.name in self._by_name:
                raise import_exists(checked.name, _WHERE)
            record = attrs.evolve(checked, id=self._next_id)
            self._next_id += 1
            state = _StudyState(record)
            for row in rows:
                trial = trial_from_row(record.id, row)
                state.add(trial)
                if trial.state is TrialState.WAITING:
                    state.waiting.append(trial.number)
            state.seq = len(rows)
            self._by_name[record.name] = state
            self._by_id[record.id] = state
        return record

    @override
    async def get_study(self, name: str) -> StudyRecord:
        await anyio.lowlevel.checkpoint_if_cancelled()
        with self._lock:
            state = self._by_name.get(name)
            if state is None:
                raise unknown_study(name, self._by_name, _WHERE)
            return state.record

    @override
    async def list_studies(self) -> list[StudyRecord]:
        await anyio.lowlevel.checkpoint_if_cancelled()
        with self._lock:
            return [state.record for state in self._by_id.values()]

    @override
    async def delete_study(self, name: str) -> None:
        await anyio.lowlevel.checkpoint_if_cancelled()
        with self._lock:
            state = self._by_name.pop(name, None)
            if state is None:
                raise unknown_study(name, self._by_name, _WHERE)
            del self._by_id[state.record.id]

    @override
    async def replace_space(
        self,
        name: str,
        *,
        fingerprint: str,
        space: list[dict[str, JSONValue]],
        expected_fingerprint: str,
    ) -> StudyRecord:
        await anyio.lowlevel.checkpoint_if_cancelled()
        space_copy = normalize_space(space)
        with self._lock:
            state = self._by_name.get(name)
            if state is None:
                raise unknown_study(name, self._by_name, _WHERE)
            stored = state.record.fingerprint
            if stored != fingerprint:
                if stored != expected_fingerprint:
                    raise space_replaced_meanwhile(name, stored, expected_fingerprint)
                state.record = attrs.evolve(state.record, fingerprint=fingerprint, space=space_copy)
            return state.record

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
        await anyio.lowlevel.checkpoint_if_cancelled()
        params_copy = normalize_params(params)
        with self._lock:
            study = self._study(study_id)
            trial: TrialRecord | None = None
            used = sum(study.counts[state] for state in BUDGET_STATES)
            if max_trials is None or used < max_trials:
                now = time.time()
                trial = TrialRecord(
                    study_id=study_id,
                    number=len(study.trials),
                    state=TrialState.RUNNING,
                    params=params_copy,
                    owner=owner,
                    created_at=now,
                    started_at=now,
                    heartbeat_at=now,
                    seq=study.next_seq(),
                )
                study.add(trial)
        return trial

    @override
    async def enqueue_trial(
        self, study_id: int, params: Params, *, unless_holding: Params | None = None
    ) -> TrialRecord:
        await anyio.lowlevel.checkpoint_if_cancelled()
        params_copy = normalize_params(params)
        given = None if unless_holding is None else normalize_params(unless_holding)
        with self._lock:
            study = self._study(study_id)
            if given is None:
                found = None
            elif is_whole(given, params_copy):
                found = study.with_params(params_copy, KEPT_STATES)
            else:
                found = first_holding(study.trials, given)
            return study.enqueue(params_copy, time.time()) if found is None else found

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
        await anyio.lowlevel.checkpoint_if_cancelled()
        value, error = check_finish(state, value, error, what="add_trial")
        params_copy = normalize_params(params)
        attrs_copy = normalize_attrs(user_attrs, "trial user_attrs")
        with self._lock:
            study = self._study(study_id)
            found = study.with_params(params_copy, (state,)) if skip_if_exists else None
            if found is not None:
                return found
            now = time.time()
            trial = TrialRecord(
                study_id=study_id,
                number=len(study.trials),
                state=state,
                params=params_copy,
                value=value,
                error=error,
                user_attrs=attrs_copy,
                created_at=now,
                finished_at=now,
                seq=study.next_seq(),
            )
            study.add(trial)
        return trial

    @override
    async def claim_trial(
        self, study_id: int, *, owner: str, max_trials: int | None = None
    ) -> TrialRecord | None:
        await anyio.lowlevel.checkpoint_if_cancelled()
        with self._lock:
            study = self._study(study_id)
            trial: TrialRecord | None = None
            used = sum(study.counts[state] for state in CLAIM_BUDGET_STATES)
            if study.waiting and (max_trials is None or used < max_trials):
                number = study.waiting.popleft()
                now = time.time()
                trial = attrs.evolve(
                    study.trials[number],
                    state=TrialState.RUNNING,
                    owner=owner,
                    started_at=now,
                    heartbeat_at=now,
                    seq=study.next_seq(),
                )
                study.replace(trial)
        return trial

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
        await anyio.lowlevel.checkpoint_if_cancelled()
        value, error = check_finish(state, value, error)
        attrs_copy = normalize_attrs(user_attrs, "trial user_attrs")
        with self._lock:
            study = self._study(study_id)
            if not is_trial_number(number, len(study.trials)):
                raise unknown_trial(study_id, number, len(study.trials))
            current = study.trials[number]
            if current.state is not TrialState.RUNNING:
                raise not_running(number, current.state)
            trial = attrs.evolve(
                current,
                state=state,
                value=value,
                error=error,
                user_attrs={**current.user_attrs, **attrs_copy},
                finished_at=time.time(),
                seq=study.next_seq(),
            )
            study.replace(trial)
        return trial

    @override
    async def heartbeat(self, study_id: int, *, owner: str) -> None:
        await anyio.lowlevel.checkpoint_if_cancelled()
        with self._lock:
            study = self._study(study_id)
            now = time.time()
            for trial in study.trials:
                if trial.state is TrialState.RUNNING and trial.owner == owner:
                    study.trials[trial.number] = attrs.evolve(trial, heartbeat_at=now)

    @override
    async def fail_stale(
        self,
        study_id: int,
        *,
        older_than: float,
        requeue: bool = False,
    ) -> list[int]:
        await anyio.lowlevel.checkpoint_if_cancelled()
        with self._lock:
            study = self._study(study_id)
            now = time.time()
            cutoff = now - older_than
            stale = [
                trial
                for trial in study.trials
                if trial.state is TrialState.RUNNING
                and is_stale(trial.owner, trial.heartbeat_at, cutoff, live_cutoff(now, older_than))
            ]
            for trial in stale:
                # It finished when it was last known alive, not now (hours later, maybe).
                alive_at = (
                    trial.heartbeat_at if trial.heartbeat_at is not None else trial.started_at
                )
                study.replace(
                    attrs.evolve(
                        trial,
                        state=TrialState.FAILED,
                        error=stale_error(trial.owner),
                        finished_at=now if alive_at is None else alive_at,
                        seq=study.next_seq(),
                    )
                )
            if requeue:
                for trial in stale:
                    study.enqueue(trial.params, now)
        failed = [trial.number for trial in stale]
        log_failed_stale(logger, _WHERE, study.record.name, failed, requeue=requeue)
        return failed

    @override
    async def get_trial(self, study_id: int, number: int) -> TrialRecord:
        await anyio.lowlevel.checkpoint_if_cancelled()
        with self._lock:
            study = self._study(study_id)
            if not is_trial_number(number, len(study.trials)):
                raise unknown_trial(study_id, number, len(study.trials))
            return study.trials[number]

    @override
    async def trials(
        self,
        study_id: int,
        *,
        states: Collection[TrialState] | None = None,
        changed_after: int | None = None,
    ) -> list[TrialRecord]:
        chosen = state_filter(states)
        await anyio.lowlevel.checkpoint_if_cancelled()
        with self._lock:
            study = self._study(study_id)
            return [
                trial
                for trial in study.trials
                if (chosen is None or trial.state in chosen)
                and (changed_after is None or trial.seq > changed_after)
            ]

    @override
    async def find_trial(
        self, study_id: int, params: Params, *, states: Collection[TrialState]
    ) -> TrialRecord | None:
        chosen = state_filter(states)
        await anyio.lowlevel.checkpoint_if_cancelled()
        params_copy = normalize_params(params)
        with self._lock:
            return self._study(study_id).with_params(params_copy, chosen or ())

    @override
    async def count_trials(self, study_id: int) -> dict[TrialState, int]:
        await anyio.lowlevel.checkpoint_if_cancelled()
        with self._lock:
            return dict(self._study(study_id).counts)
