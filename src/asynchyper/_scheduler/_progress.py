"""The live progress display of a run: ``progress=`` of minimize() and optimize()."""

from __future__ import annotations

import logging
import shutil
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TextIO, TypeVar

from .._backend import jupyter_kernel
from .._logfields import log_fields
from .._records import Trial, TrialState
from ._callbacks import TrialCallback

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.text import Text

    from ._result import Result
    from ._study import Study

__all__ = ["ProgressDisplay", "check_progress", "resolve_progress"]

T = TypeVar("T")

_log = logging.getLogger(__name__)

#: Redraws per second of a terminal display. A background thread redraws (so the
#: clock ticks during long trials); trial events only update counters.
REFRESH_PER_SECOND = 10
#: A notebook's output is replaced at most this often, in seconds (each is a message).
NOTEBOOK_SECONDS = 0.5
#: Seconds between two lines when the output is not a terminal (a log file, CI).
LINE_SECONDS = 1.0
#: Width of the rich progress bar, in characters.
BAR_WIDTH = 20

# One terminal display per process: two would overwrite each other's lines.
_terminal_lock = threading.Lock()
_terminal_taken = False


def resolve_progress(progress: bool | TrialCallback[T] | None) -> TrialCallback[T] | None:
    """The observer that a ``progress=`` argument asks for; ``None`` for no display.

    Args:
        progress: ``None`` (a display only when stderr is a terminal, or in a
            Jupyter notebook), ``True`` (a display on stderr even when it is not a
            terminal), ``False`` (none), or a :class:`TrialCallback` that is the display.

    Returns:
        The display, or ``None``.

    Raises:
        TypeError: ``progress`` is none of those.
    """
    check_progress(progress)
    if progress is None:
        return ProgressDisplay() if _is_terminal(sys.stderr) or jupyter_kernel() else None
    if progress is True:
        return ProgressDisplay()
    if progress is False:
        return None
    return progress


def check_progress(progress: object) -> None:
    """Check a ``progress=`` argument (mistyped at run time).

    Raises:
        TypeError: ``progress`` is not ``True``, ``False``, ``None`` or a TrialCallback.
    """
    if progress is None or isinstance(progress, bool | TrialCallback):
        return
    msg = (
        "progress must be True, False, None (automatic: on when stderr is a terminal) "
        f"or a TrialCallback; got {type(progress).__name__} {progress!r}"
    )
    raise TypeError(msg)


