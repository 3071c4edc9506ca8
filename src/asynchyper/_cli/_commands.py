"""The commands that read or edit stored studies: studies, show, trials, best, ..."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Collection, Mapping

import anyio
import anyio.to_thread
import attrs

from .._analysis import importance_or_why_not
from .._errors import NoCompletedTrialsError
from .._records import StudyRecord, TrialRecord, TrialState
from .._scheduler._constants import CONSTANTS_ATTR
from .._storage import MemoryStorage, copy_study, open_storage
from .._types import JSONValue
from ._errors import CommandError, UsageError
from ._format import (
    MISSING,
    dimension_row,
    format_duration,
    format_error,
    format_number,
    format_scalar,
    format_text,
    format_time,
    table,
    to_json,
    trial_json,
)
from ._store import existing_storage, shown_url, storage_url

__all__ = [
    "best",
    "copy",
    "delete",
    "errors_hint",
    "fail_stale",
    "no_completed_trial",
    "show",
    "studies",
    "trials",
]

#: The order in which states are shown.
_STATES = (
    TrialState.COMPLETE,
    TrialState.RUNNING,
    TrialState.WAITING,
    TrialState.FAILED,
    TrialState.CANCELLED,
)


@attrs.frozen
class _Summary:
    """A study with its trial counts and best trial."""

    record: StudyRecord
    counts: dict[TrialState, int]
    best: TrialRecord | None

    def as_json(self) -> dict[str, JSONValue]:
        return {
            "name": self.record.name,
            "direction": self.record.direction,
            "created_at": self.record.created_at,
            "trials": sum(self.counts.values()),
            "counts": {state.value: self.counts.get(state, 0) for state in _STATES},
            "best": None if self.best is None else trial_json(self.best),
        }


async def _summaries(url: str, name: str | None) -> list[_Summary]:
    """Every study (or the one called ``name``) with counts and best trial."""
    async with existing_storage(url) as store:
        records = [await store.get_study(name)] if name is not None else await store.list_studies()
        return [
            _Summary(
                record,
                await store.count_trials(record.id),
                await store.best_trial(record.id, direction=record.direction),
            )
            for record in records
        ]


async def _trials(url: str, name: str) -> tuple[StudyRecord, list[TrialRecord]]:
    async with existing_storage(url) as store:
        record = await store.get_study(name)
        return record, await store.trials(record.id)


def _write(text: str) -> None:
    sys.stdout.write(text)


# -- studies -------------------------------------------------------------------------
def studies(args: argparse.Namespace) -> int:
    """``asynchyper studies``: every study with its trial counts and best value."""
    url = storage_url(args)
    summaries = anyio.run(_summaries, url, None)
    if args.json:
        _write(to_json([summary.as_json() for summary in summaries]))
        return 0
    if not summaries:
        _write(f"no studies in {shown_url(url)}\n")
        return 0
    headers = ["NAME", "DIRECTION", "TRIALS", *(s.value.upper() for s in _STATES), "BEST"]
    headers.append("CREATED (UTC)")
    rows = [
        [
            format_text(summary.record.name),
            summary.record.direction,
            str(sum(summary.counts.values())),
            *(str(summary.counts.get(state, 0)) for state in _STATES),
            format_number(None if summary.best is None else summary.best.value),
            format_time(summary.record.created_at),
        ]
        for summary in summaries
    ]
    _write(table(headers, rows, right=range(2, 3 + len(_STATES) + 1)))
    return 0


# -- show ----------------------------------------------------------------------------
def show(args: argparse.Namespace) -> int:
    """``asynchyper show STUDY``: direction, counts, best trial and the space."""
    (summary,) = anyio.run(_summaries, storage_url(args), args.study)
    record = summary.record
    if args.json:
        data = summary.as_json()
        data["user_attrs"] = dict(record.user_attrs)
        data["space"] = list(record.space)
        _write(to_json(data))
        return 0
    total = sum(summary.counts.values())
    counts = ", ".join(f"{summary.counts.get(state, 0)} {state.value}" for state in _STATES)
    lines = [
        ["study", record.name],
        ["direction", record.direction],
        ["created", f"{format_time(record.created_at)} UTC"],
        ["trials", f"{total} ({counts})"],
    ]
    for key, value in record.user_attrs.items():
        if key == CONSTANTS_ATTR and isinstance(value, Mapping):
            # the space's constant fields' defaults, each as JSON text
            shown = ", ".join(f"{path} = {default}" for path, default in value.items())
            lines.append(["constants", shown or "none"])
        else:
            lines.append([f"attr {key}", format_scalar(value)])
    best_trial = summary.best
    if best_trial is None:
        lines.append(["best", "none (no trial completed)"])
    else:
        lines.append(
            ["best", f"trial {best_trial.number}, value {format_number(best_trial.value)}"]
        )
        lines.extend(
            [f"  {name}", format_scalar(value)] for name, value in best_trial.params.items()
        )
    _write(table(["", ""], lines).split("\n", 1)[1])
    _write(f"\nspace ({len(record.space)} dimensions)\n")
    rows = [dimension_row(dimension) for dimension in record.space]
    _write(_indent(table(["NAME", "KIND", "RANGE", "ACTIVE WHEN"], rows)))
    return 0


def _indent(text: str) -> str:
    return "".join(f"  {line}" if line.strip() else line for line in text.splitlines(True))


# -- trials --------------------------------------------------------------------------
def trials(args: argparse.Namespace) -> int:
    """``asynchyper trials STUDY``: a table of trials, filtered, sorted and limited."""
    record, found = anyio.run(_trials, storage_url(args), args.study)
    if args.state:
        wanted = {TrialState(state) for state in args.state}
        found = [trial for trial in found if trial.state in wanted]
    found = _sorted(found, args.sort, record.direction)
    if args.reverse:
        found.reverse()
    if args.limit is not None:
        found = found[: args.limit]
    if args.json:
        _write(to_json([trial_json(trial) for trial in found]))
        return 0
    if not found:
        _write(f"no trials in study {record.name!r} match\n")
        return 0
    names = [str(dimension["name"]) for dimension in record.space]
    names += sorted({name for trial in found for name in trial.params} - set(names))
    names = [name for name in names if any(name in trial.params for trial in found)]
    rows = [
        [
            str(trial.number),
            trial.state.value,
            format_number(trial.value),
            format_duration(_duration(trial)),
            *(format_scalar(trial.params[name]) if name in trial.params else "-" for name in names),
        ]
        for trial in found
    ]
    headers = ["NUMBER", "STATE", "VALUE", "DURATION", *names]
    if any(format_error(trial.error) != MISSING for trial in found):
        # failed and cancelled trials: the error's summary (the exception's line)
        headers.append("ERROR")
        for row, trial in zip(rows, found, strict=True):
            row.append(format_error(trial.error))
    _write(table(headers, rows, right=(0, 2, 3)))
    return 0


def _duration(trial: TrialRecord) -> float | None:
    if trial.started_at is None or trial.finished_at is None:
        return None
    return trial.finished_at - trial.started_at


def _sorted(found: list[TrialRecord], key: str, direction: str) -> list[TrialRecord]:
    """Trials by number; by value best first; or by duration longest first (``None`` last)."""
    if key == "value":
        sign = -1.0 if direction == "maximize" else 1.0
        return sorted(
            found,
            key=lambda t: (t.value is None, sign * t.value if t.value is not None else 0.0),
        )
    if key == "duration":
        return sorted(found, key=lambda t: (_duration(t) is None, -(_duration(t) or 0.0)))
    return sorted(found, key=lambda t: t.number)


# -- best ----------------------------------------------------------------------------
def best(args: argparse.Namespace) -> int:
    """``asynchyper best STUDY``: the best completed trial."""
    (summary,) = anyio.run(_summaries, storage_url(args), args.study)
    trial = summary.best
    if trial is None:
        raise NoCompletedTrialsError(no_completed_trial(summary.record.name, summary.counts))
    if args.json:
        _write(to_json(trial_json(trial)))
        return 0
    rows = [["trial", str(trial.number)], ["value", format_number(trial.value)], ["params", ""]]
    rows.extend([f"  {name}", format_scalar(value)] for name, value in trial.params.items())
    if trial.user_attrs:
        rows.append(["user_attrs", ""])
        rows.extend([f"  {key}", format_scalar(value)] for key, value in trial.user_attrs.items())
    _write(table(["", ""], rows).split("\n", 1)[1])
    return 0


# -- importance ----------------------------------------------------------------------
def importance(args: argparse.Namespace) -> int:
    """``asynchyper importance STUDY``: each parameter's share of the variance (fANOVA)."""
    record, found = anyio.run(_trials, storage_url(args), args.study)
    if not any(trial.state is TrialState.COMPLETE for trial in found):
        counts = {state: sum(t.state is state for t in found) for state in TrialState}
        raise NoCompletedTrialsError(no_completed_trial(record.name, counts))
    shares, undefined = importance_or_why_not(found, direction=record.direction, space=record.space)
    if args.json:
        data: dict[str, JSONValue] = dict(shares)
        _write(to_json(data))
        return 0
    if undefined is not None:
        # a table of equal shares would read as a result: say what there is instead
        _write(f"parameter importance is {undefined}\n")
        return 0
    complete = sum(trial.state is TrialState.COMPLETE for trial in found)
    rows = [[name, f"{100.0 * share:.1f}%"] for name, share in shares.items()]
    _write(table(["PARAMETER", "SHARE"], rows, right=(1,)))
    trials_word = "trial" if complete == 1 else "trials"
    _write(f"(main effects, fANOVA, over {complete} complete {trials_word})\n")
    return 0


