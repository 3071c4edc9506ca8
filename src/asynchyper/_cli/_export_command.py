"""``asynchyper export``: every trial of a study as CSV, JSON or JSON lines."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Sequence

import anyio

from .._export import record_columns, trial_records
from .._records import StudyRecord, TrialRecord, TrialState
from .._types import JSONValue
from ._errors import CommandError
from ._output import PRIVATE, replacing, write_problem
from ._store import existing_storage, storage_url

__all__ = ["FORMATS", "export", "render"]

#: The formats ``export --format`` accepts.
FORMATS = ("csv", "json", "jsonl")


async def _load(url: str, name: str) -> tuple[StudyRecord, list[TrialRecord]]:
    async with existing_storage(url) as store:
        record = await store.get_study(name)
        return record, await store.trials(record.id)


def render(trials: Sequence[TrialRecord], space: list[dict[str, JSONValue]], fmt: str) -> str:
    """The trials as text in ``fmt`` (one flat record per trial, see ``trial_records``).

    Args:
        trials: The trials to export.
        space: The study's space description (orders the parameter columns).
        fmt: ``"csv"``, ``"json"`` or ``"jsonl"``.

    Returns:
        The text, ending with a newline.
    """
    records = trial_records(trials, space)
    if fmt == "json":
        return json.dumps(records, indent=2) + "\n"
    if fmt == "jsonl":
        return "".join(json.dumps(record) + "\n" for record in records)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(record_columns(trials, space))
    writer.writerows([_csv_cell(value) for value in record.values()] for record in records)
    return buffer.getvalue()


def _csv_cell(value: JSONValue) -> str:
    """A CSV cell: empty for ``None``, JSON for lists and objects, else the value's text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, float):
        return repr(value)
    return str(value)


def export(args: argparse.Namespace) -> int:
    """``asynchyper export STUDY``: write the trials to stdout or ``-o FILE``."""
    record, found = anyio.run(_load, storage_url(args), args.study)
    if args.state:
        wanted = {TrialState(state) for state in args.state}
        found = [trial for trial in found if trial.state in wanted]
    text = render(found, record.space, args.format)
    if args.output in (None, "-"):
        sys.stdout.write(text)
        return 0
    try:
        with (
            replacing(args.output, mode=PRIVATE) as path,
            open(path, "w", encoding="utf-8", newline="") as file,
        ):
            file.write(text)
    except OSError as exc:
        raise CommandError(write_problem(args.output, exc)) from exc
    sys.stderr.write(f"wrote {len(found)} trial(s) of study {record.name!r} to {args.output}\n")
    return 0
