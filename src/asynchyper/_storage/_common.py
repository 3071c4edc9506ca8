"""Rules shared by every storage: validation, messages, owner ids and staleness.

Every store calls these, so they accept and reject exactly the same input and word
their errors the same way. The SQL stores also share their columns and rows here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import secrets
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

import attrs

from .._errors import (
    SpaceMismatchError,
    StorageError,
    TrialStateError,
    UnknownStudyError,
    UnknownTrialError,
)
from .._logfields import log_fields
from .._records import StudyRecord, TrialRecord, TrialState
from .._space import description_fingerprint
from .._types import Direction, JSONScalar, JSONValue, Params
from ._widen import blocking

__all__ = [
    "STUDY_COLUMNS",
    "TRIAL_COLUMNS",
    "STATE_COLUMNS",
    "COUNT_COLUMNS",
    "TOTAL",
    "BUDGET",
    "counter_moves",
    "study_from_row",
    "trial_from_row",
    "counts_from_row",
    "BUDGET_STATES",
    "CLAIM_BUDGET",
    "CLAIM_BUDGET_STATES",
    "DIRECTIONS",
    "check_direction",
    "check_existing",
    "check_finish",
    "MAX_STUDY_NAME",
    "check_study_name",
    "dumps",
    "KEPT_STATES",
    "first_holding",
    "first_with_result",
    "holds",
    "params_key",
    "import_exists",
    "import_study_row",
    "import_rows",
    "imported_study",
    "is_stale",
    "live_cutoff",
    "is_trial_number",
    "check_trial_number",
    "log_failed_stale",
    "stale_study_name",
    "release_owner_id",
    "new_owner_id",
    "normalize_attrs",
    "normalize_params",
    "normalize_space",
    "not_running",
    "space_difference",
    "space_mismatch_message",
    "stale_error",
    "state_filter",
    "study_exists",
    "unknown_study",
    "unknown_study_id",
    "unknown_trial",
]

#: States that count toward a study's ``max_trials`` budget.
BUDGET_STATES = (TrialState.COMPLETE, TrialState.RUNNING, TrialState.WAITING)
#: States a claim of a WAITING trial counts toward ``max_trials``.
CLAIM_BUDGET_STATES = (TrialState.COMPLETE, TrialState.RUNNING)
#: States in which a trial's parameters count as queued or evaluated
#: (``enqueue_trial(unless_holding=...)``): a failed or cancelled one may be queued again.
KEPT_STATES = (TrialState.WAITING, TrialState.RUNNING, TrialState.COMPLETE)
#: Accepted optimization directions.
DIRECTIONS = ("minimize", "maximize")


def is_whole(given: Mapping[str, JSONScalar], params: Mapping[str, JSONScalar]) -> bool:
    """Whether ``given`` is all of ``params`` (the same names, equal values).

    A trial of the same space then holds ``given`` only with exactly ``params`` (any
    other would have parameters that ``params`` lacks), so the stores answer
    ``enqueue_trial(unless_holding=given)`` through their ``params_key`` index instead
    of reading the study's kept trials.
    """
    return len(given) == len(params) and holds(params, given)


def first_holding(
    trials: Iterable[TrialRecord], given: Mapping[str, JSONScalar]
) -> TrialRecord | None:
    """The first trial in a kept state (:data:`KEPT_STATES`) whose parameters hold
    every value of ``given``: what ``enqueue_trial(unless_holding=...)`` returns for a
    part of the parameters (for all of them, see :func:`is_whole`)."""
    return next((t for t in trials if t.state in KEPT_STATES and holds(t.params, given)), None)


def first_with_result(
    trials: Iterable[TrialRecord],
    params: Mapping[str, JSONScalar],
    states: Collection[TrialState],
) -> TrialRecord | None:
    """The first trial in one of ``states`` with exactly ``params``: what
    ``find_trial`` and ``add_trial(skip_if_exists=True)`` return."""
    return next(
        (
            t
            for t in trials
            if t.state in states and len(t.params) == len(params) and holds(t.params, params)
        ),
        None,
    )


def params_key(params: Mapping[str, JSONScalar]) -> bytes:
    """A 16-byte digest of flat parameters, equal for any two that :func:`holds`
    finds the same (``1`` and ``1.0``, ``0.0`` and ``-0.0``; not ``True`` and ``1``;
    in any key order).

    The stores index it, so that ``add_trial(skip_if_exists=True)`` looks up the
    trials with that digest instead of reading the study; a digest is a hint (two
    configurations may share one), every hit is checked with :func:`holds`.
    """
    items = sorted((name, _canonical(value)) for name, value in params.items())
    text = json.dumps(items, separators=(",", ":"), allow_nan=True)
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def _canonical(value: JSONScalar) -> JSONScalar:
    """One representative of the values ``==`` finds equal (a bool stays a bool)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if isinstance(value, int):
        try:
            as_float = float(value)
        except OverflowError:
            return value
        return as_float if as_float == value else value
    return value + 0.0  # -0.0 + 0.0 is 0.0


