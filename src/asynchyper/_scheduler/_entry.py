"""The entry points: open_study(), minimize() and maximize()."""

from __future__ import annotations

import enum
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, Literal, TypeVar

import anyio

from .._errors import SpaceMismatchError, StorageError, UnknownStudyError
from .._executor import Executor, resolve_executor
from .._logfields import log_fields
from .._records import StudyRecord, TrialState
from .._space import Space, compile_space
from .._storage import Storage, open_storage
from .._storage._common import space_difference
from .._storage._widen import widens
from .._suggest import TPE, Suggester
from .._types import Direction, JSONScalar, JSONValue
from ._callbacks import TrialCallback
from ._checks import (
    check_enqueue,
    check_objective,
    check_run_options,
    check_seconds,
    check_study_options,
)
from ._constants import CONSTANTS_ATTR, changed_constants, constant_defaults
from ._result import Result
from ._study import Callback, Objective, Study

__all__ = ["maximize", "minimize", "open_study"]

_log = logging.getLogger(__name__)

T = TypeVar("T")


@asynccontextmanager
async def open_study(
    space: type[T],
    *,
    storage: str | Storage | None = None,
    name: str | None = None,
    suggester: Suggester | None = None,
    direction: Direction | None = None,
    seed: int | None = None,
    heartbeat_interval: float = 10.0,
    stale_after: float | None = 60.0,
) -> AsyncIterator[Study[T]]:
    """Open (create or resume) a study over ``space``.

    While the study is open, a background task sends a heartbeat for its running
    trials every ``heartbeat_interval`` seconds. On opening, running trials of other
    owners with no heartbeat for ``stale_after`` seconds, or whose process on this host
    is gone, are marked ``FAILED`` (so a crashed run never holds the budget). Trials
    asked but not told when the study closes are marked ``CANCELLED``.

    Args:
        space: The attrs class describing the search space.
        storage: A path or URL (``"study.db"``, ``"sqlite:///study.db"``,
            ``":memory:"``), a :class:`Storage` object (not opened or closed here), or
            ``None`` for in-memory storage.
        name: The study's name; defaults to the space class's qualified name.
        suggester: Proposes configurations; defaults to ``TPE()``.
        direction: ``"minimize"`` or ``"maximize"``; ``None`` (the default) takes the
            stored study's direction, and ``"minimize"`` for a new study.
        seed: Seeds the suggester's random generator: two runs of a new study with
            ``concurrency=1`` produce identical trials (with more in flight, TPE's
            depend on the order trials finish in). A study that already exists (a
            resume, or another process sharing it) mixes this process's owner id,
            different in every process, into the seed, so that it never replays the
            draws already made. The seed is not stored with the study.
        heartbeat_interval: Seconds between heartbeats of running trials.
        stale_after: Seconds without heartbeat after which another owner's running
            trial is failed; ``None`` never fails trials for that.

    Yields:
        The open study.

    Raises:
        SpaceMismatchError: The stored study has another space or direction.
        StorageError: The storage cannot be opened.
        TypeError: An option has the wrong type (checked before the storage is opened).
        ValueError: An option is out of range, e.g. an empty ``name`` (checked before
            the storage is opened).
    """
    async with open_study_created(
        space,
        storage=storage,
        name=name,
        suggester=suggester,
        direction=direction,
        seed=seed,
        heartbeat_interval=heartbeat_interval,
        stale_after=stale_after,
        created=None,
    ) as study:
        yield study


