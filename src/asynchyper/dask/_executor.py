"""Run trials as tasks on a Dask cluster."""

from __future__ import annotations

import concurrent.futures
import functools
import logging
import math
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any, cast

import anyio
import anyio.lowlevel
import anyio.to_thread
import cloudpickle  # type: ignore[import-untyped]  # no type information published
import distributed
from distributed import Client, KilledWorker
from distributed.deploy.cluster import Cluster

from .._backend import on_asyncio
from .._errors import ExecutorError
from .._executor._base import Executor
from .._executor._context import TrialContext
from .._executor._process import WorkerDiedError
from .._executor._remote import Shipment, Shipments, rebuild
from .._logfields import log_fields
from ._task import Outcome, WorkerLoadError, run_trial

__all__ = ["DaskExecutor"]

_log = logging.getLogger(__name__)

#: distributed is only partly annotated: calls into it go through this untyped handle.
_dask: Any = distributed

#: Bound (seconds) on cancelling a trial's Dask future while the trial is being cancelled.
CANCEL_SECONDS = 10.0
#: How often a trial that never started is resubmitted after worker deaths, at most.
RESUBMIT_LIMIT = 3
#: Seconds a trial waits for its result before the executor looks whether the cluster
#: has any worker at all (and warns, once per run, when it has none).
NO_WORKERS_SECONDS = 30.0


class _KeepingLocalCluster(distributed.LocalCluster):
    """A ``LocalCluster`` that leaves its dead workers to their nannies.

    A ``LocalCluster`` closes a dead worker's nanny for good, and never replaces it,
    when no worker of its name is back ``distributed.deploy.lost-worker-timeout``
    (15 s) after the death: a worker that died again while its nanny was restarting it
    from an earlier death was lost. Objectives that crash workers often (out of memory
    on some configurations) lost the cluster's workers one by one, and the study then
    waited for ever without any (measured: 40 trials, about half of which kill their
    worker, on two workers: hung; with the timer off, ended in 34-36 s). The nannies of a
    local cluster restart every dead worker; this one sets no such timer. For the
    executor's own use only: a worker retired on purpose (``retire_workers``) keeps
    its closed entry in ``workers``, so a later ``scale`` would not replace it.
    """

    def _update_worker_status(self, op: str, msg: Any) -> None:
        # Untyped in distributed: called through Any.
        if op == "remove":  # what Cluster does, without SpecCluster's closing timer
            cast("Any", Cluster)._update_worker_status(self, op, msg)
        else:
            cast("Any", super())._update_worker_status(op, msg)


#: Untyped constructor: called through this handle, as ``_dask``.
_local_cluster: Any = _KeepingLocalCluster


