"""Executors: coroutine, thread and process; the per-trial context in each."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest
from scheduler_helpers import (
    BOUND_PICKLED,
    BoundData,
    LoadsBadly,
    Quad,
    cpu_objective,
    failing_process_objective,
    hanging_process_objective,
    loss,
    noisy_objective,
    printing_objective,
    stderr_flood_objective,
    stdin_reader_objective,
    two_arg_error_objective,
    unpicklable_return_objective,
)

import asynchyper as ah
from asynchyper._executor import (
    AsyncExecutor,
    ProcessExecutor,
    ThreadExecutor,
    TrialContext,
    current_trial,
)
from asynchyper._executor._remote import SMALL_OBJECTIVE_BYTES, ObjectiveCache, Shipments

pytestmark = pytest.mark.anyio

HERE = Path(__file__).parent


def run_script(
    arguments: list[str], stdin: str | None = None, path: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """Run a Python child process in this directory, with this test run's sys.path
    (after ``path``)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*path, *sys.path])}
    return subprocess.run(
        [sys.executable, *arguments],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=HERE,
        env=env,
        timeout=60,
        check=False,
    )


def test_current_trial_outside_a_trial_is_a_clear_error() -> None:
    with pytest.raises(ah.TrialStateError, match="outside a trial"):
        current_trial()


def test_set_attr_rejects_values_that_are_not_json_safe() -> None:
    context = TrialContext(study="s", number=0, params={})
    context.set_attr("ok", {"a": [1, 2.5, None, True]})
    with pytest.raises(TypeError, match="JSON-safe"):
        context.set_attr("bad", float("nan"))
    with pytest.raises(TypeError, match="JSON-safe"):
        context.set_attr("bad", {1, 2})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="key must be a str"):
        context.set_attr(3, 1)  # type: ignore[arg-type]
    assert context.user_attrs == {"ok": {"a": [1, 2.5, None, True]}}


@pytest.mark.parametrize("max_workers", [0, -1, 1.5, True])
def test_max_workers_must_be_a_positive_int(max_workers: Any) -> None:
    with pytest.raises(ValueError, match="max_workers"):
        ThreadExecutor(max_workers)
    with pytest.raises(ValueError, match="max_workers"):
        ProcessExecutor(max_workers)


async def test_context_in_async_objectives_is_per_trial() -> None:
    seen: list[tuple[int, dict[str, Any]]] = []

    async def objective(config: Quad) -> float:
        trial = current_trial()
        await anyio.sleep(0.01 * (5 - trial.number % 5))
        assert current_trial() is trial  # concurrent trials never see each other's
        trial.set_attr("number", trial.number)
        seen.append((trial.number, dict(trial.params)))
        return loss(config)

    result = await ah.minimize(objective, Quad, trials=10, concurrency=5, suggester=ah.Random())
    assert sorted(seen, key=lambda item: item[0]) == [
        (t.number, dict(t.params)) for t in result.trials
    ]
    assert all(t.user_attrs == {"number": t.number} for t in result.trials)


async def test_context_in_thread_objectives() -> None:
    def objective(config: Quad) -> float:
        trial = current_trial()
        trial.set_attr("thread", threading.current_thread().name)
        trial.set_attr("x", trial.params["x"])
        return loss(config)

    result = await ah.minimize(objective, Quad, trials=6, concurrency=3, suggester=ah.Random())
    for trial in result.trials:
        assert trial.user_attrs["x"] == trial.params["x"]
        assert trial.user_attrs["thread"] != threading.current_thread().name


async def test_an_async_objective_with_executor_thread_is_refused() -> None:
    async def objective(config: Quad) -> float:
        return loss(config)

    with pytest.raises(ah.ExecutorError, match="async objective"):
        await ah.minimize(objective, Quad, trials=2, executor="thread", suggester=ah.Random())


async def test_an_unknown_executor_name_is_refused() -> None:
    with pytest.raises(ah.ExecutorError, match="'threads'"):
        await ah.minimize(
            cpu_objective,
            Quad,
            trials=2,
            executor="threads",  # type: ignore[arg-type]
            suggester=ah.Random(),
        )