@asynccontextmanager
async def open_study_created(
    space: type[T],
    *,
    storage: str | Storage | None = None,
    name: str | None = None,
    suggester: Suggester | None = None,
    direction: Direction | None = None,
    seed: int | None = None,
    heartbeat_interval: float = 10.0,
    stale_after: float | None = 60.0,
    created: bool | None,
) -> AsyncIterator[Study[T]]:
    """:func:`open_study`, told whether its caller just created the study (``created``).

    ``None`` creates or loads it here (see :func:`create_or_load`). A caller that did
    that itself first (to store attributes with the study) passes what it returned,
    so that a seeded run of a new study stays reproducible.
    """
    if direction not in ("minimize", "maximize", None):
        msg = f"direction must be 'minimize', 'maximize' or None; got {direction!r}"
        raise ValueError(msg)
    check_seconds("heartbeat_interval", heartbeat_interval)
    check_seconds("stale_after", stale_after)
    check_study_options(name=name, suggester=suggester, seed=seed)
    compiled = compile_space(space)
    store = open_storage(storage)
    async with AsyncExitStack() as stack:
        if not isinstance(storage, Storage):
            await stack.enter_async_context(store)
        study_name = space.__qualname__ if name is None else name
        if direction is None:  # the stored study's, as Optuna's load_study
            direction = await _stored_direction(store, study_name)
        if created is None:
            record, created = await create_or_load(store, study_name, compiled, direction)
        else:  # the caller created or loaded (and checked) it just before
            record = await store.get_study(study_name)
        if record.direction != direction:
            msg = (
                f"study {record.name!r} was created with direction={record.direction!r}; "
                f"got direction={direction!r}. Pass direction={record.direction!r} or use "
                "another study name"
            )
            raise SpaceMismatchError(msg)
        study = Study(
            space=compiled,
            storage=store,
            record=record,
            suggester=TPE() if suggester is None else suggester,
            seed=seed,
            heartbeat_interval=heartbeat_interval,
            stale_after=stale_after,
            created=created,
        )
        body_error: BaseException | None = None
        try:
            # One-time costs (TPE's scipy import) off the loop, before any trial runs.
            # Inside the try: a study cancelled (or failing) while it opens is closed
            # too, which releases its owner id.
            await anyio.to_thread.run_sync(study.suggester.prepare, compiled)
            await study._open()
            async with anyio.create_task_group() as group:
                group.start_soon(study._heartbeat_loop, name="asynchyper heartbeat")
                try:
                    yield study
                except BaseException as exc:  # re-raised below, outside the task group
                    body_error = exc
                finally:
                    group.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await study._close()
        if body_error is not None:
            raise body_error


async def _stored_direction(store: Storage, name: str) -> Direction:
    """The direction of the stored study ``name``; ``"minimize"`` for a new one."""
    try:
        return (await store.get_study(name)).direction
    except UnknownStudyError:
        return "minimize"


async def create_or_load(
    store: Storage,
    name: str,
    compiled: Space[Any],
    direction: str,
    user_attrs: dict[str, JSONValue] | None = None,
) -> tuple[StudyRecord, bool]:
    """The study record, and whether this call created it (one creator among racers).

    A new study stores ``user_attrs`` and its constants' defaults; a loaded one logs a
    warning naming each constant whose default changed since.
    """
    options: dict[str, Any] = {
        "fingerprint": compiled.fingerprint,
        "space": compiled.describe(),
        "direction": direction,
    }
    constants = constant_defaults(compiled)
    # Looked up first (a read: another process's write lock does not hold it up), so
    # that only a new study is created, and a create that fails for another reason than
    # a racing creator (a lock held past busy_timeout, a full disk) is not retried.
    if not await _exists(store, name):
        attrs = dict(user_attrs or {})
        if constants:
            attrs[CONSTANTS_ATTR] = dict(constants)
        try:
            created = await store.create_study(
                name, load_if_exists=False, user_attrs=attrs or None, **options
            )
        except StorageError:
            if not await _exists(store, name):
                raise  # not a racing creator: a real failure
        else:
            return created, True
    try:
        loaded = await store.create_study(name, load_if_exists=True, **options)
    except SpaceMismatchError:
        widened = await _widened(store, name, compiled, direction)
        if widened is None:
            raise
        loaded = widened
    changed = changed_constants(loaded.user_attrs.get(CONSTANTS_ATTR), constants)
    if changed:
        _log.warning(
            "study %r: constant fields of %s changed since the study was created: %s. "
            "Constants are not stored with the trials, so the earlier trials' "
            "configurations now show the new values although they ran with the old "
            "ones; use another study name for this variant",
            loaded.name,
            compiled.cls.__qualname__,
            "; ".join(changed),
            extra=log_fields(loaded.name),
        )
    return loaded, False


async def _exists(store: Storage, name: str) -> bool:
    """Whether ``store`` holds a study called ``name``."""
    try:
        await store.get_study(name)
    except UnknownStudyError:
        return False
    return True