class DaskExecutor(Executor):
    """Runs each trial as one task on a Dask cluster (``pip install 'asynchyper[dask]'``).

    Where the trials run depends on ``client``:

    * a ``distributed.Client`` - used as is, and left open at the end of the run;
    * a scheduler address such as ``"tcp://10.0.0.5:8786"`` - a client is connected
      when the run starts and closed when it ends;
    * ``None`` - a ``distributed.LocalCluster`` (worker processes on this machine,
      ``cluster_options`` passed to it) is started with the run and closed after it.

    On asyncio, an asynchronous client runs on the study's own event loop. On trio,
    and with a synchronous ``Client`` given on asyncio, asynchyper drives a synchronous
    client from worker threads (one thread per running trial, mostly waiting). An
    *asynchronous* ``Client`` belongs to the asyncio loop it was made on: passing one
    under trio (or from another loop) raises ``ExecutorError``; pass
    a synchronous ``Client`` or the address instead.

    The objective and each configuration are pickled with cloudpickle, as Dask does;
    ``check()`` rejects ones that cannot travel before any trial starts. The objective
    (with data bound to it) is pickled once per run and sent once to each worker
    process, which keeps the pickle and loads a fresh copy of the objective from it for
    every trial (a trial sends only a token when the pickle is over 64 KiB, and the
    pickle too when its worker does not hold it yet); a worker drops the pickle a minute
    after its last trial ended. Functions
    defined in the script itself are sent by value; functions imported from a module
    need that module (and asynchyper) installed on the workers. ``async def``
    objectives run with ``asyncio.run`` inside the worker. Attributes set through
    ``current_trial()`` on the worker come back with the result, also
    when the objective raises. The objective's exception comes back as itself
    (pickled with cloudpickle, so classes defined in the script too), or as a stand-in
    with its type name and message when it cannot; ``sys.exit()`` and
    ``KeyboardInterrupt`` come back like any other exception, and the worker lives on.

    A worker that dies while running a trial (killed, crashed, out of memory) fails
    that trial with ``WorkerDiedError`` (Dask's ``KilledWorker`` as
    its cause); the study goes on, and ``retries=`` re-runs the trial. Dask fails
    every task the worker held, also those only queued there: a trial whose task had
    not started yet is resubmitted instead (up to ``RESUBMIT_LIMIT`` times in a row);
    to tell them apart, each task tells the scheduler when it starts and ends (two
    short round trips). Dask itself re-runs a task whose worker died up to
    ``distributed.scheduler.allowed-failures`` times (default 3) before giving up; the
    ``LocalCluster`` started here sets that to 0, so that ``retries=`` alone decides.
    Its nannies restart dead workers, however often they die (a plain ``LocalCluster``
    closes for good a worker that is still restarting ``lost-worker-timeout``, 15 s,
    after an earlier death, and a study whose trials crash workers often was left
    with none).

    Cancelling a trial (``trial_timeout``, a cancelled or timed-out study) cancels its
    Dask future: a trial still queued never starts, but Dask cannot interrupt a task
    that is already running - the worker computes on until the function returns, and
    the result is dropped. Objectives that may run far past ``trial_timeout`` should
    check a deadline themselves.

    A trial still waiting for its result after ``NO_WORKERS_SECONDS`` (30 s) while the
    cluster has no worker at all (workers not started, or all gone, an adaptive cluster
    that does not scale up) is named in a warning, once per run: its trials wait until
    a worker joins.

    Dask queues tasks beyond its workers' threads, and ``trial_timeout`` includes that
    wait: set ``concurrency`` to about the cluster's total thread count, so that the
    suggester sees the running trials as pending instead of a long queue.

    Args:
        client: A ``distributed.Client``, a scheduler address, or ``None`` for a
            ``LocalCluster`` started and closed with each run.
        cluster_options: Keyword arguments for the ``LocalCluster`` (only with
            ``client=None``), e.g. ``{"n_workers": 4, "threads_per_worker": 1}``.

    Raises:
        TypeError: ``client`` is not a ``Client``, a string or ``None``.
        ValueError: ``cluster_options`` given together with a client or an address.
    """

    def __init__(
        self,
        client: Client | str | None = None,
        *,
        cluster_options: Mapping[str, Any] | None = None,
    ) -> None:
        given: object = client
        if given is not None and not isinstance(given, Client | str):
            msg = (
                "DaskExecutor(client) needs a distributed.Client, a scheduler address such "
                f"as 'tcp://host:8786', or None; got {type(client).__name__} {client!r}"
            )
            raise TypeError(msg)
        if client is not None and cluster_options is not None:
            msg = (
                "DaskExecutor(cluster_options=...) configures the LocalCluster started when "
                f"no client is given; it cannot apply to {client!r}"
            )
            raise ValueError(msg)
        self._target = client
        self.cluster_options: dict[str, Any] = dict(cluster_options or {})
        self._client: Any = None  # a distributed.Client while started
        self._cluster: Any = None  # the distributed.LocalCluster started here, if any
        self._owns_client = False
        self._threaded = False
        self._users = 0
        self._futures: set[Any] = set()  # distributed.Future objects in flight
        self._shipments = Shipments(cloudpickle.dumps)  # the objective pickled once per run
        self._limiter: anyio.CapacityLimiter | None = None
        self._warned_no_workers = False  # once per run

    def __repr__(self) -> str:
        if self._target is None:
            return f"DaskExecutor(LocalCluster, cluster_options={self.cluster_options!r})"
        return f"DaskExecutor({self._target!r})"

    @property
    def client(self) -> Client | None:
        """The ``distributed.Client`` trials go through; ``None`` while not started."""
        client: Client | None = self._client
        return client

    # -- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        """Connect to the cluster (or start a ``LocalCluster``).

        Nested starts share one connection; it is released by the last ``stop()``.

        Raises:
            ExecutorError: The scheduler cannot be reached, the cluster cannot be
                started, or the client given cannot be used on this event loop.
        """
        if self._users:
            self._users += 1
            return
        target = self._target
        try:
            if isinstance(target, Client):
                self._threaded = _drive_from_threads(target)
                self._client = target
                self._owns_client = False
            elif on_asyncio():
                await self._connect_async(target)
            else:
                await self._connect_from_thread(target)
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                await self._close_own()
            self._client = None
            if isinstance(exc, ExecutorError) or not isinstance(exc, Exception):
                raise
            where = "start a LocalCluster" if target is None else f"connect to {target!r}"
            msg = (
                f"DaskExecutor could not {where}: {type(exc).__name__}: {exc}. Check that the "
                "Dask scheduler is running and reachable from this machine"
            )
            raise ExecutorError(msg) from exc
        self._limiter = anyio.CapacityLimiter(math.inf)
        self._warned_no_workers = False
        self._users = 1
        _log.info("DaskExecutor: submitting trials through %r", self._client)

    async def stop(self) -> None:
        """Cancel leftover futures; close the client and cluster if they were made here.

        Safe to call twice.
        """
        if not self._users:
            return
        self._users -= 1
        if self._users:
            return
        with anyio.CancelScope(shield=True):
            if self._futures:
                await self._cancel(list(self._futures))
                self._futures.clear()
            await self._close_own()
        self._client = None
        self._limiter = None
        self._shipments.clear()

    async def _warn_without_workers(self, number: int, study: str) -> None:
        """Log a warning (once per run) when the cluster has no workers: its trials
        wait in the scheduler's queue, the study showing no progress and no error."""
        if self._warned_no_workers:
            return
        client: Any = self._client
        workers: Any = None
        try:
            with anyio.move_on_after(CANCEL_SECONDS):
                if self._threaded:
                    workers = await anyio.to_thread.run_sync(
                        client.nthreads, abandon_on_cancel=True, limiter=self._limiter
                    )
                else:
                    workers = await client.nthreads()
            address = client.scheduler.address
        except Exception:
            _log.debug("DaskExecutor: could not count the cluster's workers", exc_info=True)
            return
        if workers is not None and not workers and not self._warned_no_workers:
            self._warned_no_workers = True
            _log.warning(
                "DaskExecutor: trial %d has waited %.0f s, and the Dask cluster at %s has "
                "no workers: trials wait in its queue until one joins (start workers, or "
                "scale the cluster up)",
                number,
                NO_WORKERS_SECONDS,
                address,
                extra=log_fields(study, number),
            )

    async def _connect_async(self, address: str | None) -> None:
        """asyncio: an asynchronous client on the running loop (and cluster if none)."""
        target: Any = address
        if address is None:
            self._cluster = await _local_cluster(asynchronous=True, **self._local_options())
            target = self._cluster
        client = _dask.Client(target, asynchronous=True)
        try:
            await client  # connects; a cancel (or failure) meanwhile closes it again
        except BaseException:
            with anyio.CancelScope(shield=True), anyio.move_on_after(CANCEL_SECONDS):
                await client.close()
            raise
        self._client = client
        self._owns_client = True
        self._threaded = False

    async def _connect_from_thread(self, address: str | None) -> None:
        """trio: a synchronous client (with its own loop thread), made in a worker thread.

        The thread is abandoned if the caller is cancelled (connecting may take the
        whole connect timeout); whatever it then builds, it closes itself.
        """
        lock = threading.Lock()
        handoff: dict[str, Any] = {}

        def connect() -> None:
            cluster = None
            if address is None:
                cluster = _local_cluster(**self._local_options())
            try:
                client = _dask.Client(address if cluster is None else cluster)
            except BaseException:
                _close_sync(None, cluster)
                raise
            with lock:
                abandoned = handoff.get("abandoned", False)
                if not abandoned:
                    handoff["built"] = (client, cluster)
            if abandoned:
                _close_sync(client, cluster)

        try:
            await anyio.to_thread.run_sync(connect, abandon_on_cancel=True)
        finally:
            with lock:
                handoff["abandoned"] = True
                built = handoff.pop("built", None)
            if built is not None:  # kept (or, if this raised, closed by _close_own)
                self._client, self._cluster = built
                self._owns_client = True
                self._threaded = True

    def _local_options(self) -> dict[str, Any]:
        """LocalCluster options: the user's, and a worker death fails the task at once."""
        options = dict(self.cluster_options)
        options["scheduler_kwargs"] = {
            "allowed_failures": 0,
            **options.get("scheduler_kwargs", {}),
        }
        return options

    async def _close_own(self) -> None:
        """Close the client and the cluster this executor created (not a given client)."""
        client = self._client if self._owns_client else None
        cluster = self._cluster
        self._owns_client = False
        self._cluster = None
        if client is None and cluster is None:
            return
        try:
            if self._threaded or not on_asyncio():
                await anyio.to_thread.run_sync(_close_sync, client, cluster)
            else:
                if client is not None:
                    await client.close()
                if cluster is not None:
                    await cluster.close()
        except Exception:
            _log.warning("DaskExecutor: closing the Dask client or cluster failed", exc_info=True)

    # -- checks ----------------------------------------------------------------------
    def check(self, objective: Callable[..., Any], *, config: Any = None) -> None:
        """Check that the objective (and an example configuration) can travel to workers.

        Args:
            objective: The objective to run.
            config: An example configuration, when known.

        Raises:
            ExecutorError: Either cannot be pickled with cloudpickle; the message says
                how to fix it.
        """
        if config is not None:  # first: pickling the objective pulls its class in too
            try:
                cloudpickle.dumps(config)
            except Exception as exc:
                msg = (
                    f"DaskExecutor cannot send configurations of {type(config).__qualname__} "
                    f"to Dask workers: cloudpickle cannot pickle them ({type(exc).__name__}: "
                    f"{exc}). Give the space class only picklable fields and defaults"
                )
                raise ExecutorError(msg) from exc
        try:
            self._shipments.fresh(objective, self._users + 1)  # the run sends this pickle
        except Exception as exc:
            msg = (
                f"DaskExecutor cannot send the objective {objective!r} to Dask workers: "
                f"cloudpickle cannot pickle it ({type(exc).__name__}: {exc}). An objective "
                "must not hold locks, open files, sockets or database connections (also "
                "through variables it closes over, or through a class it refers to, such "
                "as the space class of its annotation, whose fields and defaults must be "
                "picklable); create those inside the objective"
            )
            raise ExecutorError(msg) from exc

    # -- running ---------------------------------------------------------------------
    async def run(
        self,
        objective: Callable[[Any], Any],
        config: Any,
        context: Any,
    ) -> Any:
        """Run ``objective(config)`` as a Dask task with ``context`` installed there.

        Attributes the objective sets through ``current_trial()`` are copied back into
        ``context``. An exception raised by the objective is re-raised here with the
        worker's traceback as its cause (as a stand-in carrying its type name and
        message when it cannot be brought back). Cancelling the call cancels the Dask
        future. A task that a worker death failed before it started is resubmitted.

        Args:
            objective: The objective (picklable with cloudpickle).
            config: The configuration to evaluate.
            context: The trial's ``TrialContext``.

        Returns:
            The objective's raw return value.

        Raises:
            WorkerDiedError: The Dask worker running the trial died (or the trial was
                queued on workers that died ``RESUBMIT_LIMIT + 1`` times in a row).
            ExecutorError: The executor is not started, the workers cannot load the
                objective, or the task was cancelled by something else (e.g. the
                client was closed).
            BaseException: Whatever the objective raised (or a stand-in, see above).
        """
        assert isinstance(context, TrialContext)
        client: Any = self._client
        if client is None:
            msg = (
                f"{self!r} is not started; pass it to minimize()/optimize() as executor=, "
                "or use it as 'async with executor:'"
            )
            raise ExecutorError(msg)
        # Pickled here and loaded inside the task: a worker that cannot load it then
        # reports an ordinary task error instead of dropping its scheduler connection.
        try:
            shipment = self._shipments.get(objective, self._users)
            payload = cloudpickle.dumps((config, context))
        except Exception as exc:
            msg = (
                f"DaskExecutor cannot send trial {context.number} to Dask workers: "
                f"{type(exc).__name__}: {exc}"
            )
            raise ExecutorError(msg) from exc
        outcome = await self._run_task(client, shipment.lean(), payload, context)
        if outcome.missing:  # that worker does not hold the pickle yet
            outcome = await self._run_task(client, shipment, payload, context)
        context.user_attrs.update(outcome.attrs)
        if outcome.failure is not None:
            raise rebuild(outcome.failure, cloudpickle.loads)
        return outcome.value

    async def _run_task(
        self, client: Any, shipment: Shipment, payload: bytes, context: TrialContext
    ) -> Outcome:
        """Run the trial's task; resubmit it while worker deaths fail it before it starts."""
        resubmitted = 0
        while True:
            key = f"asynchyper-{context.study}-trial-{context.number}-{uuid.uuid4().hex[:8]}"
            try:
                packed = await self._submit(client, shipment, payload, key, context)
                break
            except KilledWorker as exc:
                # The scheduler fails every task the dead worker held, also those still
                # queued there: only the one that had started is the trial's failure.
                started = await self._started(key)
                if started or resubmitted == RESUBMIT_LIMIT:
                    raise WorkerDiedError(_died_message(exc, context.number, started)) from exc
                resubmitted += 1
                _log.info(
                    "DaskExecutor: trial %d was queued on a Dask worker that died before it "
                    "started; resubmitted",
                    context.number,
                    extra=log_fields(context.study, context.number),
                )
        return _unpack(packed, context.number)

    async def _submit(
        self, client: Any, shipment: Shipment, payload: bytes, key: str, context: TrialContext
    ) -> bytes:
        """Submit the trial's task under ``key`` and wait for it; cancel it if cancelled."""
        submit = functools.partial(
            client.submit, run_trial, shipment, payload, key, key=key, pure=False
        )
        # Shielded so that a cancel arriving meanwhile cannot lose the submitted future.
        with anyio.CancelScope(shield=True):
            if self._threaded:
                future = await anyio.to_thread.run_sync(submit, limiter=self._limiter)
            else:
                future = submit()
        self._futures.add(future)
        try:
            await anyio.lowlevel.checkpoint_if_cancelled()
            return await self._wait(future, context)
        finally:
            self._futures.discard(future)
            if future.done():
                future.release()
            else:
                with anyio.CancelScope(shield=True):
                    await self._cancel([future])

    async def _wait(self, future: Any, context: TrialContext) -> bytes:
        """The future's result, with Dask's own failures translated (``KilledWorker`` aside).

        Raises:
            KilledWorker: The worker holding the task died.
        """
        number = context.number
        try:
            packed = await self._result(future, NO_WORKERS_SECONDS)
            if packed is None:  # still waiting: is there any worker at all?
                await self._warn_without_workers(number, context.study)
                packed = await self._result(future, None)
        except concurrent.futures.CancelledError as exc:
            msg = (
                f"the Dask task of trial {number} was cancelled outside asynchyper ({exc}); "
                "was the client closed or the cluster restarted during the run?"
            )
            raise ExecutorError(msg) from exc
        except WorkerLoadError as exc:
            msg = (
                f"a Dask worker could not load the objective or configuration of trial "
                f"{number}: {exc}. Install the modules that define the objective and the "
                "space class (and this asynchyper version) on every worker"
            )
            raise ExecutorError(msg) from exc
        assert packed is not None  # waited for without a bound
        return packed

    async def _result(self, future: Any, seconds: float | None) -> bytes | None:
        """The future's result, or ``None`` when ``seconds`` pass first (the future
        goes on)."""
        if self._threaded:
            result = functools.partial(future.result, timeout=seconds)
            try:
                packed: bytes = await anyio.to_thread.run_sync(
                    result, abandon_on_cancel=True, limiter=self._limiter
                )
            except TimeoutError:
                if seconds is None:  # the task's own error, not the wait's
                    raise
                return None  # (or the task's: the unbounded wait then raises it)
            return packed
        with anyio.move_on_after(math.inf if seconds is None else seconds):
            packed = await future
            return packed
        return None

    async def _started(self, key: str) -> bool:
        """Whether the task ``key`` had started (see ``run_trial``); forgets its marker.

        When the scheduler cannot tell, the trial counts as started: it then fails
        instead of perhaps taking down another worker.
        """
        marker = _dask.Event(key, client=self._client)
        try:
            if self._threaded:
                check = functools.partial(_check_and_clear, marker)
                return await anyio.to_thread.run_sync(check, limiter=self._limiter)
            started = bool(await marker.is_set())
            await marker.clear()
        except Exception:
            _log.warning("DaskExecutor: could not ask the scheduler about %r", key, exc_info=True)
            return True
        return started

    async def _cancel(self, futures: list[Any]) -> None:
        """Cancel Dask futures (bounded, never raising: the caller is cancelling)."""
        client: Any = self._client
        if client is None:
            return
        with anyio.move_on_after(CANCEL_SECONDS):
            try:
                if self._threaded:
                    cancel = functools.partial(client.cancel, futures)
                    await anyio.to_thread.run_sync(cancel, limiter=self._limiter)
                else:
                    await client.cancel(futures)
            except Exception:
                _log.warning("DaskExecutor: cancelling Dask futures failed", exc_info=True)