class ProgressDisplay(TrialCallback[T]):
    """Shows a run's progress on stderr (what ``progress=True`` uses).

    Counts trials done (of the budget, including those completed before the run),
    running, failed and cancelled, the best value so far with its trial number,
    the elapsed time and an estimate of the time left. On a terminal it is a
    ``rich`` live display when ``rich`` is installed, else one line redrawn with
    ``\\r``; elsewhere it prints one line at most every :data:`LINE_SECONDS`.

    Trial events only update counters; drawing happens at most
    :data:`REFRESH_PER_SECOND` times a second. :meth:`Study.optimize` calls
    :meth:`close` however the run ends, so the terminal is always left clean.
    """

    def __init__(self, *, file: TextIO | None = None) -> None:
        """Create a display writing to ``file`` (default: ``sys.stderr`` at run start)."""
        self._file = file
        self._view: _View | None = None
        self._on_event: Callable[[], None] | None = None  # only views that draw on events
        self._terminal = False
        self.name = ""
        self.budget = 0
        self._sign = 1.0
        self._done_before = 0  # completed trials in the study when the run started
        self._complete = 0  # completed trials of this run
        self._failed = 0
        self._cancelled = 0
        self._running: set[int] = set()
        self._best: tuple[float, int] | None = None  # (value, trial number)
        self._started = 0.0
        self._ended: float | None = None
        self._note: str | None = None

    # -- the callback --------------------------------------------------------------
    async def on_run_start(self, study: Study[T], budget: int) -> None:
        """Reset the counters from the study's trials and show the display."""
        self.close()
        self.name = study.name
        self.budget = budget
        self._sign = -1.0 if study.direction == "maximize" else 1.0
        self._complete = self._failed = self._cancelled = 0
        self._running = set()
        self._best = None
        self._ended = self._note = None
        self._done_before = 0
        for trial in await study.trials():
            if trial.state is TrialState.COMPLETE and trial.value is not None:
                self._done_before += 1
                self._consider_best(trial.value, trial.number)
        self._started = time.monotonic()
        file = sys.stderr if self._file is None else self._file
        if file is None:  # sys.stderr is None under pythonw
            return
        try:
            self._view = self._open_view(file)
            if isinstance(self._view, _ThrottledView):
                self._on_event = self._view.update
        except Exception:  # a display must never stop the run
            _log.warning(
                "study %r: cannot show the progress display",
                self.name,
                exc_info=True,
                extra=log_fields(self.name),
            )

    def on_trial_start(self, study: Study[T], trial: Trial[T]) -> None:
        """Count a running trial."""
        self._running.add(trial.number)
        if self._on_event is not None:
            self._on_event()

    def on_trial_finish(self, study: Study[T], trial: Trial[T]) -> None:
        """Count a finished trial once (only trials seen starting are counted)."""
        number = trial.number
        if number not in self._running:
            return
        self._running.remove(number)
        state, value = trial.state, trial.value
        if state is TrialState.COMPLETE and value is not None:
            self._complete += 1
            if self._best is None or self._sign * value < self._sign * self._best[0]:
                self._best = (value, number)
        elif state is TrialState.FAILED:
            self._failed += 1
        else:
            self._cancelled += 1
        if self._on_event is not None:
            self._on_event()

    def on_run_end(self, study: Study[T], result: Result[T]) -> None:
        """Show the final state and release the terminal (if :meth:`close` did not)."""
        self.close(result.stop_reason)

    def close(self, stop_reason: str | None = None) -> None:
        """Show the final state and stop the display; does nothing when not shown.

        Args:
            stop_reason: Why the run ended (:attr:`Result.stop_reason`); ``None``
                means it was interrupted (cancelled, or an error).
        """
        view = self._view
        if view is None:
            return
        self._view = self._on_event = None
        self._ended = time.monotonic()
        # Trials still running when the run ends were cancelled (no finish event).
        self._cancelled += len(self._running)
        self._running = set()
        if stop_reason is None:
            self._note = "interrupted"
        elif stop_reason != "budget":
            self._note = f"stopped: {stop_reason}"
        try:
            view.stop()
        except Exception:  # a display must never hide the run's own outcome
            _log.debug("progress display failed to stop", exc_info=True)
        finally:
            if self._terminal:
                _release_terminal()
                self._terminal = False

    # -- what is shown -------------------------------------------------------------
    @property
    def done(self) -> int:
        """Completed trials of the study: before the run plus this run's."""
        return self._done_before + self._complete

    def parts(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """The display's fields as ``(text, rich style)``: progress, then trials."""
        done = self.done
        now = time.monotonic() if self._ended is None else self._ended
        elapsed = now - self._started
        progress = [(f"done {done}/{self.budget}", "bold"), (f"elapsed {_clock(elapsed)}", "")]
        if self._ended is None:
            progress.append((f"left {self._time_left(done, elapsed)}", ""))
        if self._note is not None:
            progress.append((self._note, "yellow"))
        trials = [
            (f"running {len(self._running)}", ""),
            (f"failed {self._failed}", "red" if self._failed else ""),
        ]
        if self._cancelled:
            trials.append((f"cancelled {self._cancelled}", "yellow"))
        if self._best is not None:
            value, number = self._best
            trials.append((f"best {value:.6g} (#{number})", "green"))
        else:
            trials.append(("best -", ""))
        return progress, trials

    def line(self) -> str:
        """The display as one plain line (counts first: a narrow terminal cuts the end)."""
        progress, trials = self.parts()
        return f"{self.name}: " + ", ".join(
            text for text, _ in [progress[0], *trials, *progress[1:]]
        )

    def _time_left(self, done: int, elapsed: float) -> str:
        """Remaining budget at this run's completion rate; ``?`` before a rate exists."""
        if done >= self.budget:
            return _clock(0.0)
        if self._complete == 0 or elapsed <= 0.0:
            return "?"
        return _clock((self.budget - done) * elapsed / self._complete)

    def _consider_best(self, value: float, number: int) -> None:
        if self._best is None or self._sign * value < self._sign * self._best[0]:
            self._best = (value, number)

    # -- views -----------------------------------------------------------------------
    def _open_view(self, file: TextIO) -> _View | None:
        """A rich or ``\\r`` view on a terminal, one output kept up to date in a
        notebook, a line view elsewhere."""
        if not _is_terminal(file):
            in_notebook = file is sys.stderr and jupyter_kernel() is not None
            return _NotebookView(self) if in_notebook else _LineView(self, file)
        if not _take_terminal():
            _log.info(
                "study %r: no progress display: another run's display is on the terminal",
                self.name,
                extra=log_fields(self.name),
            )
            return None
        self._terminal = True
        try:
            return _rich_view(self, file) or _TickerView(self, file)
        except BaseException:
            _release_terminal()
            self._terminal = False
            raise


class _View(Protocol):
    """Where the display is drawn; terminal views redraw from a thread by themselves."""

    def stop(self) -> None:
        """Show the final state and release the output."""


class _ThrottledView:
    """Drawn by a background thread at most once every ``interval`` seconds: after a
    trial event (the last of a burst too, without waiting for the next event) and, when
    ``ticking``, whenever the text changed (the clock during a long trial)."""

    interval = LINE_SECONDS
    #: Whether the elapsed time alone is a reason to redraw.
    ticking = False

    def __init__(self, display: ProgressDisplay[Any]) -> None:
        self._display = display
        self._broken = False
        self._shown = ""
        self._changed = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="asynchyper progress", daemon=True)

    def start(self) -> None:
        """Show the first state now, then redraw from the background thread."""
        self._draw()
        self._thread.start()

    def update(self) -> None:
        """A counter changed (called on the event loop for each trial event)."""
        self._changed.set()

    def stop(self) -> None:
        self._done.set()
        self._changed.set()
        if self._thread.is_alive():
            self._thread.join(timeout=1.0)
        if not self._thread.is_alive():  # a thread stuck writing (a full pipe) keeps it
            self._draw()

    def _run(self) -> None:
        if self._done.wait(self.interval):  # start() has just drawn: the throttle
            return
        while True:
            self._changed.wait(self.interval if self.ticking else None)
            if self._done.is_set():
                return
            self._changed.clear()
            self._draw()
            if self._done.wait(self.interval):  # the throttle
                return

    def _draw(self) -> None:
        text = self._line()
        if text != self._shown and not self._broken:
            self._shown = text
            self._write(text)

    def _line(self) -> str:
        return self._display.line()

    def _write(self, text: str) -> None:
        raise NotImplementedError