async def _widened(
    store: Storage, name: str, compiled: Space[Any], direction: str
) -> StudyRecord | None:
    """The stored study ``name`` with ``compiled`` as its space, if that contains the
    stored space (so every stored trial is a point of it); else ``None``."""
    if type(store).replace_space is Storage.replace_space:
        return None  # a store of your own that cannot replace a space
    stored = await store.get_study(name)
    space = compiled.describe()
    if stored.direction != direction or not widens(stored.space, space):
        return None
    replaced = await store.replace_space(
        name, fingerprint=compiled.fingerprint, space=space, expected_fingerprint=stored.fingerprint
    )
    # A warning: under the default name (the class's), a new experiment whose space
    # happens to contain an old one's would otherwise quietly go on with its trials.
    _log.warning(
        "study %r: search space widened (%s); every earlier trial is a point of the new "
        "space, which is stored now, and the study goes on with them (for a separate "
        "experiment, give it a study name of its own: study=...)",
        name,
        space_difference(stored.space, space),
        extra=log_fields(name),
    )
    return replaced


async def minimize(
    objective: Objective[T],
    space: type[T],
    *,
    trials: int,
    concurrency: int = 1,
    storage: str | Storage | None = None,
    study: str | None = None,
    suggester: Suggester | None = None,
    executor: Literal["thread", "process"] | Executor | None = None,
    seed: int | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 - a run budget, not an I/O timeout
    trial_timeout: float | None = None,
    callbacks: Sequence[Callback[T]] = (),
    direction: Direction = "minimize",
    target: float | None = None,
    patience: int | None = None,
    max_failures: int | None = None,
    retries: int = 0,
    progress: bool | TrialCallback[T] | None = None,
    enqueue: Sequence[T | Mapping[str, JSONScalar | enum.Enum]] = (),
) -> Result[T]:
    """Minimize ``objective`` over ``space`` with ``concurrency`` trials in flight.

    Opens the study (:func:`open_study`) and runs :meth:`Study.optimize`; see those
    for every option. Re-running the same call on the same storage resumes the study
    and only runs what is missing from the ``trials`` budget.

    Args:
        objective: ``async def f(config)`` or ``def f(config)`` returning a float or
            an :class:`Evaluation`.
        space: The attrs class describing the search space.
        trials: The study's total budget of completed trials.
        concurrency: How many trials run at once.
        storage: A path or URL (``"study.db"``), a :class:`Storage`, or ``None``
            (in memory).
        study: The study's name (defaults to the space class's name).
        suggester: Defaults to ``TPE()``.
        executor: ``"thread"``, ``"process"``, an :class:`Executor`, or ``None``.
        seed: Seeds the suggester's random generator (see :func:`open_study`).
        timeout: Seconds for the whole run (running trials are cancelled then).
        trial_timeout: Seconds per trial (longer trials fail).
        callbacks: Called when each trial finishes (see :meth:`Study.optimize`).
        direction: ``"minimize"`` or ``"maximize"`` (see also :func:`maximize`).
        target: Stop once the study's best reaches this value (earlier runs count).
        patience: Stop after this many completed trials without improvement.
        max_failures: Stop once this many trials failed (see :meth:`Study.optimize`).
        retries: Re-run failed trials with the same parameters this many times.
        progress: Show progress on stderr: ``None`` when stderr is a terminal,
            ``True`` always, ``False`` never, or a :class:`TrialCallback` display
            (see :meth:`Study.optimize`).
        enqueue: Configurations to evaluate first (Hyperopt's ``points_to_evaluate``):
            instances of ``space`` or flat parameters, a part of a configuration too
            (see :meth:`Study.enqueue`). Each is queued unless a trial holding it is
            already waiting, running or complete, so a re-run of the same call does
            not queue them again; they count toward ``trials``.

    Returns:
        Every trial of the study (``result.best`` is the best one).

    Raises:
        ExecutorError: The executor cannot run the objective.
        SpaceMismatchError: The stored study has another space or direction.
        TypeError: An option has the wrong type (checked before the storage is opened).
        ValueError: An option is out of range (checked before the storage is opened).
    """
    # Refuse bad options before a database file or a study is created for nothing.
    check_run_options(
        trials=trials,
        concurrency=concurrency,
        retries=retries,
        patience=patience,
        max_failures=max_failures,
        timeout=timeout,
        trial_timeout=trial_timeout,
        target=target,
        callbacks=callbacks,
        progress=progress,
    )
    check_objective(objective, space)
    runner = resolve_executor(executor, objective)  # an unknown executor name, too
    runner.check(objective)  # e.g. an async objective on threads (configs: in optimize)
    # held for the whole call: the weak compile cache then hands open_study this space
    compiled = compile_space(space)
    queued = check_enqueue(compiled, enqueue)
    async with open_study(
        space,
        storage=storage,
        name=study,
        suggester=suggester,
        direction=direction,
        seed=seed,
    ) as opened:
        await opened._enqueue_new(queued)
        result = await opened.optimize(
            objective,
            trials=trials,
            concurrency=concurrency,
            executor=runner,
            timeout=timeout,
            trial_timeout=trial_timeout,
            target=target,
            patience=patience,
            max_failures=max_failures,
            retries=retries,
            callbacks=callbacks,
            progress=progress,
        )
        waiting = sum(trial.state is TrialState.WAITING for trial in result.trials)
        if queued and waiting and result.stop_reason == "budget":
            _log.warning(
                "study %r: %d queued configuration(s) were not evaluated: the study "
                "already holds its budget of trials=%d; they stay WAITING and run first "
                "when it resumes with a larger trials=",
                opened.name,
                waiting,
                trials,
                extra=log_fields(opened.name),
            )
        return result