def _died_message(exc: KilledWorker, number: int, started: bool) -> str:
    """The ``WorkerDiedError`` message for trial ``number``."""
    reported = str(exc).split(". Inspecting", 1)[0]
    if started:
        what = f"the Dask worker running trial {number} died (killed, crashed or out of memory)"
    else:
        what = (
            f"trial {number} never started: the Dask workers it was queued on kept dying "
            f"(resubmitted {RESUBMIT_LIMIT} times)"
        )
    return f"{what}; Dask reported: {reported}"


def _unpack(packed: bytes, number: int) -> Outcome:
    """The outcome a task sent back; one that cannot be loaded here fails the trial."""
    try:
        outcome = cloudpickle.loads(packed)
    except Exception as exc:
        msg = (
            f"the result of trial {number} came back from the Dask worker but cannot be "
            f"loaded here ({type(exc).__name__}: {exc})"
        )
        raise TypeError(msg) from exc
    assert isinstance(outcome, Outcome)
    return outcome


def _check_and_clear(marker: Any) -> bool:
    """``marker.is_set()``, then clear it (a synchronous client, in a worker thread)."""
    started = bool(marker.is_set())
    marker.clear()
    return started


def _drive_from_threads(client: Any) -> bool:
    """How to use a given client: ``True`` from threads (synchronous), ``False`` directly.

    Raises:
        ExecutorError: The client is closed, or asynchronous on another loop (or trio).
    """
    if client.status not in ("running", "connecting"):
        msg = (
            f"DaskExecutor was given the client {client!r} whose status is "
            f"{client.status!r}; connect it first (await an asynchronous Client, or use "
            "'async with Client(..., asynchronous=True) as client:')"
        )
        raise ExecutorError(msg)
    if not getattr(client, "_asynchronous", False):
        return True
    if on_asyncio() and client.asynchronous:
        return False
    where = "another event loop" if on_asyncio() else "trio"
    msg = (
        f"DaskExecutor cannot use the asynchronous client {client!r} from {where}: an "
        "asynchronous distributed.Client runs on the asyncio loop that created it. Pass a "
        "synchronous Client (Client(address)) or the scheduler address instead; "
        "asynchyper then drives it from worker threads"
    )
    raise ExecutorError(msg)


def _close_sync(client: Any, cluster: Any) -> None:
    """Close a synchronous client and cluster (runs in a worker thread)."""
    if client is not None:
        client.close()
    if cluster is not None:
        cluster.close()
