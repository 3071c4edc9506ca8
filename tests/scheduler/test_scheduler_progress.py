"""The progress display (progress=): when it shows, what it shows, and that it stops."""

from __future__ import annotations

import io
import logging
import random
import re
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from scheduler_helpers import Quad, loss

import asynchyper as ah
from asynchyper._executor import current_trial
from asynchyper._scheduler import _progress
from asynchyper._scheduler._progress import ProgressDisplay

try:
    from rich.live import _RefreshThread  # rich's refresher, to check that it stopped
except ImportError:  # the tests-minimal session has no rich: the plain display is tested
    _RefreshThread = None  # type: ignore[assignment,misc]

pytestmark = pytest.mark.anyio
requires_rich = pytest.mark.skipif(_RefreshThread is None, reason="needs asynchyper[progress]")

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SHOW_CURSOR = "\x1b[?25h"
HIDE_CURSOR = "\x1b[?25l"


class FakeTerminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


async def quad(config: Quad) -> float:
    await anyio.lowlevel.checkpoint()
    return loss(config)


async def sleepy(config: Quad) -> float:
    """Four quick trials, then trials that only a cancellation ends."""
    await anyio.sleep(0.02 if current_trial().number < 4 else 30)
    return loss(config)


def plain(text: str) -> str:
    return ANSI.sub("", text)


def progress_threads() -> list[threading.Thread]:
    """Display threads still alive: rich's refresher or the plain ticker."""
    return [
        t
        for t in threading.enumerate()
        if (_RefreshThread is not None and isinstance(t, _RefreshThread))
        or t.name == "asynchyper progress"
    ]


def best_text(result: ah.Result[Any]) -> str:
    best = result.best
    assert best.value is not None
    return f"best {best.value:.6g} (#{best.number})"


@pytest.fixture(autouse=True)
def terminal_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    """Terminals of known width and kind."""
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("TTY_INTERACTIVE", raising=False)


@contextmanager
def stderr_terminal() -> Iterator[FakeTerminal]:
    """``sys.stderr`` is a fake terminal; afterwards check that the display let go.

    Not a fixture: pytest's output capture replaces ``sys.stderr`` in each test phase.
    """
    stream = FakeTerminal()
    saved, sys.stderr = sys.stderr, stream
    try:
        yield stream
        assert sys.stderr is stream, "the display did not restore sys.stderr"
    finally:
        sys.stderr = saved
    assert not progress_threads(), "a display thread is still running"
    assert not _progress._terminal_taken, "the display did not release the terminal"


@pytest.fixture
def without_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import rich`` (and every rich submodule) fail."""
    for name in [name for name in sys.modules if name == "rich" or name.startswith("rich.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "rich", None)


# -- when it shows -----------------------------------------------------------------------


@requires_rich
async def test_true_on_a_terminal_shows_a_rich_display_with_the_final_counts() -> None:
    with stderr_terminal() as terminal:
        result = await ah.minimize(
            quad, Quad, trials=20, concurrency=4, suggester=ah.Random(), seed=1, progress=True
        )
    output = terminal.getvalue()
    assert HIDE_CURSOR in output
    assert output.rstrip().endswith(SHOW_CURSOR)
    text = plain(output)
    final = text[text.rindex("Quad ") :]  # the last frame
    assert final.startswith("Quad " + "━" * 20 + " done 20/20 · elapsed 0:00:0")
    assert f"\n{' ' * 26}running 0 · failed 0 · {best_text(result)}\n" in final


async def test_none_on_a_terminal_shows_the_display() -> None:
    with stderr_terminal() as terminal:
        result = await ah.minimize(quad, Quad, trials=5, suggester=ah.Random(), seed=1)
    text = plain(terminal.getvalue())
    assert "done 5/5" in text
    assert best_text(result) in text


async def test_none_prints_nothing_when_stderr_is_not_a_terminal(
    capfd: pytest.CaptureFixture[str],
) -> None:
    await ah.minimize(quad, Quad, trials=10, concurrency=2, suggester=ah.Random(), seed=1)
    captured = capfd.readouterr()
    assert captured.err == ""
    assert captured.out == ""


async def test_false_prints_nothing_even_on_a_terminal() -> None:
    with stderr_terminal() as terminal:
        await ah.minimize(quad, Quad, trials=10, suggester=ah.Random(), seed=1, progress=False)
    assert terminal.getvalue() == ""


async def test_true_without_a_terminal_prints_throttled_plain_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = await ah.minimize(
        quad, Quad, trials=30, concurrency=3, suggester=ah.Random(), seed=1, progress=True
    )
    err = capsys.readouterr().err
    assert "\r" not in err
    assert "\x1b" not in err
    lines = err.splitlines()
    assert lines[0].startswith("Quad: done 0/30, running 0, failed 0, best -, elapsed 0:00:00")
    assert lines[-1].startswith(f"Quad: done 30/30, running 0, failed 0, {best_text(result)}, ")
    assert "left" not in lines[-1]  # the final line shows no estimate
    assert len(lines) < 10, "not throttled: about one line per trial event"


class _Handle:
    """IPython's DisplayHandle, as the notebook view uses it."""

    def __init__(self, shown: list[str]) -> None:
        self.shown = shown

    def update(self, bundle: dict[str, str], *, raw: bool) -> None:
        assert raw
        self.shown.append(bundle["text/plain"])