async def test_a_hanging_thread_is_abandoned_at_trial_timeout() -> None:
    release = threading.Event()

    def objective(config: Quad) -> float:
        if current_trial().number == 0:
            release.wait(10)  # a blocking call the scheduler cannot interrupt
        return loss(config)

    started = time.perf_counter()
    try:
        result = await ah.minimize(
            objective, Quad, trials=3, trial_timeout=0.2, suggester=ah.Random()
        )
    finally:
        release.set()
    assert time.perf_counter() - started < 3.0
    assert result.trials[0].state is ah.TrialState.FAILED
    assert "trial_timeout=0.2" in (result.trials[0].error or "")
    assert len(result.completed) == 3


async def test_thread_executor_limits_its_workers() -> None:
    running = 0
    peak = 0
    lock = threading.Lock()

    def objective(config: Quad) -> float:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)
        with lock:
            running -= 1
        return loss(config)

    await ah.minimize(
        objective,
        Quad,
        trials=12,
        concurrency=6,
        executor=ThreadExecutor(max_workers=2),
        suggester=ah.Random(),
    )
    assert peak == 2


async def test_async_executor_runs_on_the_loop_thread() -> None:
    loop_thread = threading.get_ident()

    def objective(config: Quad) -> float:
        assert threading.get_ident() == loop_thread
        current_trial().set_attr("on_loop", True)
        return loss(config)

    result = await ah.minimize(
        objective, Quad, trials=2, executor=AsyncExecutor(), suggester=ah.Random()
    )
    assert all(t.user_attrs == {"on_loop": True} for t in result.trials)


async def test_process_executor_runs_a_module_level_function_with_context() -> None:
    result = await ah.minimize(
        cpu_objective,
        Quad,
        trials=4,
        concurrency=2,
        executor=ProcessExecutor(max_workers=1),
        suggester=ah.Random(),
        seed=0,
    )
    assert len(result.completed) == 4
    for trial in result.trials:
        assert trial.value == loss(trial.config)
        assert trial.user_attrs["number_seen"] == trial.number
        assert trial.user_attrs["pid"] != os.getpid()


@pytest.mark.parametrize("size", [10, 4 * SMALL_OBJECTIVE_BYTES])
async def test_data_bound_to_a_process_objective_reaches_each_worker_once(size: int) -> None:
    # Pickled for the checks before the run (not for each trial); each worker is given
    # the pickle once, whether it travels with every request (small) or only when a
    # worker asks for it (large); each trial still loads its own copy from it, so the
    # semaphore an async objective makes on itself is never another event loop's.
    objective = BoundData(size)
    pickled = BOUND_PICKLED["count"]
    result = await ah.minimize(
        objective,
        Quad,
        trials=8,
        concurrency=2,
        executor=ProcessExecutor(max_workers=2),
        suggester=ah.Random(),
        seed=0,
        progress=False,
    )
    assert [t.error for t in result.trials] == [None] * 8
    assert BOUND_PICKLED["count"] - pickled <= 2
    for trial in result.trials:
        assert trial.value == loss(trial.config)
        assert trial.user_attrs["payloads_in_worker"] == 1


async def test_a_new_run_sends_the_objective_as_it_is_now() -> None:
    # Workers outlive a run (same event loop): the next run's objective, changed in
    # between, replaces what they hold; also after a run refused before its first trial.
    executor = ProcessExecutor(max_workers=1)
    objective = BoundData(4 * SMALL_OBJECTIVE_BYTES)
    first = await ah.minimize(
        objective, Quad, trials=2, executor=executor, suggester=ah.Random(), progress=False
    )
    objective.scale = 3.0
    with pytest.raises(ah.AsynchyperError):  # refused after the executor's check
        await ah.minimize(
            objective, Quad, trials=2, executor=executor, progress=False, enqueue=[{"x": 9.0}]
        )
    objective.scale = 2.0
    second = await ah.minimize(
        objective, Quad, trials=2, executor=executor, suggester=ah.Random(), progress=False
    )
    assert [t.value for t in first.trials] == [loss(t.config) for t in first.trials]
    assert [t.value for t in second.trials] == [2.0 * loss(t.config) for t in second.trials]
    assert first.trials[0].user_attrs["pid"] == second.trials[0].user_attrs["pid"]
    assert [t.user_attrs["payloads_in_worker"] for t in second.trials] == [2, 2]


