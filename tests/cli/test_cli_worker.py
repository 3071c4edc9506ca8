"""`asynchyper worker`, in-process and as several processes sharing one study."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
from cli_helpers import Demo, read_trials

import asynchyper as ah
from asynchyper.__main__ import main

HERE = Path(__file__).parent


def worker_argv(path: Path, *extra: str) -> list[str]:
    return [
        "worker",
        "--storage",
        str(path),
        "--study",
        "w",
        "--objective",
        "cli_helpers:worker_objective",
        "--suggester",
        "random",
        *extra,
    ]


def test_worker_runs_the_total_budget(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "w.db"
    assert main(worker_argv(path, "--trials", "8", "--concurrency", "4", "--seed", "1")) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert "the study holds 8 completed trial(s); this worker finished: 8 complete" in out
    # the budget is the study's total: a second worker with --trials 10 runs 2 more
    assert main(worker_argv(path, "--trials", "10", "--concurrency", "4")) == 0
    out, _ = capsys.readouterr()
    assert "the study holds 10 completed trial(s); this worker finished: 2 complete" in out
    trials = anyio.run(read_trials, path, "w")
    assert [t.state for t in trials] == [ah.TrialState.COMPLETE] * 10
    best = min(trials, key=lambda t: (t.value, t.number))
    assert f"best: trial {best.number}, value {best.value:.6g}" in out


def test_worker_recovers_a_lost_machines_trials_after_stale_after(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Another host's trials were judged by the fixed 60 s default: the survivors idled.
    path = tmp_path / "w.db"
    assert main(worker_argv(path, "--trials", "1")) == 0

    async def lose_a_machine() -> int:
        async with ah.SQLiteStorage(path) as storage:
            study = await storage.get_study("w")
            (first,) = await storage.trials(study.id)
            lost = await storage.start_trial(
                study.id, first.params, owner="elsewhere.example:4242:feedbeef"
            )
            assert lost is not None
            return lost.number

    number = anyio.run(lose_a_machine)
    argv = worker_argv(path, "--trials", "3", "--stale-after", "0.5", "--heartbeat-interval", "0.1")
    started = time.monotonic()
    assert main(argv) == 0
    assert time.monotonic() - started < 30  # not the 60 s default
    capsys.readouterr()
    trials = anyio.run(read_trials, path, "w")
    assert trials[number].state is ah.TrialState.FAILED
    assert sum(t.state is ah.TrialState.COMPLETE for t in trials) == 3
    assert main(worker_argv(path, "--stale-after", "-1")) == 2
    assert "must be a number of seconds > 0 or 'none'" in capsys.readouterr().err


def test_worker_space_option_and_direction(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "w.db"
    argv = worker_argv(path, "--trials", "3", "--space", "cli_helpers:Demo")
    assert main([*argv, "--direction", "maximize"]) == 0
    # joining without --direction uses the stored study's direction
    assert main(worker_argv(path, "--trials", "4")) == 0
    assert main(["show", "w", "--storage", str(path), "--json"]) == 0
    outputs = capsys.readouterr().out
    shown = json.loads(outputs[outputs.index("{") :])
    assert shown["direction"] == "maximize"
    assert shown["counts"]["complete"] == 4
    assert shown["space"] == ah.compile_space(Demo).describe()


def test_worker_direction_mismatch_gives_command_line_advice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "w.db"
    assert main(worker_argv(path, "--trials", "2")) == 0  # a minimizing study
    capsys.readouterr()
    assert main(worker_argv(path, "--trials", "4", "--direction", "maximize")) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "asynchyper: error: study 'w' was created with direction minimize; got --direction "
        "maximize. Drop --direction (a worker joins a study in its stored direction) or "
        "pass --direction minimize, or use another --study name\n"
    )
    assert len(anyio.run(read_trials, path, "w")) == 2  # nothing ran
    # the advice works
    assert main(worker_argv(path, "--trials", "3", "--direction", "minimize")) == 0
    assert main(worker_argv(path, "--trials", "4")) == 0
    assert len(anyio.run(read_trials, path, "w")) == 4


def test_worker_refuses_a_sqlite_url_with_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The query would have become part of the file name: a new file 'w.db?mode=ro'.
    monkeypatch.chdir(tmp_path)
    argv = ["worker", "--storage", "sqlite:///w.db?mode=ro", "--trials", "1"]
    assert main([*argv, "--objective", "cli_helpers:worker_objective"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "asynchyper: error: storage 'sqlite:///w.db?mode=ro' has a URL query ('?mode=ro'), "
        "but asynchyper's SQLite storage takes no URL options; use the plain path 'w.db' "
        "or 'sqlite:///w.db'\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_worker_without_budget_stops_at_timeout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "w.db"
    assert main(worker_argv(path, "--timeout", "0.5", "--concurrency", "2")) == 0
    out, _ = capsys.readouterr()
    assert "run ended (timeout)" in out


def test_worker_failing_objective(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "w.db"
    argv = [*worker_argv(path, "--trials", "5", "--max-failures", "3")]
    argv[argv.index("cli_helpers:worker_objective")] = "cli_helpers:failing_objective"
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert "run ended (max_failures)" in out
    assert len(err.splitlines()) == 1
    # the command the message points to shows the errors
    hint = err.split("`")[1]
    assert hint == "asynchyper trials w --state failed"
    assert main([*hint.split()[1:], "--storage", str(path)]) == 0
    out, _ = capsys.readouterr()
    header, *rows = out.splitlines()
    assert header.split()[-1] == "ERROR"
    assert len(rows) == 3
    assert all("  ValueError: cannot evaluate x=" in row for row in rows)


@pytest.mark.parametrize(
    ("objective", "expected"),
    [
        ("nowhere_at_all:objective", "no module named 'nowhere_at_all'"),
        ("cli_helpers:missing", "has no attribute 'missing'"),
        ("cli_helpers", "must look like package.module:name"),
        ("cli_helpers:STUDY", "is a str, not a function"),
        ("cli_helpers:unannotated", "has no annotation"),
        ("cli_helpers:loss_of_int", "not an attrs class"),
        (
            "cli_helpers:Demo",
            "names the class Demo, not an objective function; pass the function that "
            "takes the configuration and returns its score, e.g. --objective cli_helpers:loss",
        ),
        ("pathlib:Path", "names the class Path, not an objective function; pass the function"),
        ("broken_module:objective", "raised RuntimeError: broken on import"),
    ],
)
def test_bad_objective_is_one_line(
    objective: str,
    expected: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "broken_module.py").write_text("raise RuntimeError('broken on import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "w.db"
    argv = worker_argv(path, "--trials", "2")
    argv[argv.index("cli_helpers:worker_objective")] = objective
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert expected in err
    assert "Traceback" not in err
    assert not path.exists()  # nothing was created for a worker that could not start


def test_executor_that_cannot_run_the_objective_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "w.db"
    argv = worker_argv(path, "--trials", "2", "--executor", "thread")
    argv[argv.index("cli_helpers:worker_objective")] = "cli_helpers:demo_objective"  # async
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert "executor='thread'" in err
    assert not path.exists()  # as minimize(): refused before any file or study exists


def test_bad_space_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "w.db"
    assert main(worker_argv(path, "--trials", "2", "--space", "cli_helpers:loss")) == 1
    _, err = capsys.readouterr()
    assert err == "asynchyper: error: --space 'cli_helpers:loss' is not an attrs class\n"


def test_bad_storage_url_before_import(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["worker", "--storage", "bogus://x", "--objective", "nowhere:f"]
    assert main(argv) == 1
    _, err = capsys.readouterr()
    assert "unknown scheme" in err


# -- as separate processes -------------------------------------------------------------
def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path])}


def test_python_m_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "asynchyper", "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, f"asynchyper {ah.__version__}\n", "")


@pytest.mark.slow
def test_python_m_worker_runs_trials_in_processes(tmp_path: Path) -> None:
    # The workers run asynchyper/__main__.py by path: it must import absolutely.
    path = tmp_path / "procs.db"
    done = subprocess.run(
        [
            sys.executable, "-m", "asynchyper",
            *worker_argv(path, "--trials", "3", "--executor", "process", "--concurrency", "2"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=child_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    trials = anyio.run(read_trials, path, "w")
    assert [t.state for t in trials] == [ah.TrialState.COMPLETE] * 3


def script_or_module() -> list[str]:
    """The installed ``asynchyper`` script, else ``python -m asynchyper``."""
    script = Path(sys.executable).with_name("asynchyper")
    return [str(script)] if script.exists() else [sys.executable, "-m", "asynchyper"]


@pytest.mark.slow
def test_two_worker_processes_share_the_budget(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    argv = worker_argv(path, "--trials", "40", "--concurrency", "4")
    argv[argv.index("cli_helpers:worker_objective")] = "cli_helpers:barrier_objective"
    commands = [[sys.executable, "-m", "asynchyper", *argv], [*script_or_module(), *argv]]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "CLI_TEST_BARRIER": str(barrier)}
    children = [
        subprocess.Popen(
            command,
            cwd=HERE,  # the script (unlike python -m) must add the directory itself
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    outputs = [child.communicate(timeout=60) for child in children]
    for child, (out, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err
        assert "the study holds 40 completed trial(s)" in out
    trials = anyio.run(read_trials, path, "w")
    assert [t.state for t in trials] == [ah.TrialState.COMPLETE] * 40
    # both processes ran trials (the barrier objective waits for the second one)
    pids = {t.owner.split(":")[1] for t in trials if t.owner is not None}
    assert pids == {str(child.pid) for child in children}


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
def test_ctrl_c_cancels_running_trials_and_exits_130(tmp_path: Path) -> None:
    path = tmp_path / "sigint.db"
    argv = worker_argv(path, "--trials", "10", "--concurrency", "3")
    argv[argv.index("cli_helpers:worker_objective")] = "cli_helpers:sleepy_objective"
    child = subprocess.Popen(
        [sys.executable, "-m", "asynchyper", *argv],
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if (
                path.exists()
                and sum(t.state is ah.TrialState.RUNNING for t in _trials_or_empty(path)) == 3
            ):
                break
            time.sleep(0.1)
        else:
            pytest.fail("the worker never had 3 trials running")
        child.send_signal(signal.SIGINT)
        started = time.monotonic()
        _, err = child.communicate(timeout=20)
    finally:
        child.kill()
    # the objective threads sleep for 60 s: the process does not wait for them
    assert time.monotonic() - started < 10
    assert child.returncode == 130, err
    assert err == "asynchyper: error: interrupted; running trials were recorded as cancelled\n"
    trials = anyio.run(read_trials, path, "w")
    assert [t.state for t in trials] == [ah.TrialState.CANCELLED] * 3


def _trials_or_empty(path: Path) -> list[ah.TrialRecord]:
    try:
        return anyio.run(read_trials, path, "w")
    except ah.StorageError:  # the study is not created yet
        return []