def holds(params: Mapping[str, JSONScalar], given: Mapping[str, JSONScalar]) -> bool:
    """Whether ``params`` has every value of ``given`` (the same flat parameters)."""
    missing = object()
    return all(_same(params.get(name, missing), value) for name, value in given.items())


def _same(stored: object, value: object) -> bool:
    """``==``, except that a bool never equals a number (``True == 1`` in Python, not in
    the space: ``Literal[1, True]`` has two choices), as in PostgreSQL's jsonb."""
    return stored == value and isinstance(stored, bool) == isinstance(value, bool)


#: How many known names an "unknown study" message lists before eliding the rest.
_MAX_LISTED_NAMES = 20


def _host_tag() -> str:
    """This host's name, plus its pid namespace when it has one.

    Two containers may share a hostname and a volume but not their process
    tables; the namespace keeps one from judging the other's pids.
    """
    name = socket.gethostname().replace(":", "_")
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return name
    return f"{name}~{namespace}"


_HOSTNAME = _host_tag()
#: Host parts that name this host: the tagged one, and the bare hostname that
#: owner ids built by hand (``f"{socket.gethostname()}:{pid}:..."``) carry.
_LOCAL_HOSTS = frozenset({_HOSTNAME, socket.gethostname()})


#: The owner ids this process made (with its pid): the only ones known to be alive
#: among those carrying this process's pid.
_OWN_IDS: set[str] = set()


def _proc_stat(pid: int) -> list[bytes]:
    """The fields of ``/proc/<pid>/stat`` from field 3 (the state) on; empty if unknown.

    The command name (field 2) may hold spaces and parentheses, so the fields are
    split after its closing parenthesis. Linux only.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            text = stat.read()
        return text[text.rindex(b")") + 2 :].split()
    except (OSError, ValueError):
        return []


def process_start(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot), or ``None`` if unknown.

    A pid is reused once its process has exited; the start time tells the new process
    from the old one. Read from ``/proc``, so known on Linux only.
    """
    return _start_time(_proc_stat(pid))


def _start_time(fields: list[bytes]) -> int | None:
    """The start time (field 22) among :func:`_proc_stat`'s fields, if there."""
    try:
        return int(fields[19])
    except (ValueError, IndexError):
        return None


def new_owner_id() -> str:
    """A fresh owner id for this process: ``"host:pid:token"``.

    The host and pid let any process on the same machine tell whether the owner is
    still alive; the random token keeps two stores in one process apart. Where the
    process's start time is known, the token ends in ``@`` and that time, so that a
    later process that got the same pid is not taken for the owner.

    Returns:
        The owner id.
    """
    pid = os.getpid()
    start = process_start(pid)
    token = secrets.token_hex(4) + ("" if start is None else f"@{start}")
    owner = f"{_HOSTNAME}:{pid}:{token}"
    _OWN_IDS.add(owner)
    return owner