def no_completed_trial(name: str, counts: Mapping[TrialState, int]) -> str:
    """Why study ``name`` has no best trial, and where to look (for error messages)."""
    listed = ", ".join(f"{counts[state]} {state.value}" for state in _STATES if counts.get(state))
    if not listed:
        return f"study {name!r} has no completed trial yet: it has no trials"
    failed = [
        state.value for state in (TrialState.FAILED, TrialState.CANCELLED) if counts.get(state)
    ]
    if failed:
        return f"study {name!r} has no completed trial ({listed}); {errors_hint(name, failed)}"
    return (
        f"study {name!r} has no completed trial yet ({listed}); "
        "try again when a worker has finished one"
    )


def errors_hint(name: str, states: Collection[str] = ("failed",)) -> str:
    """``see `asynchyper trials NAME --state failed` for their errors``."""
    options = " ".join(f"--state {state}" for state in states)
    return f"see `asynchyper trials {shlex.quote(name)} {options}` for their errors"


# -- fail-stale ----------------------------------------------------------------------
async def _fail_stale(
    url: str, name: str, older_than: float, requeue: bool
) -> tuple[StudyRecord, list[int]]:
    async with existing_storage(url) as store:
        record = await store.get_study(name)
        return record, await store.fail_stale(record.id, older_than=older_than, requeue=requeue)


