"""The storage contract: every Storage subclasses ``StorageContract`` and must pass it.

A subclass provides one fixture, ``make_storage``: a zero-argument callable that
returns an async context manager yielding a fresh, open, empty store.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeAlias

import anyio
import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asynchyper import (
    SpaceMismatchError,
    Storage,
    StorageError,
    StudyRecord,
    TrialRecord,
    TrialState,
    TrialStateError,
    UnknownStudyError,
    UnknownTrialError,
)
from asynchyper._space import description_fingerprint
from asynchyper._storage import new_owner_id
from asynchyper._storage._common import KEPT_STATES, MAX_STUDY_NAME, _proc_stat, process_start
from asynchyper._types import JSONScalar, JSONValue

StorageFactory: TypeAlias = Callable[[], AbstractAsyncContextManager[Storage]]

#: An owner on a host that is not this one: only its heartbeat can make it stale.
REMOTE_OWNER = "elsewhere.example:4242:feedbeef"
REMOTE_OWNER_2 = "elsewhere.example:4243:cafecafe"

SPACE: list[dict[str, JSONValue]] = [
    {"name": "lr", "kind": "float", "low": 1e-5, "high": 0.1, "log": True},
    {"name": "depth", "kind": "int", "low": 1, "high": 8, "step": 1},
    {"name": "model", "kind": "categorical", "choices": ["SVM", "Forest"]},
]
FINGERPRINT = "fp-1"


async def new_study(storage: Storage, name: str = "study") -> StudyRecord:
    return await storage.create_study(name, fingerprint=FINGERPRINT, space=SPACE)


async def enqueue_from_two_connections(one: Storage, two: Storage) -> None:
    """Each of 10 configurations enqueued 4 times at once (unless held), through two
    connections to the same database: each must be queued once."""
    study = await new_study(one)
    got: list[int] = []

    async def enqueue(storage: Storage, x: int) -> None:
        trial = await storage.enqueue_trial(study.id, {"x": x}, unless_holding={"x": x})
        got.append(trial.number)

    async with anyio.create_task_group() as tg:
        for x in range(10):
            for storage in (one, two, one, two):
                tg.start_soon(enqueue, storage, x)
    assert len(got) == 40
    assert len(set(got)) == 10
    assert (await two.count_trials(study.id))[TrialState.WAITING] == 10


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@contextlib.contextmanager
def live_process() -> Iterator[tuple[int, int]]:
    """A running process's pid and start time (Linux)."""
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as process:
        try:
            started = process_start(process.pid)
            assert started is not None
            yield process.pid, started
        finally:
            process.kill()


