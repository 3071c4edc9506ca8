"""Study: ask/tell, and optimize() keeping N trials in flight."""

from __future__ import annotations

import asyncio
import enum
import functools
import hashlib
import itertools
import logging
import math
import re
import signal
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeAlias, TypeVar, cast

import anyio
import anyio.lowlevel
import anyio.to_thread
import numpy as np

from .._backend import jupyter_kernel, on_asyncio
from .._errors import (
    EventLoopError,
    ExecutorError,
    ParameterError,
    RejectedByClassError,
    SpaceMismatchError,
    StudyClosedError,
    SuggesterError,
    TrialStateError,
    UnknownTrialError,
)
from .._executor import (
    Executor,
    ReturnValueError,
    TrialContext,
    resolve_executor,
)
from .._executor._context import raised_by_objective, running_trial
from .._executor._remote import short_repr
from .._export import to_dataframe, trial_records
from .._logfields import log_fields
from .._records import (
    StudyRecord,
    Trial,
    TrialRecord,
    TrialState,
    error_signature,
    error_summary,
)
from .._space import Space
from .._space._space import objective_config
from .._storage import Storage, new_owner_id, release_owner_id
from .._storage._common import KEPT_STATES, first_holding, holds
from .._suggest import History, Suggester
from .._suggest._base import single_proposal
from .._types import Direction, JSONInput, JSONScalar, JSONValue, Params
from ._callbacks import TrialCallback, as_callbacks, call
from ._checks import check_objective, check_run_options
from ._constants import check_constants
from ._outcome import Outcome, describe_error, failed, given_outcome, interpret, is_number
from ._progress import ProgressDisplay, resolve_progress
from ._result import Evaluation, Result
from ._run import Run, collapse
from ._stopping import StopRules

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Callback", "Objective", "Study"]

T = TypeVar("T")

_log = logging.getLogger(__name__)


#: In a Jupyter kernel, the event loop is woken this often (seconds) while a run lasts,
#: so that the kernel's interrupt takes effect promptly.
KERNEL_WAKE_SECONDS = 0.2

#: Failures of one run with the same error logged as warnings; the rest at info level.
#: Also: a run whose first trials all returned a value of the wrong type (a dict, a
#: string) stops after this many, instead of running its whole failure budget.
WARNED_REPEATS = 3

#: Numbers in an error line, which differ from trial to trial for one and the same error.
_NUMBERS = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


@contextmanager
def _interrupt_cancels_the_run() -> Iterator[None]:
    """Make Ctrl-C cancel the run where it would otherwise escape from the event loop.

    ``asyncio.run`` and ``anyio.run`` turn Ctrl-C into a cancellation of their main
    task. A loop driven otherwise (IPython's terminal runs top-level ``await`` with
    ``run_until_complete``; so do older scripts) keeps Python's default handler: the
    ``KeyboardInterrupt`` then leaves from the loop's ``select``, and the run stays
    alive on the loop, its trials running, for the next cell to drive on. There, on
    asyncio in the main thread, the first Ctrl-C cancels the run's task (its running
    trials are recorded ``CANCELLED``), then ``KeyboardInterrupt`` is raised; a second
    Ctrl-C acts as usual.
    """
    if not on_asyncio() or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    if task is None:  # not in a task (a callback): nothing to cancel
        yield
        return
    hit: list[bool] = []

    def cancel() -> None:
        hit.append(True)
        loop.remove_signal_handler(signal.SIGINT)  # a second Ctrl-C raises at once
        task.cancel()

    try:
        loop.add_signal_handler(signal.SIGINT, cancel)
    except (NotImplementedError, RuntimeError, ValueError):  # Windows, not the main thread
        yield
        return
    try:
        yield
    except asyncio.CancelledError:
        if not hit:
            raise
        task.uncancel()  # ours, handled: the caller sees Ctrl-C, not a cancellation
        raise KeyboardInterrupt from None
    else:
        if hit:  # the run ended before the cancellation reached it: Ctrl-C all the same
            task.uncancel()
            raise KeyboardInterrupt
    finally:
        loop.remove_signal_handler(signal.SIGINT)


@contextmanager
def _kernel_kept_awake() -> Iterator[None]:
    """In a Jupyter kernel on asyncio, wake the event loop every :data:`KERNEL_WAKE_SECONDS`.

    The kernel's interrupt reaches a cell awaiting the event loop only when the loop
    next wakes (ipykernel issue 881): with trials of minutes and nothing else to do,
    Ctrl-C took up to the 10 s heartbeat (7.4 s measured with 20 s trials).
    """
    if not on_asyncio() or jupyter_kernel() is None:
        yield
        return

    loop = asyncio.get_running_loop()
    timer: asyncio.TimerHandle | None = None

    def wake() -> None:  # a timer callback: the loop wakes to run it, nothing else
        nonlocal timer
        timer = loop.call_later(KERNEL_WAKE_SECONDS, wake)

    wake()
    try:
        yield
    finally:
        if timer is not None:
            timer.cancel()


#: What an objective may return: a float (a NumPy number too, e.g. ``np.mean(scores)``),
#: or an :class:`Evaluation`.
ObjectiveReturn: TypeAlias = float | np.floating[Any] | np.integer[Any] | Evaluation
#: An objective: ``async def f(cfg) -> float`` or a plain ``def f(cfg) -> float``. One
#: callable type (not a union of two), so that a lambda's argument is typed as the space.
Objective: TypeAlias = Callable[[T], Awaitable[ObjectiveReturn] | ObjectiveReturn]
#: A callback: ``callback(study, trial)`` called when each trial finishes, or a
#: :class:`TrialCallback` that also sees trial starts and the run's start and end.
Callback: TypeAlias = "TrialCallback[T] | Callable[[Study[T], Trial[T]], Any]"

#: A suggest call runs in a worker thread, so that the event loop keeps serving running
#: trials, while the suggester's recent cost (seconds; the costliest recent call, its
#: cost decaying by SUGGEST_COST_DECAY per later call) is above this. The first call
#: runs there too: its cost is not known yet.
SUGGEST_OFFLOAD_SECONDS = 0.002
#: About 50 cheap calls after a 0.3 s one, asks return to the loop.
SUGGEST_COST_DECAY = 0.9
#: More rows than this (finished trials to add to the history, trials to decode) are
#: processed in a worker thread: at about 20 µs each, 20,000 of them held the loop 0.4 s.
OFFLOAD_ROWS = 500
#: Proposals in a row the space class may reject (its own validators: a constraint
#: between fields) before an ask gives up; each rejected one is drawn again.
REJECTED_LIMIT = 100
#: How often (seconds) an asking study re-reads other processes' trials from storage.
REFRESH_SECONDS = 0.5
#: How often (seconds) a run whose remaining budget is held by other processes looks again.
POLL_SECONDS = 0.5
#: Bound (seconds) on the shielded storage writes made while a run is being cancelled.
CLEANUP_SECONDS = 10.0


