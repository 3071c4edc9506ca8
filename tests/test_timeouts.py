"""The suite's per-test timeout (pytest-timeout): a hung test must not stall CI."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

ROOT = Path(__file__).resolve().parents[1]
HANG = "ASYNCHYPER_TEST_HANG"


@pytest.mark.skipif(not os.environ.get(HANG), reason="run by the test below only")
@pytest.mark.anyio
async def test_hangs() -> None:
    await anyio.sleep(math.inf)


def test_the_suite_sets_a_timeout(pytestconfig: pytest.Config) -> None:
    assert 0 < float(pytestconfig.getini("timeout")) <= 300


def test_a_hung_test_fails_on_both_backends() -> None:
    # asyncio: the test fails and the run goes on; trio: the run ends with the stacks.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-o",
            "timeout=2",
            "-v",
            f"{Path(__file__).name}::test_hangs",
        ],
        cwd=Path(__file__).parent,
        env={**os.environ, HANG: "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "test_hangs[asyncio] FAILED" in output, output
    trio = output.split("test_hangs[trio]", 1)[-1]
    assert "Timeout" in trio, output
    assert "Stack of" in trio, output