async def maximize(
    objective: Objective[T],
    space: type[T],
    *,
    trials: int,
    concurrency: int = 1,
    storage: str | Storage | None = None,
    study: str | None = None,
    suggester: Suggester | None = None,
    executor: Literal["thread", "process"] | Executor | None = None,
    seed: int | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 - a run budget, not an I/O timeout
    trial_timeout: float | None = None,
    callbacks: Sequence[Callback[T]] = (),
    target: float | None = None,
    patience: int | None = None,
    max_failures: int | None = None,
    retries: int = 0,
    progress: bool | TrialCallback[T] | None = None,
    enqueue: Sequence[T | Mapping[str, JSONScalar | enum.Enum]] = (),
) -> Result[T]:
    """Maximize ``objective`` over ``space``: :func:`minimize` with ``direction="maximize"``.

    Args:
        objective: ``async def f(config)`` or ``def f(config)`` returning a float or
            an :class:`Evaluation`.
        space: The attrs class describing the search space.
        trials: The study's total budget of completed trials.
        concurrency: How many trials run at once.
        storage: A path or URL, a :class:`Storage`, or ``None`` (in memory).
        study: The study's name.
        suggester: Defaults to ``TPE()``.
        executor: ``"thread"``, ``"process"``, an :class:`Executor`, or ``None``.
        seed: Seeds the suggester's random generator (see :func:`open_study`).
        timeout: Seconds for the whole run.
        trial_timeout: Seconds per trial.
        callbacks: Called when each trial finishes.
        target: Stop once the study's best reaches (``>=``) this value (earlier runs
            count).
        patience: Stop after this many completed trials without improvement.
        max_failures: Stop once this many trials failed (see :meth:`Study.optimize`).
        retries: Re-run failed trials with the same parameters this many times.
        progress: Show progress on stderr: ``None`` when stderr is a terminal,
            ``True`` always, ``False`` never, or a :class:`TrialCallback` display
            (see :meth:`Study.optimize`).
        enqueue: Configurations to evaluate first (see :func:`minimize`).

    Returns:
        Every trial of the study (``result.best`` has the highest value).

    Raises:
        ExecutorError: The executor cannot run the objective.
        SpaceMismatchError: The stored study has another space or direction.
        TypeError: An option has the wrong type (checked before the storage is opened).
        ValueError: An option is out of range (checked before the storage is opened).
    """
    return await minimize(
        objective,
        space,
        trials=trials,
        concurrency=concurrency,
        storage=storage,
        study=study,
        suggester=suggester,
        executor=executor,
        seed=seed,
        timeout=timeout,
        trial_timeout=trial_timeout,
        callbacks=callbacks,
        direction="maximize",
        target=target,
        patience=patience,
        max_failures=max_failures,
        retries=retries,
        progress=progress,
        enqueue=enqueue,
    )
