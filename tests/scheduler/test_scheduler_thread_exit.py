"""Thread executor: an abandoned objective thread does not hold the process at exit."""

from __future__ import annotations

import contextvars
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import anyio
import anyio.from_thread
import anyio.lowlevel
import pytest
from scheduler_helpers import Quad, loss

import asynchyper as ah
from asynchyper._backend import on_asyncio

pytestmark = pytest.mark.anyio

HERE = Path(__file__).parent

#: Runs a study whose trial 0 sleeps ``HANG`` seconds in a plain ``def`` (a hung C
#: call, say), with the study options given as ``python - BACKEND HANG OPTIONS``.
HANGING_STUDY = textwrap.dedent(
    """
    import sys, time
    import anyio
    import asynchyper as ah
    from scheduler_helpers import Quad, loss

    BACKEND, HANG, OPTIONS = sys.argv[1], float(sys.argv[2]), eval(sys.argv[3])

    def objective(config):
        if ah.current_trial().number == 0:
            time.sleep(HANG)
        return loss(config)

    async def main():
        result = await ah.minimize(objective, Quad, suggester=ah.Random(), progress=False,
                                   executor="thread", **OPTIONS)
        print("run ended:", result.stop_reason, [t.state.name for t in result.trials],
              flush=True)

    anyio.run(main, backend=BACKEND)
    """
)


def run_script(script: str, *arguments: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``script`` in a Python child process in this directory; with its wall time."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-", *arguments],
            input=script,
            capture_output=True,
            text=True,
            cwd=HERE,
            env=env,
            timeout=45,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the child process did not exit within 45 s; stderr: {exc.stderr!r}")
    return done, time.monotonic() - started


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize(
    ("options", "ended"),
    [
        # trial_timeout: trial 0 fails, its thread is abandoned, trial 1 replaces it.
        (
            "dict(trials=1, trial_timeout=0.5, max_failures=2)",
            "run ended: budget ['FAILED', 'COMPLETE']",
        ),
        # The run's timeout cancels the running trial: its thread is abandoned too.
        ("dict(trials=1, timeout=0.5)", "run ended: timeout ['CANCELLED']"),
    ],
    ids=["trial_timeout", "cancelled"],
)
def test_an_abandoned_thread_does_not_keep_the_process_alive(
    backend: str, options: str, ended: str
) -> None:
    # On asyncio the run returned at once, then the interpreter waited at exit for the
    # abandoned call to return (anyio's worker threads are not daemon threads): 60 s.
    done, seconds = run_script(HANGING_STUDY, backend, "60", options)
    assert done.returncode == 0, done.stderr
    assert ended in done.stdout
    assert seconds < 20, f"the process took {seconds:.1f} s to exit"
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_an_abandoned_thread_returning_after_its_event_loop_closed_is_quiet(
    backend: str,
) -> None:
    # The call returns 1 s after the run ended and its event loop was closed: it can no
    # longer tell that loop (which has nothing left to do); no error is printed.
    script = HANGING_STUDY + "time.sleep(2.5)\nprint('exiting', flush=True)\n"
    done, _ = run_script(
        script, backend, "1.5", "dict(trials=1, trial_timeout=0.5, max_failures=1)"
    )
    assert done.returncode == 0, done.stderr
    assert "run ended: max_failures ['FAILED']" in done.stdout
    assert "exiting" in done.stdout
    assert "Traceback" not in done.stderr
    assert "Exception" not in done.stderr


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_runs_thread_trials() -> None:
    # Objective threads are reused: a child forked after a run must not hand its trials
    # to the parent's idle threads, which do not exist in the child.
    script = textwrap.dedent(
        """
        import os
        import anyio
        import asynchyper as ah
        from scheduler_helpers import Quad, loss

        def objective(config):
            return loss(config)

        async def main():
            with anyio.fail_after(20):
                result = await ah.minimize(objective, Quad, trials=4, concurrency=2,
                                           suggester=ah.Random(), progress=False)
            return len(result.completed)

        print("parent:", anyio.run(main), flush=True)
        pid = os.fork()
        if pid == 0:
            try:
                print("child:", anyio.run(main), flush=True)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        """
    )
    done, _ = run_script(script)
    assert done.returncode == 0, done.stderr
    assert "parent: 4" in done.stdout
    assert "child: 4" in done.stdout, done.stderr


