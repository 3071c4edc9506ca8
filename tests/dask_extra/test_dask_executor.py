"""The Dask executor: trials as Dask tasks on a LocalCluster, on asyncio and trio."""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import sys
import threading
import time
import types
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

pytest.importorskip("distributed")

import anyio
import attrs
import dask
import distributed
from dask_helpers import (
    RELEASE,
    BoundData,
    Quad,
    async_objective,
    exiting_objective,
    failing_objective,
    hanging_objective,
    killing_behind_a_queued_trial_objective,
    killing_objective,
    lock_returning_objective,
    loss,
    often_killing_objective,
    where_objective,
)
from distributed import Client, LocalCluster, Scheduler

import asynchyper as ah
import asynchyper.dask
import asynchyper.dask._executor as dask_executor
from asynchyper._executor._remote import SMALL_OBJECTIVE_BYTES
from asynchyper.dask import DaskExecutor

pytestmark = pytest.mark.anyio

#: distributed is only partly annotated: calls into it go through this untyped handle.
dd: Any = distributed

#: Hard bound on any one test's study, so that a hang fails instead of blocking CI.
TEST_SECONDS = 60.0
#: No dashboard, and the scheduler's HTTP server on a free port: the default (8787) may be
#: taken by another cluster, which distributed reports with a warning (an error here).
QUIET: dict[str, Any] = {"dashboard_address": ":0", "scheduler_kwargs": {"dashboard": False}}
#: The tests kill worker processes, and the nannies restart them. A LocalCluster also
#: closes a worker's nanny for good when, ``lost-worker-timeout`` (15 s) after any death
#: of that worker, no worker of its name is on the scheduler: under load, a later test's
#: restart is then in progress, and that test loses the worker with its queued trials
#: (or hangs without workers). An hour outlasts the module: only the nannies act.
KEEP_RESTARTED_WORKERS: dict[str, Any] = {"distributed.deploy.lost-worker-timeout": "1 hour"}


def _local_cluster(*, processes: bool) -> Any:
    """A small cluster; a worker death fails the task at once (no hidden re-runs)."""
    return dd.LocalCluster(
        n_workers=2 if processes else 1,
        threads_per_worker=1 if processes else 4,
        processes=processes,
        dashboard_address=QUIET["dashboard_address"],
        scheduler_kwargs={"allowed_failures": 0, **QUIET["scheduler_kwargs"]},
    )


@pytest.fixture(scope="module")
def threads_cluster() -> Iterator[LocalCluster]:
    """One worker with 4 threads inside the test process (``processes=False``)."""
    with _local_cluster(processes=False) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def process_cluster() -> Iterator[LocalCluster]:
    """Two worker processes, one thread each, restarted by their nannies if they die."""
    with dask.config.set(KEEP_RESTARTED_WORKERS), _local_cluster(processes=True) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def lone_worker_cluster() -> Iterator[LocalCluster]:
    """One worker process with one thread: a second trial waits in that worker's queue."""
    with (
        dask.config.set(KEEP_RESTARTED_WORKERS),
        dd.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            dashboard_address=QUIET["dashboard_address"],
            scheduler_kwargs={"allowed_failures": 0, **QUIET["scheduler_kwargs"]},
        ) as cluster,
    ):
        yield cluster


@pytest.fixture(scope="module")
def inspector(threads_cluster: LocalCluster) -> Iterator[Client]:
    """A synchronous client on the in-process cluster, to look at its scheduler."""
    with dd.Client(threads_cluster) as client:
        yield client


@pytest.fixture(autouse=True)
def release_hanging_objectives() -> Iterator[None]:
    """Hanging objectives block until the end of their test."""
    RELEASE.clear()
    yield
    RELEASE.set()


@pytest.fixture
async def open_client(
    anyio_backend: str, threads_cluster: LocalCluster, inspector: Client
) -> AsyncIterator[Client]:
    """A client that stays open after the run, so only a cancel can drop its futures.

    Asynchronous on asyncio; on trio the synchronous inspector, driven from threads.
    """
    if anyio_backend == "asyncio":
        async with dd.Client(threads_cluster.scheduler_address, asynchronous=True) as client:
            yield client
    else:
        yield inspector