class StorageContract:
    """Behaviour every Storage must show, on asyncio and on trio."""

    @pytest.fixture
    def make_storage(self) -> StorageFactory:  # pragma: no cover - always overridden
        raise NotImplementedError

    @pytest.fixture
    async def storage(
        self, make_storage: StorageFactory, anyio_backend: str
    ) -> AsyncIterator[Storage]:
        del anyio_backend  # requested so that anyio runs this fixture on the test's backend
        async with make_storage() as storage:
            yield storage

    # -- studies -------------------------------------------------------------------
    @pytest.mark.anyio
    async def test_create_and_get_study(self, storage: Storage) -> None:
        before = time.time()
        study = await storage.create_study(
            "svm",
            fingerprint=FINGERPRINT,
            space=SPACE,
            direction="maximize",
            user_attrs={"owner": "me", "nested": {"a": [1, 2.5, None, True]}},
        )
        assert study.name == "svm"
        assert study.direction == "maximize"
        assert study.fingerprint == FINGERPRINT
        assert study.space == SPACE
        assert before - 1 <= study.created_at <= time.time() + 1
        assert dict(study.user_attrs) == {"owner": "me", "nested": {"a": [1, 2.5, None, True]}}
        assert await storage.get_study("svm") == study

    @pytest.mark.anyio
    async def test_create_existing_with_same_fingerprint_returns_it(self, storage: Storage) -> None:
        first = await new_study(storage)
        again = await new_study(storage)
        assert again == first
        assert len(await storage.list_studies()) == 1

    @pytest.mark.anyio
    async def test_create_existing_without_load_if_exists_raises(self, storage: Storage) -> None:
        await new_study(storage)
        with pytest.raises(StorageError, match="already exists"):
            await storage.create_study(
                "study", fingerprint=FINGERPRINT, space=SPACE, load_if_exists=False
            )

    @pytest.mark.anyio
    async def test_space_mismatch_names_the_changed_dimensions(self, storage: Storage) -> None:
        await new_study(storage)
        changed: list[dict[str, JSONValue]] = [
            {"name": "lr", "kind": "float", "low": 1e-5, "high": 1.0, "log": True},
            {"name": "model", "kind": "categorical", "choices": ["SVM", "Forest"]},
            {"name": "dropout", "kind": "float", "low": 0.0, "high": 0.5, "log": False},
        ]
        with pytest.raises(SpaceMismatchError) as caught:
            await storage.create_study("study", fingerprint="fp-2", space=changed)
        message = str(caught.value)
        assert "'study'" in message
        assert "removed depth" in message
        assert "added dropout" in message
        assert "changed lr: high 0.1 -> 1.0" in message
        assert "model" not in message.split(":", 1)[1].replace("'study'", "")
        # What blocks opening comes first; the wider lr alone would be taken.
        blocking, _, compatible = message.partition("(also changed, which alone would be taken:")
        assert "removed depth" in blocking
        assert "added dropout" in blocking
        assert "changed lr" in compatible
        assert "changed lr" not in blocking

    @pytest.mark.anyio
    async def test_a_study_fingerprinted_before_choices_were_sorted_opens_reordered(
        self, storage: Storage
    ) -> None:
        # An older asynchyper hashed categorical choices in declaration order: the
        # stored digest is not today's, but the stored description says it is the
        # same space, so reordering the choices must not lock the study out.
        stored: list[dict[str, JSONValue]] = [
            {"name": "act", "kind": "categorical", "choices": ["RELU", "GELU"]}
        ]
        reordered: list[dict[str, JSONValue]] = [
            {"name": "act", "kind": "categorical", "choices": ["GELU", "RELU"]}
        ]
        first = await storage.create_study("study", fingerprint="old-digest", space=stored)
        today = description_fingerprint(reordered)
        again = await storage.create_study("study", fingerprint=today, space=reordered)
        assert again.id == first.id
        widened: list[dict[str, JSONValue]] = [
            {"name": "act", "kind": "categorical", "choices": ["GELU", "RELU", "TANH"]}
        ]
        with pytest.raises(SpaceMismatchError, match="act"):
            await storage.create_study(
                "study", fingerprint=description_fingerprint(widened), space=widened
            )

    @pytest.mark.anyio
    async def test_study_names_have_one_length_limit_everywhere(self, storage: Storage) -> None:
        longest = "n" * MAX_STUDY_NAME
        assert (await new_study(storage, longest)).name == longest
        with pytest.raises(StorageError, match=f"the limit is {MAX_STUDY_NAME}"):
            await new_study(storage, longest + "n")

    @pytest.mark.anyio
    async def test_other_direction_is_rejected(self, storage: Storage) -> None:
        await new_study(storage)
        with pytest.raises(SpaceMismatchError, match="minimize"):
            await storage.create_study(
                "study", fingerprint=FINGERPRINT, space=SPACE, direction="maximize"
            )

    @pytest.mark.anyio
    @pytest.mark.parametrize("direction", ["min", "MINIMIZE", ""])
    async def test_bad_direction_is_rejected(self, storage: Storage, direction: str) -> None:
        with pytest.raises(StorageError, match="direction"):
            await storage.create_study(
                "study", fingerprint=FINGERPRINT, space=SPACE, direction=direction
            )

    @pytest.mark.anyio
    async def test_unknown_study_lists_known_names(self, storage: Storage) -> None:
        await new_study(storage, "alpha")
        await new_study(storage, "beta")
        with pytest.raises(UnknownStudyError, match="'nope'") as caught:
            await storage.get_study("nope")
        assert "'alpha'" in str(caught.value)
        assert "'beta'" in str(caught.value)
        assert isinstance(caught.value, LookupError)
        # the fix it offers names functions that exist where it says they do
        assert "open_study() and minimize() create it" in str(caught.value)
        assert "Storage.create_study()" in str(caught.value)

    @pytest.mark.anyio
    async def test_list_studies_in_creation_order(self, storage: Storage) -> None:
        assert await storage.list_studies() == []
        names = ["zeta", "alpha", "mid"]
        for name in names:
            await new_study(storage, name)
        assert [study.name for study in await storage.list_studies()] == names

    @pytest.mark.anyio
    async def test_delete_study_removes_it_and_its_trials(self, storage: Storage) -> None:
        keep = await new_study(storage, "keep")
        gone = await new_study(storage, "gone")
        await storage.start_trial(gone.id, {"x": 1}, owner=REMOTE_OWNER)
        await storage.start_trial(keep.id, {"x": 2}, owner=REMOTE_OWNER)
        await storage.delete_study("gone")
        with pytest.raises(UnknownStudyError):
            await storage.get_study("gone")
        with pytest.raises(UnknownStudyError):
            await storage.trials(gone.id)
        with pytest.raises(UnknownStudyError):
            await storage.find_trial(gone.id, {"x": 1}, states=(TrialState.RUNNING,))
        with pytest.raises(UnknownStudyError):
            await storage.start_trial(gone.id, {"x": 3}, owner=REMOTE_OWNER)
        with pytest.raises(UnknownStudyError, match="'keep'"):
            await storage.delete_study("gone")
        assert [t.params for t in await storage.trials(keep.id)] == [{"x": 2}]
        again = await new_study(storage, "gone")
        assert await storage.trials(again.id) == []

    # -- importing a study ----------------------------------------------------------
    async def _study_in_every_state(
        self, storage: Storage
    ) -> tuple[StudyRecord, list[TrialRecord]]:
        study = await storage.create_study(
            "source",
            fingerprint=FINGERPRINT,
            space=SPACE,
            direction="maximize",
            user_attrs={"team": "vision", "tags": ["a", 1.5]},
        )
        done = await storage.start_trial(study.id, {"lr": 0.01, "model": "SVM"}, owner=REMOTE_OWNER)
        assert done is not None
        await storage.finish_trial(
            study.id, done.number, state=TrialState.COMPLETE, value=0.25, user_attrs={"f1": 0.8}
        )
        await storage.enqueue_trial(study.id, {"lr": 0.02, "model": "Forest"})
        failed = await storage.start_trial(study.id, {"lr": 1e-5, "model": None}, owner="h:1:t")
        assert failed is not None
        await storage.finish_trial(
            study.id, failed.number, state=TrialState.FAILED, error="Traceback\n  boom é"
        )
        await storage.start_trial(study.id, {"lr": 0.03, "depth": 3}, owner=REMOTE_OWNER_2)
        cancelled = await storage.start_trial(study.id, {"flag": True}, owner=REMOTE_OWNER)
        assert cancelled is not None
        await storage.finish_trial(
            study.id, cancelled.number, state=TrialState.CANCELLED, error="stopped"
        )
        return study, await storage.trials(study.id)

    @pytest.mark.anyio
    async def test_import_study_copies_every_field_in_another_store(
        self, storage: Storage, make_storage: StorageFactory
    ) -> None:
        study, trials = await self._study_in_every_state(storage)
        async with make_storage() as other:
            copy = await other.import_study(study, trials)
            assert attrs.evolve(copy, id=study.id) == study
            assert await other.get_study("source") == copy
            copied = await other.trials(copy.id)
            assert [attrs.evolve(t, study_id=study.id, seq=0) for t in copied] == [
                attrs.evolve(t, seq=0) for t in trials
            ]
            assert [t.seq for t in copied] == [1, 2, 3, 4, 5]
            assert await other.count_trials(copy.id) == await storage.count_trials(study.id)
            best = await other.best_trial(copy.id, direction="maximize")
            assert best is not None
            assert best.value == 0.25
            # the copy goes on where the source stood: the queued trial is claimed,
            # the next number is 5, later changes are seen after the copied ones
            claimed = await other.claim_trial(copy.id, owner=REMOTE_OWNER)
            assert claimed is not None
            assert (claimed.number, claimed.seq) == (1, 6)
            started = await other.start_trial(copy.id, {"lr": 0.05}, owner=REMOTE_OWNER)
            assert started is not None
            assert started.number == 5
            assert [t.number for t in await other.trials(copy.id, changed_after=5)] == [1, 5]
            assert await other.start_trial(copy.id, {}, owner=REMOTE_OWNER, max_trials=4) is None

    @pytest.mark.anyio
    async def test_import_study_under_another_name_in_the_same_store(
        self, storage: Storage
    ) -> None:
        study, trials = await self._study_in_every_state(storage)
        with pytest.raises(
            StorageError, match=r"'source' already exists in .*; copy it under another name"
        ):
            await storage.import_study(study, trials)
        copy = await storage.import_study(study, trials, name="branch")
        assert copy.id != study.id
        # An imported trial is found by its parameters, as the one it copies.
        found = await storage.find_trial(
            copy.id, {"model": "SVM", "lr": 0.01}, states=(TrialState.COMPLETE,)
        )
        assert found is not None
        assert (found.study_id, found.number, found.value) == (copy.id, 0, 0.25)
        assert [s.name for s in await storage.list_studies()] == ["source", "branch"]
        assert [t.params for t in await storage.trials(copy.id)] == [t.params for t in trials]
        await storage.delete_study("source")
        assert len(await storage.trials(copy.id)) == 5

    @pytest.mark.anyio
    async def test_import_study_refuses_what_it_cannot_store_and_writes_nothing(
        self, storage: Storage
    ) -> None:
        study, trials = await self._study_in_every_state(storage)
        with pytest.raises(StorageError, match=r"numbered 0, 1, \.\.\., n - 1.*'0', '2'"):
            await storage.import_study(study, [trials[0], trials[2]], name="gapped")
        bad = attrs.evolve(trials[0], value=math.nan)
        with pytest.raises(StorageError, match=r"trial 0 cannot be imported: .*finite value"):
            await storage.import_study(study, [bad, *trials[1:]], name="nan")
        with pytest.raises(StorageError, match="study name must be a non-empty string"):
            await storage.import_study(study, trials, name="")
        assert [s.name for s in await storage.list_studies()] == ["source"]
        empty = await storage.import_study(study, [], name="empty")
        assert await storage.trials(empty.id) == []
        first = await storage.start_trial(empty.id, {}, owner=REMOTE_OWNER)
        assert first is not None
        assert (first.number, first.seq) == (0, 1)

    @pytest.mark.anyio
    async def test_unknown_study_id_raises(self, storage: Storage) -> None:
        with pytest.raises(UnknownStudyError):
            await storage.start_trial(999, {}, owner=REMOTE_OWNER)
        with pytest.raises(UnknownStudyError):
            await storage.count_trials(999)

    # -- starting trials -------------------------------------------------------------
    @pytest.mark.anyio
    async def test_start_trial_numbers_from_zero(self, storage: Storage) -> None:
        study = await new_study(storage)
        before = time.time()
        started = [
            await storage.start_trial(study.id, {"x": i}, owner=REMOTE_OWNER) for i in range(5)
        ]
        numbers = []
        for i, trial in enumerate(started):
            assert trial is not None
            numbers.append(trial.number)
            assert trial.state is TrialState.RUNNING
            assert trial.study_id == study.id
            assert trial.params == {"x": i}
            assert trial.owner == REMOTE_OWNER
            assert trial.value is None
            assert trial.started_at is not None
            assert trial.heartbeat_at is not None
            assert before - 1 <= trial.started_at <= time.time() + 1
            assert trial.finished_at is None
        assert numbers == [0, 1, 2, 3, 4]
        assert await storage.trials(study.id) == started

    @pytest.mark.anyio
    async def test_numbers_are_per_study(self, storage: Storage) -> None:
        one = await new_study(storage, "one")
        two = await new_study(storage, "two")
        a = await storage.start_trial(one.id, {}, owner=REMOTE_OWNER)
        b = await storage.start_trial(two.id, {}, owner=REMOTE_OWNER)
        c = await storage.start_trial(one.id, {}, owner=REMOTE_OWNER)
        assert a is not None
        assert b is not None
        assert c is not None
        assert (a.number, b.number, c.number) == (0, 0, 1)

    @pytest.mark.anyio
    async def test_concurrent_starts_get_contiguous_unique_numbers(self, storage: Storage) -> None:
        study = await new_study(storage)
        results: list[TrialRecord | None] = []

        async def start(i: int) -> None:
            results.append(await storage.start_trial(study.id, {"i": i}, owner=REMOTE_OWNER))

        async with anyio.create_task_group() as tg:
            for i in range(60):
                tg.start_soon(start, i)
        numbers = sorted(t.number for t in results if t is not None)
        assert numbers == list(range(60))

    @pytest.mark.anyio
    async def test_budget_is_atomic_under_concurrency(self, storage: Storage) -> None:
        study = await new_study(storage)
        results: list[TrialRecord | None] = []

        async def start() -> None:
            results.append(
                await storage.start_trial(study.id, {}, owner=REMOTE_OWNER, max_trials=10)
            )

        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(start)
        started = [t for t in results if t is not None]
        assert len(results) == 50
        assert sorted(t.number for t in started) == list(range(10))
        assert len(await storage.trials(study.id)) == 10

    @pytest.mark.anyio
    async def test_budget_counts_complete_running_waiting_only(self, storage: Storage) -> None:
        study = await new_study(storage)
        states = [TrialState.COMPLETE, TrialState.FAILED, TrialState.CANCELLED]
        for state in states:
            trial = await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)
            assert trial is not None
            value = 1.0 if state is TrialState.COMPLETE else None
            await storage.finish_trial(study.id, trial.number, state=state, value=value)
        await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)  # RUNNING
        await storage.enqueue_trial(study.id, {})  # WAITING
        # COMPLETE + RUNNING + WAITING = 3; FAILED and CANCELLED do not count.
        assert await storage.start_trial(study.id, {}, owner=REMOTE_OWNER, max_trials=3) is None
        fourth = await storage.start_trial(study.id, {}, owner=REMOTE_OWNER, max_trials=4)
        assert fourth is not None
        assert fourth.number == 5
        assert await storage.start_trial(study.id, {}, owner=REMOTE_OWNER, max_trials=4) is None
        assert await storage.start_trial(study.id, {}, owner=REMOTE_OWNER, max_trials=0) is None

    # -- finishing trials ------------------------------------------------------------
    @pytest.mark.anyio
    async def test_finish_complete_records_value_attrs_and_time(self, storage: Storage) -> None:
        study = await new_study(storage)
        trial = await storage.start_trial(study.id, {"x": 0.5}, owner=REMOTE_OWNER)
        assert trial is not None
        done = await storage.finish_trial(
            study.id,
            trial.number,
            state=TrialState.COMPLETE,
            value=0.25,
            user_attrs={"loss_curve": [1.0, 0.5, 0.25], "meta": {"epochs": 3}},
        )
        assert done.state is TrialState.COMPLETE
        assert done.value == 0.25
        assert done.error is None
        assert dict(done.user_attrs) == {"loss_curve": [1.0, 0.5, 0.25], "meta": {"epochs": 3}}
        assert done.started_at is not None
        assert done.finished_at is not None
        assert done.finished_at >= done.started_at
        assert done.params == {"x": 0.5}
        assert done.seq > trial.seq
        assert await storage.get_trial(study.id, trial.number) == done

    @pytest.mark.anyio
    async def test_finish_int_value_is_stored_as_float(self, storage: Storage) -> None:
        study = await new_study(storage)
        trial = await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)
        assert trial is not None
        done = await storage.finish_trial(study.id, 0, state=TrialState.COMPLETE, value=3)
        assert done.value == 3.0
        assert isinstance(done.value, float)

    @pytest.mark.anyio
    @pytest.mark.parametrize("state", [TrialState.FAILED, TrialState.CANCELLED])
    async def test_finish_failed_keeps_error_text(
        self, storage: Storage, state: TrialState
    ) -> None:
        study = await new_study(storage)
        trial = await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)
        assert trial is not None
        error = 'Traceback (most recent call last):\n  ValueError: "bad" \u00e9'
        done = await storage.finish_trial(study.id, trial.number, state=state, error=error)
        assert done.state is state
        assert done.value is None
        assert done.error == error
        assert (await storage.get_trial(study.id, 0)).error == error

    @pytest.mark.anyio
    async def test_finish_twice_raises_and_keeps_first_result(self, storage: Storage) -> None:
        study = await new_study(storage)
        await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)
        first = await storage.finish_trial(study.id, 0, state=TrialState.COMPLETE, value=1.0)
        with pytest.raises(TrialStateError, match="COMPLETE"):
            await storage.finish_trial(study.id, 0, state=TrialState.COMPLETE, value=2.0)
        with pytest.raises(TrialStateError):
            await storage.finish_trial(study.id, 0, state=TrialState.FAILED, error="late")
        assert await storage.get_trial(study.id, 0) == first

    @pytest.mark.anyio
    async def test_unknown_trial_number_raises(self, storage: Storage) -> None:
        study = await new_study(storage)
        await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)
        for number in (1, -1, 10**6):
            with pytest.raises(UnknownTrialError, match=str(number)):
                await storage.finish_trial(study.id, number, state=TrialState.COMPLETE, value=1.0)
            with pytest.raises(UnknownTrialError):
                await storage.get_trial(study.id, number)

    @pytest.mark.anyio
    @pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, None])
    async def test_complete_needs_a_finite_value(
        self, storage: Storage, value: float | None
    ) -> None:
        study = await new_study(storage)
        await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)
        with pytest.raises(TrialStateError, match="value"):
            await storage.finish_trial(study.id, 0, state=TrialState.COMPLETE, value=value)
        assert (await storage.get_trial(study.id, 0)).state is TrialState.RUNNING
        failed = await storage.finish_trial(
            study.id, 0, state=TrialState.FAILED, error=f"objective returned {value}"
        )
        assert failed.state is TrialState.FAILED

    @pytest.mark.anyio
    async def test_finish_rejects_unfinished_state_and_stray_value(self, storage: Storage) -> None:
        study = await new_study(storage)
        await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)
        for state in (TrialState.RUNNING, TrialState.WAITING):
            with pytest.raises(TrialStateError, match="finished state"):
                await storage.finish_trial(study.id, 0, state=state)
        with pytest.raises(TrialStateError, match="only a COMPLETE trial has a value"):
            await storage.finish_trial(study.id, 0, state=TrialState.FAILED, value=1.0)
        assert (await storage.get_trial(study.id, 0)).state is TrialState.RUNNING

    @pytest.mark.anyio
    async def test_finish_merges_user_attrs(self, storage: Storage) -> None:
        study = await new_study(storage)
        await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)
        done = await storage.finish_trial(
            study.id, 0, state=TrialState.COMPLETE, value=1.0, user_attrs={"a": 1}
        )
        assert dict(done.user_attrs) == {"a": 1}

    @pytest.mark.anyio
    async def test_non_json_attrs_are_rejected_clearly(self, storage: Storage) -> None:
        study = await new_study(storage)
        await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)
        with pytest.raises(StorageError, match="user_attrs"):
            await storage.finish_trial(
                study.id,
                0,
                state=TrialState.COMPLETE,
                value=1.0,
                user_attrs={"s": {1, 2}},  # type: ignore[dict-item]
            )
        with pytest.raises(StorageError, match="parameter 'p'"):
            await storage.start_trial(study.id, {"p": [1, 2]}, owner=REMOTE_OWNER)  # type: ignore[dict-item]
        assert (await storage.get_trial(study.id, 0)).state is TrialState.RUNNING
        assert len(await storage.trials(study.id)) == 1

    @pytest.mark.anyio
    async def test_json_round_trip(self, storage: Storage) -> None:
        study = await new_study(storage)
        params: dict[str, Any] = {
            "model": "SVM",
            "model:SVM.C": 0.1,
            "model:SVM.degree": 3,
            "whole_float": 2.0,
            "tiny": 5e-324,
            "big": 2**62,
            "flag": True,
            "off": False,
            "preproc": None,
            "text": 'quote " and \u2603 unicode',
        }
        attrs: dict[str, JSONValue] = {
            "nested": {"list": [1, 2.5, "x", None, False, {"deep": []}]},
            "empty": {},
            "tuple_like": [1, 2],
        }
        trial = await storage.start_trial(study.id, params, owner=REMOTE_OWNER)
        assert trial is not None
        await storage.finish_trial(
            study.id, trial.number, state=TrialState.COMPLETE, value=-1.5e-10, user_attrs=attrs
        )
        (stored,) = await storage.trials(study.id)
        assert stored.params == params
        for key, value in params.items():
            assert type(stored.params[key]) is type(value), key
        assert stored.user_attrs == attrs
        assert stored.value == -1.5e-10

    # -- waiting trials --------------------------------------------------------------
    @pytest.mark.anyio
    async def test_enqueue_and_claim_lowest_first(self, storage: Storage) -> None:
        study = await new_study(storage)
        first = await storage.enqueue_trial(study.id, {"x": 1})
        second = await storage.enqueue_trial(study.id, {"x": 2})
        assert (first.number, second.number) == (0, 1)
        assert first.state is TrialState.WAITING
        assert first.owner is None
        assert first.started_at is None
        claimed = await storage.claim_trial(study.id, owner=REMOTE_OWNER)
        assert claimed is not None
        assert claimed.number == 0
        assert claimed.state is TrialState.RUNNING
        assert claimed.owner == REMOTE_OWNER
        assert claimed.params == {"x": 1}
        assert claimed.started_at is not None
        assert claimed.seq > second.seq
        again = await storage.claim_trial(study.id, owner=REMOTE_OWNER_2)
        assert again is not None
        assert (again.number, again.owner) == (1, REMOTE_OWNER_2)
        assert await storage.claim_trial(study.id, owner=REMOTE_OWNER) is None
        done = await storage.finish_trial(study.id, 1, state=TrialState.COMPLETE, value=0.0)
        assert done.params == {"x": 2}

    # -- a study's space replaced (widened) -----------------------------------------
    @pytest.mark.anyio
    async def test_replace_space_when_the_stored_one_is_expected(self, storage: Storage) -> None:
        study = await new_study(storage)
        trial = await storage.start_trial(study.id, {"lr": 0.01}, owner=REMOTE_OWNER)
        wider = [{**SPACE[0], "low": 1e-6}, *SPACE[1:]]
        replaced = await storage.replace_space(
            "study", fingerprint="fp-2", space=wider, expected_fingerprint=FINGERPRINT
        )
        assert (replaced.id, replaced.fingerprint, replaced.space) == (study.id, "fp-2", wider)
        assert await storage.get_study("study") == replaced
        # again (a retry, or a second process widening the same way): the same record
        again = await storage.replace_space(
            "study", fingerprint="fp-2", space=wider, expected_fingerprint=FINGERPRINT
        )
        assert again == replaced
        assert await storage.trials(study.id) == [trial]
        # the new space opens the study; the old one no longer does
        loaded = await storage.create_study(
            "study", fingerprint="fp-2", space=wider, load_if_exists=True
        )
        assert loaded == replaced
        with pytest.raises(SpaceMismatchError):
            await storage.create_study(
                "study", fingerprint=FINGERPRINT, space=SPACE, load_if_exists=True
            )

    @pytest.mark.anyio
    async def test_replace_space_refuses_a_space_changed_meanwhile(self, storage: Storage) -> None:
        await new_study(storage)
        with pytest.raises(SpaceMismatchError, match="changed while it was being widened"):
            await storage.replace_space(
                "study", fingerprint="fp-3", space=SPACE, expected_fingerprint="fp-other"
            )
        assert (await storage.get_study("study")).fingerprint == FINGERPRINT
        with pytest.raises(UnknownStudyError):
            await storage.replace_space(
                "nothing", fingerprint="fp-3", space=SPACE, expected_fingerprint=FINGERPRINT
            )

    # -- trials added finished ------------------------------------------------------
    @pytest.mark.anyio
    async def test_add_trial_stores_a_finished_trial(self, storage: Storage) -> None:
        study = await new_study(storage)
        running = await storage.start_trial(study.id, {"lr": 0.01}, owner=REMOTE_OWNER)
        assert running is not None
        before = time.time()
        added = await storage.add_trial(
            study.id,
            {"lr": 0.02, "model": "SVM", "flag": True, "none": None},
            state=TrialState.COMPLETE,
            value=0.25,
            user_attrs={"source": "grid", "folds": [1, 2]},
        )
        assert added.number == 1
        assert added.state is TrialState.COMPLETE
        assert added.value == 0.25
        assert added.error is None
        assert added.params == {"lr": 0.02, "model": "SVM", "flag": True, "none": None}
        assert added.user_attrs == {"source": "grid", "folds": [1, 2]}
        assert added.owner is None
        assert added.started_at is None
        assert added.created_at is not None
        assert added.finished_at is not None
        assert before - 1 <= added.created_at <= added.finished_at <= time.time() + 1
        assert added.seq > running.seq
        assert await storage.get_trial(study.id, 1) == added
        assert await storage.trials(study.id, changed_after=running.seq) == [added]
        failed = await storage.add_trial(
            study.id, {"lr": 0.03}, state=TrialState.FAILED, error="diverged"
        )
        assert (failed.number, failed.state, failed.value, failed.error) == (
            2,
            TrialState.FAILED,
            None,
            "diverged",
        )
        assert failed.user_attrs == {}
        counts = await storage.count_trials(study.id)
        assert (counts[TrialState.COMPLETE], counts[TrialState.FAILED]) == (1, 1)
        assert counts[TrialState.RUNNING] == 1
        best = await storage.best_trial(study.id)
        assert best is not None
        assert best.number == 1
        # the next trial takes the next number; added COMPLETE trials use the budget
        assert await storage.start_trial(study.id, {}, owner=REMOTE_OWNER, max_trials=2) is None
        started = await storage.start_trial(study.id, {}, owner=REMOTE_OWNER, max_trials=3)
        assert started is not None
        assert started.number == 3

    @pytest.mark.anyio
    async def test_add_trial_refuses_what_it_cannot_store_and_writes_nothing(
        self, storage: Storage
    ) -> None:
        study = await new_study(storage)
        with pytest.raises(TrialStateError, match=r"add_trial\(state=.*RUNNING.*finished state"):
            await storage.add_trial(study.id, {"x": 1}, state=TrialState.RUNNING)
        with pytest.raises(TrialStateError, match="needs a float value"):
            await storage.add_trial(study.id, {"x": 1}, state=TrialState.COMPLETE)
        with pytest.raises(TrialStateError, match="needs a finite value"):
            await storage.add_trial(study.id, {"x": 1}, state=TrialState.COMPLETE, value=math.nan)
        with pytest.raises(TrialStateError, match="only a COMPLETE trial has a value"):
            await storage.add_trial(study.id, {"x": 1}, state=TrialState.FAILED, value=1.0)
        with pytest.raises(StorageError):
            await storage.add_trial(
                study.id,
                {"x": [1, 2]},  # type: ignore[dict-item] # not a JSON scalar, on purpose
                state=TrialState.COMPLETE,
                value=1.0,
            )
        with pytest.raises(UnknownStudyError):
            await storage.add_trial(study.id + 1000, {"x": 1}, state=TrialState.FAILED)
        assert await storage.trials(study.id) == []
        ok = await storage.add_trial(study.id, {"x": 1}, state=TrialState.CANCELLED, error="why")
        assert (ok.number, ok.seq) == (0, 1)

    @pytest.mark.anyio
    async def test_add_trial_skip_if_exists_returns_a_trial_with_that_outcome(
        self, storage: Storage
    ) -> None:
        study = await new_study(storage)
        first = await storage.add_trial(
            study.id, {"x": 1, "kind": "a"}, state=TrialState.COMPLETE, value=1.0
        )
        same = await storage.add_trial(
            study.id,
            {"kind": "a", "x": 1},
            state=TrialState.COMPLETE,
            value=2.0,
            skip_if_exists=True,
        )
        assert same == first
        failed = await storage.add_trial(study.id, {"x": 2}, state=TrialState.FAILED, error="oom")
        again = await storage.add_trial(
            study.id, {"x": 2}, state=TrialState.FAILED, error="oom", skip_if_exists=True
        )
        assert again == failed
        # A failed trial (a lost worker, say) does not stand for a known value.
        value = await storage.add_trial(
            study.id, {"x": 2}, state=TrialState.COMPLETE, value=0.5, skip_if_exists=True
        )
        assert (value.number, value.state) == (2, TrialState.COMPLETE)
        # Exactly these parameters: a trial holding them and more is another one, and
        # a bool is not a number (Literal[1, True] has two choices).
        others: list[dict[str, JSONScalar]] = [
            {"x": 1},
            {"x": 1, "kind": "a", "n": 3},
            {"x": True, "kind": "a"},
        ]
        for params in others:
            added = await storage.add_trial(
                study.id, params, state=TrialState.COMPLETE, value=3.0, skip_if_exists=True
            )
            assert added.params == params
        # A running, queued or cancelled trial does not count either.
        running = await storage.start_trial(study.id, {"x": 5}, owner=REMOTE_OWNER)
        assert running is not None
        await storage.enqueue_trial(study.id, {"x": 6})
        await storage.add_trial(study.id, {"x": 7}, state=TrialState.CANCELLED, error="why")
        for x in (5, 6, 7):
            added = await storage.add_trial(
                study.id, {"x": x}, state=TrialState.COMPLETE, value=4.0, skip_if_exists=True
            )
            assert added.state is TrialState.COMPLETE
            assert added.number > running.number
        assert len(await storage.trials(study.id)) == 12

    @pytest.mark.anyio
    async def test_find_trial_matches_exactly_these_parameters_in_that_state(
        self, storage: Storage
    ) -> None:
        study = await new_study(storage)
        other = await new_study(storage, "other")
        await storage.add_trial(other.id, {"x": 1, "kind": "a"}, state=TrialState.COMPLETE, value=0)
        running = await storage.start_trial(study.id, {"x": 1, "kind": "a"}, owner=REMOTE_OWNER)
        assert running is not None
        near: list[dict[str, JSONScalar]] = [
            {"x": 1},
            {"x": 1, "kind": "a", "n": None},
            {"x": True, "kind": "a"},
        ]
        for params in near:
            await storage.add_trial(study.id, params, state=TrialState.COMPLETE, value=1.0)
        assert (
            await storage.find_trial(study.id, {"x": 1, "kind": "a"}, states=(TrialState.COMPLETE,))
            is None
        )
        await storage.finish_trial(study.id, running.number, state=TrialState.COMPLETE, value=2.0)
        later = await storage.add_trial(
            study.id, {"x": 1, "kind": "a"}, state=TrialState.COMPLETE, value=3.0
        )
        # the lowest number, whatever the key order, 1 or 1.0
        same: list[dict[str, JSONScalar]] = [{"x": 1, "kind": "a"}, {"kind": "a", "x": 1.0}]
        for params in same:
            found = await storage.find_trial(study.id, params, states=(TrialState.COMPLETE,))
            assert found is not None
            assert (found.study_id, found.number, found.value) == (study.id, 0, 2.0)
        assert later.number == 4
        assert (
            await storage.find_trial(study.id, {"x": 1, "kind": "a"}, states=(TrialState.FAILED,))
            is None
        )
        true = await storage.find_trial(
            study.id, {"x": True, "kind": "a"}, states=(TrialState.COMPLETE,)
        )
        assert true is not None
        assert true.number == 3
        for bad in ("complete", None):
            with pytest.raises(StorageError, match="TrialState"):
                await storage.find_trial(study.id, {"x": 1}, states=(bad,))  # type: ignore[arg-type]
            with pytest.raises(StorageError, match="TrialState"):
                await storage.trials(study.id, states=[bad])  # type: ignore[list-item]
        zero = await storage.add_trial(study.id, {"x": -0.0}, state=TrialState.FAILED, error="nan")
        found = await storage.find_trial(study.id, {"x": 0}, states=(TrialState.FAILED,))
        assert found == zero

    @pytest.mark.anyio
    async def test_find_trial_takes_the_lowest_number_in_any_of_the_states(
        self, storage: Storage
    ) -> None:
        study = await new_study(storage)
        await storage.add_trial(study.id, {"x": 1}, state=TrialState.CANCELLED, error="why")
        queued = await storage.enqueue_trial(study.id, {"x": 1})
        done = await storage.add_trial(study.id, {"x": 1}, state=TrialState.COMPLETE, value=1.0)
        kept = (TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING)
        assert await storage.find_trial(study.id, {"x": 1}, states=kept) == queued
        assert await storage.find_trial(study.id, {"x": 1}, states=kept[:2]) == done
        assert await storage.find_trial(study.id, {"x": 1}, states=set(kept[1:])) == queued
        assert await storage.find_trial(study.id, {"x": 1}, states=()) is None

    @pytest.mark.anyio
    async def test_concurrent_adds_that_skip_if_exists_add_once(self, storage: Storage) -> None:
        study = await new_study(storage)
        added: list[TrialRecord] = []

        async def add() -> None:
            added.append(
                await storage.add_trial(
                    study.id, {"x": 1}, state=TrialState.COMPLETE, value=1.0, skip_if_exists=True
                )
            )

        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(add)
        assert len(await storage.trials(study.id)) == 1
        assert {t.number for t in added} == {0}

    @pytest.mark.anyio
    async def test_concurrent_adds_take_distinct_numbers(self, storage: Storage) -> None:
        study = await new_study(storage)

        async def add(i: int) -> None:
            await storage.add_trial(study.id, {"i": i}, state=TrialState.COMPLETE, value=float(i))

        async with anyio.create_task_group() as tg:
            for i in range(20):
                tg.start_soon(add, i)
        trials = await storage.trials(study.id)
        assert [t.number for t in trials] == list(range(20))
        assert sorted(t.value or 0.0 for t in trials) == [float(i) for i in range(20)]
        assert all(t.params == {"i": int(t.value or 0.0)} for t in trials)
        assert sorted(t.seq for t in trials) == list(range(1, 21))

    @pytest.mark.anyio
    async def test_claims_stop_at_the_budget(self, storage: Storage) -> None:
        # Queued trials count toward a run's budget only once claimed: with three
        # waiting and a budget of two, the third stays queued.
        study = await new_study(storage)
        for i in range(3):
            await storage.enqueue_trial(study.id, {"i": i})
        first = await storage.claim_trial(study.id, owner=REMOTE_OWNER, max_trials=2)
        second = await storage.claim_trial(study.id, owner=REMOTE_OWNER, max_trials=2)
        assert first is not None
        assert second is not None
        assert await storage.claim_trial(study.id, owner=REMOTE_OWNER, max_trials=2) is None
        await storage.finish_trial(study.id, first.number, state=TrialState.FAILED, error="x")
        third = await storage.claim_trial(study.id, owner=REMOTE_OWNER, max_trials=2)
        assert third is not None
        assert third.number == 2
        counts = await storage.count_trials(study.id)
        assert counts[TrialState.WAITING] == 0
        assert counts[TrialState.RUNNING] == 2

    @pytest.mark.anyio
    async def test_enqueue_unless_holding_returns_a_kept_trial(self, storage: Storage) -> None:
        study = await new_study(storage)
        first = await storage.enqueue_trial(study.id, {"x": 1, "kind": "a"})
        same = await storage.enqueue_trial(
            study.id, {"x": 1, "kind": "a"}, unless_holding={"x": 1, "kind": "a"}
        )
        assert same == first
        part = await storage.enqueue_trial(study.id, {"x": 1, "kind": "b"}, unless_holding={"x": 1})
        assert part == first  # any kept trial with the given values
        other = await storage.enqueue_trial(study.id, {"x": 2}, unless_holding={"x": 2})
        assert other.number == 1
        claimed = await storage.claim_trial(study.id, owner=REMOTE_OWNER)
        assert claimed is not None
        await storage.finish_trial(study.id, claimed.number, state=TrialState.FAILED, error="x")
        again = await storage.enqueue_trial(study.id, {"x": 1}, unless_holding={"x": 1})
        assert again.number == 2  # a failed trial does not count: queued again
        assert (await storage.count_trials(study.id))[TrialState.WAITING] == 2

    @pytest.mark.anyio
    async def test_enqueue_unless_holding_compares_as_the_space_does(
        self, storage: Storage
    ) -> None:
        # A bool is not a number (Literal[1, True] has two choices), and a kept trial
        # with a NUL character in a value must not break the check (PostgreSQL's jsonb
        # refused it, failing every later skip_if_exists in the study).
        study = await new_study(storage)
        one = await storage.enqueue_trial(study.id, {"x": 1, "s": "a\x00b"})
        true = await storage.enqueue_trial(study.id, {"x": True}, unless_holding={"x": True})
        assert true.number != one.number
        again = await storage.enqueue_trial(
            study.id, {"x": 1.0, "s": "b"}, unless_holding={"x": 1.0}
        )
        assert again.number == one.number  # 1 and 1.0: the same number
        text = await storage.enqueue_trial(
            study.id, {"x": 1, "s": "a\x00b"}, unless_holding={"s": "a\x00b"}
        )
        assert text.number == one.number
        whole = await storage.enqueue_trial(
            study.id, {"s": "a\x00b", "x": 1.0}, unless_holding={"x": 1, "s": "a\x00b"}
        )
        assert whole.number == one.number

    @pytest.mark.anyio
    async def test_enqueue_unless_holding_all_the_parameters_means_exactly_them(
        self, storage: Storage
    ) -> None:
        # Found as find_trial finds it (the stores use their index): the lowest-numbered
        # kept trial with exactly these parameters, not one with more.
        study = await new_study(storage)
        wider = await storage.enqueue_trial(study.id, {"x": 1, "extra": "a"})
        failed = await storage.add_trial(study.id, {"x": 1}, state=TrialState.FAILED, error="boom")
        first = await storage.enqueue_trial(study.id, {"x": 1}, unless_holding={"x": 1})
        assert first.number not in {wider.number, failed.number}
        assert first.state is TrialState.WAITING
        await storage.enqueue_trial(study.id, {"x": 1})  # a later one with the same
        again = await storage.enqueue_trial(study.id, {"x": 1.0}, unless_holding={"x": 1})
        assert again == first
        found = await storage.find_trial(study.id, {"x": 1}, states=KEPT_STATES)
        assert found == first

    @pytest.mark.anyio
    async def test_concurrent_enqueues_unless_holding_queue_once(self, storage: Storage) -> None:
        study = await new_study(storage)
        await storage.enqueue_trial(study.id, {"x": 0})  # another configuration
        got: list[TrialRecord] = []

        async def enqueue() -> None:
            params: dict[str, JSONScalar] = {"x": 1, "kind": "a"}
            got.append(await storage.enqueue_trial(study.id, params, unless_holding=params))

        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(enqueue)
        assert {t.number for t in got} == {1}
        assert (await storage.count_trials(study.id))[TrialState.WAITING] == 2

    @pytest.mark.anyio
    async def test_concurrent_claimers_never_share_a_trial(self, storage: Storage) -> None:
        study = await new_study(storage)
        for i in range(10):
            await storage.enqueue_trial(study.id, {"i": i})
        claimed: list[TrialRecord | None] = []

        async def claim(k: int) -> None:
            claimed.append(await storage.claim_trial(study.id, owner=f"{REMOTE_OWNER}{k}"))

        async with anyio.create_task_group() as tg:
            for k in range(30):
                tg.start_soon(claim, k)
        got = [t for t in claimed if t is not None]
        assert sorted(t.number for t in got) == list(range(10))
        assert len(claimed) == 30
        counts = await storage.count_trials(study.id)
        assert counts[TrialState.RUNNING] == 10
        assert counts[TrialState.WAITING] == 0

    # -- heartbeats and stale trials -------------------------------------------------
    @pytest.mark.anyio
    async def test_heartbeat_keeps_a_trial_alive(self, storage: Storage) -> None:
        study = await new_study(storage)
        alive = await storage.start_trial(study.id, {"who": "alive"}, owner=REMOTE_OWNER)
        silent = await storage.start_trial(study.id, {"who": "silent"}, owner=REMOTE_OWNER_2)
        assert alive is not None
        assert silent is not None
        await anyio.sleep(0.3)
        await storage.heartbeat(study.id, owner=REMOTE_OWNER)
        refreshed = await storage.get_trial(study.id, alive.number)
        assert refreshed.heartbeat_at is not None
        assert alive.heartbeat_at is not None
        assert refreshed.heartbeat_at > alive.heartbeat_at
        assert await storage.fail_stale(study.id, older_than=0.2) == [silent.number]
        failed = await storage.get_trial(study.id, silent.number)
        assert failed.state is TrialState.FAILED
        assert failed.error is not None
        assert REMOTE_OWNER_2 in failed.error
        assert failed.finished_at is not None
        assert (await storage.get_trial(study.id, alive.number)).state is TrialState.RUNNING
        # Failing is not requeueing: nothing new is waiting.
        assert await storage.claim_trial(study.id, owner=REMOTE_OWNER) is None
        assert await storage.fail_stale(study.id, older_than=0.2) == []

    @pytest.mark.anyio
    async def test_fail_stale_with_requeue(
        self, storage: Storage, caplog: pytest.LogCaptureFixture
    ) -> None:
        study = await new_study(storage)
        await storage.start_trial(study.id, {"x": 0.5, "b": True}, owner=REMOTE_OWNER)
        await storage.start_trial(study.id, {"x": 0.7, "b": False}, owner=REMOTE_OWNER)
        await storage.finish_trial(study.id, 1, state=TrialState.COMPLETE, value=1.0)
        with caplog.at_level(logging.WARNING, logger="asynchyper"):
            assert await storage.fail_stale(study.id, older_than=-1.0, requeue=True) == [0]
        # the study by its name (its id meant nothing to the reader)
        assert f"marked trials [0] of study {study.name!r} FAILED" in caplog.text
        assert "(requeued)" in caplog.text
        trials = await storage.trials(study.id)
        assert [t.state for t in trials] == [
            TrialState.FAILED,
            TrialState.COMPLETE,
            TrialState.WAITING,
        ]
        assert trials[2].params == {"x": 0.5, "b": True}
        claimed = await storage.claim_trial(study.id, owner=REMOTE_OWNER_2)
        assert claimed is not None
        assert claimed.number == 2

    @pytest.mark.anyio
    async def test_a_failed_stale_trial_finished_at_its_last_heartbeat(
        self, storage: Storage
    ) -> None:
        # Recovered long after its process died, a trial did not run until the recovery:
        # it finished when it was last known alive, its last heartbeat (a trial that
        # never sent one after starting: its start time).
        study = await new_study(storage)
        beating = await storage.start_trial(study.id, {"who": "beating"}, owner=REMOTE_OWNER)
        dead_owner = f"{socket.gethostname()}:{dead_pid()}:0dead0"
        silent = await storage.start_trial(study.id, {"who": "silent"}, owner=dead_owner)
        assert beating is not None
        assert silent is not None
        await anyio.sleep(0.1)
        await storage.heartbeat(study.id, owner=REMOTE_OWNER)
        beat = (await storage.get_trial(study.id, beating.number)).heartbeat_at
        assert beat is not None
        assert beating.started_at is not None
        assert beat > beating.started_at
        await anyio.sleep(0.4)  # the crash: nothing more is heard of either owner
        assert await storage.fail_stale(study.id, older_than=0.2) == [0, 1]
        recovered, dead = await storage.trials(study.id)
        assert recovered.state is dead.state is TrialState.FAILED
        assert recovered.finished_at == recovered.heartbeat_at == beat
        assert recovered.started_at == beating.started_at
        assert dead.started_at is not None
        assert dead.finished_at == dead.started_at == silent.started_at

    @pytest.mark.anyio
    async def test_a_live_local_owner_keeps_its_trials_while_it_beats(
        self, storage: Storage
    ) -> None:
        study = await new_study(storage)
        owner = new_owner_id()
        trial = await storage.start_trial(study.id, {}, owner=owner)
        assert trial is not None
        for _ in range(3):
            await anyio.sleep(0.25)  # 2.5 times older_than: a remote owner's would go
            assert await storage.fail_stale(study.id, older_than=0.1, requeue=True) == []
            await storage.heartbeat(study.id, owner=owner)
        assert (await storage.get_trial(study.id, 0)).state is TrialState.RUNNING
        assert await storage.fail_stale(study.id, older_than=math.inf) == []

    @pytest.mark.anyio
    async def test_a_live_local_owner_silent_for_long_loses_its_trials(
        self, storage: Storage
    ) -> None:
        # Its study closed without recording them (a storage outage) or its loop is
        # stuck: other processes would wait for them forever.
        study = await new_study(storage)
        await storage.start_trial(study.id, {}, owner=new_owner_id())
        await anyio.sleep(0.6)  # more than five times older_than
        assert await storage.fail_stale(study.id, older_than=0.1) == [0]
        assert (await storage.get_trial(study.id, 0)).state is TrialState.FAILED

    @pytest.mark.anyio
    async def test_a_dead_local_owner_is_failed_at_once(self, storage: Storage) -> None:
        study = await new_study(storage)
        pid = dead_pid()
        assert pid != os.getpid()
        tagged_host = new_owner_id().split(":")[0]
        await storage.start_trial(study.id, {}, owner=f"{tagged_host}:{pid}:0000")
        await storage.start_trial(study.id, {}, owner=new_owner_id())
        await storage.start_trial(study.id, {}, owner=f"{socket.gethostname()}:{pid}:1111")
        await storage.start_trial(study.id, {}, owner=f"{socket.gethostname()}:{os.getpid()}:2")
        assert await storage.fail_stale(study.id, older_than=3600.0) == [0, 2]

    @pytest.mark.anyio
    async def test_an_earlier_process_with_this_pid_goes_stale_by_heartbeat(
        self, storage: Storage
    ) -> None:
        # A restarted container's PID 1 (same hostname) finds the trials of the run
        # that was killed: their owner carries this pid but is not this process.
        study = await new_study(storage)
        tagged_host = new_owner_id().split(":")[0]
        await storage.start_trial(study.id, {}, owner=f"{tagged_host}:{os.getpid()}:0dead0")
        await storage.start_trial(study.id, {}, owner=new_owner_id())
        assert await storage.fail_stale(study.id, older_than=3600.0) == []  # fresh heartbeat
        await anyio.sleep(0.1)
        # the live owner keeps its trial: its heartbeat is younger than 5 * older_than
        assert await storage.fail_stale(study.id, older_than=0.05) == [0]
        assert (await storage.get_trial(study.id, 1)).state is TrialState.RUNNING

    @pytest.mark.skipif(process_start(os.getpid()) is None, reason="needs /proc (Linux)")
    @pytest.mark.anyio
    async def test_an_owner_whose_pid_another_process_took_is_failed_at_once(
        self, storage: Storage
    ) -> None:
        # The owner died and a new process got its pid: the start time in the id tells.
        study = await new_study(storage)
        tagged_host = new_owner_id().split(":")[0]
        here = process_start(os.getpid())
        assert here is not None
        with live_process() as (pid, started):
            owners = [
                f"{tagged_host}:{pid}:0dead0@{started - 1}",  # the pid was reused
                f"{tagged_host}:{pid}:0live0@{started}",  # the process itself
                f"{tagged_host}:{os.getpid()}:0dead1@{here - 1}",  # an earlier holder of ours
                new_owner_id(),
            ]
            for owner in owners:
                await storage.start_trial(study.id, {}, owner=owner)
            assert await storage.fail_stale(study.id, older_than=3600.0) == [0, 2]

    @pytest.mark.skipif(process_start(os.getpid()) is None, reason="needs /proc (Linux)")
    @pytest.mark.anyio
    async def test_an_owner_that_died_but_is_not_reaped_yet_is_failed_at_once(
        self, storage: Storage
    ) -> None:
        # A killed worker stays a zombie until its parent waits for it (a launcher that
        # waits for its workers in order, a container's PID 1 that never reaps); the
        # pid still answers a signal 0, but the process runs nothing.
        study = await new_study(storage)
        tagged_host = new_owner_id().split(":")[0]
        with live_process() as (pid, started):
            await storage.start_trial(study.id, {}, owner=f"{tagged_host}:{pid}:0zomb0@{started}")
            await storage.start_trial(study.id, {}, owner=new_owner_id())
            assert await storage.fail_stale(study.id, older_than=3600.0) == []
            os.kill(pid, signal.SIGKILL)
            for _ in range(1000):  # SIGKILL is delivered asynchronously
                if _proc_stat(pid)[:1] == [b"Z"]:
                    break
                await anyio.sleep(0.01)
            assert _proc_stat(pid)[:1] == [b"Z"], "the killed child is not a zombie"
            assert await storage.fail_stale(study.id, older_than=3600.0) == [0]

    @pytest.mark.anyio
    async def test_an_infinite_age_fails_only_dead_local_owners(self, storage: Storage) -> None:
        study = await new_study(storage)
        await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)  # heartbeat unknowable
        await storage.start_trial(study.id, {}, owner=f"{socket.gethostname()}:{dead_pid()}:0")
        await anyio.sleep(0.05)
        assert await storage.fail_stale(study.id, older_than=math.inf) == [1]
        assert (await storage.get_trial(study.id, 0)).state is TrialState.RUNNING

    # -- reading ---------------------------------------------------------------------
    @pytest.mark.anyio
    async def test_trials_filter_by_state_and_change(self, storage: Storage) -> None:
        study = await new_study(storage)
        for _ in range(4):
            await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)
        await storage.finish_trial(study.id, 1, state=TrialState.COMPLETE, value=1.0)
        await storage.finish_trial(study.id, 2, state=TrialState.FAILED, error="x")
        running = await storage.trials(study.id, states=[TrialState.RUNNING])
        assert [t.number for t in running] == [0, 3]
        finished = await storage.trials(study.id, states={TrialState.COMPLETE, TrialState.FAILED})
        assert [t.number for t in finished] == [1, 2]
        assert await storage.trials(study.id, states=[]) == []

        everything = await storage.trials(study.id)
        last_seen = max(t.seq for t in everything)
        assert await storage.trials(study.id, changed_after=last_seen) == []
        await storage.finish_trial(study.id, 3, state=TrialState.COMPLETE, value=2.0)
        changed = await storage.trials(study.id, changed_after=last_seen)
        assert [t.number for t in changed] == [3]
        assert changed[0].seq > last_seen
        assert (
            await storage.trials(study.id, states=[TrialState.RUNNING], changed_after=last_seen)
            == []
        )
        assert [t.number for t in await storage.trials(study.id, changed_after=0)] == [0, 1, 2, 3]

    @pytest.mark.anyio
    async def test_seq_increases_with_every_change(self, storage: Storage) -> None:
        study = await new_study(storage)
        seqs: list[int] = []
        for _ in range(3):
            trial = await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)
            assert trial is not None
            seqs.append(trial.seq)
        seqs.append((await storage.enqueue_trial(study.id, {})).seq)
        claimed = await storage.claim_trial(study.id, owner=REMOTE_OWNER)
        assert claimed is not None
        seqs.append(claimed.seq)
        for number in range(3):
            done = await storage.finish_trial(study.id, number, state=TrialState.COMPLETE, value=0)
            seqs.append(done.seq)
        assert seqs == sorted(set(seqs))
        assert seqs[0] > 0

    @pytest.mark.anyio
    async def test_count_trials_has_every_state(self, storage: Storage) -> None:
        study = await new_study(storage)
        assert await storage.count_trials(study.id) == dict.fromkeys(TrialState, 0)
        for _ in range(3):
            await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)
        await storage.enqueue_trial(study.id, {})
        await storage.finish_trial(study.id, 0, state=TrialState.COMPLETE, value=1.0)
        await storage.finish_trial(study.id, 1, state=TrialState.CANCELLED)
        assert await storage.count_trials(study.id) == {
            TrialState.WAITING: 1,
            TrialState.RUNNING: 1,
            TrialState.COMPLETE: 1,
            TrialState.FAILED: 0,
            TrialState.CANCELLED: 1,
        }

    @pytest.mark.anyio
    async def test_best_trial(self, storage: Storage) -> None:
        study = await new_study(storage)
        assert await storage.best_trial(study.id) is None
        values = [3.0, -1.0, 7.5, -1.0, 2.0]
        for value in values:
            trial = await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)
            assert trial is not None
            await storage.finish_trial(
                study.id, trial.number, state=TrialState.COMPLETE, value=value
            )
        await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)  # running: ignored
        failed = await storage.start_trial(study.id, {}, owner=REMOTE_OWNER)
        assert failed is not None
        await storage.finish_trial(study.id, failed.number, state=TrialState.FAILED)
        best = await storage.best_trial(study.id)
        assert best is not None
        assert (best.number, best.value) == (1, -1.0)
        highest = await storage.best_trial(study.id, direction="maximize")
        assert highest is not None
        assert (highest.number, highest.value) == (2, 7.5)
        with pytest.raises(StorageError, match="direction"):
            await storage.best_trial(study.id, direction="up")

    @pytest.mark.anyio
    async def test_close_twice_is_safe(self, make_storage: StorageFactory) -> None:
        async with make_storage() as storage:
            await new_study(storage)
            await storage.close()
        await storage.close()

    # -- invariants under random operation sequences ---------------------------------
    @pytest.mark.anyio
    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        operations=st.lists(
            st.one_of(
                st.tuples(st.just("start"), st.one_of(st.none(), st.integers(0, 6))),
                st.tuples(st.just("enqueue"), st.none()),
                st.tuples(st.just("claim"), st.none()),
                st.tuples(
                    st.just("finish"),
                    st.tuples(
                        st.integers(0, 20),
                        st.sampled_from(
                            [TrialState.COMPLETE, TrialState.FAILED, TrialState.CANCELLED]
                        ),
                    ),
                ),
                st.tuples(st.just("fail_stale"), st.booleans()),
            ),
            max_size=25,
        )
    )
    async def test_random_operations_keep_numbers_and_counts_consistent(
        self, make_storage: StorageFactory, operations: list[tuple[str, Any]]
    ) -> None:
        async with make_storage() as storage:
            study = await new_study(storage)
            model: list[TrialState] = []  # model[n] is the expected state of trial n
            waiting: list[int] = []
            last_seq = 0
            for kind, argument in operations:
                if kind == "start":
                    used = sum(
                        s in (TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING)
                        for s in model
                    )
                    trial = await storage.start_trial(
                        study.id, {"n": len(model) % 3}, owner=REMOTE_OWNER, max_trials=argument
                    )
                    if argument is not None and used >= argument:
                        assert trial is None
                    else:
                        assert trial is not None
                        assert trial.number == len(model)
                        model.append(TrialState.RUNNING)
                elif kind == "enqueue":
                    trial = await storage.enqueue_trial(study.id, {"n": len(model) % 3})
                    assert trial.number == len(model)
                    model.append(TrialState.WAITING)
                    waiting.append(trial.number)
                elif kind == "claim":
                    claimed = await storage.claim_trial(study.id, owner=REMOTE_OWNER)
                    if waiting:
                        assert claimed is not None
                        assert claimed.number == waiting.pop(0)
                        model[claimed.number] = TrialState.RUNNING
                    else:
                        assert claimed is None
                elif kind == "finish":
                    number, state = argument
                    value = 1.0 if state is TrialState.COMPLETE else None
                    if number >= len(model):
                        with pytest.raises(UnknownTrialError):
                            await storage.finish_trial(study.id, number, state=state, value=value)
                    elif model[number] is not TrialState.RUNNING:
                        with pytest.raises(TrialStateError):
                            await storage.finish_trial(study.id, number, state=state, value=value)
                    else:
                        await storage.finish_trial(study.id, number, state=state, value=value)
                        model[number] = state
                else:
                    failed = await storage.fail_stale(study.id, older_than=-1.0, requeue=argument)
                    expected = [n for n, s in enumerate(model) if s is TrialState.RUNNING]
                    assert failed == expected
                    for number in failed:
                        model[number] = TrialState.FAILED
                    if argument:
                        for _ in failed:
                            waiting.append(len(model))
                            model.append(TrialState.WAITING)

                trials = await storage.trials(study.id)
                assert [t.number for t in trials] == list(range(len(model)))
                assert [t.state for t in trials] == model
                for n, state in itertools.product(range(3), TrialState):
                    # requeued trials too: the index knows every inserted row
                    first = next(
                        (t for t in trials if t.state is state and t.params == {"n": n}), None
                    )
                    assert await storage.find_trial(study.id, {"n": n}, states=(state,)) == first
                counts = await storage.count_trials(study.id)
                assert counts == {s: model.count(s) for s in TrialState}
                seqs = [t.seq for t in trials]
                assert len(set(seqs)) == len(seqs)
                newest = max(seqs, default=0)
                assert newest >= last_seq
                last_seq = newest