async def test_runs_sharing_a_process_executor_share_its_worker_limit() -> None:
    # The first run to end used to reset the limiter under the other: a second worker.
    executor = ProcessExecutor(max_workers=1)
    results: list[ah.Result[Quad]] = []

    async def run(trials: int) -> None:
        results.append(
            await ah.minimize(
                BoundData(10),
                Quad,
                trials=trials,
                concurrency=2,
                executor=executor,
                suggester=ah.Random(),
                progress=False,
            )
        )

    async with anyio.create_task_group() as group:
        group.start_soon(run, 2)
        group.start_soon(run, 8)
    pids = {t.user_attrs["pid"] for result in results for t in result.trials}
    assert len(pids) == 1


@pytest.mark.parametrize("size", [10, 4 * SMALL_OBJECTIVE_BYTES])
async def test_an_objective_that_cannot_be_loaded_in_the_worker_says_so(size: int) -> None:
    # Loaded by asynchyper in the worker (not by anyio with the request): the same
    # error as before, naming the trial and what the loading raised.
    with pytest.raises(ah.ExecutorError) as caught:
        await ah.minimize(
            LoadsBadly(size),
            Quad,
            trials=2,
            executor=ProcessExecutor(max_workers=1),
            suggester=ah.Random(),
            progress=False,
        )
    message = str(caught.value)
    assert "cannot send trial 0 to a worker process" in message
    assert "RuntimeError: this objective cannot be loaded here" in message


def test_the_objective_cache_keeps_the_recent_pickles_while_in_use() -> None:
    now = [0.0]
    cache = ObjectiveCache(size=2, idle=60.0, clock=lambda: now[0])
    cache.add("a", b"A")
    cache.add("b", b"B")
    cache.release("b")
    assert cache.acquire("a") == b"A"  # now "b" is the least recently used
    cache.add("c", b"C")
    assert ("a" in cache, "b" in cache, "c" in cache) == (True, False, True)
    assert cache.acquire("b") is None
    assert cache.stored == 3
    cache.add("c", b"C")  # already held: not stored again
    assert (cache.stored, len(cache)) == (3, 2)
    for _ in range(2):
        cache.release("c")
    now[0] = 59.0
    cache.expire()
    assert "c" in cache
    now[0] = 60.0
    cache.expire()
    assert "c" not in cache
    now[0] = 500.0
    cache.expire()
    assert "a" in cache  # a trial that started long ago still runs with it
    cache.release("a")
    cache.release("a")
    now[0] = 559.0
    cache.expire()
    assert "a" in cache  # idle since its last trial ended, not since it started
    now[0] = 560.0
    cache.expire()
    assert len(cache) == 0


def test_the_study_keeps_one_pickle_per_run_using_the_executor() -> None:
    shipments = Shipments(lambda objective: repr(objective).encode())

    class Holder:
        def method(self, config: object) -> float:
            return 0.0

    holder = Holder()
    first = shipments.fresh(holder.method)
    assert shipments.get(holder.method) is first  # a new bound method, the same parts
    second = shipments.fresh(holder.method)  # a new run: pickled anew
    assert second.token != first.token
    other = shipments.fresh(loss, keep=2)  # a second run at once
    assert (shipments.get(holder.method, keep=2), shipments.get(loss, keep=2)) == (second, other)
    shipments.fresh(cpu_objective, keep=2)  # a third: the oldest goes
    assert shipments.get(loss, keep=2) is other
    assert shipments.get(holder.method, keep=2).token not in {first.token, second.token}


async def test_process_failures_keep_the_worker_traceback_and_attrs() -> None:
    result = await ah.minimize(
        failing_process_objective,
        Quad,
        trials=1,
        max_failures=1,
        executor=ProcessExecutor(max_workers=1),
        suggester=ah.Random(),
    )
    (trial,) = result.trials
    assert trial.state is ah.TrialState.FAILED
    error = trial.error or ""
    assert "ValueError: bad x" in error
    assert "failing_process_objective" in error  # the frame inside the worker
    assert trial.user_attrs == {"before_failure": True}