async def test_objective_threads_are_daemon_threads() -> None:
    seen: list[bool] = []

    def objective(config: Quad) -> float:
        seen.append(threading.current_thread().daemon)
        return loss(config)

    await ah.minimize(objective, Quad, trials=4, concurrency=2, suggester=ah.Random())
    assert seen == [True] * 4


_where = contextvars.ContextVar("where", default="unset")


async def test_a_thread_objective_sees_context_vars_and_may_run_its_own_event_loop() -> None:
    # As with anyio's and trio's threads: the caller's context variables come along,
    # but not the marker of the caller's event loop (anyio.run would refuse to start).
    async def inner() -> str:
        await anyio.lowlevel.checkpoint()
        return "inner loop ran"

    def objective(config: Quad) -> float:
        trial = ah.current_trial()
        trial.set_attr("where", _where.get())
        trial.set_attr("inner", anyio.run(inner))
        return loss(config)

    _where.set("the caller's")
    result = await ah.minimize(objective, Quad, trials=2, suggester=ah.Random())
    for trial in result.trials:
        assert trial.user_attrs == {"where": "the caller's", "inner": "inner loop ran"}


async def test_a_thread_objective_may_call_back_into_the_event_loop() -> None:
    # As in the threads of anyio.to_thread.run_sync: no token needed.
    loop_thread = threading.get_ident()

    def objective(config: Quad) -> float:
        ah.current_trial().set_attr("on_loop", anyio.from_thread.run_sync(threading.get_ident))
        return loss(config)

    result = await ah.minimize(objective, Quad, trials=2, suggester=ah.Random())
    assert [t.user_attrs for t in result.trials] == [{"on_loop": loop_thread}] * 2


async def test_a_thread_objective_can_check_for_its_cancellation() -> None:
    # anyio.from_thread.check_cancelled() in a long loop lets a plain function end
    # when its trial times out, as in anyio's own worker threads.
    stopped: list[str] = []
    done = threading.Event()

    def objective(config: Quad) -> float:
        deadline = time.monotonic() + 10.0
        try:
            while time.monotonic() < deadline:
                anyio.from_thread.check_cancelled()
                time.sleep(0.01)
        except BaseException as exc:
            stopped.append(type(exc).__name__)
            raise
        finally:
            done.set()
        return loss(config)

    start = time.monotonic()
    result = await ah.minimize(
        objective, Quad, trials=1, trial_timeout=0.2, max_failures=1, suggester=ah.Random()
    )
    assert result.stop_reason == "max_failures"
    assert await anyio.to_thread.run_sync(done.wait, 5.0)
    assert time.monotonic() - start < 5.0
    assert stopped in (["CancelledError"], ["Cancelled"])


async def test_each_slot_keeps_its_thread_and_none_outlives_the_run() -> None:
    # The loop heard of a finished call before its thread was idle again, so the next
    # trial started one more thread (7 threads for concurrency 4); idle threads then
    # outlived the run by 10 s (a fork() on Python >= 3.12 warns of them).
    seen: set[int] = set()

    def objective(config: Quad) -> float:
        seen.add(threading.get_ident())
        return loss(config)

    await ah.minimize(objective, Quad, trials=200, concurrency=4, suggester=ah.Random())
    if on_asyncio():  # on trio, trio's own thread cache runs them (5 threads here)
        assert 1 <= len(seen) <= 4
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and any(  # noqa: ASYNC110 - polls threads ending
        t.name == "asynchyper objective thread" for t in threading.enumerate()
    ):
        await anyio.sleep(0.01)
    assert not [t for t in threading.enumerate() if t.name == "asynchyper objective thread"]
