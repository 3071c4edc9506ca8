"""Ctrl-C (SIGINT) on a running study: trials are marked CANCELLED, the process exits.

And a study process killed outright (SIGKILL) leaves no worker process running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
from anyio.abc import ByteReceiveStream
from scheduler_helpers import Quad

import asynchyper as ah

SCRIPT = Path(__file__).with_name("sigint_script.py")
ORPHAN_SCRIPT = Path(__file__).with_name("orphan_script.py")
RUN_UNTIL_COMPLETE_SCRIPT = Path(__file__).with_name("run_until_complete_script.py")


@pytest.fixture
def anyio_backend() -> str:
    """The parent runs on asyncio; the child process runs on the backend under test."""
    return "asyncio"


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.anyio
async def test_sigint_cancels_running_trials_and_exits(backend: str, tmp_path: Path) -> None:
    path = str(tmp_path / "study.db")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    async with await anyio.open_process(
        [sys.executable, str(SCRIPT), path, backend], env=env, cwd=SCRIPT.parent
    ) as process:
        assert isinstance(process.stdout, ByteReceiveStream)
        with anyio.fail_after(30):
            output = b""
            while b"running" not in output:
                output += await process.stdout.receive()
            await anyio.sleep(0.2)
            process.send_signal(signal.SIGINT)
            code = await process.wait()
            async for chunk in process.stdout:
                output += chunk
    assert b"KeyboardInterrupt" in output
    assert code == 3
    async with ah.open_study(Quad, storage=path) as study:
        trials = await study.trials()
    assert len(trials) == 4
    assert all(t.state is ah.TrialState.CANCELLED for t in trials)


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
def test_sigint_cancels_a_run_driven_by_run_until_complete(tmp_path: Path) -> None:
    path = str(tmp_path / "study.db")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, str(RUN_UNTIL_COMPLETE_SCRIPT), path],
        env=env,
        cwd=RUN_UNTIL_COMPLETE_SCRIPT.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "KeyboardInterrupt", done.stdout
    # The three running trials were cancelled, and none started after the interrupt.
    assert lines[1] == "states cancelled cancelled cancelled", done.stdout


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel (a zombie counts as running)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="sends SIGKILL")
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_worker_processes_exit_when_the_study_process_is_killed(
    backend: str, tmp_path: Path
) -> None:
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "ASYNCHYPER_TEST_PID_DIR": str(pid_dir),
    }
    command = [sys.executable, str(ORPHAN_SCRIPT), str(tmp_path / "study.db"), backend]
    study = subprocess.Popen(command, env=env, cwd=ORPHAN_SCRIPT.parent)
    try:
        deadline = time.monotonic() + 60
        while len(list(pid_dir.glob("*.pid"))) < 2 and time.monotonic() < deadline:
            assert study.poll() is None, "the study process ended on its own"
            time.sleep(0.05)
    finally:
        study.kill()  # SIGKILL: the study cannot stop its workers
        study.wait()
    workers = [int(path.stem) for path in pid_dir.glob("*.pid")]
    assert len(workers) == 2
    deadline = time.monotonic() + 30
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in workers if _running(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, "worker processes ran on (for an hour) after their study process died"