async def test_process_worker_is_killed_at_trial_timeout() -> None:
    started = time.perf_counter()
    result = await ah.minimize(
        hanging_process_objective,
        Quad,
        trials=1,
        max_failures=1,
        trial_timeout=0.5,
        executor=ProcessExecutor(max_workers=1),
        suggester=ah.Random(),
    )
    assert time.perf_counter() - started < 15.0
    assert result.trials[0].state is ah.TrialState.FAILED
    assert "trial_timeout=0.5 s and its worker process was killed" in (result.trials[0].error or "")


async def test_unpicklable_objective_fails_before_any_trial() -> None:
    storage = ah.MemoryStorage()
    with pytest.raises(ah.ExecutorError, match="module-level function"):
        await ah.minimize(
            lambda config: loss(config) + 1.0,
            Quad,
            trials=2,
            storage=storage,
            executor="process",
            suggester=ah.Random(),
        )
    assert await storage.list_studies() == []  # refused before the study was created


async def test_optimize_checks_the_objective_before_any_trial_too() -> None:
    async with ah.open_study(Quad, suggester=ah.Random()) as study:
        with pytest.raises(ah.ExecutorError, match="module-level function"):
            await study.optimize(lambda config: loss(config) + 1.0, trials=2, executor="process")
        assert await study.trials() == []


async def test_unpicklable_space_class_fails_before_any_trial() -> None:
    @attrs.frozen
    class Local:
        x: float = 0.0

    with pytest.raises(ah.ExecutorError, match="space class"):
        ProcessExecutor().check(cpu_objective, config=Local())


async def test_an_exception_that_cannot_be_unpickled_keeps_its_type_and_message() -> None:
    result = await ah.minimize(
        two_arg_error_objective,
        Quad,
        trials=1,
        max_failures=1,
        executor=ProcessExecutor(max_workers=1),
        suggester=ah.Random(),
    )
    error = result.trials[0].error or ""
    assert "TwoArgError: 42: disk quota at x=" in error
    assert "two_arg_error_objective" in error  # the worker's traceback
    assert "ModuleNotFoundError" not in error


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_an_exception_class_defined_in_the_main_script_is_reported(backend: str) -> None:
    done = run_script([str(HERE / "process_main_script.py"), backend])
    assert done.returncode == 0, done.stderr
    assert "DivergedError: loss diverged at x=" in done.stdout
    assert "in objective" in done.stdout  # the worker's frame
    assert "__mp_main__" not in done.stdout


async def test_an_objective_writing_to_stdout_in_a_worker_completes() -> None:
    # The worker answers on its stdout: a subprocess or a C library printing there
    # corrupted the answer, and every trial failed as if its worker had died.
    result = await ah.minimize(
        noisy_objective,
        Quad,
        trials=3,
        max_failures=1,
        executor=ProcessExecutor(max_workers=1),
        suggester=ah.Random(),
    )
    assert [t.state for t in result.trials] == [ah.TrialState.COMPLETE] * 3


async def test_a_subprocess_reading_stdin_in_a_worker_does_not_eat_the_next_trial() -> None:
    # The worker reads its next trial on its stdin; a background subprocess inherited
    # it, ate the request, and the study waited forever.
    with anyio.fail_after(60):
        result = await ah.minimize(
            stdin_reader_objective,
            Quad,
            trials=4,
            max_failures=1,
            executor=ProcessExecutor(max_workers=1),
            suggester=ah.Random(),
        )
    assert [t.state for t in result.trials] == [ah.TrialState.COMPLETE] * 4


@pytest.mark.skipif(not Path("/proc/self/fd/2").exists(), reason="needs /proc (Linux)")
async def test_prints_warnings_and_logs_of_a_worker_reach_the_study_stderr(
    capfd: pytest.CaptureFixture[str],
) -> None:
    # anyio points a worker's sys.stdout at /dev/null: all of it used to vanish.
    result = await ah.minimize(
        printing_objective,
        Quad,
        trials=1,
        max_failures=1,
        executor=ProcessExecutor(max_workers=1),
        suggester=ah.Random(),
    )
    assert [t.state for t in result.trials] == [ah.TrialState.COMPLETE]
    _, err = capfd.readouterr()
    for text in (
        "a print from the objective",
        "a print to sys.stderr",
        "a warning from the objective",
        "a log record from the objective",
    ):
        assert text in err