@pytest.fixture
def notebook(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A stand-in Jupyter kernel: what the notebook view showed, in order."""
    shown: list[str] = []

    def display(bundle: dict[str, str], *, raw: bool, display_id: bool) -> _Handle:
        assert raw
        assert display_id
        shown.append(bundle["text/plain"])
        return _Handle(shown)

    kernel = types.SimpleNamespace(kernel=object())
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: kernel))
    monkeypatch.setitem(sys.modules, "IPython.display", types.SimpleNamespace(display=display))
    return shown


async def test_in_a_notebook_one_output_is_kept_up_to_date(
    notebook: list[str], capfd: pytest.CaptureFixture[str]
) -> None:
    # stderr is no terminal in a kernel: by default nothing was shown during a long
    # run, and progress=True printed a line a second into the cell.
    result = await ah.minimize(quad, Quad, trials=30, concurrency=3, suggester=ah.Random(), seed=1)
    assert notebook[0].startswith("Quad: done 0/30, running 0")
    assert notebook[-1].startswith(f"Quad: done 30/30, running 0, failed 0, {best_text(result)}")
    assert len(notebook) < 10, "not throttled: about one update per trial event"
    captured = capfd.readouterr()
    assert (captured.out, captured.err) == ("", "")  # nothing printed besides the output


async def shown_while_trials_run(shown: list[str], seconds: float, **options: Any) -> list[str]:
    """What was shown ``seconds`` into a run of ``sleepy`` (four quick trials, then
    four that run until the run is cancelled)."""
    async with anyio.create_task_group() as group:
        group.start_soon(
            lambda: ah.minimize(
                sleepy, Quad, trials=100, concurrency=4, suggester=ah.Random(), **options
            )
        )
        await anyio.sleep(seconds)
        snapshot = list(shown)
        group.cancel_scope.cancel()
    return snapshot


async def test_in_a_notebook_the_output_follows_a_burst_and_the_clock(
    notebook: list[str],
) -> None:
    # The four quick trials end within the first update's throttle interval: the
    # output showed "done 0/100" for as long as the next trials ran, its clock still.
    snapshot = await shown_while_trials_run(notebook, 1.6)
    assert snapshot[-1].startswith("Quad: done 4/100, running 4, failed 0"), snapshot[-1]
    assert "elapsed 0:00:01" in snapshot[-1]
    assert len(snapshot) < 10, snapshot


async def test_without_a_terminal_the_last_change_is_printed_without_a_new_event(
    capsys: pytest.CaptureFixture[str],
) -> None:
    printed: list[str] = []

    class Lines(io.StringIO):
        def write(self, text: str) -> int:
            printed.extend(text.splitlines())
            return len(text)

    snapshot = await shown_while_trials_run(printed, 1.6, progress=ProgressDisplay(file=Lines()))
    assert snapshot[-1].startswith("Quad: done 4/100, running 4, failed 0"), snapshot
    # the start, then the burst a throttle interval later (the first trial event was
    # drawn at once, 5 ms after the start line); then nothing: a line per change of
    # the counts, not per tick of the clock
    assert len(snapshot) == 2, snapshot


async def test_any_error_of_the_stream_stops_the_display_not_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An error other than OSError/ValueError ended the drawing thread with a traceback.
    raised: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: raised.append(args.exc_value))

    class Odd(io.StringIO):
        def write(self, text: str) -> int:
            if "running 0" not in text:
                msg = "the log handler is gone"
                raise RuntimeError(msg)
            return super().write(text)

    result = await ah.minimize(
        sleepy, Quad, trials=4, suggester=ah.Random(), progress=ProgressDisplay(file=Odd())
    )
    assert len(result.completed) == 4
    assert raised == []


async def test_a_terminal_ipython_is_no_notebook(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    shell = types.SimpleNamespace()  # IPython in a terminal: no kernel
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    await ah.minimize(quad, Quad, trials=5, suggester=ah.Random(), seed=1)
    assert capfd.readouterr().err == ""  # stderr is no terminal here: no display


@pytest.mark.parametrize("in_kernel", [True, False])
async def test_in_a_kernel_the_loop_is_woken_while_a_run_lasts(
    in_kernel: bool, anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The kernel's interrupt is seen only when the loop wakes (ipykernel issue 881):
    # with long trials Ctrl-C took 7.4 s in a real kernel (0.4 s with the wake-ups).
    if anyio_backend != "asyncio":
        pytest.skip("a kernel runs asyncio")
    import asyncio  # noqa: PLC0415

    from asynchyper._scheduler import _study  # noqa: PLC0415

    if in_kernel:
        kernel = types.SimpleNamespace(kernel=object())
        monkeypatch.setitem(
            sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: kernel)
        )
        monkeypatch.setitem(
            sys.modules, "IPython.display", types.SimpleNamespace(display=_no_display)
        )
    loop = asyncio.get_running_loop()
    wakes: list[float] = []
    original = loop.call_later

    def call_later(delay: float, callback: Any, *args: Any) -> asyncio.TimerHandle:
        if delay == _study.KERNEL_WAKE_SECONDS:
            wakes.append(delay)
        return original(delay, callback, *args)

    monkeypatch.setattr(loop, "call_later", call_later)

    async def slow(config: Quad) -> float:
        await anyio.sleep(0.7)
        return loss(config)

    await ah.minimize(slow, Quad, trials=1, suggester=ah.Random(), seed=1, progress=False)
    during = len(wakes)
    await anyio.sleep(0.5)
    assert len(wakes) == during  # stopped with the run
    assert (during >= 3) is in_kernel


def _no_display(bundle: dict[str, str], *, raw: bool, display_id: bool) -> None:
    return None


async def test_a_wrong_progress_value_is_rejected() -> None:
    with pytest.raises(TypeError, match=r"progress must be True, False, None .* got str 'yes'"):
        await ah.minimize(quad, Quad, trials=2, progress="yes")  # type: ignore[arg-type]


# -- the plain fallback ------------------------------------------------------------------


@pytest.mark.usefixtures("without_rich")
async def test_without_rich_a_terminal_gets_one_line_redrawn() -> None:
    with stderr_terminal() as terminal:
        result = await ah.minimize(
            quad, Quad, trials=20, concurrency=4, suggester=ah.Random(), seed=1, progress=True
        )
    output = terminal.getvalue()
    assert "\x1b" not in output
    assert output.startswith("\rQuad: done 0/20")
    assert output.endswith("\n")
    assert output.count("\n") == 1  # one line, redrawn in place
    final = output.rsplit("\r", 1)[-1]
    assert final.startswith(f"Quad: done 20/20, running 0, failed 0, {best_text(result)}")


# -- it stops cleanly ----------------------------------------------------------------------


@pytest.mark.parametrize("display", [pytest.param("rich", marks=requires_rich), "plain"])
async def test_cancelling_the_run_stops_the_display(
    display: str, request: pytest.FixtureRequest
) -> None:
    if display == "plain":
        request.getfixturevalue("without_rich")
    with stderr_terminal() as terminal, anyio.move_on_after(0.4) as scope:
        await ah.minimize(
            sleepy, Quad, trials=100, concurrency=4, suggester=ah.Random(), progress=True
        )
    assert scope.cancelled_caught
    # stderr_terminal() checked that sys.stderr is back and no display thread is left.
    output = terminal.getvalue()
    assert output.endswith((SHOW_CURSOR, "\n"))
    text = plain(output)
    assert "done 4/100" in text
    assert "cancelled 4" in text
    assert "interrupted" in text


@requires_rich
async def test_an_error_in_a_callback_stops_the_display() -> None:
    def callback(study: ah.Study[Quad], trial: ah.Trial[Quad]) -> None:
        if trial.number == 2:
            msg = "callback bug"
            raise KeyError(msg)

    with stderr_terminal() as terminal, pytest.raises(KeyError, match="callback bug"):
        await ah.minimize(
            quad, Quad, trials=10, suggester=ah.Random(), callbacks=[callback], progress=True
        )
    assert terminal.getvalue().rstrip().endswith(SHOW_CURSOR)
    assert "stopped: error" in plain(terminal.getvalue())


async def test_a_timeout_counts_the_cancelled_trials() -> None:
    stream = io.StringIO()
    result = await ah.minimize(
        sleepy,
        Quad,
        trials=100,
        concurrency=4,
        timeout=0.4,
        suggester=ah.Random(),
        progress=ProgressDisplay(file=stream),
    )
    assert result.stop_reason == "timeout"
    last = stream.getvalue().splitlines()[-1]
    assert "done 4/100, running 0, failed 0, cancelled 4, " in last
    assert last.endswith("stopped: timeout")


async def test_a_target_stop_is_shown() -> None:
    stream = io.StringIO()
    result = await ah.minimize(
        quad,
        Quad,
        trials=500,
        target=3.0,
        suggester=ah.Random(),
        seed=0,
        progress=ProgressDisplay(file=stream),
    )
    assert result.stop_reason == "target"
    last = stream.getvalue().splitlines()[-1]
    assert f"done {len(result.completed)}/500" in last
    assert best_text(result) in last
    assert last.endswith("stopped: target")


async def test_only_one_display_at_a_time_on_the_terminal() -> None:
    async def run(name: str) -> None:
        await ah.minimize(sleepy, Quad, trials=4, study=name, suggester=ah.Random(), progress=True)

    with stderr_terminal() as terminal:
        async with anyio.create_task_group() as group:
            group.start_soon(run, "first")
            group.start_soon(run, "second")
    text = plain(terminal.getvalue())
    assert ("first" in text) != ("second" in text)


# -- the counts ------------------------------------------------------------------------------


async def test_many_trials_in_flight_with_failures_and_retries_are_counted_once() -> None:
    rng = random.Random(3)
    started = 0
    all_in_flight = anyio.Event()

    async def flaky(config: Quad) -> float:
        # The first 32 wait for each other, so that all 32 slots are seen running
        # however slowly a loaded machine asks (a CI run once saw at most 28).
        nonlocal started
        started += 1
        if started == 32:
            all_in_flight.set()
        if started <= 32:
            with anyio.move_on_after(10):
                await all_in_flight.wait()
        await anyio.sleep(rng.random() * 0.01)
        if rng.random() < 0.2:
            msg = "flaky"
            raise RuntimeError(msg)
        return loss(config)

    stream = io.StringIO()
    display: ProgressDisplay[Quad] = ProgressDisplay(file=stream)
    seen_running: list[int] = []

    def watch(study: ah.Study[Quad], trial: ah.Trial[Quad]) -> None:
        seen_running.append(len(display._running))

    result = await ah.minimize(
        flaky,
        Quad,
        trials=200,
        concurrency=32,
        retries=1,
        suggester=ah.Random(),
        seed=5,
        callbacks=[watch],
        progress=display,
    )
    failed = sum(t.state is ah.TrialState.FAILED for t in result.trials)
    assert failed > 0
    retried = [
        t
        for t in result.trials
        if any(u.params == t.params and u.number < t.number for u in result.trials)
    ]
    assert retried, "no failed trial was retried"
    assert max(seen_running) == 32
    last = stream.getvalue().splitlines()[-1]
    assert last.startswith(f"Quad: done 200/200, running 0, failed {failed}, {best_text(result)}")


async def test_a_finish_reported_twice_counts_once() -> None:
    display: ProgressDisplay[Quad] = ProgressDisplay(file=io.StringIO())
    async with ah.open_study(Quad, suggester=ah.Random()) as study:
        await display.on_run_start(study, 10)
        trial = await study.ask()
        display.on_trial_start(study, trial)
        display.on_trial_start(study, trial)
        finished = await study.tell(trial, 1.5)
        display.on_trial_finish(study, finished)
        display.on_trial_finish(study, finished)
        progress, trials = display.parts()
        display.close("budget")
    assert progress[0][0] == "done 1/10"
    assert trials[0][0] == "running 0"
    assert trials[-1][0] == f"best 1.5 (#{trial.number})"


async def test_a_resumed_study_counts_its_earlier_trials() -> None:
    storage = ah.MemoryStorage()
    first = await ah.minimize(
        quad, Quad, trials=10, storage=storage, suggester=ah.Random(), seed=1, progress=False
    )
    stream = io.StringIO()
    result = await ah.minimize(
        quad,
        Quad,
        trials=25,
        storage=storage,
        suggester=ah.Random(),
        seed=2,
        progress=ProgressDisplay(file=stream),
    )
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith(f"Quad: done 10/25, running 0, failed 0, {best_text(first)}, ")
    assert lines[0].endswith("left ?")  # no rate before this run completes a trial
    assert lines[-1].startswith(f"Quad: done 25/25, running 0, failed 0, {best_text(result)}, ")


async def test_maximize_shows_the_highest_value() -> None:
    stream = io.StringIO()
    result = await ah.maximize(
        quad, Quad, trials=15, suggester=ah.Random(), seed=4, progress=ProgressDisplay(file=stream)
    )
    assert result.best.value == max(t.value for t in result.trials if t.value is not None)
    assert best_text(result) in stream.getvalue().splitlines()[-1]


def test_time_left_is_estimated_from_the_completion_rate() -> None:
    display: ProgressDisplay[Quad] = ProgressDisplay()
    display.budget = 100
    display._done_before = 10
    assert display._time_left(10, 5.0) == "?"
    display._complete = 30  # 30 trials in 60 s: 60 left take 120 s
    assert display._time_left(40, 60.0) == "0:02:00"
    assert display._time_left(100, 60.0) == "0:00:00"
    assert _progress._clock(3 * 3600 + 4 * 60 + 5.9) == "3:04:05"


async def test_a_broken_stream_does_not_stop_the_run() -> None:
    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            msg = "stream is gone"
            raise OSError(msg)

    result = await ah.minimize(
        quad, Quad, trials=5, suggester=ah.Random(), progress=ProgressDisplay(file=Broken())
    )
    assert len(result.completed) == 5


@requires_rich
async def test_a_terminal_without_unicode_gets_an_ascii_bar() -> None:
    class LatinTerminal(FakeTerminal):
        encoding = "latin-1"

    stream = LatinTerminal()
    await ah.minimize(
        quad, Quad, trials=5, suggester=ah.Random(), progress=ProgressDisplay(file=stream)
    )
    output = stream.getvalue()
    output.encode("latin-1")  # raises if the display wrote a character latin-1 lacks
    assert "-" * 20 in plain(output)
    assert "done 5/5 | elapsed" in plain(output)


@requires_rich
async def test_log_lines_of_a_stream_handler_go_above_the_rich_display() -> None:
    # A handler made before the run (logging.basicConfig) held the real stream: the
    # display's next redraw erased the line it wrote, so failures vanished from view.
    logger = logging.getLogger("asynchyper")
    streams: list[object] = []

    def failing(config: Quad) -> float:
        streams.append(handler.stream)
        msg = "a failure worth reading"
        raise RuntimeError(msg)

    with stderr_terminal() as terminal:
        handler = logging.StreamHandler(sys.stderr)
        logger.addHandler(handler)
        try:
            await ah.minimize(failing, Quad, trials=2, max_failures=2, progress=True)
        finally:
            logger.removeHandler(handler)
        assert handler.stream is terminal  # given back when the display stopped
    assert streams
    assert all(stream is not terminal for stream in streams)  # rich's redirect meanwhile
    assert plain(terminal.getvalue()).count("RuntimeError: a failure worth reading") >= 2
