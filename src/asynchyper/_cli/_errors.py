"""Errors of the command line: each becomes one line on stderr and an exit code."""

from __future__ import annotations

from .._errors import AsynchyperError

__all__ = ["CommandError", "UsageError"]


class CommandError(AsynchyperError):
    """A bad input to a command (missing file, bad objective path, ...): exit code 1."""


class UsageError(CommandError):
    """The command line itself is incomplete (e.g. no storage given): exit code 2."""