def fail_stale(args: argparse.Namespace) -> int:
    """``asynchyper fail-stale STUDY``: fail running trials whose owner went silent."""
    record, numbers = anyio.run(
        _fail_stale, storage_url(args), args.study, args.older_than, args.requeue
    )
    requeued = bool(args.requeue and numbers)  # only failed trials are queued again
    if args.json:
        _write(to_json({"study": record.name, "failed": list(numbers), "requeued": requeued}))
        return 0
    if not numbers:
        _write(f"no stale trials in study {record.name!r}\n")
        return 0
    listed = ", ".join(str(number) for number in numbers)
    _write(f"failed {len(numbers)} stale trial(s) of study {record.name!r}: {listed}\n")
    if requeued:
        _write(f"re-queued their parameters as {len(numbers)} new waiting trial(s)\n")
    return 0


# -- copy ----------------------------------------------------------------------------
async def _copy(url: str, name: str, to_url: str, to_name: str) -> int:
    """Copy the study; the number of trials copied (counted in the copy: a worker may
    have added some to the source since)."""
    destination = open_storage(to_url)  # opened by the copy's write: none, none created
    try:
        async with existing_storage(url) as source:
            copied = await copy_study(
                name, from_storage=source, to_storage=destination, to_name=to_name
            )
        return sum((await destination.count_trials(copied.id)).values())
    finally:
        await destination.close()


def copy(args: argparse.Namespace) -> int:
    """``asynchyper copy STUDY --to URL``: copy a study and its trials to another store."""
    url = storage_url(args)
    existing_storage(url)  # a missing source file is reported before anything is created
    if isinstance(open_storage(args.to), MemoryStorage):
        msg = (
            f"--to {args.to!r} is an in-memory store, which would vanish with this "
            "command; give a SQLite file or a PostgreSQL URL"
        )
        raise UsageError(msg)
    to_name = args.study if args.as_name is None else args.as_name
    count = anyio.run(_copy, url, args.study, args.to, to_name)
    if args.json:
        _write(
            to_json(
                {"study": args.study, "to": shown_url(args.to), "name": to_name, "trials": count}
            )
        )
        return 0
    renamed = "" if to_name == args.study else f" as {to_name!r}"
    _write(f"copied study {args.study!r} ({count} trial(s)) to {shown_url(args.to)}{renamed}\n")
    return 0


# -- delete --------------------------------------------------------------------------
async def _delete(url: str, name: str, confirm: bool) -> int | None:
    """Delete the study (after a yes on the terminal); its trial count, or ``None``."""
    async with existing_storage(url) as store:
        record = await store.get_study(name)
        count = sum((await store.count_trials(record.id)).values())
        if confirm:
            question = (
                f"delete study {name!r} and its {count} trial(s) from {shown_url(url)}? [y/N] "
            )
            if not await anyio.to_thread.run_sync(_ask, question):
                return None
        await store.delete_study(name)
        return count


def _ask(question: str) -> bool:
    sys.stderr.write(question)
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def delete(args: argparse.Namespace) -> int:
    """``asynchyper delete STUDY``: delete a study and its trials (asks first)."""
    url = storage_url(args)
    existing_storage(url)  # a missing file is reported before asking anything
    confirm = not args.yes
    if confirm and not sys.stdin.isatty():
        msg = (
            f"refusing to delete study {args.study!r} without confirmation: not on a "
            "terminal; pass --yes to delete it"
        )
        raise CommandError(msg)
    count = anyio.run(_delete, url, args.study, confirm)
    if count is None:
        sys.stderr.write("not deleted\n")
        return 1
    _write(f"deleted study {args.study!r} ({count} trial(s))\n")
    return 0