class _FileView(_ThrottledView):
    """A view that writes to a stream; a stream that fails stops the view, not the run."""

    def __init__(self, display: ProgressDisplay[Any], file: TextIO) -> None:
        super().__init__(display)
        self._file = file

    def _emit(self, text: str) -> None:
        if self._broken:
            return
        try:
            self._file.write(text)
            self._file.flush()
        except Exception:  # closed or broken stream (any error: this runs in a thread)
            self._broken = True


class _LineView(_FileView):
    """Not a terminal: a line when the counts change, at most every :data:`LINE_SECONDS`."""

    def __init__(self, display: ProgressDisplay[Any], file: TextIO) -> None:
        super().__init__(display, file)
        self.start()

    def _write(self, text: str) -> None:
        self._emit(text + "\n")


class _NotebookView(_ThrottledView):
    """A Jupyter notebook: one output of the cell, replaced as trials start and finish
    and as the clock ticks (at most every :data:`NOTEBOOK_SECONDS`).

    Printing a line per update would fill the cell (an hour's run: 3,600 lines).
    """

    interval = NOTEBOOK_SECONDS
    ticking = True

    def __init__(self, display: ProgressDisplay[Any]) -> None:
        from IPython.display import display as show  # noqa: PLC0415 - in a kernel

        super().__init__(display)
        self._shown = display.line()
        self._handle = show({"text/plain": self._shown}, raw=True, display_id=True)
        self.start()

    def _write(self, text: str) -> None:
        if self._handle is None:
            return
        try:
            self._handle.update({"text/plain": text}, raw=True)
        except Exception:  # a display must never stop the run
            self._broken = True


class _TickerView(_FileView):
    """A terminal without rich: one line redrawn with ``\\r``, the clock ticking."""

    interval = 1 / REFRESH_PER_SECOND
    ticking = True

    def __init__(self, display: ProgressDisplay[Any], file: TextIO) -> None:
        super().__init__(display, file)
        self._length = 0  # of the line on the terminal, which a shorter one must cover
        self.start()

    def stop(self) -> None:
        super().stop()
        self._emit("\n")

    def _line(self) -> str:
        width = shutil.get_terminal_size().columns - 1  # never wrap: \r returns one line
        return super()._line()[:width]

    def _write(self, text: str) -> None:
        self._emit("\r" + text + " " * (self._length - len(text)))
        self._length = len(text)