class BadRepr:
    """A return value whose repr raises (a closed resource's handle, say)."""

    def __repr__(self) -> str:
        msg = "repr of a detached handle"
        raise RuntimeError(msg)


async def test_a_returned_value_whose_repr_raises_fails_only_its_trial() -> None:
    def objective(config: Quad) -> Any:
        return BadRepr()

    result = await ah.minimize(
        objective, Quad, trials=2, max_failures=2, executor="thread", suggester=ah.Random()
    )
    assert result.stop_reason == "max_failures"
    for trial in result.trials:
        assert "<BadRepr object; its repr raised RuntimeError>" in (trial.error or "")


async def test_an_objective_writing_much_to_stderr_in_a_worker_does_not_hang() -> None:
    # A worker's stderr was a pipe nobody read: after 64-192 KiB a write blocked forever.
    result = await ah.minimize(
        stderr_flood_objective,
        Quad,
        trials=3,
        max_failures=1,
        trial_timeout=30,
        executor=ProcessExecutor(max_workers=1),
        suggester=ah.Random(),
    )
    assert [t.state for t in result.trials] == [ah.TrialState.COMPLETE] * 3


async def test_max_workers_still_caps_threads_after_a_trial_timeout() -> None:
    # A timed-out thread runs on (it cannot be stopped): it must keep its place, or
    # max_workers=1 (one GPU) has two trainings at once. asyncio let the next one in.
    lock = threading.Lock()
    running = peak = 0
    second_started = threading.Event()

    def objective(config: Quad) -> float:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        try:
            if current_trial().number == 0:
                second_started.wait(3.0)  # runs past its trial_timeout
            else:
                second_started.set()
        finally:
            with lock:
                running -= 1
        return loss(config)

    result = await ah.minimize(
        objective,
        Quad,
        trials=2,
        concurrency=2,
        trial_timeout=1.0,
        executor=ThreadExecutor(max_workers=1),
        suggester=ah.Random(),
    )
    assert peak == 1
    assert result.trials[0].state is ah.TrialState.FAILED
    assert "exceeded trial_timeout" in (result.trials[0].error or "")
    # Not "cancelled": the thread runs on (it said so although it was only abandoned).
    assert "was abandoned: a thread cannot be stopped" in (result.trials[0].error or "")
    assert len(result.completed) == 2


def test_a_thread_abandoned_by_a_finished_run_lets_the_interpreter_exit() -> None:
    # The abandoned thread frees its max_workers place when its function returns; by
    # then the run has ended and its event loop stopped, but is still open (a test
    # runner's, an application's). Waiting for that loop hung the exit forever.
    script = textwrap.dedent(
        """
        import asyncio, time
        import asynchyper as ah
        from scheduler_helpers import Quad, loss

        def objective(config):
            time.sleep(1.0)  # past trial_timeout, and past the end of the run
            return loss(config)

        async def main():
            result = await ah.minimize(
                objective, Quad, trials=1, trial_timeout=0.1, max_failures=1,
                executor=ah.ThreadExecutor(max_workers=1), progress=False)
            print("run ended:", result.stop_reason)

        asyncio.new_event_loop().run_until_complete(main())  # the loop stays open
        """
    )
    done = run_script(["-"], stdin=script)  # raises TimeoutExpired if the exit hangs
    assert done.returncode == 0, done.stderr
    assert "run ended: max_failures" in done.stdout


async def test_an_unpicklable_return_value_fails_only_its_trial() -> None:
    result = await ah.minimize(
        unpicklable_return_objective,
        Quad,
        trials=2,
        max_failures=2,
        executor=ProcessExecutor(max_workers=1),
        suggester=ah.Random(),
    )
    assert result.stop_reason == "max_failures"
    assert [t.state for t in result.trials] == [ah.TrialState.FAILED] * 2
    error = result.trials[0].error or ""
    assert error.startswith("objective returned lock <unlocked _thread.lock")  # as in threads
    assert "float or asynchyper.Evaluation" in error
    assert "cannot be pickled back" in error


