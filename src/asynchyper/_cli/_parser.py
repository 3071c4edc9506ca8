"""The argparse definition of every command and option."""

from __future__ import annotations

import argparse
import math

from .._records import TrialState
from ._commands import best, copy, delete, fail_stale, importance, show, studies, trials
from ._export_command import FORMATS, export
from ._plot import plot
from ._store import ENV_STORAGE
from ._worker import worker

__all__ = ["build_parser"]

_STATES = [state.value for state in TrialState]


def _positive_int(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        msg = f"must be a whole number >= 1, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return number


def _non_negative_int(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = -1
    if number < 0:
        msg = f"must be a whole number >= 0, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return number


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (seconds > 0 and math.isfinite(seconds)):
        msg = f"must be a number of seconds > 0, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return seconds


def _seconds_or_none(text: str) -> float | None:
    if text.strip().lower() == "none":
        return None
    try:
        return _seconds(text)
    except argparse.ArgumentTypeError:
        msg = f"must be a number of seconds > 0 or 'none', got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None


def _non_negative_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (seconds >= 0 and math.isfinite(seconds)):
        msg = f"must be a number of seconds >= 0, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return seconds


def build_parser(version: str) -> argparse.ArgumentParser:
    """The ``asynchyper`` argument parser; each command sets ``handler``.

    Args:
        version: Shown by ``--version``.

    Returns:
        The parser.
    """
    storage_help = (
        f"the storage: a SQLite path, or a sqlite: or postgresql: URL (default: ${ENV_STORAGE})"
    )
    parser = argparse.ArgumentParser(
        prog="asynchyper",
        description="Inspect, export and plot asynchyper studies, and run workers.",
    )
    parser.add_argument("--version", action="version", version=f"asynchyper {version}")
    parser.add_argument("--storage", metavar="URL", help=storage_help)
    verbose_help = "log what asynchyper does to stderr (-vv: in detail)"
    parser.add_argument("-v", "--verbose", action="count", default=0, help=verbose_help)
    # given after the command too; SUPPRESS keeps a value given before the command
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--storage", metavar="URL", default=argparse.SUPPRESS, help=storage_help)
    # Counted apart (a subcommand's namespace would replace the top level's count):
    # main() adds the two, so "-v show -v" is -vv.
    common.add_argument(
        "-v", "--verbose", action="count", dest="verbose_after", default=0, help=verbose_help
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, summary: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[common], help=summary, description=summary)
        return sub

    def json_flag(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--json", action="store_true", help="print JSON instead of text")

    sub = command("studies", "List the studies with trial counts per state and best value.")
    json_flag(sub)
    sub.set_defaults(handler=studies)

    sub = command("show", "Summarize a study: direction, counts, best trial and search space.")
    sub.add_argument("study", metavar="STUDY")
    json_flag(sub)
    sub.set_defaults(handler=show)

    sub = command("trials", "List the trials of a study as a table.")
    sub.add_argument("study", metavar="STUDY")
    sub.add_argument(
        "--state", action="append", choices=_STATES, help="only this state (repeatable)"
    )
    sub.add_argument(
        "--sort",
        choices=("number", "value", "duration"),
        default="number",
        help="order: by number, by value best first, or by duration longest first",
    )
    sub.add_argument("--reverse", action="store_true", help="reverse the order")
    sub.add_argument("--limit", type=_positive_int, metavar="N", help="show only N trials")
    json_flag(sub)
    sub.set_defaults(handler=trials)

    sub = command("best", "Show the best completed trial of a study.")
    sub.add_argument("study", metavar="STUDY")
    json_flag(sub)
    sub.set_defaults(handler=best)

    sub = command(
        "importance", "Rank the parameters by how much of the value's variance each explains."
    )
    sub.add_argument("study", metavar="STUDY")
    json_flag(sub)
    sub.set_defaults(handler=importance)

    sub = command("export", "Write every trial of a study as CSV, JSON or JSON lines.")
    sub.add_argument("study", metavar="STUDY")
    sub.add_argument("--format", choices=FORMATS, default="csv", help="default: csv")
    sub.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")
    sub.add_argument(
        "--state", action="append", choices=_STATES, help="only this state (repeatable)"
    )
    sub.set_defaults(handler=export)

    sub = command("plot", "Save a plot of a study (needs asynchyper[plot]).")
    sub.add_argument("study", metavar="STUDY")
    sub.add_argument("kind", metavar="KIND", help="history, importance, slice, parallel, ...")
    sub.add_argument("-o", "--output", metavar="FILE", required=True, help="e.g. plot.png")
    sub.set_defaults(handler=plot)

    sub = command("fail-stale", "Fail running trials whose process stopped sending heartbeats.")
    sub.add_argument("study", metavar="STUDY")
    sub.add_argument(
        "--older-than",
        type=_non_negative_seconds,
        default=60.0,
        metavar="SECONDS",
        help="seconds without heartbeat (default: 60)",
    )
    sub.add_argument(
        "--requeue", action="store_true", help="queue their parameters again as new trials"
    )
    json_flag(sub)
    sub.set_defaults(handler=fail_stale)

    sub = command("copy", "Copy a study and all its trials to another storage.")
    sub.add_argument("study", metavar="STUDY")
    sub.add_argument(
        "--to",
        required=True,
        metavar="URL",
        help="the storage to copy into: a SQLite path or a sqlite: or postgresql: URL "
        "(created if needed)",
    )
    sub.add_argument(
        "--as",
        dest="as_name",
        metavar="NAME",
        help="the copy's name (default: STUDY's; needed to copy within one storage)",
    )
    json_flag(sub)
    sub.set_defaults(handler=copy)

    sub = command("delete", "Delete a study and all its trials.")
    sub.add_argument("study", metavar="STUDY")
    sub.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    sub.set_defaults(handler=delete)

    sub = command("worker", "Join (or create) a study and run trials until its budget is met.")
    sub.add_argument(
        "--objective",
        required=True,
        metavar="MODULE:FUNCTION",
        help="the objective, e.g. train:objective (the current directory is importable)",
    )
    sub.add_argument(
        "--study", metavar="NAME", help="the study's name (default: the space class's name)"
    )
    sub.add_argument(
        "--space",
        metavar="MODULE:CLASS",
        help="the space class (default: the objective's first parameter annotation)",
    )
    sub.add_argument(
        "--trials",
        type=_positive_int,
        metavar="N",
        help="the study's TOTAL budget of completed trials, shared with other workers "
        "(default: no budget; stop with --timeout or Ctrl-C)",
    )
    sub.add_argument(
        "--concurrency", type=_positive_int, default=1, metavar="N", help="trials in flight"
    )
    sub.add_argument("--timeout", type=_seconds, metavar="S", help="seconds for this worker")
    sub.add_argument("--trial-timeout", type=_seconds, metavar="S", help="seconds per trial")
    sub.add_argument(
        "--executor",
        choices=("thread", "process"),
        help="where plain functions run (default: async on the loop, plain in threads)",
    )
    sub.add_argument("--suggester", choices=("tpe", "random"), default="tpe", help="default: tpe")
    sub.add_argument(
        "--direction",
        choices=("minimize", "maximize"),
        help="for a new study (default: the existing study's, else minimize)",
    )
    sub.add_argument("--seed", type=int, metavar="N", help="seed of the suggester")
    sub.add_argument(
        "--retries", type=_non_negative_int, default=0, metavar="N", help="re-runs of failures"
    )
    sub.add_argument(
        "--max-failures", type=_positive_int, metavar="N", help="stop after N failed trials"
    )
    sub.add_argument(
        "--heartbeat-interval",
        type=_seconds,
        default=10.0,
        metavar="S",
        help="seconds between heartbeats of this worker's running trials (default: 10)",
    )
    sub.add_argument(
        "--stale-after",
        type=_seconds_or_none,
        default=60.0,
        metavar="S",
        help="seconds without heartbeat after which another worker's running trial is "
        "failed, e.g. one on a machine that died; 'none' never (default: 60)",
    )
    sub.set_defaults(handler=worker)
    return parser
