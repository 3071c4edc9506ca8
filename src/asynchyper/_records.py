"""Public and storage-level records of studies and trials (frozen attrs classes)."""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Mapping
from typing import Generic, Protocol, TypeVar

import attrs

from ._types import Direction, JSONScalar, JSONValue

__all__ = [
    "StudyRecord",
    "Trial",
    "TrialLike",
    "TrialRecord",
    "TrialState",
    "error_signature",
    "error_summary",
]

T = TypeVar("T")


class TrialState(enum.Enum):
    """Life-cycle state of a trial."""

    #: Queued with fixed parameters (e.g. re-queued after a crash); not yet started.
    WAITING = "waiting"
    #: Being evaluated by some process.
    RUNNING = "running"
    #: Finished with a value.
    COMPLETE = "complete"
    #: Raised, returned NaN or a wrong type, timed out, or its process died.
    FAILED = "failed"
    #: Stopped because the study was cancelled.
    CANCELLED = "cancelled"

    @property
    def is_finished(self) -> bool:
        """Whether the trial can no longer change state."""
        return self in (TrialState.COMPLETE, TrialState.FAILED, TrialState.CANCELLED)


@attrs.frozen(kw_only=True)
class StudyRecord:
    """A study as storage keeps it.

    Attributes:
        id: Storage-assigned identifier.
        name: Unique study name.
        direction: ``"minimize"`` or ``"maximize"``.
        fingerprint: Fingerprint of the compiled space the study was created with.
        space: JSON description of that space (``Space.describe()``).
        created_at: Unix time of creation.
        user_attrs: JSON-safe user attributes.
    """

    id: int
    name: str
    direction: Direction
    fingerprint: str
    space: list[dict[str, JSONValue]]
    created_at: float
    user_attrs: Mapping[str, JSONValue] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class TrialRecord:
    """A trial as storage keeps it (flat parameters, not yet decoded).

    Attributes:
        study_id: The owning study.
        number: Per-study number, unique, assigned by storage from 0.
        state: Current state.
        params: Flat branch-tagged parameters.
        value: Objective value when ``COMPLETE``, else ``None``.
        error: Failure reason (with traceback text) when ``FAILED``/``CANCELLED``.
        user_attrs: JSON-safe user attributes.
        owner: Identifier of the process running it (``host:pid:token``).
        created_at: Unix time the trial was created.
        started_at: Unix time it started running.
        finished_at: Unix time it finished.
        heartbeat_at: Last heartbeat of its owner while running.
        seq: Change counter, increasing with every state change within the study,
            so readers can fetch only what changed since they last looked.
    """

    study_id: int
    number: int
    state: TrialState
    params: Mapping[str, JSONScalar]
    value: float | None = None
    error: str | None = None
    user_attrs: Mapping[str, JSONValue] = attrs.field(factory=dict)
    owner: str | None = None
    created_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    heartbeat_at: float | None = None
    seq: int = 0


@attrs.frozen(kw_only=True)
class Trial(Generic[T]):
    """One trial of a study, with its configuration decoded to the space class.

    Attributes:
        number: Per-study number, from 0.
        state: Current state.
        config: The configuration, a real instance of the space class.
        params: The same configuration as flat, branch-tagged parameters.
        value: Objective value when ``COMPLETE``, else ``None``.
        error: Failure reason when ``FAILED`` or ``CANCELLED``.
        user_attrs: JSON-safe attributes set by the objective or the user.
        started_at: Unix time it started running, if it did.
        finished_at: Unix time it finished, if it did.
        owner: The study process that ran it, ``host:pid:token`` (with worker
            processes or Dask, the one that sent it to its worker); ``None`` for a
            trial that never ran, or was added with its result by :meth:`Study.add`.
    """

    number: int
    state: TrialState
    config: T
    params: Mapping[str, JSONScalar]
    value: float | None = None
    error: str | None = None
    user_attrs: Mapping[str, JSONValue] = attrs.field(factory=dict)
    started_at: float | None = None
    finished_at: float | None = None
    owner: str | None = None

    @property
    def duration(self) -> float | None:
        """Seconds from start to finish, when both are known."""
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


class TrialLike(Protocol):
    """What export and analysis read from a trial: a :class:`TrialRecord` or a :class:`Trial`."""

    @property
    def number(self) -> int:
        """Per-study number."""

    @property
    def state(self) -> TrialState:
        """Life-cycle state."""

    @property
    def params(self) -> Mapping[str, JSONScalar]:
        """Flat, branch-tagged parameters."""

    @property
    def value(self) -> float | None:
        """Objective value when complete."""

    @property
    def error(self) -> str | None:
        """Failure reason."""

    @property
    def user_attrs(self) -> Mapping[str, JSONValue]:
        """JSON-safe user attributes."""

    @property
    def started_at(self) -> float | None:
        """Unix time it started running."""

    @property
    def finished_at(self) -> float | None:
        """Unix time it finished."""

    @property
    def owner(self) -> str | None:
        """The study process that ran it (``host:pid:token``)."""


