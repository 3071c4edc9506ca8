"""The message for a main module that fails in process workers says each thing once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

import asynchyper as ah
from asynchyper._executor._process import _main_module_error

HERE = Path(__file__).parent
GUARD = 'if __name__ == "__main__":'


def test_a_main_script_without_a_guard_gets_the_fix_once(tmp_path: Path) -> None:
    # Each worker runs the script; unguarded, it starts a study in the worker, whose
    # own failure message was quoted whole: "...the main script the main module ...
    # Put the code ... Put the code ...".
    script = tmp_path / "unguarded.py"
    script.write_text(
        textwrap.dedent(
            """
            import anyio
            import asynchyper as ah
            from scheduler_helpers import Quad, cpu_objective

            async def main():
                await ah.minimize(cpu_objective, Quad, trials=1, executor="process",
                                  progress=False)

            anyio.run(main)  # no guard: runs again in every worker, and fails there
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        cwd=HERE,
        env=env,
        timeout=120,
        check=False,
    )
    # The error raised last (asyncio may log its subprocess clean-up after it; the
    # worker's own error is printed before it, as its cause).
    raised = "asynchyper._errors.ExecutorError: "
    lines = [line for line in done.stderr.splitlines() if line.startswith(raised)]
    assert lines, done.stderr
    line = lines[-1]
    assert f"runs the main script {script} to load the objective" in line
    assert "started a study of its own" in line
    assert line.count("cannot start a worker process") == 1
    assert line.count(GUARD) == 1
    assert "the main module" not in line


def test_a_main_module_without_a_file_is_named_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    message = str(_main_module_error(KeyError("__main__")))
    assert "each worker runs the main module to load the objective" in message
    assert "the main script" not in message


def test_a_failure_that_gives_the_guard_itself_is_not_advised_twice(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    main = types.ModuleType("__main__")
    main.__file__ = str(tmp_path / "tune.py")
    monkeypatch.setitem(sys.modules, "__main__", main)
    failure = RuntimeError(
        "An attempt has been made to start a new process before the current process has "
        "finished its bootstrapping phase. ... use the proper idiom in the main module:\n"
        "    if __name__ == '__main__':\n        freeze_support()"
    )
    message = str(_main_module_error(failure))
    assert isinstance(_main_module_error(failure), ah.ExecutorError)
    assert message.count("__name__ ==") == 1
    assert "Follow that advice, or move the objective" in message
    # any other failure still gets the guard as its fix
    other = str(_main_module_error(IndexError("list index out of range")))
    assert other.count(GUARD) == 1
