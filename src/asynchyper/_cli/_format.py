"""Plain-text tables and value formatting for the command line (no dependency)."""

from __future__ import annotations

import datetime
import json
import math
import unicodedata
from collections.abc import Collection, Mapping, Sequence

from .._export import TrialLike
from .._records import error_summary
from .._types import JSONValue

__all__ = [
    "CELL_WIDTH",
    "MISSING",
    "dimension_row",
    "display_width",
    "format_duration",
    "format_error",
    "format_number",
    "format_scalar",
    "format_text",
    "format_time",
    "table",
    "to_json",
    "trial_json",
]

#: What a table shows for a value that does not exist (inactive parameter, no value).
MISSING = "-"
#: Longer text cells (parameter values, study names, errors) are shortened to this.
CELL_WIDTH = 60
#: Unicode categories shown escaped in tables: control characters and line breaks.
_ESCAPED = frozenset({"Cc", "Zl", "Zp"})
#: Unicode categories that take no column: combining marks and format characters.
_ZERO_WIDTH = frozenset({"Mn", "Me", "Cf"})
#: East Asian widths shown in two columns.
_WIDE = frozenset({"W", "F"})


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    right: Collection[int] = (),
) -> str:
    """Aligned columns separated by two spaces, with a header row.

    Args:
        headers: Column titles.
        rows: Cells, already formatted as text.
        right: Indices of the columns to right-align (numbers).

    Returns:
        The table, one line per row, ending with a newline. Control characters in
        a cell are shown escaped (a newline as ``\\n``), so that a row stays a line.
    """
    headers = [_escape(title) for title in headers]
    rows = [[_escape(cell) for cell in row] for row in rows]
    widths = [display_width(title) for title in headers]
    for row in rows:
        for column, cell in enumerate(row):
            widths[column] = max(widths[column], display_width(cell))
    lines = []
    for row in (headers, *rows):
        cells = []
        for column, cell in enumerate(row):
            padding = " " * (widths[column] - display_width(cell))
            cells.append(padding + cell if column in right else cell + padding)
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes: wide (East Asian) characters two, combining ones none."""
    if text.isascii():
        return len(text)
    return sum(_char_width(char) for char in text)


def _char_width(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) in _ZERO_WIDTH:
        return 0
    return 2 if unicodedata.east_asian_width(char) in _WIDE else 1


def _escape(text: str) -> str:
    """``text`` with control characters and line breaks escaped as in ``repr``."""
    if text.isprintable():
        return text
    return "".join(
        repr(char)[1:-1] if unicodedata.category(char) in _ESCAPED else char for char in text
    )


def format_text(text: str, limit: int = CELL_WIDTH) -> str:
    """Free text as a table cell: escaped, and shortened to ``limit`` columns with ``…``."""
    text = _escape(text)
    if display_width(text) <= limit:
        return text
    kept, width = [], 0
    for char in text:
        width += _char_width(char)
        if width > limit - 1:
            break
        kept.append(char)
    return "".join(kept) + "…"


def format_error(error: str | None) -> str:
    """An error's one-line summary (a traceback's exception line) as a table cell, or ``-``."""
    if not (error or "").strip():
        return MISSING
    return format_text(error_summary(error))


def format_number(value: float | None) -> str:
    """A value with six significant digits, or ``-``."""
    if value is None:
        return MISSING
    return f"{value:.6g}"


def format_scalar(value: JSONValue) -> str:
    """A parameter or attribute value as a table cell."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return format_text(value)
    return format_text(json.dumps(value, separators=(",", ":")))


def format_time(timestamp: float | None) -> str:
    """A Unix time as ``YYYY-MM-DD HH:MM:SS`` in UTC, or ``-``."""
    if timestamp is None:
        return MISSING
    moment = datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def format_duration(seconds: float | None) -> str:
    """Seconds as ``0.123s``, ``12.3s`` or ``1h02m03s``, or ``-``."""
    if seconds is None or not math.isfinite(seconds):
        return MISSING
    if seconds < 60:
        return f"{seconds:.3g}s" if seconds < 10 else f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def dimension_row(dimension: Mapping[str, JSONValue]) -> list[str]:
    """One row (name, kind, range, active when) describing a stored space dimension."""
    kind = str(dimension.get("kind"))
    choices = dimension.get("choices")
    if kind == "categorical" and isinstance(choices, list):
        weights = dimension.get("weights")
        if (
            isinstance(weights, list)
            and len(weights) == len(choices)
            and all(isinstance(w, float) for w in weights)
        ):
            items = [f"{format_scalar(c)}: {w:.3g}" for c, w in zip(choices, weights, strict=True)]
        else:
            items = [format_scalar(choice) for choice in choices]
        shown = "{" + ", ".join(items) + "}"
        if dimension.get("is_branch"):
            kind = "branch"
    else:
        shown = f"[{format_scalar(dimension.get('low'))}, {format_scalar(dimension.get('high'))}]"
        if dimension.get("log"):
            shown += " log"
        mu, sigma = dimension.get("mu"), dimension.get("sigma")
        if mu is not None and sigma is not None:
            shown += f" N({format_scalar(mu)}, {format_scalar(sigma)})"
        step = dimension.get("step")
        if step is not None and not (kind == "int" and step == 1):
            shown += f" step {format_scalar(step)}"
    parent = dimension.get("parent")
    condition = "" if parent is None else f"{parent} = {dimension.get('parent_choice')}"
    return [str(dimension.get("name")), kind, shown, condition]


def trial_json(trial: TrialLike) -> dict[str, JSONValue]:
    """A trial as a nested JSON object (``params`` and ``user_attrs`` as objects)."""
    duration = (
        None
        if trial.started_at is None or trial.finished_at is None
        else trial.finished_at - trial.started_at
    )
    return {
        "number": trial.number,
        "state": trial.state.value,
        "value": trial.value,
        "params": dict(trial.params),
        "user_attrs": dict(trial.user_attrs),
        "started_at": trial.started_at,
        "finished_at": trial.finished_at,
        "duration": duration,
        "owner": trial.owner,
        "error": trial.error,
    }


def to_json(data: JSONValue) -> str:
    """Indented JSON text ending with a newline."""
    return json.dumps(data, indent=2) + "\n"