@pytest.fixture
def submitted(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every future submitted during the test, kept alive so only a cancel removes its task."""
    futures: list[Any] = []
    submit = Client.submit

    def recording_submit(self: Client, *args: Any, **kwargs: Any) -> Any:
        future = submit(self, *args, **kwargs)
        futures.append(future)
        return future

    monkeypatch.setattr(Client, "submit", recording_submit)
    return futures


def _asynchyper_keys(dask_scheduler: Scheduler) -> list[str]:
    return [str(key) for key in dask_scheduler.tasks if str(key).startswith("asynchyper-")]


async def _keys_left(client: Client, *, settle: float = 5.0) -> list[str]:
    """asynchyper's task keys still on the scheduler, once they had time to go."""
    deadline = time.monotonic() + settle
    while True:
        keys: list[str] = await anyio.to_thread.run_sync(client.run_on_scheduler, _asynchyper_keys)
        if not keys or time.monotonic() > deadline:
            return keys
        await anyio.sleep(0.05)


# -- the public surface ------------------------------------------------------------------
def test_public_names_equal_all() -> None:
    public = {
        name
        for name, value in vars(asynchyper.dask).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(asynchyper.dask.__all__)
    assert all((getattr(asynchyper.dask, name).__doc__ or "").strip() for name in public)


def test_missing_distributed_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(sys.modules):
        if name == "asynchyper.dask" or name.startswith("asynchyper.dask."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ah.MissingExtraError, match=r"pip install 'asynchyper\[dask\]'"):
        importlib.import_module("asynchyper.dask")


def test_arguments_are_checked() -> None:
    with pytest.raises(TypeError, match=r"distributed\.Client, a scheduler address"):
        DaskExecutor(8786)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cluster_options"):
        DaskExecutor("tcp://127.0.0.1:8786", cluster_options={"n_workers": 2})
    assert repr(DaskExecutor("tcp://h:1")) == "DaskExecutor('tcp://h:1')"


@pytest.fixture(scope="module")
def empty_cluster() -> Iterator[LocalCluster]:
    """A scheduler without workers (workers not started yet, say)."""
    with dd.LocalCluster(n_workers=0, dashboard_address=QUIET["dashboard_address"]) as cluster:
        yield cluster


async def test_trials_waiting_on_a_cluster_without_workers_are_named_in_a_warning(
    empty_cluster: LocalCluster,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # They would wait in the scheduler's queue: no progress, no error. Once per run,
    # however many trials wait.
    monkeypatch.setattr(dask_executor, "NO_WORKERS_SECONDS", 0.3)
    caplog.set_level(logging.INFO, logger="asynchyper.dask")
    address = empty_cluster.scheduler_address
    with anyio.move_on_after(3):
        await ah.minimize(
            where_objective, Quad, trials=3, concurrency=2, executor=DaskExecutor(address)
        )
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, caplog.text
    message = warnings[0].getMessage()
    assert message.startswith("DaskExecutor: trial ")
    assert message.endswith(
        f"has waited 0 s, and the Dask cluster at {address} has no workers: trials wait "
        "in its queue until one joins (start workers, or scale the cluster up)"
    )
    assert warnings[0].asynchyper_trial in (0, 1)  # type: ignore[attr-defined]


async def test_a_trial_that_runs_long_on_a_cluster_with_workers_is_no_warning(
    threads_cluster: LocalCluster,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dask_executor, "NO_WORKERS_SECONDS", 0.2)
    caplog.set_level(logging.INFO, logger="asynchyper.dask")

    async def release_later() -> None:
        await anyio.sleep(1.0)
        RELEASE.set()

    with anyio.fail_after(TEST_SECONDS):
        async with anyio.create_task_group() as group:
            group.start_soon(release_later)
            result = await ah.minimize(
                hanging_objective,
                Quad,
                trials=1,
                executor=DaskExecutor(threads_cluster.scheduler_address),
            )
    assert len(result.completed) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


# -- running trials ----------------------------------------------------------------------
@pytest.mark.parametrize("processes", [False, True], ids=["in-process", "2-processes"])
async def test_trials_run_on_the_workers_with_their_context(
    processes: bool, request: pytest.FixtureRequest
) -> None:
    cluster: LocalCluster = request.getfixturevalue(
        "process_cluster" if processes else "threads_cluster"
    )
    executor = DaskExecutor(cluster.scheduler_address)
    with anyio.fail_after(TEST_SECONDS):
        result = await ah.minimize(
            where_objective, Quad, trials=6, concurrency=3, executor=executor, seed=0
        )
    assert executor.client is None  # connected for the run only
    assert len(result.completed) == 6
    workers = set(cluster.scheduler_info["workers"])
    for trial in result.trials:
        assert trial.value == loss(trial.config)
        assert trial.user_attrs["number_seen"] == trial.number
        assert trial.user_attrs["worker"] in workers
        assert (trial.user_attrs["pid"] != os.getpid()) is processes


@pytest.mark.parametrize("size", [10, 4 * SMALL_OBJECTIVE_BYTES])
async def test_the_objective_is_sent_once_per_worker_process(
    size: int, process_cluster: LocalCluster
) -> None:
    # Small: it travels with every task; large: a task carries a token and a worker
    # that does not hold it yet gets it in a second task. Either way each worker
    # process is given the pickle once per run, and a new run (the objective changed
    # meanwhile) sends it afresh.
    objective = BoundData(size)
    executor = DaskExecutor(process_cluster.scheduler_address)
    runs = []
    with anyio.fail_after(TEST_SECONDS):
        for scale in (1.0, 2.0):
            objective.scale = scale
            result = await ah.minimize(
                objective, Quad, trials=8, concurrency=2, executor=executor, seed=0
            )
            assert [t.value for t in result.trials] == [
                scale * loss(t.config) for t in result.trials
            ]
            runs.append({(t.user_attrs["pid"], t.user_attrs["payloads"]) for t in result.trials})
    for given in runs:
        pids = {pid for pid, _ in given}
        assert len(given) == len(pids) <= 2  # one pickle given per worker process
    assert not runs[0] & runs[1]  # each worker was given the second run's pickle


async def test_trials_in_threads_of_one_worker_do_not_share_the_objective(
    threads_cluster: LocalCluster,
) -> None:
    executor = DaskExecutor(threads_cluster.scheduler_address)
    with anyio.fail_after(TEST_SECONDS):
        result = await ah.minimize(
            BoundData(4 * SMALL_OBJECTIVE_BYTES),
            Quad,
            trials=8,
            concurrency=4,
            executor=executor,
            seed=0,
        )
    assert [t.user_attrs["shared"] for t in result.trials] == [False] * 8


async def test_async_objectives_run_inside_the_worker(threads_cluster: LocalCluster) -> None:
    with anyio.fail_after(TEST_SECONDS):
        result = await ah.minimize(
            async_objective,
            Quad,
            trials=3,
            concurrency=3,
            executor=DaskExecutor(threads_cluster.scheduler_address),
        )
    assert len(result.completed) == 3
    assert {t.user_attrs["worker"] for t in result.trials} == set(
        threads_cluster.scheduler_info["workers"]
    )


async def test_a_synchronous_client_is_used_and_left_open(inspector: Client) -> None:
    executor = DaskExecutor(inspector)
    with anyio.fail_after(TEST_SECONDS):
        result = await ah.minimize(
            where_objective, Quad, trials=4, concurrency=2, executor=executor
        )
    assert len(result.completed) == 4
    assert inspector.status == "running"


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # trio: refused, tested below
async def test_an_asynchronous_client_on_the_study_loop(threads_cluster: LocalCluster) -> None:
    async with dd.Client(threads_cluster.scheduler_address, asynchronous=True) as client:
        with anyio.fail_after(TEST_SECONDS):
            result = await ah.minimize(
                where_objective, Quad, trials=4, concurrency=2, executor=DaskExecutor(client)
            )
        assert client.status == "running"  # the caller's client stays open
    assert len(result.completed) == 4


async def test_an_asynchronous_client_from_another_loop_is_refused(
    threads_cluster: LocalCluster, anyio_backend: str
) -> None:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def connect() -> Client:
        client: Client = await dd.Client(threads_cluster.scheduler_address, asynchronous=True)
        return client

    async def close(client: Any) -> None:
        await client.close()

    client = asyncio.run_coroutine_threadsafe(connect(), loop).result(TEST_SECONDS)
    try:
        where = "trio" if anyio_backend == "trio" else "another event loop"
        with pytest.raises(ah.ExecutorError, match=f"asynchronous client .* from {where}"):
            await ah.minimize(where_objective, Quad, trials=1, executor=DaskExecutor(client))
    finally:
        asyncio.run_coroutine_threadsafe(close(client), loop).result(TEST_SECONDS)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(TEST_SECONDS)
        loop.close()


async def test_an_own_local_cluster_keeps_workers_that_die_often() -> None:
    # A LocalCluster closes a dead worker's nanny for good when no worker of its name
    # is back lost-worker-timeout (15 s) after the death: with workers dying often,
    # one died again while restarting, was closed, and the study waited for ever
    # without workers. A short timeout makes that race certain here.
    timeout = "distributed.deploy.lost-worker-timeout"
    with dask.config.set({timeout: "0.2s"}):
        executor = DaskExecutor(cluster_options={"n_workers": 1, "threads_per_worker": 1, **QUIET})
        with anyio.fail_after(TEST_SECONDS):
            result = await ah.minimize(
                often_killing_objective,
                Quad,
                trials=3,
                executor=executor,
                suggester=ah.Random(),
                seed=0,
            )
        assert len(result.completed) == 3
        assert len(result.trials) == 6  # three workers died, each restarted
        assert dask.config.get(timeout) == "0.2s"  # the user's setting, untouched


async def test_a_local_cluster_is_started_and_closed_with_the_run() -> None:
    executor = DaskExecutor(
        cluster_options={
            "processes": False,
            "n_workers": 1,
            "threads_per_worker": 2,
            **QUIET,
        }
    )
    clients: list[Client] = []
    allowed_failures: list[int] = []

    def remember_client(study: Any, trial: Any) -> None:
        client: Any = executor.client
        assert client is not None
        clients.append(client)
        allowed_failures.append(client.cluster.scheduler.allowed_failures)

    with anyio.fail_after(TEST_SECONDS):
        result = await ah.minimize(
            where_objective,
            Quad,
            trials=2,
            concurrency=2,
            executor=executor,
            callbacks=[remember_client],
        )
    assert len(result.completed) == 2
    client: Any = clients[0]
    assert client.status == "closed"
    assert client.cluster is not None
    assert client.cluster.status.name == "closed"
    assert executor.client is None
    # A worker death fails the trial at once; retries= decides what happens next.
    assert allowed_failures == [0, 0]


async def test_an_unreachable_scheduler_is_a_clear_error() -> None:
    # Port 9 (discard) has no Dask scheduler; a short connect timeout keeps this quick.
    with (
        dask.config.set({"distributed.comm.timeouts.connect": "0.5s"}),
        pytest.raises(ah.ExecutorError, match=r"could not connect to 'tcp://127\.0\.0\.1:9'"),
    ):
        await ah.minimize(
            where_objective, Quad, trials=1, executor=DaskExecutor("tcp://127.0.0.1:9")
        )


async def test_cancelling_while_connecting_returns_at_once() -> None:
    # On trio the connecting thread could not be abandoned: a cancel waited for the
    # whole connect timeout. (Port 9 has no scheduler: connecting retries until then.)
    started = time.monotonic()
    with dask.config.set({"distributed.comm.timeouts.connect": "20s"}):
        with anyio.move_on_after(1.0) as scope:
            await ah.minimize(
                where_objective, Quad, trials=1, executor=DaskExecutor("tcp://127.0.0.1:9")
            )
    assert scope.cancelled_caught
    assert time.monotonic() - started < 10.0


async def test_run_without_start_is_a_clear_error() -> None:
    context = ah.TrialContext(study="s", number=0, params={})
    with pytest.raises(ah.ExecutorError, match="is not started"):
        await DaskExecutor("tcp://h:1").run(where_objective, None, context)


# -- failures ------------------------------------------------------------------------------
async def test_failures_keep_the_worker_traceback_and_attrs(threads_cluster: LocalCluster) -> None:
    with anyio.fail_after(TEST_SECONDS):
        result = await ah.minimize(
            failing_objective,
            Quad,
            trials=1,
            max_failures=1,
            executor=DaskExecutor(threads_cluster.scheduler_address),
        )
    (trial,) = result.trials
    assert trial.state is ah.TrialState.FAILED
    error = trial.error or ""
    assert "ValueError: bad x" in error
    assert "failing_objective" in error  # the frame inside the worker
    assert trial.user_attrs == {"before_failure": True}


async def test_a_value_that_cannot_travel_back_fails_the_trial(
    threads_cluster: LocalCluster,
) -> None:
    with anyio.fail_after(TEST_SECONDS):
        result = await ah.minimize(
            lock_returning_objective,
            Quad,
            trials=1,
            max_failures=1,
            executor=DaskExecutor(threads_cluster.scheduler_address),
        )
    (trial,) = result.trials
    assert trial.state is ah.TrialState.FAILED
    assert "the objective returned lock, which cannot be pickled back" in (trial.error or "")
    assert trial.user_attrs == {"ran": True}


async def test_a_dying_worker_fails_its_trial_and_the_study_goes_on(
    process_cluster: LocalCluster,
) -> None:
    with anyio.fail_after(TEST_SECONDS):
        result = await ah.minimize(
            killing_objective,
            Quad,
            trials=3,
            concurrency=2,
            retries=1,
            executor=DaskExecutor(process_cluster.scheduler_address),
            seed=0,
        )
    first = result.trials[0]
    assert first.state is ah.TrialState.FAILED
    assert "WorkerDiedError: the Dask worker running trial 0 died" in (first.error or "")
    assert "KilledWorker" in (first.error or "")
    assert len(result.completed) == 3
    # retries=1 re-ran the killed configuration as a new trial, which completed.
    assert any(t.params == first.params for t in result.completed)
    # Dask did not re-run it behind our back: one death, one failed trial per death.
    failed = [t for t in result.trials if t.state is ah.TrialState.FAILED]
    assert all("died" in (t.error or "") for t in failed)


async def test_a_trial_queued_on_a_dying_worker_is_resubmitted(
    lone_worker_cluster: LocalCluster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="asynchyper.dask")
    # Trial 0 kills the only worker while the next trial waits in that worker's queue.
    with anyio.fail_after(TEST_SECONDS):
        result = await ah.minimize(
            killing_behind_a_queued_trial_objective,
            Quad,
            trials=3,  # trial 0 may start second: the third then queues behind it
            concurrency=2,
            max_failures=3,
            executor=DaskExecutor(lone_worker_cluster.scheduler_address),
            seed=0,
        )
    first = result.trials[0]
    assert first.state is ah.TrialState.FAILED
    assert "WorkerDiedError: the Dask worker running trial 0 died" in (first.error or "")
    # The queued trial had not started: it ran on the restarted worker instead of failing.
    assert [t.number for t in result.trials if t.state is ah.TrialState.FAILED] == [0]
    assert len(result.completed) == 3
    assert "resubmitted" in caplog.text
    # The scheduler answered whether each task had started (no guess on a failed query).
    assert "could not ask the scheduler" not in caplog.text


async def test_a_trial_queued_on_dying_workers_too_often_fails(
    lone_worker_cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dask_executor, "RESUBMIT_LIMIT", 0)
    with anyio.fail_after(TEST_SECONDS):
        result = await ah.minimize(
            killing_behind_a_queued_trial_objective,
            Quad,
            trials=3,  # trial 0 may start second: the third then queues behind it
            concurrency=2,
            max_failures=3,
            executor=DaskExecutor(lone_worker_cluster.scheduler_address),
            seed=0,
        )
    failed = [t for t in result.trials if t.state is ah.TrialState.FAILED]
    assert len(failed) == 2, [t.error for t in failed]  # trial 0, and the one queued behind it
    first, queued = failed
    assert "WorkerDiedError: the Dask worker running trial 0 died" in (first.error or "")
    assert (
        f"WorkerDiedError: trial {queued.number} never started: the Dask workers it was "
        "queued on kept dying (resubmitted 0 times)"
    ) in (queued.error or "")


@pytest.mark.parametrize(("how", "raised"), [("exit", SystemExit), ("ctrl-c", KeyboardInterrupt)])
async def test_sys_exit_and_ctrl_c_in_an_objective_spare_the_worker(
    how: str, raised: type[BaseException], process_cluster: LocalCluster, anyio_backend: str
) -> None:
    context = ah.TrialContext(study="s", number=0, params={})
    async with DaskExecutor(process_cluster.scheduler_address) as executor:
        client: Any = executor.client
        with anyio.fail_after(TEST_SECONDS), pytest.raises(raised) as caught:
            # Through run(): raised inside a study's task, the exception would end the
            # asyncio loop itself (as it does with the other executors).
            await executor.run(exiting_objective, how, context)
        if anyio_backend == "asyncio":
            pids: dict[str, int] = await client.run(os.getpid)
        else:
            pids = await anyio.to_thread.run_sync(client.run, os.getpid)
    assert "in exiting_objective" in str(caught.value.__cause__)  # the worker's traceback
    assert context.user_attrs["pid"] in pids.values()  # the worker process lives on


async def test_exception_classes_sent_by_value_come_back_as_themselves(
    threads_cluster: LocalCluster,
) -> None:
    class DivergedError(Exception):
        """Defined in a function: cloudpickle sends the class by value."""

    def objective(config: Quad) -> float:
        ah.current_trial().set_attr("ran", True)
        msg = f"x={config.x:.1f}"
        raise DivergedError(msg)

    context = ah.TrialContext(study="s", number=0, params={})
    async with DaskExecutor(threads_cluster.scheduler_address) as executor:
        with anyio.fail_after(TEST_SECONDS), pytest.raises(DivergedError, match=r"x=0\.5"):
            await executor.run(objective, Quad(x=0.5, n=1, kind="a"), context)
    assert context.user_attrs == {"ran": True}


async def test_exceptions_that_cannot_come_back_are_named(threads_cluster: LocalCluster) -> None:
    class HoldingError(Exception):
        """Cannot be pickled: it holds a lock."""

        def __init__(self) -> None:
            super().__init__("holds a lock")
            self.lock = threading.Lock()

    class TwoArgumentError(Exception):
        """Pickles, but cannot be rebuilt from its args."""

        def __init__(self, first: int, second: int) -> None:
            super().__init__(f"{first}/{second}")

    def objective(config: Quad) -> float:
        ah.current_trial().set_attr("ran", True)
        if config.kind == "a":
            raise HoldingError
        raise TwoArgumentError(1, 2)

    async with DaskExecutor(threads_cluster.scheduler_address) as executor:
        for config, named in [
            (Quad(x=0.5, n=1, kind="a"), "HoldingError: holds a lock"),
            (Quad(x=0.5, n=1, kind="b"), "TwoArgumentError: 1/2"),
        ]:
            context = ah.TrialContext(study="s", number=0, params={})
            with anyio.fail_after(TEST_SECONDS), pytest.raises(Exception, match=named) as caught:
                await executor.run(objective, config, context)
            assert type(caught.value).__name__ == "_RemoteError"
            assert "in objective" in str(caught.value.__cause__)  # the worker's traceback
            assert context.user_attrs == {"ran": True}


async def test_workers_that_cannot_import_the_objective_stop_the_run(
    process_cluster: LocalCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A module only this process can import (the worker processes were started before).
    (tmp_path / "dask_local_only.py").write_text(
        "def objective(config):\n    return 1.0\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    # Imported here, so cloudpickle sends the function by reference (module and name).
    module = importlib.import_module("dask_local_only")
    try:
        with anyio.fail_after(TEST_SECONDS):
            with pytest.raises(ah.ExecutorError, match="could not load the objective"):
                await ah.minimize(
                    module.objective,
                    Quad,
                    trials=2,
                    executor=DaskExecutor(process_cluster.scheduler_address),
                )
    finally:
        del sys.modules["dask_local_only"]


# -- cancellation --------------------------------------------------------------------------
async def test_trial_timeout_cancels_the_dask_future(
    open_client: Client, inspector: Client, submitted: list[Any]
) -> None:
    started = time.perf_counter()
    with anyio.fail_after(TEST_SECONDS):
        result = await ah.minimize(
            hanging_objective,
            Quad,
            trials=2,
            concurrency=2,
            max_failures=2,
            trial_timeout=0.3,
            executor=DaskExecutor(open_client),
        )
    assert time.perf_counter() - started < 10.0
    # Two at once hit max_failures; a third may have been asked before the second failed.
    assert len(result.trials) >= 2
    for trial in result.trials:
        assert trial.state is ah.TrialState.FAILED
        assert "trial_timeout=0.3" in (trial.error or "")
    assert len(submitted) == len(result.trials)
    assert all(future.cancelled() for future in submitted)
    assert await _keys_left(inspector) == []


async def test_cancelling_the_study_cancels_outstanding_futures(
    open_client: Client, inspector: Client, submitted: list[Any]
) -> None:
    storage = ah.MemoryStorage()
    # Six trials on four worker threads: some run, some wait in Dask's queue.
    with anyio.fail_after(TEST_SECONDS), anyio.move_on_after(1.0):
        await ah.minimize(
            hanging_objective,
            Quad,
            trials=6,
            concurrency=6,
            storage=storage,
            executor=DaskExecutor(open_client),
        )
    study = await storage.get_study("Quad")
    trials = await storage.trials(study.id)
    assert len(trials) == 6
    assert {t.state for t in trials} == {ah.TrialState.CANCELLED}
    assert len(submitted) == 6
    assert all(future.cancelled() for future in submitted)
    assert await _keys_left(inspector) == []


# -- what cannot travel ------------------------------------------------------------------
async def test_an_unpicklable_objective_fails_before_any_trial() -> None:
    lock = threading.Lock()

    def objective(config: Quad) -> float:
        with lock:
            return loss(config)

    storage = ah.MemoryStorage()
    # No cluster is needed: the check runs before the executor connects.
    with pytest.raises(ah.ExecutorError, match="cloudpickle cannot pickle it"):
        await ah.minimize(
            objective, Quad, trials=2, storage=storage, executor=DaskExecutor("tcp://h:1")
        )
    assert await storage.list_studies() == []  # refused before the study was created


def test_a_closure_and_a_local_space_class_can_travel() -> None:
    offset = 1.0

    @attrs.frozen
    class Local:
        x: float = 0.0

    def objective(config: Local) -> float:
        return config.x + offset

    DaskExecutor("tcp://h:1").check(objective, config=Local())  # cloudpickle sends by value


def test_configurations_that_cannot_travel_are_refused() -> None:
    @attrs.frozen
    class Holder:
        lock: Any = attrs.field(factory=threading.Lock)

    with pytest.raises(ah.ExecutorError, match=r"configurations of .*Holder"):
        DaskExecutor("tcp://h:1").check(where_objective, config=Holder())


def test_a_space_class_that_cannot_travel_is_named_even_through_the_annotation() -> None:
    # Pickling an objective defined here pulls in the class of its annotation: the
    # space's failure was blamed on the objective ("must not hold locks").
    @attrs.frozen
    class LockSpace:
        x: float = 0.5
        guard: ClassVar[Any] = threading.Lock()

    def annotated(config: LockSpace) -> float:
        return config.x

    # evaluated, as in a module without `from __future__ import annotations`
    annotated.__annotations__ = {"config": LockSpace, "return": float}
    with pytest.raises(ah.ExecutorError, match=r"configurations of .*LockSpace"):
        DaskExecutor("tcp://h:1").check(annotated, config=LockSpace())


def test_a_closing_cluster_makes_the_trial_markers_quiet(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A run that times out or is cancelled closes its LocalCluster under running tasks:
    # their end-of-task call to the scheduler then fails, one traceback per task (a
    # review saw them); that is expected and logged at debug level. Other failures warn.
    from asynchyper.dask import _task  # noqa: PLC0415 - the module under test

    class _Status:
        def __init__(self, name: str) -> None:
            self.name = name

    class _Scheduler:
        def event_clear(self, name: str) -> None:  # replaced below by one that raises
            pass

    class _Worker:
        def __init__(self, status: str) -> None:
            self.status = _Status(status)
            self.scheduler = _Scheduler()
            self.loop = None

    def sync(loop: object, handler: Any, **kwargs: Any) -> None:
        handler(**kwargs)

    monkeypatch.setattr(_task._dask.utils, "sync", sync)
    for status, pool_closed, warned in [
        ("running", True, False),  # the connection pool already closed
        ("closing", False, False),
        ("running", False, True),
    ]:
        message = "ConnectionPool is closed" if pool_closed else "scheduler said no"
        monkeypatch.setattr(_Scheduler, "event_clear", _raiser(RuntimeError(message)))
        monkeypatch.setattr(_task._dask, "get_worker", lambda status=status: _Worker(status))
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="asynchyper"):
            _task._call_scheduler("event_clear", "marker")
        levels = {r.levelno for r in caplog.records}
        assert (logging.WARNING in levels) is warned, (status, message)
        assert levels, "logged at some level"


def _raiser(exc: Exception) -> Any:
    def raise_it(*args: object, **kwargs: object) -> None:
        raise exc

    return raise_it