class Study(Generic[T]):
    """An open study: ask for trials, tell their results, or optimize.

    Obtain one with :func:`open_study`. A study keeps its finished trials in the
    suggester's numeric history and knows every running trial (its own and, re-read
    from storage every half second, other processes'), which the suggester sees as
    *pending*.

    Attributes:
        name: The study's name in its storage.
        direction: ``"minimize"`` or ``"maximize"``.
        space: The compiled search space.
        suggester: The suggester proposing new trials.
    """

    name: str

    def __init__(
        self,
        *,
        space: Space[T],
        storage: Storage,
        record: StudyRecord,
        suggester: Suggester,
        seed: int | None,
        heartbeat_interval: float,
        stale_after: float | None,
        created: bool = True,
    ) -> None:
        self.name = record.name
        self.direction: Direction = record.direction
        self.space = space
        self.suggester = suggester
        self._storage = storage
        self._study_id = record.id
        self._sign = -1.0 if record.direction == "maximize" else 1.0
        self._owner = new_owner_id()
        # A new study draws from the seed alone, so that a seeded run is reproducible.
        # One opened again (a resume, or another process sharing it) mixes in its owner
        # id: with the seed alone it would replay the draws already made.
        salt = hashlib.blake2b(self._owner.encode(), digest_size=16).digest()
        seed = None if seed is None else int(seed)  # a NumPy int too
        entropy = seed if created or seed is None else [seed, int.from_bytes(salt)]
        self._rng = np.random.default_rng(entropy)
        self._heartbeat_interval = heartbeat_interval
        self._stale_after = stale_after
        self._history = History(space)
        # Finished trials not yet added to the history; only the suggest path (under
        # the lock) touches the history, so a suggest running in a thread is safe.
        self._finished: list[tuple[Params, float | None]] = []
        self._in_history: set[int] = set()
        self._own: dict[int, Trial[T]] = {}  # RUNNING trials this study object holds
        self._asking: dict[int, Params] = {}  # suggested, being started in storage
        self._claiming = 0  # claims of queued trials in flight
        self._tickets = itertools.count()
        self._others: dict[int, TrialRecord] = {}  # RUNNING trials of other owners
        self._configs: dict[int, T] = {}  # decoded configurations by trial number
        self._loop: anyio.lowlevel.EventLoopToken | None = None  # set by _open
        self._writes = 0  # trial writes in flight (start, claim, finish)
        self._writes_done: anyio.Event | None = None
        self._n_complete = 0
        self._best_loss = math.inf
        self._best: TrialRecord | None = None  # the completed trial of _best_loss
        self._seq: int | None = None
        self._last_refresh = -math.inf
        #: Set once another process's trial did not fit this study's space: every
        #: later call raises it again.
        self._mismatch: SpaceMismatchError | None = None
        self._maybe_waiting = True
        self._lock = anyio.Lock(fast_acquire=True)
        self._suggest_cost = math.inf  # not measured yet: the first call runs off-loop
        self._run: Run[T] | None = None
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"Study(name={self.name!r}, direction={self.direction!r}, "
            f"space={self.space.cls.__qualname__}, suggester={self.suggester!r})"
        )

    @property
    def owner(self) -> str:
        """The identifier (``host:pid:token``) under which this study runs trials."""
        return self._owner

    @property
    def best_so_far(self) -> Trial[T] | None:
        """The best completed trial this study has seen, or ``None`` before the first.

        Synchronous and quick, for callbacks (``on_trial_finish``) and messages during
        a run: this process's trials count as they finish, other processes' as of the
        study's last read of the storage (an ask reads it when the last read is more
        than half a second old). Ties go to the lower trial number, as in
        :attr:`Result.best`; ``(await study.result()).best`` reads every trial.
        """
        return None if self._best is None else self._trial_from(self._best)

    # -- ask / tell ----------------------------------------------------------------
    async def ask(self) -> Trial[T]:
        """Start a new trial and return it (``RUNNING``).

        A trial waiting in the queue (:meth:`enqueue`) is started first; otherwise the
        suggester proposes one, seeing every running trial as pending. Asks may run
        concurrently; each sees the earlier ones as pending.

        Returns:
            The new trial, with its configuration decoded to the space class.

        Raises:
            SuggesterError: The suggester proposed parameters outside the space.
            StudyClosedError: The study's ``open_study`` block has ended.
            EventLoopError: Called from another event loop than the one that
                opened the study.
        """
        self._check_open("ask()")
        trial = await self._ask(max_trials=None)
        assert trial is not None
        return trial

    async def tell(
        self,
        trial: Trial[T] | int,
        value: float | None = None,
        *,
        error: str | BaseException | None = None,
        attrs: Mapping[str, JSONInput] | None = None,
    ) -> Trial[T]:
        """Finish a trial with a value, or as failed with ``error``.

        Trials may be told in any order. A ``NaN`` or infinite value, or a value that
        is not a number, finishes the trial as ``FAILED`` with the reason (a value that
        is not a number also logs a warning).

        Args:
            trial: The trial (or its number) to finish.
            value: The objective value.
            error: Instead of a value: why the trial failed (an exception keeps its
                traceback text).
            attrs: JSON-safe user attributes to store with the trial.

        Returns:
            The finished trial.

        Raises:
            ValueError: Both or neither of ``value`` and ``error`` were given.
            TypeError: ``trial`` is neither a Trial nor an int, or ``attrs`` is not
                JSON-safe.
            UnknownTrialError: The study has no trial with that number.
            TrialStateError: The trial is not running (e.g. it was already told), or
                it is another study's trial.
            StudyClosedError: The study's ``open_study`` block has ended.
            EventLoopError: Called from another event loop than the one that
                opened the study.
        """
        self._check_open("tell()")
        given: object = trial  # checked at run time: callers may pass anything
        if isinstance(given, Trial):
            number = given.number
            own = self._own.get(number)
            if own is not None and own.params != given.params:
                msg = (
                    f"tell() was given trial {number} of another study: its configuration "
                    f"differs from that of trial {number} of study {self.name!r}. Tell each "
                    "trial to the study that asked for it"
                )
                raise TrialStateError(msg)
        elif isinstance(given, int) and not isinstance(given, bool):
            number = given
        else:
            msg = (
                f"tell() needs a Trial or a trial number (int); got "
                f"{type(given).__name__} {given!r}"
            )
            raise TypeError(msg)
        outcome = given_outcome(
            value,
            error,
            attrs,
            call=f"tell() for trial {number}",
            attrs_call=f"tell(..., attrs=) for trial {number}",
            verb="told",
        )
        if error is None and outcome.state is TrialState.FAILED and not is_number(value):
            # A NaN is an outcome; a str or a list is more likely a bug in the caller's
            # loop, which would otherwise only show as a run of FAILED trials.
            _log.warning(
                "study %r: trial %d recorded FAILED: %s",
                self.name,
                number,
                outcome.error,
                extra=self._log_extra(number),
            )
        try:
            return await self._finish(number, outcome)
        except TrialStateError as exc:
            raise await self._explain(number, exc) from None

    async def enqueue(
        self, config: T | Mapping[str, JSONScalar | enum.Enum], *, skip_if_exists: bool = False
    ) -> Trial[T]:
        """Queue a configuration to be evaluated before any suggested one.

        Args:
            config: An instance of the space class, or flat parameters (the names of
                :attr:`Trial.params`, such as ``{"lr": 0.01, "model": "SVM"}``; an enum
                field takes a member or its name). Flat
                parameters may be a *part* of a configuration: the parameters not
                given are chosen now by the suggester, given those that are
                (:meth:`Suggester.suggest_given`; TPE models them from the study's
                trials so far, or draws them at random during its random start). A
                parameter inside a branch comes with its branch choice
                (``"model:SVM.C"`` with ``"model": "SVM"``).
            skip_if_exists: Queue nothing if a trial with this configuration is already
                waiting, running or complete, and return that trial instead, so that a
                script that re-runs after a crash does not queue its warm starts again.
                For a partial configuration, any trial with the given values counts.
                Atomic: processes enqueueing the same configuration at once (the
                same script started on several machines) queue it once. A whole
                configuration is looked up through the storage's index
                (:meth:`Storage.find_trial <asynchyper.Storage.find_trial>`; one
                already there without a write); a part reads the study's kept trials.

        Returns:
            The queued trial (``WAITING``), or with ``skip_if_exists`` the existing one.

        Raises:
            ParameterError: ``config`` does not fit the space: a value is outside its
                dimension, a name is unknown, a constant field (a default and no
                marker) differs from its default, or the space class's own checks
                refuse it (every completion tried, for a partial configuration).
            SuggesterError: The suggester did not keep the given parameters.
            StudyClosedError: The study's ``open_study`` block has ended.
            EventLoopError: Called from another event loop than the one that
                opened the study.
        """
        self._check_open("enqueue()")
        if isinstance(config, Mapping):
            given = self.space.validate(cast("Params", config), partial=True)
        else:
            given = self.space.encode(config)
            check_constants(self.space, config, what="enqueue()")
        if skip_if_exists:
            # Looked up first (for a part, before a completion is drawn for nothing;
            # for a whole configuration, so that a re-run finds its warm starts without
            # a write); the storage checks again below, atomically with the insert.
            found: TrialRecord | None
            if not isinstance(config, Mapping) or self._is_whole(given):
                # Through the storage's index: a trial with exactly these parameters
                # holds them, and within one space no other can (it would have
                # parameters a whole configuration lacks).
                found = await self._storage.find_trial(self._study_id, given, states=KEPT_STATES)
            else:
                kept = await self._storage.trials(self._study_id, states=KEPT_STATES)
                found = first_holding(kept, given)
            if found is not None:
                return self._trial_from(found)
        params = await self._completed(given) if isinstance(config, Mapping) else given
        with anyio.CancelScope(shield=True):
            # checked again by the storage, atomically with the insert: another process
            # may have queued the same configuration meanwhile
            if skip_if_exists:
                record = await self._storage.enqueue_trial(
                    self._study_id, params, unless_holding=given
                )
            else:  # a Storage written before unless_holding existed still works
                record = await self._storage.enqueue_trial(self._study_id, params)
        self._maybe_waiting = True
        return self._trial_from(record)

    async def add(
        self,
        config: T | Mapping[str, JSONScalar | enum.Enum],
        value: float | None = None,
        *,
        error: str | BaseException | None = None,
        attrs: Mapping[str, JSONInput] | None = None,
        skip_if_exists: bool = False,
    ) -> Trial[T]:
        """Record a trial evaluated elsewhere, so that later suggestions learn from it.

        Known results (an earlier experiment, another tool's log, a grid search run by
        hand) become finished trials of this study, with the next numbers: ``COMPLETE``
        with ``value``, or ``FAILED`` with ``error``, as :meth:`tell` records a trial (a
        ``NaN`` or infinite value is recorded as ``FAILED`` with the reason; a value
        that is no number at all is refused). They count in the ``trials`` budget like any
        completed trial, and in TPE's random start: once the study holds ``n_startup``
        trials, added ones included, asks are model-based. The trial never ran here: it
        has no ``started_at`` and no duration. Without ``skip_if_exists``, each call is
        one trial, also for a configuration added before.

        Args:
            config: The whole configuration: an instance of the space class, or flat
                parameters (the names of :attr:`Trial.params`) with every active
                parameter given.
            value: The objective value it reached (in the study's direction: for a
                ``maximize`` study, the value to maximize).
            error: Instead of a value: why it failed (an exception keeps its
                traceback text).
            attrs: JSON-safe user attributes to store with the trial.
            skip_if_exists: Add nothing if a trial of this study with exactly this
                configuration has the outcome being added (``COMPLETE`` for a value,
                ``FAILED`` for an error; added before or run here), and return that
                trial instead, so that a script that adds known results and re-runs
                after a crash does not add them again. Atomic: processes adding the
                same configuration at once add it once. The built-in stores find the
                configuration through an index (:meth:`Storage.find_trial
                <asynchyper.Storage.find_trial>`): the check costs about as much as
                the add, however large the study.

        Returns:
            The new trial, ``COMPLETE`` or ``FAILED`` (with ``skip_if_exists``, maybe
            the existing one).

        Raises:
            ValueError: Both or neither of ``value`` and ``error`` were given.
            TypeError: ``value`` is not a number (a ``str`` read from a file, a
                ``bool``, a ``dict``), or ``attrs`` is not JSON-safe.
            ParameterError: ``config`` does not fit the space: a parameter is missing,
                unknown or outside its dimension, a constant field differs from its
                default, or the space class's own checks refuse it.
            StorageError: The storage cannot add finished trials (a store of your own
                that does not implement :meth:`Storage.add_trial`).
            StudyClosedError: The study's ``open_study`` block has ended.
            EventLoopError: Called from another event loop than the one that
                opened the study.
        """
        self._check_open("add()")
        if isinstance(config, Mapping):
            params = self.space.validate(cast("Params", config))
            self.space.decode(params)  # the space class's own checks
        else:
            params = self.space.encode(config)
            check_constants(self.space, config, what="add()")
        if value is not None and error is None and not is_number(value):
            # Unlike a NaN (an outcome: it diverged), a str or a dict is the caller's
            # mistake (a CSV log read as text): stored, it would be a FAILED trial
            # that the suggester steers away from for good.
            msg = (
                f"add() needs a number as value=, got {type(value).__qualname__} "
                f"{short_repr(value)}; convert it (float(...)), or pass error=... to "
                "record a failed trial"
            )
            raise TypeError(msg)
        outcome = given_outcome(
            value, error, attrs, call="add()", attrs_call="add(..., attrs=)", verb="add() was given"
        )
        if skip_if_exists:
            # Looked up first, outside the write transaction, so that a re-run that
            # finds its results does not hold the write lock; the storage checks
            # again below, atomically with the insert.
            found = await self._storage.find_trial(self._study_id, params, states=(outcome.state,))
            if found is not None:
                self._record_finished(found)  # it may be another process's addition
                if self._run is not None:
                    self._run.wake()
                return self._trial_from(found)
        with self._writing(), anyio.CancelScope(shield=True):
            record = await self._storage.add_trial(
                self._study_id,
                params,
                state=outcome.state,
                value=outcome.value,
                error=outcome.error,
                user_attrs=cast("Mapping[str, JSONValue]", outcome.user_attrs),
                # passed only when asked: a Storage written before it existed still works
                **({"skip_if_exists": True} if skip_if_exists else {}),
            )
        self._record_finished(record)
        if self._run is not None:
            self._run.wake()
        return self._trial_from(record)

    def _is_whole(self, given: dict[str, JSONScalar]) -> bool:
        """Whether checked flat parameters are a whole configuration (every active
        parameter given)."""
        try:
            self.space.validate(given)
        except ParameterError:
            return False
        return True

    async def _enqueue_new(self, configs: Sequence[T | Mapping[str, Any]]) -> None:
        """Queue each of ``configs`` unless a kept trial holds it (``minimize``'s
        ``enqueue=``), naming the position of one that fails.

        The kept trials are read once: a re-run that finds every configuration held
        costs one read, not a read and a transaction per configuration.
        """
        kept = [t.params for t in await self._storage.trials(self._study_id, states=KEPT_STATES)]
        for index, config in enumerate(configs):
            if isinstance(config, Mapping):
                given = self.space.validate(cast("Params", config), partial=True)
            else:
                given = self.space.encode(config)
            if any(holds(params, given) for params in kept):
                continue
            try:
                trial = await self.enqueue(config, skip_if_exists=True)
            except ParameterError as exc:  # a part no completion of which the class accepts
                exc.add_note(f"in enqueue[{index}]")
                raise
            kept.append(trial.params)

    async def _completed(self, given: dict[str, JSONScalar]) -> dict[str, JSONScalar]:
        """``given`` as a whole configuration: itself when it is one, else the
        suggester's completion (drawn again while the space class rejects it)."""
        try:
            self.space.validate(given)  # the values are checked: only names can be missing
        except ParameterError:
            pass  # complete them below
        else:
            self.space.decode(given)  # the space class's own checks
            return given
        # Queued trials count as pending too: they run soon, and several partial
        # enqueues in a row would otherwise complete to the same configuration.
        queued = [
            MappingProxyType(record.params)
            for record in await self._storage.trials(self._study_id, states=(TrialState.WAITING,))
        ]
        for attempt in range(1, REJECTED_LIMIT + 1):
            async with self._lock:
                await self._absorb_many()
                call = functools.partial(
                    self.suggester.suggest_given,
                    self.space,
                    self._history,
                    [*self._pending(), *queued],
                    self._rng,
                    MappingProxyType(given),
                )
                slow = self._suggest_cost > SUGGEST_OFFLOAD_SECONDS
                proposal = await anyio.to_thread.run_sync(call) if slow else call()
            params = self._normalise_suggestion(proposal)
            if not holds(params, given):
                msg = (
                    f"{self.suggester!r}.suggest_given() changed the given parameters "
                    f"{given} into {params}"
                )
                raise SuggesterError(msg)
            if self._decode_suggestion(params, last_try=attempt == REJECTED_LIMIT) is not None:
                return params
            # Not added to the history: the given values, not the suggester, may be what
            # the class refuses, and a failed enqueue must not leave 99 fake failures.
        msg = "unreachable: the last try raises"
        raise AssertionError(msg)  # pragma: no cover

    async def trials(self) -> list[Trial[T]]:
        """Every trial of the study, ordered by number.

        Returns:
            The trials, configurations decoded.
        """
        records = await self._storage.trials(self._study_id)
        if len(records) > OFFLOAD_ROWS:  # decoding thousands would hold the event loop
            return await anyio.to_thread.run_sync(self._trials_from, records)
        return self._trials_from(records)

    def _trials_from(self, records: list[TrialRecord]) -> list[Trial[T]]:
        for record in records:
            if record.owner != self._owner and record.number not in self._configs:
                self._check_fits(record)
        return [self._trial_from(record) for record in records]

    async def records(self) -> list[dict[str, JSONValue]]:
        """Every trial as a flat, JSON-safe dict (``params.<name>`` columns); no pandas.

        An inactive parameter and a ``None`` choice are both ``None`` here; a trial's
        ``params`` (no key when inactive) or :meth:`to_dataframe` tell them apart.

        Returns:
            One dict per trial, ordered by number.
        """
        trials = await self._storage.trials(self._study_id)
        return trial_records(trials, self.space.describe())

    async def to_dataframe(self) -> pd.DataFrame:
        """Every trial as a pandas DataFrame, one column per flat parameter.

        An inactive parameter is ``pd.NA`` (``NaN`` in float columns); a ``None`` cell
        is the ``None`` choice of a ``Literal[..., None]``.

        Returns:
            The DataFrame, one row per trial.

        Raises:
            MissingExtraError: pandas is not installed (``asynchyper[pandas]``).
        """
        trials = await self._storage.trials(self._study_id)
        return to_dataframe(trials, self.space.describe())

    async def result(self, *, stop_reason: str | None = None) -> Result[T]:
        """Every trial of the study as a :class:`Result`.

        Args:
            stop_reason: Recorded in the result (see :attr:`Result.stop_reason`).

        Returns:
            The result.
        """
        return Result(
            study=self.name,
            direction=self.direction,
            trials=await self.trials(),
            stop_reason=stop_reason,
            space=self.space.describe(),
        )

    def stop(self, *, cancel: bool = False) -> None:
        """Stop the running :meth:`optimize` call (e.g. from a callback).

        No new trial is asked. Running trials finish normally, or with ``cancel`` are
        cancelled and recorded as ``CANCELLED``. Does nothing when no run is active.

        Args:
            cancel: Cancel the running trials instead of waiting for them.
        """
        if self._run is not None:
            self._run.stop("stopped", cancel=cancel)

    # -- optimize ------------------------------------------------------------------
    async def optimize(
        self,
        objective: Objective[T],
        *,
        trials: int,
        concurrency: int = 1,
        executor: Literal["thread", "process"] | Executor | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - a run budget, not an I/O timeout
        trial_timeout: float | None = None,
        target: float | None = None,
        patience: int | None = None,
        max_failures: int | None = None,
        retries: int = 0,
        callbacks: Sequence[Callback[T]] = (),
        progress: bool | TrialCallback[T] | None = None,
    ) -> Result[T]:
        """Run trials until the study holds ``trials`` completed ones.

        Exactly ``concurrency`` trials run while the budget lasts; as soon as one
        finishes the next is asked. ``trials`` is the study's *total* budget: trials
        completed earlier (by this or other processes) count, and no trial is started
        once completed + running trials reach it. A failed trial does not count, so
        it is replaced (or retried with the same parameters, see ``retries``).

        Cancelling the call (a cancel scope, a failing task group, Ctrl-C) asks no
        more trials, cancels the running ones, records them as ``CANCELLED`` and
        re-raises.

        Args:
            objective: ``async def f(config)`` (runs on the event loop) or a plain
                ``def f(config)`` (runs in a worker thread, or a worker process with
                ``executor="process"``), returning a float or an :class:`Evaluation`.
                An exception, a ``NaN``/infinite value or a wrong type fails the trial
                (the reason and traceback text are stored) and the run goes on.
            trials: The study's total budget of completed trials.
            concurrency: How many trials run at once.
            executor: ``"thread"``, ``"process"``, an :class:`Executor`, or ``None``
                to pick by the objective (async on the loop, plain in threads).
            timeout: Seconds for the whole run; at the deadline running trials are
                cancelled (``CANCELLED``) and the result returned.
            trial_timeout: Seconds per trial; a trial that takes longer is cancelled
                and ``FAILED``. A coroutine is cancelled; a worker process is killed;
                a worker *thread* cannot be stopped and is abandoned (it runs on in
                the background until the function returns).
            target: Stop asking once the study's best value reaches this (``<=``
                when minimizing, ``>=`` when maximizing); running trials finish.
                Earlier runs' trials count (a study that reached it returns at once),
                and other processes' within about half a second.
            patience: Stop asking after this many completed trials in a row did not
                improve on the study's best value.
            max_failures: Stop asking once this many trials of the run failed, so a
                broken objective cannot loop forever (default:
                ``(retries + 1) * max(trials, 10)``).
            retries: Re-run a failed trial with the same parameters up to this many
                times before asking the suggester for new ones.
            callbacks: ``callback(study, trial)`` functions called when each trial
                finishes, or :class:`TrialCallback` objects; they may be ``async``
                and may call :meth:`stop`. An exception in a callback stops the run
                and is re-raised.
            progress: Show the run's progress on stderr (trials done of the budget,
                running, failed, the best value, elapsed and estimated time left).
                ``None`` shows it only when stderr is a terminal, ``True`` always
                (one line a second when stderr is not a terminal), ``False``
                never; a :class:`TrialCallback` is used as the display instead.
                Uses ``rich`` when installed (``pip install 'asynchyper[progress]'``).

        Returns:
            Every trial of the study; :attr:`Result.stop_reason` says why it ended.

        Raises:
            ExecutorError: The executor cannot run the objective (checked before any
                trial starts).
            TrialStateError: Another ``optimize`` is already running on this study,
                or this call runs inside one of the study's own trials and would
                wait for it (give a nested search its own study name).
            SuggesterError: The suggester proposed parameters outside the space.
            StudyClosedError: The study's ``open_study`` block has ended.
            EventLoopError: Called from another event loop than the one that
                opened the study.
        """
        self._check_open("optimize()")
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
        if self._run is not None:
            msg = (
                f"study {self.name!r} is already running optimize(); wait for it, or open "
                "the study a second time to run in parallel"
            )
            raise TrialStateError(msg)
        check_objective(objective, self.space.cls)
        runner = resolve_executor(executor, objective)
        runner.check(objective, config=self._example_config())
        async with self._lock:  # what other processes and studies did since the last look
            await self._refresh()
        display = resolve_progress(progress)
        observers = as_callbacks([*callbacks, *([] if display is None else [display])])
        run: Run[T] = Run(
            objective=objective,
            executor=runner,
            budget=trials,
            concurrency=concurrency,
            trial_timeout=trial_timeout,
            rules=StopRules(
                sign=self._sign,
                target=target,
                patience=patience,
                max_failures=(
                    (retries + 1) * max(trials, 10) if max_failures is None else max_failures
                ),
                best_loss=self._best_loss,
            ),
            retries=retries,
            callbacks=observers,
        )
        _log.info(
            "study %r: run started (trials: %d completed, budget %d; concurrency %d, %r)",
            self.name,
            self._n_complete,
            trials,
            concurrency,
            runner,
            extra=self._log_extra(),
        )
        self._run = run
        try:
            for observer in observers:
                await call(observer.on_run_start(self, trials))
            with _interrupt_cancels_the_run(), _kernel_kept_awake():
                async with runner:
                    await self._drive(run, timeout)
        finally:
            self._run = None
            if isinstance(display, ProgressDisplay):
                display.close(run.stop_reason)  # also on errors and cancellation
        if run.fatal is not None:
            raise run.fatal
        _log.info(
            "study %r: run ended (%s) after %.1f s: %d trials completed and %d failed in "
            "this run; %d completed in the study",
            self.name,
            run.stop_reason,
            time.monotonic() - run.started_at,
            run.finished[TrialState.COMPLETE],
            run.finished[TrialState.FAILED],
            self._n_complete,
            extra=self._log_extra(),
        )
        result = await self.result(stop_reason=run.stop_reason)
        for observer in observers:
            await call(observer.on_run_end(self, result))
        return result

    async def _drive(self, run: Run[T], seconds: float | None) -> None:
        """Keep ``run.concurrency`` trials in flight until the run stops.

        One worker task per slot loops ask -> evaluate -> tell, so a new trial is
        asked the moment any trial finishes; asks are serialised by the study's lock.
        """
        try:
            async with anyio.create_task_group() as group:
                run.scope = group.cancel_scope
                if seconds is not None:
                    run.deadline = anyio.current_time() + seconds
                    group.cancel_scope.deadline = run.deadline
                for slot in range(run.concurrency):
                    group.start_soon(self._worker, run, name=f"asynchyper worker {slot}")
        except BaseExceptionGroup as exc_group:
            single = collapse(exc_group)
            if single is exc_group:
                raise
            raise single from single.__cause__
        finally:
            # Trials registered but never handed to _run_trial (a cancel in between).
            if run.numbers:
                with anyio.CancelScope(shield=True), anyio.move_on_after(CLEANUP_SECONDS):
                    for number in sorted(run.numbers):
                        if number in self._own:
                            await self._abandon(number, TrialState.CANCELLED, run.cancel_reason())
        if (
            group.cancel_scope.cancelled_caught
            and run.stop_reason is None
            and run.deadline is not None
        ):
            run.stop_reason = "timeout"

    async def _worker(self, run: Run[T]) -> None:
        """One slot: ask a trial, evaluate it, tell it; until the run stops."""
        try:
            while run.stop_reason is None:
                if self._n_complete >= run.budget:
                    run.stop("budget")
                    break
                if run.rules.target_loss is not None and self._view_is_old():
                    # Another process may have reached the target: look before asking
                    # (the ask's own refresh comes after this check, too late to stop it).
                    async with self._lock:
                        if self._view_is_old():
                            await self._refresh()
                if run.rules.target_reached(self._best_loss):  # an earlier run's, another's
                    run.stop("target")
                    break
                # Storage writes are shielded, so look for a cancellation before asking.
                await anyio.lowlevel.checkpoint_if_cancelled()
                run.busy += 1
                trial = await self._next_trial(run)
                if trial is None:
                    run.busy -= 1
                    await self._wait_for_budget(run)
                    continue
                run.numbers.add(trial.number)
                try:
                    await self._run_trial(run, trial)
                finally:
                    run.busy -= 1
                    run.numbers.discard(trial.number)
                    run.wake()
        except Exception as exc:  # a suggester or storage failure: stop and re-raise it
            run.fail(exc)
        except asyncio.CancelledError as exc:
            if _cancelling():
                raise
            run.fail(exc)  # raised by hand (e.g. in a callback): an error like the others

    async def _wait_for_budget(self, run: Run[T]) -> None:
        """The budget is held by running trials: wait until that may have changed."""
        if run.busy:
            await run.wait()  # one of ours finishing may free (or end) the budget
            return
        # Nothing of ours runs: the rest of the budget is held elsewhere, or done.
        await self._refresh()
        if self._n_complete >= run.budget:
            run.stop("budget")
            return
        if not self._at_budget(run.budget):
            return  # a refresh freed part of the budget: ask again
        self._check_not_waiting_on_caller()
        if not run.waiting_logged:
            self._log_waiting()
            run.waiting_logged = True
        await self._fail_stale()
        await run.wait(POLL_SECONDS)

    def _check_not_waiting_on_caller(self) -> None:
        """Refuse to wait for the trial whose objective runs this very call.

        An ``optimize()`` of a study inside one of that study's own trials (opened a
        second time) would wait for the enclosing trial, which cannot finish first.
        """
        context = running_trial()
        if context is None or context.owner is None or context.study != self.name:
            return
        record = self._others.get(context.number)
        if record is None or record.owner != context.owner:
            return
        msg = (
            f"study {self.name!r}: this optimize() runs inside trial {context.number} of "
            f"the same study and waits for that trial to finish, which it cannot do "
            f"before this run returns; give the inner search its own study name, e.g. "
            f"{f'{self.name}/trial-{context.number}'!r}"
        )
        raise TrialStateError(msg)

    def _log_waiting(self) -> None:
        """Say which running trials hold the rest of a run's budget."""
        mine, theirs = len(self._own) + len(self._asking), len(self._others)
        where = []
        if mine:
            where.append(f"{mine} asked with ask() in this process and not yet told")
        if theirs:
            # other owners: other processes, or another open study of this process
            where.append(f"{theirs} of other owners (other processes or open studies)")
        running = mine + theirs
        # Trials this process asked and has not told are a warning: if no other task
        # tells them (an ask() before optimize() in the same task), the run waits forever.
        _log.log(
            logging.WARNING if mine else logging.INFO,
            "study %r: %d running %s (%s) the rest of the budget; waiting for %s to finish%s",
            self.name,
            running,
            "trial holds" if running == 1 else "trials hold",
            ", ".join(where) or "none known yet",
            "it" if running == 1 else "them",
            "; tell() each trial asked with ask() (with error= if it will not run), or "
            "this run waits for ever"
            if mine
            else "",
            extra=self._log_extra(),
        )

    async def _next_trial(self, run: Run[T]) -> Trial[T] | None:
        """A retry of a failed trial if one is due, else a new trial; ``None`` at budget."""
        if run.retry_queue:
            if self._at_budget(run.budget):
                return None
            params, attempt = run.retry_queue.popleft()
            trial = await self._start(params, None, run.budget)
            if trial is None:
                run.retry_queue.appendleft((params, attempt))
                # Queued (WAITING) trials hold the rest of the budget: run them first.
                return await self._ask(max_trials=run.budget)
            run.attempts[trial.number] = attempt
            _log.info(
                "study %r: trial %d retries %s",
                self.name,
                trial.number,
                dict(params),
                extra=self._log_extra(trial.number),
            )
            return trial
        return await self._ask(max_trials=run.budget)

    async def _run_trial(self, run: Run[T], trial: Trial[T]) -> None:
        """Evaluate one trial and record it; never raises except to cancel."""
        number = trial.number
        context = TrialContext(
            study=self.name, number=number, params=trial.params, owner=self._owner
        )
        try:
            try:
                for observer in run.callbacks:
                    await call(observer.on_trial_start(self, trial))
            except Exception as exc:
                # The objective never ran: the trial did not fail (a FAILED trial
                # would steer the suggester away from its parameters), the run stopped.
                run.fail(exc)
                await self._abandon(number, TrialState.CANCELLED, run.cancel_reason(), context)
                return
            outcome = await self._evaluate(run, trial, context)
            for note in outcome.notes:
                self._log_repeated(run, number, f"result: {note}", "trials with this note")
            try:
                finished = await self._finish_run_trial(number, outcome)
            except Exception as exc:  # the storage failed, not the objective
                finished = await self._save_after_failure(run, number, outcome, exc, context)
            if finished is not None:
                self._account(run, finished, wrong_type=outcome.wrong_type)
                for observer in run.callbacks:
                    await call(observer.on_trial_finish(self, finished))
        except ExecutorError as exc:
            # The machinery failed (a worker could not load the objective, the cluster
            # restarted), not the objective: no verdict on these parameters, which a
            # FAILED trial would steer the suggester away from.
            run.fail(exc)
            if number in self._own:
                await self._abandon(number, TrialState.CANCELLED, run.cancel_reason(), context)
        except Exception as exc:
            run.fail(exc)
            if number in self._own:
                await self._abandon(number, TrialState.FAILED, describe_error(exc), context)
        except (SystemExit, KeyboardInterrupt) as exc:
            # asyncio lets these out of the event loop from whichever task raised them,
            # leaving the loop half shut down (the program then hung at exit): the run
            # stops, and optimize() raises it from the caller's task.
            run.fail(exc)
            if number in self._own:
                await self._abandon(number, TrialState.CANCELLED, run.cancel_reason(), context)
        except anyio.get_cancelled_exc_class():
            if number in self._own:
                await self._abandon(number, TrialState.CANCELLED, run.cancel_reason(), context)
            raise
        except BaseException as exc:
            # Any other BaseException (GeneratorExit, a custom one) means "do not catch
            # me": the trial that raised it failed, the run stops, and optimize() raises
            # it from the caller's task.
            run.fail(exc)
            if number in self._own:
                await self._abandon(number, TrialState.FAILED, describe_error(exc), context)

    async def _evaluate(self, run: Run[T], trial: Trial[T], context: TrialContext) -> Outcome:
        """Run the objective through the executor and interpret what it gave."""
        _log.debug(
            "study %r: trial %d started: %s",
            self.name,
            trial.number,
            trial.params,
            extra=self._log_extra(trial.number),
        )
        # A fresh instance of a mutable class: the objective's changes stay its own.
        config = objective_config(self.space, trial.config, trial.params)
        try:
            if run.trial_timeout is None:
                raw = await run.executor.run(run.objective, config, context)
            else:
                with anyio.move_on_after(run.trial_timeout) as scope:
                    raw = await run.executor.run(run.objective, config, context)
                # Also when the objective swallowed the cancellation (or shielded itself)
                # and returned late: it still took longer than trial_timeout.
                if scope.cancel_called:
                    return failed(
                        f"trial {trial.number} exceeded trial_timeout={run.trial_timeout:g} s "
                        f"and {run.executor._timed_out} ({run.executor!r})",
                        context.user_attrs,
                    )
        except ExecutorError as exc:
            if not raised_by_objective(exc):
                raise  # the machinery failed, not the objective: stop the run
            return failed(describe_error(exc), context.user_attrs)  # e.g. a nested study
        except ReturnValueError as exc:  # an unusable return value, like interpret()'s
            return failed(str(exc), context.user_attrs)
        except Exception as exc:
            return failed(describe_error(exc), context.user_attrs)
        except asyncio.CancelledError as exc:
            if _cancelling():
                raise  # this trial or the run is being cancelled
            return failed(describe_error(exc), context.user_attrs)
        return interpret(raw, context.user_attrs)

    async def _finish_run_trial(self, number: int, outcome: Outcome) -> Trial[T] | None:
        """Record a run's trial; when something else already finished it, the trial as
        stored (``None`` if it cannot be read)."""
        try:
            return await self._finish(number, outcome)
        except TrialStateError as exc:
            # e.g. told through another open study, or failed as stale by another
            # process while it ran (missed heartbeats): what is stored stands
            _log.warning(
                "study %r: could not record trial %d: %s",
                self.name,
                number,
                exc,
                extra=self._log_extra(number),
            )
            self._own.pop(number, None)
        try:
            with anyio.CancelScope(shield=True):
                record = await self._storage.get_trial(self._study_id, number)
        except Exception:
            return None
        if not record.state.is_finished:
            return None
        self._record_finished(record)
        return self._trial_from(record)

    async def _save_after_failure(
        self,
        run: Run[T],
        number: int,
        outcome: Outcome,
        exc: Exception,
        context: TrialContext,
    ) -> Trial[T] | None:
        """Recording a finished trial failed (the storage is down, say): try its real
        outcome once more; else stop the run and store the trial ``CANCELLED`` (a
        ``FAILED`` trial would steer the suggester away from parameters that may be
        good). The value travels with the error the run raises: never lost unsaid."""
        with anyio.CancelScope(shield=True), anyio.move_on_after(CLEANUP_SECONDS):
            try:
                finished = await self._finish_run_trial(number, outcome)
            except Exception:  # the first failure is the one to raise
                pass
            else:
                _log.warning(
                    "study %r: trial %d recorded on a second try, after: %s",
                    self.name,
                    number,
                    exc,
                    extra=self._log_extra(number),
                )
                return finished
        if outcome.state is TrialState.COMPLETE:
            exc.add_note(
                f"trial {number} of study {self.name!r} returned {outcome.value!r}, "
                "which could not be stored"
            )
        run.fail(exc)
        reason = f"its result could not be stored: {type(exc).__name__}: {exc}"
        await self._abandon(number, TrialState.CANCELLED, reason, context)
        return None

    def _account(self, run: Run[T], trial: Trial[T], *, wrong_type: bool = False) -> None:
        """Feed a finished trial to the run's stop rules and retry queue.

        ``wrong_type``: the objective returned no number at all (a dict, a str), which
        no other configuration will change; when the run's first trials all did, the
        run stops after :data:`WARNED_REPEATS` of them.
        """
        reason: str | None = None
        attempt = run.attempts.pop(trial.number, 0)
        run.finished[trial.state] += 1
        last_line = ""
        if trial.state is TrialState.COMPLETE:
            assert trial.value is not None
            run.completed_any = True
            reason = run.rules.on_complete(trial.value)
            _log.debug(
                "study %r: trial %d: %r",
                self.name,
                trial.number,
                trial.value,
                extra=self._log_extra(trial.number),
            )
        elif trial.state is TrialState.FAILED:
            reason = run.rules.on_failure()
            last_line = error_summary(trial.error)
            retry = reason is None and attempt < run.retries and not wrong_type
            # a failure that is retried is no lost trial: the log says so
            logged = f"{last_line} (retried: attempt {attempt + 2} of {run.retries + 1})"
            self._log_failure(run, trial.number, logged if retry else last_line, trial.error)
            if wrong_type and not run.completed_any:
                run.wrong_types += 1
                if run.wrong_types >= WARNED_REPEATS and reason is None:
                    reason = "max_failures"
                    last_line = (
                        f"{last_line} (the first {run.wrong_types} trials of this run all "
                        "returned a value of the wrong type: fix the objective's return "
                        "statement)"
                    )
            if retry:
                run.retry_queue.append((trial.params, attempt + 1))
        if reason is not None and run.stop_reason is None:
            if reason == "max_failures":
                _log.warning(
                    "study %r: stopping (max_failures) after trial %d, which failed: %s",
                    self.name,
                    trial.number,
                    last_line,
                    extra=self._log_extra(trial.number),
                )
            else:
                _log.info(
                    "study %r: stopping (%s) after trial %d",
                    self.name,
                    reason,
                    trial.number,
                    extra=self._log_extra(trial.number),
                )
            run.stop(reason)

    def _log_failure(self, run: Run[T], number: int, summary: str, error: str | None) -> None:
        """Log a failed trial: a warning, as a failure does not stop the run (a broken
        objective must not use up the budget unseen; Python shows warnings, not info,
        by default), but an error seen :data:`WARNED_REPEATS` times goes on at info.
        The first of each error (:func:`error_signature`) shows its whole traceback."""
        self._log_repeated(
            run,
            number,
            f"failed: {summary}",
            "failures with this error",
            key=error_signature(error),
            # a traceback, not a one-line error (which the summary already is)
            first=error if error and len(error.strip().splitlines()) > 1 else None,
        )

    def _log_extra(self, number: int | None = None) -> dict[str, object]:
        """The structured fields of a log record about this study (see :func:`log_fields`)."""
        return log_fields(self.name, number)

    def _log_repeated(
        self,
        run: Run[T],
        number: int,
        text: str,
        counted: str,
        *,
        key: str | None = None,
        first: str | None = None,
    ) -> None:
        """A warning about a trial; after :data:`WARNED_REPEATS` of the same ``key`` (by
        default the text, its numbers aside) in one run, at info level. ``first``: the
        details to add to the first warning of a key (a traceback)."""
        if key is None:
            key = _NUMBERS.sub("#", text)  # "returned dict {'loss': 0.3}" is one error
        seen = run.repeats.get(key, 0) + 1
        run.repeats[key] = seen
        if seen == 1 and first is not None:
            _log.warning(
                "study %r: trial %d %s\n%s",
                self.name,
                number,
                text,
                first,
                extra=self._log_extra(number),
            )
        elif seen < WARNED_REPEATS:
            _log.warning(
                "study %r: trial %d %s", self.name, number, text, extra=self._log_extra(number)
            )
        elif seen == WARNED_REPEATS:
            _log.warning(
                "study %r: trial %d %s (%d %s; further ones are logged at info level)",
                self.name,
                number,
                text,
                seen,
                counted,
                extra=self._log_extra(number),
            )
        else:
            _log.info(
                "study %r: trial %d %s", self.name, number, text, extra=self._log_extra(number)
            )

    # -- the asking path -------------------------------------------------------------
    async def _ask(self, *, max_trials: int | None) -> Trial[T] | None:
        """Claim a queued trial or start a suggested one; ``None`` at the budget.

        Queued trials obey the budget too: those beyond it stay queued for a later run.
        """
        if self._at_budget(max_trials):
            return None
        if self._maybe_waiting:
            claimed = await self._claim(max_trials)
            if claimed is not None:
                return claimed
            if self._at_budget(max_trials):  # others started trials while we claimed
                return None
        for attempt in range(1, REJECTED_LIMIT + 1):
            ticket = await self._propose(max_trials)
            if ticket is None:
                return None
            try:
                params = self._normalise_suggestion(self._asking[ticket])
                config = self._decode_suggestion(params, last_try=attempt == REJECTED_LIMIT)
                if config is not None:
                    return await self._start(params, config, max_trials)
                # The suggester learns it as a failure (in this process only: nothing
                # is stored), so that a model steers away from the infeasible region.
                self._finished.append((params, None))
            finally:
                del self._asking[ticket]
        msg = "unreachable: the last try raises"
        raise AssertionError(msg)  # pragma: no cover

    def _at_budget(self, max_trials: int | None) -> bool:
        """Whether completed + running trials (known to this study) reach ``max_trials``."""
        if max_trials is None:
            return False
        held = len(self._own) + len(self._asking) + len(self._others) + self._claiming
        return self._n_complete + held >= max_trials

    def _view_is_old(self) -> bool:
        """Whether other processes' work was last read over ``REFRESH_SECONDS`` ago."""
        return time.monotonic() - self._last_refresh >= REFRESH_SECONDS

    async def _propose(self, max_trials: int | None) -> int | None:
        """Suggest parameters and hold them as pending under a new ticket; ``None`` when
        the budget filled while this ask waited for the lock."""
        if (
            self._lock.locked()
            or self._suggest_cost > SUGGEST_OFFLOAD_SECONDS
            or self._view_is_old()
            or len(self._finished) > OFFLOAD_ROWS
        ):
            async with self._lock:
                if self._view_is_old():
                    await self._refresh()
                if self._at_budget(max_trials):  # no suggest call for a trial never run
                    return None
                return self._hold(await self._suggest())
        # Uncontended and cheap: suggest without yielding, so no task interleaves (taking
        # the lock would yield, and many trials finishing together would move in lockstep).
        return self._hold(self._suggest_now(self._pending()))

    def _hold(self, params: dict[str, JSONScalar]) -> int:
        """Count ``params`` as pending until its trial is started; returns the ticket."""
        ticket = next(self._tickets)
        self._asking[ticket] = params
        return ticket

    def _take_finished(self) -> list[tuple[Params, float | None]]:
        """The finished trials not yet in the history (taken: the list starts anew)."""
        finished, self._finished = self._finished, []
        return finished

    def _absorb(self, finished: list[tuple[Params, float | None]]) -> None:
        """Add finished trials to the history (in a worker thread when there are many)."""
        for params, loss in finished:
            self._history.add(params, loss)

    async def _absorb_many(self) -> None:
        """Add a backlog of finished trials (a resumed study's) to the history off-loop."""
        if len(self._finished) > OFFLOAD_ROWS:
            await anyio.to_thread.run_sync(self._absorb, self._take_finished())

    def _pending(self) -> list[Params]:
        """Move finished trials into the history; return every running trial's params."""
        if self._finished:
            self._absorb(self._take_finished())
        # Read-only views: a suggester that edits one must not change a running trial.
        pending: list[Params] = [MappingProxyType(trial.params) for trial in self._own.values()]
        pending.extend(MappingProxyType(params) for params in self._asking.values())
        pending.extend(MappingProxyType(record.params) for record in self._others.values())
        return pending

    async def _suggest(self) -> dict[str, JSONScalar]:
        """One suggestion, seeing all running trials as pending; off-loop when slow."""
        await self._absorb_many()
        pending = self._pending()
        if self._suggest_cost > SUGGEST_OFFLOAD_SECONDS:
            return await anyio.to_thread.run_sync(self._suggest_now, pending)
        return self._suggest_now(pending)

    def _suggest_now(self, pending: list[Params]) -> dict[str, JSONScalar]:
        """Call the suggester and time it (its recent cost decides off-loading)."""
        started = time.perf_counter()
        proposals = self.suggester.suggest(self.space, self._history, pending, self._rng, 1)
        cost = time.perf_counter() - started
        # A decaying maximum, not an average: a suggester that refits now and then
        # stays off-loop between its costly calls.
        recent = 0.0 if math.isinf(self._suggest_cost) else self._suggest_cost
        self._suggest_cost = max(cost, SUGGEST_COST_DECAY * recent)
        return single_proposal(self.suggester, proposals)

    def _normalise_suggestion(self, params: Params) -> dict[str, JSONScalar]:
        """A suggestion as plain, snapped values, blaming the suggester when it does not
        fit the space (what is stored: numpy numbers, say, are not JSON)."""
        try:
            return self.space.validate(params)
        except ParameterError as exc:
            msg = f"{self.suggester!r} proposed parameters outside the space: {params}: {exc}"
            raise SuggesterError(msg) from exc

    def _decode_suggestion(self, params: Params, *, last_try: bool) -> T | None:
        """Decode a normalised suggestion; ``None`` when the space class's own checks
        reject it (draw again)."""
        try:
            return self.space.decode(params)
        except RejectedByClassError as exc:
            if not last_try:
                return None
            raise _too_constrained(self.space, exc) from exc

    async def _start(
        self, params: Params, config: T | None, max_trials: int | None
    ) -> Trial[T] | None:
        """Create the RUNNING trial in storage (shielded: a cancel cannot lose it)."""
        self._check_open("ask()")  # the study may have closed while this one suggested
        with self._writing(), anyio.CancelScope(shield=True):
            record = await self._storage.start_trial(
                self._study_id, params, owner=self._owner, max_trials=max_trials
            )
            if record is None:
                return None
            trial = self._register(record, config)  # before close may look at _own
        self._check_open("ask()")  # closed meanwhile: close cancels the new trial
        return trial

    async def _claim(self, max_trials: int | None) -> Trial[T] | None:
        """Start the lowest queued (WAITING) trial, if any and the budget allows it.

        The storage checks the budget in the same transaction, so several processes
        sharing a study claim no queued trial beyond it.
        """
        self._check_open("ask()")
        self._claiming += 1  # holds a slot of the budget while the claim is in flight
        try:
            with self._writing(), anyio.CancelScope(shield=True):
                record = await self._storage.claim_trial(
                    self._study_id, owner=self._owner, max_trials=max_trials
                )
                if record is not None:
                    await self._check_claimed(record)
                    trial = self._register(record, None)  # before close looks at _own
                elif max_trials is not None:
                    # Nothing waiting, or the budget is used: only the first ends the
                    # claims (queued trials beyond the budget wait for a later run).
                    counts = await self._storage.count_trials(self._study_id)
                    self._maybe_waiting = counts[TrialState.WAITING] > 0
        finally:
            self._claiming -= 1
        if record is None:
            if max_trials is None:
                self._maybe_waiting = False
            return None
        self._check_open("ask()")  # closed meanwhile: close cancels the claimed trial
        return trial

    async def _check_claimed(self, record: TrialRecord) -> None:
        """Refuse a claimed queued trial that this study's space cannot hold (another
        process enqueued it with a wider space): it is cancelled and queued again with
        the same parameters, for a process with that space."""
        try:
            self._check_fits(record)
        except SpaceMismatchError as exc:
            reason = "claimed by a process whose space cannot hold it; queued again"
            with anyio.CancelScope(shield=True):
                await self._storage.finish_trial(
                    self._study_id, record.number, state=TrialState.CANCELLED, error=reason
                )
                await self._storage.enqueue_trial(self._study_id, record.params)
            raise exc from None

    def _register(self, record: TrialRecord, config: T | None) -> Trial[T]:
        """Remember a trial this study now runs."""
        if config is None:
            config = self._config(record.number, record.params)
        else:
            self._configs[record.number] = config
        trial = Trial(
            number=record.number,
            state=TrialState.RUNNING,
            config=config,
            params=record.params,
            user_attrs=record.user_attrs,
            started_at=record.started_at,
            owner=record.owner,
        )
        self._own[record.number] = trial
        return trial

    # -- finishing -------------------------------------------------------------------
    async def _finish(self, number: int, outcome: Outcome) -> Trial[T]:
        """Write a trial's outcome (shielded) and account for it locally."""
        with self._writing(), anyio.CancelScope(shield=True):
            record = await self._storage.finish_trial(
                self._study_id,
                number,
                state=outcome.state,
                value=outcome.value,
                error=outcome.error,
                # JSON-safe (checked); the storage normalizes it (tuples become lists)
                user_attrs=cast("Mapping[str, JSONValue]", outcome.user_attrs),
            )
        self._own.pop(number, None)
        self._others.pop(number, None)
        self._record_finished(record)
        if self._run is not None:
            self._run.wake()
        return self._trial_from(record)

    async def _abandon(
        self,
        number: int,
        state: TrialState,
        reason: str,
        context: TrialContext | None = None,
    ) -> None:
        """Best-effort shielded write of a trial that will not finish normally."""
        outcome = Outcome(state, None, reason, {} if context is None else context.user_attrs)
        with anyio.CancelScope(shield=True), anyio.move_on_after(CLEANUP_SECONDS):
            try:
                await self._finish(number, outcome)
            except TrialStateError as exc:  # finished meanwhile, e.g. told elsewhere
                _log.info(
                    "study %r: trial %d was not %s: %s",
                    self.name,
                    number,
                    state.value,
                    exc,
                    extra=self._log_extra(number),
                )
                self._own.pop(number, None)
            except Exception:
                _log.warning(
                    "study %r: could not record trial %d as %s",
                    self.name,
                    number,
                    state.value,
                    exc_info=True,
                    extra=self._log_extra(number),
                )
                self._own.pop(number, None)

    def _record_finished(self, record: TrialRecord) -> None:
        """Queue a finished trial for the history (once) and update the counts."""
        number = record.number
        if number in self._in_history:
            return
        self._in_history.add(number)
        if record.state is TrialState.COMPLETE and record.value is not None:
            loss = self._sign * record.value
            self._n_complete += 1
            best = self._best
            if loss < self._best_loss or (
                loss == self._best_loss and best is not None and record.number < best.number
            ):
                self._best_loss, self._best = loss, record
            self._finished.append((record.params, loss))
        elif record.state is TrialState.FAILED:
            self._finished.append((record.params, None))

    # -- storage sync ----------------------------------------------------------------
    async def _refresh(self) -> None:
        """Read the trials that changed since the last look (other processes' work)."""
        if self._mismatch is not None:  # a fresh one: the first keeps its own traceback
            raise SpaceMismatchError(str(self._mismatch))
        records = await self._storage.trials(self._study_id, changed_after=self._seq)
        self._last_refresh = time.monotonic()
        for record in records:  # before taking any: a refused batch leaves no trace
            if record.owner != self._owner:  # this study's own trials were checked when asked
                self._check_fits(record)
        for record in records:
            if self._seq is None or record.seq > self._seq:
                self._seq = record.seq
            number = record.number
            if record.state is TrialState.RUNNING:
                if record.owner != self._owner:
                    self._others[number] = record
            elif record.state is TrialState.WAITING:
                self._maybe_waiting = True
            else:
                # Finished: by its owner, or (one this object asked for) told through
                # another open study of the same storage, or failed there as stale.
                self._others.pop(number, None)
                self._own.pop(number, None)
                self._record_finished(record)

    def _check_fits(self, record: TrialRecord) -> None:
        """Refuse a trial of another process that this study's space cannot hold.

        Raises:
            SpaceMismatchError: Another process opened the study with a space that
                contains this one and stored it (a wider range, a new choice).
        """
        try:
            self.space.validate(record.params)
        except ParameterError as exc:
            msg = (
                f"study {self.name!r} now holds trial {record.number}, which the space "
                f"{self.space.cls.__qualname__} of this process cannot hold: another "
                "process opened the study with a wider space and stored it. Open the "
                f"study again with that space (update this process's code): {exc}"
            )
            self._mismatch = SpaceMismatchError(msg)
            raise self._mismatch from None

    async def _fail_stale(self) -> None:
        """Fail trials whose process died on this host, or stopped sending heartbeats.

        Without ``stale_after`` only the process table decides (an infinite heartbeat
        age never expires), so another host's slow trial is never failed by mistake.
        The storage logs which trials it failed.
        """
        older_than = math.inf if self._stale_after is None else self._stale_after
        await self._storage.fail_stale(self._study_id, older_than=older_than)

    async def _open(self) -> None:
        """Fail stale trials and load the study's trials."""
        self._loop = anyio.lowlevel.current_token()
        await self._fail_stale()
        await self._refresh()
        await self._absorb_many()

    async def _explain(self, number: int, exc: TrialStateError) -> TrialStateError:
        """``exc`` naming the study, with the fix when crash recovery failed the trial."""
        text = str(exc).replace(f"study {self._study_id} ", f"study {self.name!r} ", 1)
        text = text.replace(f"trial {number} is ", f"trial {number} of study {self.name!r} is ", 1)
        if not isinstance(exc, UnknownTrialError):
            record = await self._storage.get_trial(self._study_id, number)
            if record.state is TrialState.FAILED and "by fail_stale" in (record.error or ""):
                text += (
                    ". It was failed as stale before this tell() (its process died or "
                    "stopped sending heartbeats), so this result cannot be stored on it; to "
                    "record a result for its parameters, enqueue them "
                    "(await study.enqueue(trial.config)), then ask and tell that trial"
                )
        return type(exc)(text)

    def _check_open(self, what: str) -> None:
        if self._mismatch is not None:  # a fresh one: the first keeps its own traceback
            raise SpaceMismatchError(str(self._mismatch))
        if self._closed:
            msg = (
                f"study {self.name!r} is closed: {what} was called after its "
                "`async with open_study(...)` block ended. Call it inside the block, or "
                "open the study again"
            )
            raise StudyClosedError(msg)
        if self._loop is not None and anyio.lowlevel.current_token() != self._loop:
            msg = (
                f"study {self.name!r} was opened in another event loop (or thread): "
                f"{what} must be called from the loop that opened it, whose locks and "
                "storage connections the study uses. Open the study in the loop that "
                "uses it (one open_study per loop; they can share the storage)"
            )
            raise EventLoopError(msg)

    async def _close(self) -> None:
        """Cancel trials asked but never told before the study closes."""
        self._closed = True
        # Asks and tells already writing finish first: a trial being started is then
        # in _own (and cancelled below), one being told is no longer running.
        with anyio.move_on_after(CLEANUP_SECONDS):
            while self._writes:
                if self._writes_done is None:
                    self._writes_done = anyio.Event()
                await self._writes_done.wait()
        for number in sorted(self._own):
            await self._abandon(
                number,
                TrialState.CANCELLED,
                "cancelled: the study was closed before this trial was told",
            )
        release_owner_id(self._owner)  # what could not be recorded is stale from now on

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Count a trial write in flight, so that closing waits for it."""
        self._writes += 1
        try:
            yield
        finally:
            self._writes -= 1
            if not self._writes and self._writes_done is not None:
                self._writes_done.set()
                self._writes_done = None

    async def _heartbeat_loop(self) -> None:
        """Keep this study's running trials alive in storage, and recover dead ones.

        Every ``heartbeat_interval`` seconds: a heartbeat for this process's running
        trials, and, while other owners have running trials, a check that fails those
        whose process died (on this host) or stopped sending heartbeats, so that they
        neither hold the budget nor count as pending until the run ends.
        """
        while True:
            await anyio.sleep(self._heartbeat_interval)
            try:
                if self._own:
                    await self._storage.heartbeat(self._study_id, owner=self._owner)
                if self._others:
                    await self._fail_stale()
                    # The next ask reads the failed ones (not here: one reader at a time).
                    self._last_refresh = -math.inf
            except Exception:
                _log.warning(
                    "study %r: heartbeat failed", self.name, exc_info=True, extra=self._log_extra()
                )

    # -- decoding --------------------------------------------------------------------
    def _config(self, number: int, params: Params) -> T:
        config = self._configs.get(number)
        if config is None:
            config = self._configs[number] = self.space.decode(params)
        return config

    def _trial_from(self, record: TrialRecord) -> Trial[T]:
        return Trial(
            number=record.number,
            state=record.state,
            config=self._config(record.number, record.params),
            params=record.params,
            value=record.value,
            error=record.error,
            user_attrs=record.user_attrs,
            started_at=record.started_at,
            finished_at=record.finished_at,
            owner=record.owner,
        )

    def _example_config(self) -> T:
        """Any configuration of the space, for executor checks (not the study's rng)."""
        for config in self._configs.values():
            return config
        rng = np.random.default_rng(0)
        for attempt in range(1, REJECTED_LIMIT + 1):
            try:
                return self.space.decode(self.space.sample(rng))
            except RejectedByClassError as exc:
                if attempt == REJECTED_LIMIT:
                    raise _too_constrained(self.space, exc) from exc
        msg = "unreachable: the last try raises"
        raise AssertionError(msg)  # pragma: no cover


def _too_constrained(space: Space[Any], exc: RejectedByClassError) -> ParameterError:
    """The error for a space class that rejected ``REJECTED_LIMIT`` proposals in a row."""
    msg = (
        f"{space.cls.__qualname__} rejected {REJECTED_LIMIT} proposals in a row, the last "
        f"with: {exc}. Its own checks (attrs validators, __attrs_post_init__) leave too "
        "little of the space its markers describe: narrow the markers toward the valid "
        "region, or check in the objective instead (raise there to fail the trial)"
    )
    return ParameterError(msg)


def _cancelling() -> bool:
    """Whether something is cancelling the current asyncio task.

    A real cancellation (a cancel scope, ``trial_timeout``, the run's end) goes through
    ``Task.cancel()``, which ``Task.cancelling()`` counts. A ``CancelledError`` with
    no cancel request was raised by the objective itself (say, an inner task's that
    its HTTP client let escape): a failure of the trial. On trio an asyncio
    ``CancelledError`` is never the run's own cancellation (that is ``trio.Cancelled``):
    it came out of the objective (an ``asyncio.run`` inside a thread objective, say).
    """
    try:
        task = asyncio.current_task()
    except RuntimeError:  # not on asyncio: the objective's own error
        return False
    return task is None or task.cancelling() > 0