def error_summary(error: str | None) -> str:
    """One line for a failed trial's stored error: the exception and its message.

    For a traceback (as ``traceback.format_exception`` writes it) that is the final
    exception's own line, not the text's last line, which may be a note added to the
    exception, the rest of a message of several lines, or the frame of an exception
    group (then its first sub-exception is named too). Other text: its last line.
    """
    lines = _lines(error)
    if not lines:
        return "no error recorded"
    found = _final_exception_line(lines)
    return found if found is not None else lines[-1].strip()


def error_signature(error: str | None) -> str:
    """What makes two failures "the same error" for the log: the exception's type and
    the frame that raised it, so that messages holding ids, paths or addresses that
    differ every time still count as one (other text: itself, its numbers aside)."""
    lines = _lines(error)
    found = _final_exception_line(lines)
    if found is None:
        return _NUMBERS.sub("#", "\n".join(lines))  # "returned dict {'loss': 0.3}"
    frames = _FRAME.findall("\n".join(lines))
    # The raising frame in the user's code: a worker process's error is raised again
    # in asynchyper's executor, whose frame would make every such error one.
    own = [frame for frame in frames if not frame[0].startswith(_PACKAGE)]
    kind = found.split(":", 1)[0]
    if not frames:
        return found
    path, line, function = (own or frames)[-1]
    return f"{kind} at {path}:{line} in {function}"


_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)')
#: asynchyper's own source files: their frames never name where an error comes from.
_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
_NUMBERS = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_HEADER = "Traceback (most recent call last):"
_GROUP_HEADER = "+ Exception Group Traceback (most recent call last):"
#: Lines after which a (chained) exception's own line comes.
_STARTS = frozenset(
    {
        _HEADER,
        _GROUP_HEADER.removeprefix("+ "),  # a group inside a group
        "The above exception was the direct cause of the following exception:",
        "During handling of the above exception, another exception occurred:",
    }
)


def _lines(error: str | None) -> list[str]:
    """The lines of ``error``, their indentation kept (it tells a group's levels)."""
    lines = (error or "").rstrip().splitlines()
    while lines and not lines[0].strip():
        del lines[0]
    return lines


def _final_exception_line(lines: list[str]) -> str | None:
    """The line naming the final exception of a traceback, or ``None`` if no traceback."""
    plain, _ = _last_start(lines, "")
    group, group_prefix = _last_group_start(lines)
    if plain < 0 and group < 0:
        return None
    start, prefix = (group, group_prefix) if group > plain else (plain, "")
    found = _first_unindented(lines, start + 1, prefix)
    if found is None or not prefix:
        return found
    first = _first_member(lines, start + 1)
    return f"{found}; the first: {first}" if first is not None else found


def _last_start(
    lines: list[str], prefix: str, begin: int = 0, end: int | None = None
) -> tuple[int, str]:
    """The last line (from ``begin`` to ``end``) after which the final exception's own
    line comes: a traceback header, or a chain's separator (an exception that was never
    raised has no traceback of its own: its line follows the separator)."""
    found = -1
    for index in range(begin, len(lines) if end is None else end):
        line = lines[index]
        if line.startswith(prefix) and line[len(prefix) :] in _STARTS:
            found = index
    return found, prefix


def _last_group_start(lines: list[str]) -> tuple[int, str]:
    """The last top-level header of an exception group, and its lines' prefix."""
    found = -1
    for index, line in enumerate(lines):
        if line.strip() == _GROUP_HEADER and not line.startswith("   "):
            found = index
    if found < 0:
        return -1, ""
    line = lines[found]
    return found, line[: line.index("+")] + "| "


def _first_member(lines: list[str], start: int) -> str | None:
    """The line naming a group's first sub-exception (after its ``+-+--- 1 ---`` rule)."""
    for index in range(start, len(lines) - 1):
        if lines[index].lstrip().startswith("+-+"):
            inner = lines[index + 1]
            bar = inner.find("| ")
            if bar < 0:
                return None
            prefix = inner[: bar + 2]
            stop = index + 1
            while stop < len(lines) and lines[stop].startswith(prefix):
                stop += 1  # the member's block: its lines all carry the prefix
            last, _ = _last_start(lines, prefix, index + 1, stop)
            return _first_unindented(lines, last + 1 if last >= 0 else index + 1, prefix)
    return None


def _first_unindented(lines: list[str], start: int, prefix: str) -> str | None:
    """The first line from ``start`` that, past ``prefix``, does not start with a space."""
    for line in lines[start:]:
        if not line.startswith(prefix):
            continue
        rest = line[len(prefix) :]
        if rest and not rest[0].isspace():
            return rest
    return None