def release_owner_id(owner: str) -> None:
    """Mark an owner id of this process as no longer in use (its study closed).

    Trials it left ``RUNNING`` (a write that failed while it closed) are then stale at
    once for a later study of this process, instead of alive for as long as it runs.
    """
    _OWN_IDS.discard(owner)


def _owner_alive(owner: str | None) -> bool | None:
    """Whether the owner's process is alive, or ``None`` when this host cannot tell."""
    if owner is None:
        return None
    host, _, rest = owner.partition(":")
    pid_text, _, token = rest.partition(":")
    if host not in _LOCAL_HOSTS or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    _, at, started_text = token.rpartition("@")
    started = int(started_text) if at and started_text.isdigit() else None
    if pid == os.getpid():
        if owner in _OWN_IDS:
            return True
        # Not an id in use here: one this process released (its study closed; whatever
        # it left running runs no more) or one of an earlier process that had the same
        # pid (a restarted container's PID 1, with the same hostname). A start time
        # tells it is either; without one, the process table cannot, so the heartbeat
        # decides.
        return None if started is None or process_start(pid) is None else False
    if sys.platform == "win32":
        # os.kill(pid, 0) there is GenerateConsoleCtrlEvent(CTRL_C_EVENT, pid): it would
        # interrupt every process of the console, this one included. The heartbeat
        # decides instead.
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # the process exists but belongs to another user
    except OSError:
        return None
    fields = _proc_stat(pid)  # read once: fail_stale asks this for every running trial
    if fields[:1] in ([b"Z"], [b"X"]):
        return False  # dead, only not yet reaped by its parent: it runs nothing
    if started is not None:
        # The pid is taken, but perhaps by a process that started after the owner died.
        now = _start_time(fields)
        if now is not None and now != started:
            return False
    return True


#: A live process on this host keeps its trials while its heartbeat is younger than this
#: many times ``older_than``: its event loop may be blocked a while (a CPU-bound call in
#: an async objective), but one silent for that long closed its study without recording
#: them (a storage outage) or is stuck, and other processes would wait for it forever.
LIVE_SILENCE_FACTOR = 5.0


def live_cutoff(now: float, older_than: float) -> float:
    """The heartbeat cutoff for a live owner on this host (see LIVE_SILENCE_FACTOR)."""
    return now - LIVE_SILENCE_FACTOR * older_than


def is_stale(
    owner: str | None,
    heartbeat_at: float | None,
    cutoff: float,
    live: float = -math.inf,
) -> bool:
    """Whether a RUNNING trial has lost its owner.

    On the owner's own host the process table decides: a live process keeps its
    trials while its heartbeat is newer than ``live``, a dead one's are stale at once,
    and so are they when another process
    now has the owner's pid (the id carries the owner's start time; Linux only).
    Elsewhere the heartbeat decides, and so it does for an id without a start time
    that carries a live pid it cannot rule out: this process's pid, for example, for
    an id this process did not make (an earlier process with the same pid, such as a
    restarted container's PID 1).

    Args:
        owner: The trial's owner id.
        heartbeat_at: Its last heartbeat (or start time).
        cutoff: Heartbeats older than this Unix time are stale.
        live: The same for an owner known to be alive (:func:`live_cutoff`); by
            default a live owner's trials are never stale.

    Returns:
        Whether the trial should be failed.
    """
    alive = _owner_alive(owner)
    if alive:
        return heartbeat_at is not None and heartbeat_at < live
    if alive is not None:
        return True
    return heartbeat_at is None or heartbeat_at < cutoff


def check_study_name(name: object) -> str:
    """Return ``name`` if it is a usable name for a new study.

    The same limit on every storage, so a study can move between them: PostgreSQL's
    unique index holds at most about 2,700 bytes, and a name is shown in every listing.

    Raises:
        StorageError: It is not a non-empty string of at most ``MAX_STUDY_NAME``
            characters.
    """
    if not isinstance(name, str) or not name:
        msg = f"study name must be a non-empty string, got {name!r}"
        raise StorageError(msg)
    if len(name) > MAX_STUDY_NAME:
        msg = (
            f"study name {name[:40]!r}... has {len(name)} characters; the limit is "
            f"{MAX_STUDY_NAME}. Use a shorter name (keep long descriptions in "
            "user_attrs)"
        )
        raise StorageError(msg)
    return name