def test_an_objective_in_a_main_module_without_a_file_fails_before_any_trial() -> None:
    script = textwrap.dedent(
        """
        import anyio
        import asynchyper as ah
        from scheduler_helpers import Quad, loss

        def objective(config):
            return loss(config)

        async def main():
            storage = ah.MemoryStorage()
            try:
                await ah.minimize(objective, Quad, trials=2, storage=storage,
                                  executor="process", progress=False)
            except ah.ExecutorError as exc:
                print("ExecutorError:", exc)
            print("studies:", len(await storage.list_studies()))

        anyio.run(main)
        """
    )
    done = run_script(["-"], stdin=script)
    assert done.returncode == 0, done.stderr
    assert "ExecutorError:" in done.stdout
    assert "__main__" in done.stdout
    assert "studies: 0" in done.stdout  # refused before the study was created


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_main_script_failing_in_the_workers_stops_the_run_with_the_fix(
    backend: str, tmp_path: Path
) -> None:
    # Each worker runs the main script: one that reads its arguments at module level
    # fails there. That is no trial's failure (every trial would fail the same way).
    script = tmp_path / "tune.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            import anyio
            import asynchyper as ah
            from scheduler_helpers import Quad, cpu_objective

            BACKEND = sys.argv[1]  # a worker process has no such argument

            async def main():
                storage = ah.MemoryStorage()
                try:
                    await ah.minimize(cpu_objective, Quad, trials=3, storage=storage,
                                      executor="process", progress=False)
                except ah.ExecutorError as exc:
                    print("ExecutorError:", exc)
                study = await storage.get_study("Quad")
                print("trials:", len(await storage.trials(study.id)))

            if __name__ == "__main__":
                anyio.run(main, backend=BACKEND)
            """
        )
    )
    done = run_script([str(script), backend])
    assert done.returncode == 0, done.stderr
    assert "ExecutorError:" in done.stdout
    assert "IndexError: list index out of range" in done.stdout
    assert str(script) in done.stdout
    assert 'if __name__ == "__main__":' in done.stdout
    assert "trials: 1" in done.stdout


def test_a_main_module_run_with_python_m_and_relative_imports_gets_the_fix(
    tmp_path: Path,
) -> None:
    # Workers run the main module by path, outside its package: `from . import x` fails
    # there, although the script has its guard. The message says so, not "add a guard".
    package = tmp_path / "tuning"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "objectives.py").write_text(
        "from scheduler_helpers import cpu_objective as objective\n"
    )
    (package / "run.py").write_text(
        textwrap.dedent(
            """
            import anyio
            import asynchyper as ah
            from scheduler_helpers import Quad
            from .objectives import objective

            async def main():
                try:
                    await ah.minimize(objective, Quad, trials=2, executor="process",
                                      progress=False)
                except ah.ExecutorError as exc:
                    print("ExecutorError:", exc)

            if __name__ == "__main__":
                anyio.run(main)
            """
        )
    )
    done = run_script(["-m", "tuning.run"], path=[str(tmp_path)])
    assert done.returncode == 0, done.stderr
    assert "relative imports fail" in done.stdout
    assert "`python -m tuning.run` is fine if that module imports absolutely" in done.stdout
    assert "if __name__" not in done.stdout


@pytest.mark.parametrize(
    ("backend", "way", "kind"),
    [
        ("asyncio", "thread", "generator_exit"),
        ("trio", "thread", "generator_exit"),
        ("asyncio", "thread", "custom"),
        ("trio", "thread", "custom"),
        ("asyncio", "executor", "generator_exit"),
    ],
)
def test_a_base_exception_from_an_objective_fails_its_trial_and_stops_the_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, backend: str, way: str, kind: str
) -> None:
    # On asyncio a GeneratorExit handed back from a thread is thrown into the waiting
    # task, which closes every coroutine on its await chain: the cleanup's storage write
    # was left at the head of the write queue and every later write waited forever.
    # Other BaseExceptions were recorded as "the study was cancelled".
    monkeypatch.setenv("ASYNCHYPER_TEST_BASE_KIND", kind)
    done = run_script([str(HERE / "base_exception_script.py"), backend, way,
                       str(tmp_path / "base.db")])  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    raised = "GeneratorExit" if kind == "generator_exit" else "Stop"
    assert lines[0] == f"raised {raised}"
    assert not [line for line in lines if "RUNNING" in line]
    if way == "thread":  # the trial that raised it failed, with what it raised
        assert lines[1].startswith(f"trial 0 FAILED {raised}")
    assert all(line.split()[2] in ("FAILED", "CANCELLED") for line in lines[1:])


def test_the_main_module_check_names_a_space_class_defined_there() -> None:
    script = textwrap.dedent(
        """
        from typing import Annotated
        import attrs
        import asynchyper as ah
        from scheduler_helpers import cpu_objective

        @attrs.frozen
        class Here:
            x: Annotated[float, ah.Float(0.0, 1.0)]

        try:
            ah.ProcessExecutor().check(cpu_objective, config=Here(x=0.5))
        except ah.ExecutorError as exc:
            print("ExecutorError:", exc)
        """
    )
    done = run_script(["-c", script])
    assert done.returncode == 0, done.stderr
    assert "ExecutorError:" in done.stdout
    assert "Here" in done.stdout


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize("executor", ["thread", "process"])
@pytest.mark.parametrize("kind", ["exit", "interrupt"])
def test_sys_exit_or_an_interrupt_in_the_objective_ends_the_program(
    backend: str, executor: str, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On asyncio the exception left the event loop from the trial's task, half shut
    # down: the program printed it, then hung at exit (or raised CancelledError).
    monkeypatch.setenv("ASYNCHYPER_TEST_EXIT_KIND", kind)
    done = run_script([str(HERE / "exit_script.py"), backend, executor])
    if kind == "exit":
        assert done.returncode == 4, done.stderr
    else:
        assert done.returncode != 0
        assert done.stderr.rstrip().endswith("KeyboardInterrupt"), done.stderr


class _BrokenMachinery(ah.Executor):
    """Runs trial 0, then fails as an executor whose workers went away."""

    async def run(self, objective: Any, config: Any, context: Any) -> Any:
        if context.number == 0:
            return 1.0
        msg = "the workers went away"
        raise ah.ExecutorError(msg)


async def test_an_executor_failure_stops_the_run_and_passes_no_verdict_on_the_trial() -> None:
    # The objective did not fail: recording FAILED would steer the suggester away from
    # parameters it never judged.
    storage = ah.MemoryStorage()
    with pytest.raises(ah.ExecutorError, match="the workers went away"):
        await ah.minimize(
            loss_of_quad, Quad, trials=3, storage=storage, executor=_BrokenMachinery()
        )
    study = await storage.get_study("Quad")
    trials = await storage.trials(study.id)
    assert [t.state for t in trials] == [ah.TrialState.COMPLETE, ah.TrialState.CANCELLED]
    assert "ExecutorError('the workers went away')" in (trials[1].error or "")


async def loss_of_quad(config: Quad) -> float:
    return 1.0


def nested_study_failing(config: Quad) -> float:
    """Raises what a nested study (or any asynchyper call inside the objective) may."""
    if ah.current_trial().number == 0:
        msg = "a nested study's executor failed"
        raise ah.ExecutorError(msg)
    return 1.0


@pytest.mark.parametrize("executor", ["thread", "process"])
async def test_an_executor_error_raised_by_the_objective_fails_only_its_trial(
    executor: str,
) -> None:
    # It stopped the whole run, as if this study's own executor had failed.
    result = await ah.minimize(
        nested_study_failing,
        Quad,
        trials=2,
        executor=executor,  # type: ignore[arg-type]
        suggester=ah.Random(),
        progress=False,
    )
    assert result.trials[0].state is ah.TrialState.FAILED
    assert "a nested study's executor failed" in (result.trials[0].error or "")
    assert len(result.completed) == 2