class _RichView:
    """A terminal with rich: a live display on its own console, refreshed by rich's thread."""

    def __init__(self, display: ProgressDisplay[Any], file: TextIO) -> None:
        from rich.console import Console  # noqa: PLC0415 - optional extra
        from rich.live import Live  # noqa: PLC0415
        from rich.text import Text  # noqa: PLC0415

        self._display = display
        self._text = Text
        self.console = Console(file=file, force_terminal=True, highlight=False)
        ascii_only = self.console.options.ascii_only  # e.g. a latin-1 terminal
        self._bar_char, self._separator = ("-", " | ") if ascii_only else ("━", " · ")
        self._moved: list[_Moved] = []
        self._live = Live(
            console=self.console,
            get_renderable=self._render,
            refresh_per_second=REFRESH_PER_SECOND,
            transient=False,
            # print() goes above the display, but never move stdout that is not this terminal
            redirect_stdout=file is sys.stderr and _is_terminal(sys.stdout),
            redirect_stderr=file is sys.stderr,
        )

    def start(self) -> None:
        before = (sys.stdout, sys.stderr)
        self._live.start(refresh=True)
        # rich has redirected sys.stdout/sys.stderr (when they are this terminal)
        self._moved = _move_log_handlers(dict(zip(before, (sys.stdout, sys.stderr), strict=True)))

    def stop(self) -> None:
        thread = getattr(self._live, "_refresh_thread", None)
        for handler, old, new in self._moved:
            if handler.stream is new:  # not pointed elsewhere meanwhile
                handler.setStream(old)
        self._moved = []
        self._live.stop()
        if isinstance(thread, threading.Thread):
            thread.join(timeout=1.0)  # its wait ends at once: no write after stop() returns

    def _render(self) -> RenderableType:
        """Two lines of plain Text (a table costs several times more per refresh)::

        name ━━━━━━━━━━━━━━━━━━━━ done 12/200 · elapsed 0:00:05 · left 0:01:12
                                  running 8 · failed 1 · best 0.0123 (#7)
        """
        display = self._display
        progress, trials = display.parts()
        budget, done = max(display.budget, 1), display.done
        filled = min(BAR_WIDTH, BAR_WIDTH * done // budget)
        text = self._text(no_wrap=True, overflow="ellipsis")
        text.append(display.name, "bold cyan")
        text.append(" ")
        text.append(self._bar_char * filled, "bar.finished" if done >= budget else "bar.complete")
        text.append(self._bar_char * (BAR_WIDTH - filled), "bar.back")
        text.append(" ")
        self._join(text, progress)
        text.append("\n" + " " * (len(display.name) + BAR_WIDTH + 2))
        self._join(text, trials)
        return text

    def _join(self, text: Text, parts: list[tuple[str, str]]) -> None:
        for index, (part, style) in enumerate(parts):
            if index:
                text.append(self._separator, "dim")
            text.append(part, style)


#: A logging handler moved to the display's stream: (handler, its stream, the new one).
_Moved = tuple[logging.StreamHandler[Any], Any, Any]


def _move_log_handlers(moves: dict[Any, Any]) -> list[_Moved]:
    """Point logging handlers that write to a stream in ``moves`` at its replacement.

    While rich's live display runs it owns the terminal: ``print()`` reaches it
    through the redirected ``sys.stdout``/``sys.stderr``, but a handler made before
    (``logging.basicConfig``) still held the real stream, and the display's next
    redraw erased the line it wrote. Moved through the redirect, its lines go above
    the display; :meth:`_RichView.stop` moves them back.

    Args:
        moves: Stream to replace -> its replacement (identical pairs are skipped).

    Returns:
        The handlers moved.
    """
    moves = {old: new for old, new in moves.items() if old is not new}
    # copy() is atomic: another thread may create a logger meanwhile
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.copy().values()]
    found = [
        handler
        for logger in loggers
        if isinstance(logger, logging.Logger)
        for handler in logger.handlers
        if type(handler) is logging.StreamHandler  # not a FileHandler's file
    ]
    moved: list[_Moved] = []
    for handler in dict.fromkeys(found):
        old = handler.stream
        new = moves.get(old)
        if new is not None:
            handler.setStream(new)
            moved.append((handler, old, new))
    return moved


def _rich_view(display: ProgressDisplay[Any], file: TextIO) -> _RichView | None:
    """A started rich view, or ``None`` without rich (or on a dumb terminal)."""
    try:
        view = _RichView(display, file)
    except ImportError:
        return None
    if view.console.is_dumb_terminal:
        return None
    view.start()
    return view


def _is_terminal(file: TextIO | None) -> bool:
    """Whether ``file`` is an interactive terminal (``False`` for None or closed files)."""
    if file is None:
        return False
    try:
        return bool(file.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _take_terminal() -> bool:
    global _terminal_taken  # noqa: PLW0603 - one flag for the whole process
    with _terminal_lock:
        if _terminal_taken:
            return False
        _terminal_taken = True
        return True


def _release_terminal() -> None:
    global _terminal_taken  # noqa: PLW0603
    with _terminal_lock:
        _terminal_taken = False


def _clock(seconds: float) -> str:
    """``H:MM:SS``."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"
