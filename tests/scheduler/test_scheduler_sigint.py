"""Ctrl-C (SIGINT) on a running study: trials are marked CANCELLED, the process exits."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import anyio
import pytest
from anyio.abc import ByteReceiveStream
from scheduler_helpers import Quad

import asynchyper as ah

SCRIPT = Path(__file__).with_name("sigint_script.py")


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