#: The longest study name, in characters (at most 4 bytes each in UTF-8).
MAX_STUDY_NAME = 500


def check_direction(direction: object) -> Direction:
    """Return ``direction`` if it is ``"minimize"`` or ``"maximize"``.

    Raises:
        StorageError: Any other value.
    """
    if direction not in DIRECTIONS:
        msg = f"direction must be 'minimize' or 'maximize', got {direction!r}"
        raise StorageError(msg)
    return "maximize" if direction == "maximize" else "minimize"


def dumps(value: Any, what: str) -> str:
    """Encode ``value`` as JSON text, naming ``what`` when it cannot be encoded.

    Raises:
        StorageError: The value holds something JSON cannot represent.
    """
    try:
        return json.dumps(value, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        msg = (
            f"{what} must be JSON-safe (str, int, float, bool, None, lists and dicts "
            f"with str keys): {exc}"
        )
        raise StorageError(msg) from None


def normalize_params(params: Params) -> dict[str, JSONScalar]:
    """A plain-dict copy of flat parameters, checked to be JSON scalars.

    Raises:
        StorageError: A key is not a string or a value is not a JSON scalar.
    """
    out: dict[str, JSONScalar] = {}
    items: Iterable[tuple[object, object]] = params.items()  # checked at run time
    for key, value in items:
        if not isinstance(key, str):
            msg = f"parameter names must be strings, got {key!r}"
            raise StorageError(msg)
        if value is not None and not isinstance(value, str | int | float | bool):
            msg = (
                f"parameter {key!r} has value {value!r} of type {type(value).__name__}; "
                "flat parameters must be str, int, float, bool or None"
            )
            raise StorageError(msg)
        out[key] = value
    return out


def normalize_attrs(attrs: Mapping[str, JSONValue] | None, what: str) -> dict[str, JSONValue]:
    """A deep, JSON-round-tripped copy of user attributes (so every store returns
    exactly what SQLite would: tuples become lists, and so on).

    Raises:
        StorageError: The attributes are not JSON-safe.
    """
    if not attrs:
        return {}
    loaded: dict[str, JSONValue] = json.loads(dumps(dict(attrs), what))
    return loaded


def normalize_space(space: Iterable[Mapping[str, JSONValue]]) -> list[dict[str, JSONValue]]:
    """A JSON-round-tripped copy of a space description (``Space.describe()``).

    Raises:
        StorageError: The description is not JSON-safe.
    """
    loaded: list[dict[str, JSONValue]] = json.loads(dumps(list(space), "space description"))
    return loaded


def check_finish(
    state: object, value: object, error: object, *, what: str = "finish_trial"
) -> tuple[float | None, str | None]:
    """Validate the outcome given to ``what`` (a store's method); return ``(value, error)``.

    Raises:
        TrialStateError: ``state`` is not a finished state, a COMPLETE trial has no
            finite value, or a non-COMPLETE trial was given a value.
    """
    if not isinstance(state, TrialState) or not state.is_finished:
        msg = (
            f"{what}(state={state!r}) must be given a finished state: "
            "TrialState.COMPLETE, FAILED or CANCELLED"
        )
        raise TrialStateError(msg)
    if error is not None and not isinstance(error, str):
        msg = f"error must be a string or None, got {type(error).__name__}"
        raise TrialStateError(msg)
    if state is TrialState.COMPLETE:
        if isinstance(value, bool) or not isinstance(value, int | float):
            msg = f"a COMPLETE trial needs a float value, got value={value!r}"
            raise TrialStateError(msg)
        number = float(value)
        if not math.isfinite(number):
            msg = (
                f"a COMPLETE trial needs a finite value, got value={number!r}; "
                f"{'add' if what == 'add_trial' else 'finish'} it with "
                "state=TrialState.FAILED and an error instead"
            )
            raise TrialStateError(msg)
        return number, error
    if value is not None:
        msg = (
            f"only a COMPLETE trial has a value, got value={value!r} with state={state.name}; "
            "pass value=None (and the reason as error=...)"
        )
        raise TrialStateError(msg)
    return None, error


def _elide(names: list[str]) -> str:
    if not names:
        return "none"
    shown = ", ".join(repr(name) for name in names[:_MAX_LISTED_NAMES])
    if len(names) > _MAX_LISTED_NAMES:
        shown += f" and {len(names) - _MAX_LISTED_NAMES} more"
    return shown


def unknown_study(name: str, known: Iterable[str], where: str) -> UnknownStudyError:
    """The error for a missing study name, listing the names that do exist."""
    msg = (
        f"no study named {name!r} in {where}; known studies: {_elide(list(known))}. "
        "Check the name, or create the study: open_study() and minimize() create it "
        "when missing, and Storage.create_study() creates it directly"
    )
    return UnknownStudyError(msg)


def study_exists(name: str, where: str) -> StorageError:
    """The error for creating a study that exists when ``load_if_exists`` is false."""
    msg = (
        f"study {name!r} already exists in {where}; pass load_if_exists=True to "
        "resume it, or choose another name"
    )
    return StorageError(msg)


def import_exists(name: str, where: str) -> StorageError:
    """The error for importing (copying) a study under a name that is taken."""
    msg = (
        f"study {name!r} already exists in {where}; copy it under another name "
        "(copy_study(..., to_name=...), or asynchyper copy --as NAME), or delete that "
        "study first"
    )
    return StorageError(msg)


def unknown_study_id(study_id: int, where: str) -> UnknownStudyError:
    """The error for a study id that does not exist (e.g. the study was deleted)."""
    msg = f"no study with id {study_id} in {where}; it may have been deleted"
    return UnknownStudyError(msg)


def is_trial_number(number: object, count: int) -> bool:
    """Whether ``number`` is an int in ``0..count-1``."""
    return type(number) is int and 0 <= number < count


def check_trial_number(number: object) -> None:
    """Reject a trial number that is not an int before it reaches a database.

    SQLite would coerce ``"3"`` or ``3.0`` to the integer 3; only real ints name a trial.

    Raises:
        UnknownTrialError: ``number`` is not an int.
    """
    if type(number) is not int:
        msg = f"a trial number is an int, got {number!r} ({type(number).__name__})"
        raise UnknownTrialError(msg)


def unknown_trial(study_id: int, number: object, count: int) -> UnknownTrialError:
    """The error for a trial number that does not exist in a study of ``count`` trials."""
    held = f"trials 0..{count - 1}" if count else "no trials"
    msg = f"study {study_id} has no trial number {number!r} (it has {held})"
    return UnknownTrialError(msg)


def not_running(number: int, state: TrialState) -> TrialStateError:
    """The error for finishing a trial that is not RUNNING (the caller names the study)."""
    if state is TrialState.WAITING:
        why = (
            "it is queued and has not started: a queued trial starts when ask() or "
            "optimize() takes it; a result obtained elsewhere goes in with "
            "study.add(config, value)"
        )
    else:
        why = "a trial can be finished only once"
    msg = f"trial {number} is {state.name}, not RUNNING; {why}"
    return TrialStateError(msg)


def _dimension_key(index: int, dimension: Mapping[str, JSONValue]) -> str:
    name = dimension.get("name")
    return name if isinstance(name, str) else f"#{index}"


def _without_path(dimension: Mapping[str, JSONValue]) -> dict[str, JSONValue]:
    return {key: value for key, value in dimension.items() if key != "path"}


def space_difference(
    old: Collection[Mapping[str, JSONValue]], new: Collection[Mapping[str, JSONValue]]
) -> str:
    """Describe how two space descriptions differ, dimension by dimension.

    Args:
        old: The stored description (``Space.describe()`` at creation).
        new: The description of the space given now.

    Returns:
        Lines such as ``"added lr"``, ``"removed depth"``,
        ``"changed C: high 10 -> 100"``; empty when the descriptions are equal.
    """
    return "; ".join(line for _, line in _difference_lines(old, new))


def _difference_lines(
    old: Collection[Mapping[str, JSONValue]], new: Collection[Mapping[str, JSONValue]]
) -> list[tuple[str, str]]:
    """:func:`space_difference`'s lines, each with the name of its dimension."""
    before = {_dimension_key(i, d): d for i, d in enumerate(old)}
    after = {_dimension_key(i, d): d for i, d in enumerate(new)}
    lines = [(name, f"removed {name}") for name in before if name not in after]
    lines.extend((name, f"added {name}") for name in after if name not in before)
    for name, was in before.items():
        now = after.get(name)
        if now is None or _without_path(now) == _without_path(was):
            continue
        fields = sorted((set(was) | set(now)) - {"path"})  # a renamed class: not a change
        changes = ", ".join(
            f"{field} {was.get(field)!r} -> {now.get(field)!r}"
            for field in fields
            if was.get(field) != now.get(field)
        )
        lines.append((name, f"changed {name}: {changes}"))
    return lines


def space_mismatch_message(
    name: str,
    stored_fingerprint: str,
    fingerprint: str,
    stored_space: Collection[Mapping[str, JSONValue]],
    space: Collection[Mapping[str, JSONValue]],
) -> str:
    """The message of a ``SpaceMismatchError``: what changed and how to fix it.

    The changes that keep the new space from containing the stored one come first; the
    others (a wider range, a new prior), which alone would be taken, are listed after.
    """
    lines = _difference_lines(stored_space, space)
    blocked = blocking(stored_space, space)
    if not blocked:  # no usable names, or the space alone is not what blocks: all of it
        difference = "; ".join(line for _, line in lines)
    else:
        difference = "; ".join(line for name, line in lines if name in blocked)
        compatible = [line for name, line in lines if name not in blocked]
        if compatible:
            difference += f" (also changed, which alone would be taken: {'; '.join(compatible)})"
    if not difference:
        difference = "the dimensions look the same but the fingerprint differs"
    return (
        f"study {name!r} was created with another search space "
        f"(fingerprint {stored_fingerprint} -> {fingerprint}): {difference}. "
        "Use a new study name for the new space, or delete the old study (a space that "
        "contains the stored one, with wider ranges or more choices, is taken as is)"
    )


def space_replaced_meanwhile(name: str, stored: str, expected: str) -> SpaceMismatchError:
    """The error when a study's stored space changed between reading and replacing it."""
    msg = (
        f"the search space of study {name!r} changed while it was being widened (stored "
        f"fingerprint {stored}, expected {expected}): another process stored another "
        "space; open the study again"
    )
    return SpaceMismatchError(msg)


def state_filter(states: Collection[TrialState] | None) -> frozenset[TrialState] | None:
    """Normalize the ``states`` argument of ``trials()``.

    Raises:
        StorageError: An element is not a ``TrialState``.
    """
    if states is None:
        return None
    chosen = frozenset(states)
    members: frozenset[object] = chosen  # checked at run time
    for state in members:
        if not isinstance(state, TrialState):
            msg = f"states must hold TrialState members, got {state!r}"
            raise StorageError(msg)
    return chosen


def _same_space(stored: Sequence[Mapping[str, JSONValue]], fingerprint: str) -> bool:
    """Whether a stored description fingerprints, today, as ``fingerprint``.

    A study stored before the fingerprint ignored the order of categorical choices
    keeps its old digest; recomputing it from the stored description lets such a
    study open with its choices reordered.
    """
    try:
        return description_fingerprint(stored) == fingerprint
    except (TypeError, ValueError):  # a description this version cannot read
        return False


def check_existing(
    record: StudyRecord,
    fingerprint: str,
    space: list[dict[str, JSONValue]],
    direction: str,
) -> StudyRecord:
    """Return ``record`` if it can be resumed with this space and direction.

    Raises:
        SpaceMismatchError: The fingerprints differ (the message shows how), or the
            directions differ: both are "this is not the study you described".
    """
    if record.fingerprint != fingerprint and not _same_space(record.space, fingerprint):
        msg = space_mismatch_message(
            record.name, record.fingerprint, fingerprint, record.space, space
        )
        raise SpaceMismatchError(msg)
    if record.direction != direction:
        msg = (
            f"study {record.name!r} was created with direction={record.direction!r}; got "
            f"direction={direction!r}. Pass direction={record.direction!r} (or call "
            f"{record.direction}()), or use another study name"
        )
        raise SpaceMismatchError(msg)
    return record


async def stale_study_name(read: Callable[[], Awaitable[str]], study_id: int) -> str:
    """The name of the study whose trials ``fail_stale`` failed, for its warning.

    Read after the trials were failed: a read that fails must not lose that result,
    so the id stands in for the name then.
    """
    try:
        return await read()
    except Exception:  # the warning only: the trials are failed already
        return f"#{study_id}"


def log_failed_stale(
    logger: logging.Logger, where: str, study: str, failed: list[int], *, requeue: bool
) -> None:
    """Warn (on the store's own logger) that ``fail_stale`` failed these trials of the
    study named ``study``."""
    if failed:
        logger.warning(
            "%s: marked trials %s of study %r FAILED: their process is gone or stopped "
            "sending heartbeats%s",
            where,
            failed,
            study,
            " (requeued)" if requeue else "",
            extra=log_fields(study),
        )


def stale_error(owner: str | None) -> str:
    """The error text stored on a trial failed by ``fail_stale``."""
    return (
        f"its process ({owner}) stopped sending heartbeats or is no longer alive; "
        "marked FAILED by fail_stale"
    )


# -- rows to records (the SQL stores select these columns, in this order) ----------
STUDY_COLUMNS = "id, name, direction, fingerprint, space, created_at, user_attrs"
TRIAL_COLUMNS = (
    "number, state, params, value, error, user_attrs, owner, "
    "created_at, started_at, finished_at, heartbeat_at, seq"
)
#: Counter columns of the studies table, one per trial state (see ``TrialState.value``).
STATE_COLUMNS = {
    "waiting": "n_waiting",
    "running": "n_running",
    "complete": "n_complete",
    "failed": "n_failed",
    "cancelled": "n_cancelled",
}
#: The counters as a select list, as the number of trials, and as the budget in use.
COUNT_COLUMNS = ", ".join(STATE_COLUMNS.values())
TOTAL = " + ".join(STATE_COLUMNS.values())
BUDGET = "n_complete + n_running + n_waiting"
#: The budget a claim checks: the claimed trial is one of the WAITING ones.
CLAIM_BUDGET = "n_complete + n_running"
_STATES = {state.value: state for state in TrialState}


def counter_moves(leave: str | None, enter: str | None) -> list[str]:
    """SET assignments moving one trial from the ``leave`` to the ``enter`` counter."""
    sets = []
    if leave is not None:
        sets.append(f"{STATE_COLUMNS[leave]} = {STATE_COLUMNS[leave]} - 1")
    if enter is not None:
        sets.append(f"{STATE_COLUMNS[enter]} = {STATE_COLUMNS[enter]} + 1")
    return sets


def study_from_row(row: Sequence[Any]) -> StudyRecord:
    """A study record from a row of :data:`STUDY_COLUMNS`."""
    return StudyRecord(
        id=row[0],
        name=row[1],
        direction=check_direction(row[2]),
        fingerprint=row[3],
        space=json.loads(row[4]),
        created_at=row[5],
        user_attrs=json.loads(row[6]) if row[6] else {},
    )


def trial_from_row(study_id: int, row: Sequence[Any]) -> TrialRecord:
    """A trial record from a row of :data:`TRIAL_COLUMNS`."""
    return TrialRecord(
        study_id=study_id,
        number=row[0],
        state=_STATES[row[1]],
        params=json.loads(row[2]),
        value=row[3],
        error=row[4],
        user_attrs=json.loads(row[5]) if row[5] else {},
        owner=row[6],
        created_at=row[7],
        started_at=row[8],
        finished_at=row[9],
        heartbeat_at=row[10],
        seq=row[11],
    )


def counts_from_row(row: Sequence[Any]) -> dict[TrialState, int]:
    """Trials per state from a row of :data:`COUNT_COLUMNS`."""
    return {_STATES[state]: int(count) for state, count in zip(STATE_COLUMNS, row, strict=True)}


def imported_study(study: StudyRecord, name: str | None) -> StudyRecord:
    """``study`` as ``Storage.import_study`` stores it, under ``name`` if given: name
    and direction checked, space and user attributes normalised (the id is the store's).

    Raises:
        StorageError: A bad name or direction, or a value JSON cannot hold.
    """
    return attrs.evolve(
        study,
        name=check_study_name(study.name if name is None else name),
        direction=check_direction(study.direction),
        space=normalize_space(study.space),
        user_attrs=normalize_attrs(study.user_attrs, "study user_attrs"),
    )


def import_rows(trials: Sequence[TrialRecord]) -> list[tuple[Any, ...]]:
    """Rows of :data:`TRIAL_COLUMNS` for ``Storage.import_study``, checked.

    Trials are taken in number order and get new change counters ``1..n``.

    Raises:
        StorageError: The numbers are not ``0..n-1``, or a trial is not storable (a
            COMPLETE one without a finite value, a parameter that is no JSON scalar).
    """
    ordered = sorted(trials, key=lambda trial: trial.number)
    numbers = [trial.number for trial in ordered]
    if numbers != list(range(len(ordered))):
        msg = (
            "import_study() needs trials numbered 0, 1, ..., n - 1 (each number once), "
            f"got numbers {_elide([str(n) for n in numbers])}; pass every trial of the study"
        )
        raise StorageError(msg)
    rows = []
    for seq, trial in enumerate(ordered, start=1):
        given: object = trial.state
        if not isinstance(given, TrialState):
            msg = f"trial {trial.number}: state must be a TrialState, got {given!r}"
            raise StorageError(msg)
        value, error = trial.value, trial.error
        if trial.state.is_finished:
            try:
                value, error = check_finish(trial.state, value, error)
            except TrialStateError as exc:
                msg = f"trial {trial.number} cannot be imported: {exc}"
                raise StorageError(msg) from None
        params = normalize_params(trial.params)
        attrs = normalize_attrs(trial.user_attrs, f"trial {trial.number} user_attrs")
        rows.append(
            (
                trial.number,
                trial.state.value,
                dumps(params, "params"),
                value,
                error,
                dumps(attrs, "trial user_attrs") if attrs else None,
                trial.owner,
                trial.created_at if trial.created_at is not None else time.time(),
                trial.started_at,
                trial.finished_at,
                trial.heartbeat_at,
                seq,
            )
        )
    return rows


def import_study_row(study: StudyRecord, rows: Sequence[tuple[Any, ...]]) -> dict[str, Any]:
    """The studies-table row of an imported study (from :func:`imported_study`) that
    holds ``rows`` (from :func:`import_rows`): column name -> value."""
    counts = dict.fromkeys(STATE_COLUMNS.values(), 0)
    for row in rows:
        counts[STATE_COLUMNS[row[1]]] += 1
    return {
        "name": study.name,
        "direction": study.direction,
        "fingerprint": study.fingerprint,
        "space": dumps(study.space, "space description"),
        "user_attrs": dumps(study.user_attrs, "study user_attrs") if study.user_attrs else None,
        "created_at": study.created_at,
        "last_seq": len(rows),
        **counts,
    }
