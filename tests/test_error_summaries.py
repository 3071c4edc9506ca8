"""error_summary and error_signature: one line, and one identity, for a stored error."""

from __future__ import annotations

import traceback

import anyio

from asynchyper._records import _PACKAGE, error_signature, error_summary


def _text(function: object) -> str:
    try:
        function()  # type: ignore[operator]
    except BaseException as exc:
        return "".join(traceback.format_exception(exc)).rstrip()
    raise AssertionError


def _group() -> None:
    msg = "several"
    raise ExceptionGroup(msg, [ValueError("first bad"), KeyError("k")])


def _noted() -> None:
    exc = ValueError("x must be positive")
    exc.add_note("while building the optimizer")
    raise exc


def _two_lines() -> None:
    msg = "bad shape\n  got (3, 5)"
    raise ValueError(msg)


def _chained() -> None:
    try:
        _ = 1 / 0
    except ZeroDivisionError as exc:
        msg = "wrapped"
        raise RuntimeError(msg) from exc


def _task_group() -> None:
    async def fail() -> None:
        msg = "in a task"
        raise ValueError(msg)

    async def main() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(fail)

    anyio.run(main)


def _member_chained() -> None:
    try:
        try:
            msg = "k"
            raise KeyError(msg)
        except KeyError as exc:
            msg = "member"
            raise ValueError(msg) from exc
    except ValueError as member:
        msg = "g"
        raise ExceptionGroup(msg, [member]) from None


def _groups_chained() -> None:
    try:
        msg = "inner"
        raise ExceptionGroup(msg, [TypeError("deep")])
    except ExceptionGroup as inner:
        msg = "outer"
        raise ExceptionGroup(msg, [inner])  # noqa: B904 - "during handling" on purpose


def test_the_summary_is_the_final_exception_line_not_the_last_line() -> None:
    cases = {
        _group: "ExceptionGroup: several (2 sub-exceptions); the first: ValueError: first bad",
        _noted: "ValueError: x must be positive",
        _two_lines: "ValueError: bad shape",
        _chained: "RuntimeError: wrapped",
        _task_group: (
            "ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception); the first: "
            "ValueError: in a task"
        ),
        _member_chained: "ExceptionGroup: g (1 sub-exception); the first: ValueError: member",
        _groups_chained: (
            "ExceptionGroup: outer (1 sub-exception); the first: ExceptionGroup: inner "
            "(1 sub-exception)"
        ),
    }
    for function, expected in cases.items():
        assert error_summary(_text(function)) == expected, function


def test_an_exception_that_was_never_raised_is_summed_up_by_itself_not_its_cause() -> None:
    # tell(trial, error=exc) with an exception made, not raised: no traceback of its own
    final = ValueError("final")
    try:
        msg = "cause"
        raise KeyError(msg)
    except KeyError as cause:
        final.__cause__ = cause
    assert error_summary("".join(traceback.format_exception(final))) == "ValueError: final"


def test_plain_text_is_its_own_summary() -> None:
    assert error_summary("ran out of memory") == "ran out of memory"
    assert error_summary("  first\nlast  \n") == "last"
    assert error_summary(None) == error_summary("") == "no error recorded"


def test_the_signature_is_the_type_and_the_users_frame_raising_it() -> None:
    first, second = _text(_chained), _text(_chained)
    assert error_signature(first) == error_signature(second)
    assert error_signature(first).startswith(f"RuntimeError at {__file__}:")
    assert error_signature(first) != error_signature(_text(_two_lines))
    # A worker process's error, raised again in asynchyper's executor: the user's
    # frame inside the remote traceback names it, not the executor's re-raise.
    remote = (
        'asynchyper._executor._remote._RemoteTraceback: \n"""\n'
        "Traceback (most recent call last):\n"
        f'  File "{_PACKAGE}_executor/_remote.py", line 134, in call_objective\n'
        "    value = objective(config)\n"
        '  File "/home/me/train.py", line 9, in load\n'
        '    raise ValueError(f"cannot load shard {x}")\n'
        'ValueError: cannot load shard 0.25\n"""\n\n'
        "The above exception was the direct cause of the following exception:\n\n"
        "Traceback (most recent call last):\n"
        f'  File "{_PACKAGE}_executor/_process.py", line 446, in run\n'
        "    raise rebuild(outcome.failure, _load)\n"
        "ValueError: cannot load shard 0.25"
    )
    assert error_summary(remote) == "ValueError: cannot load shard 0.25"
    assert error_signature(remote) == "ValueError at /home/me/train.py:9 in load"
    # plain text: itself, its numbers aside
    assert error_signature("told str '0.5'") == error_signature("told str '0.75'")
