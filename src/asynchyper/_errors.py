"""The exception hierarchy: every error raised by asynchyper derives from AsynchyperError."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AsynchyperError",
    "SearchSpaceError",
    "SpaceDeclarationError",
    "InvalidSpaceError",
    "ParameterError",
    "StorageError",
    "StorageCorruptError",
    "StorageVersionError",
    "StorageAccessError",
    "StorageFullError",
    "UnknownStudyError",
    "SpaceMismatchError",
    "TrialStateError",
    "UnknownTrialError",
    "NoCompletedTrialsError",
    "SuggesterError",
    "ExecutorError",
    "MissingExtraError",
]


class AsynchyperError(Exception):
    """Root of every exception that asynchyper raises on purpose.

    Catch this to handle any asynchyper failure; catch a subclass for one kind.
    """


class SearchSpaceError(AsynchyperError):
    """Something is wrong with a search space or with values checked against one."""


class SpaceDeclarationError(SearchSpaceError, TypeError):
    """One problem in a space declaration, found when the space is compiled.

    Compilation collects every problem before raising, so several of these arrive
    together inside one :class:`InvalidSpaceError`. Each names the dotted field path.

    Args:
        path: Dotted path of the offending field.
        message: What is wrong and how to fix it; the error text is ``"{path}: {message}"``.

    Attributes:
        path: Dotted path of the offending field, e.g. ``"Space.model[SVM].C"``.
    """

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self._message = message
        super().__init__(f"{path}: {message}")

    def __reduce__(self) -> tuple[type[SpaceDeclarationError], tuple[str, str]]:
        # pickled with its two arguments (a space compiled in a worker process sends
        # its errors back), not with the one text they make
        return type(self), (self.path, self._message)


class InvalidSpaceError(ExceptionGroup[SpaceDeclarationError], SearchSpaceError):
    """Every problem of a space declaration, raised together when it is compiled.

    An ``ExceptionGroup`` of :class:`SpaceDeclarationError`, one per problem, that is
    also an :class:`AsynchyperError`: ``except ah.AsynchyperError`` catches it as a
    whole, ``except* ah.SpaceDeclarationError`` problem by problem.
    """

    def derive(self, excs: Sequence[SpaceDeclarationError]) -> InvalidSpaceError:  # type: ignore[override]
        """The same kind of group over ``excs`` (what ``except*`` and ``split`` build)."""
        return InvalidSpaceError(self.message, excs)


class ParameterError(SearchSpaceError, ValueError):
    """Flat parameters do not fit the space (bad value, missing, or inactive branch).

    Raised when decoding stored or user-given parameters into a configuration.
    """


class RejectedByClassError(ParameterError):
    """The space class itself (an attrs validator, ``__attrs_post_init__``) refused
    parameters that fit every marker: a constraint between fields. Not exported: the
    scheduler draws again when it sees one."""


class SuggesterError(AsynchyperError, ValueError):
    """A suggester was configured with invalid options or could not propose a point."""


class StorageError(AsynchyperError):
    """A storage backend failed; the message says what and how to fix it."""


class StorageCorruptError(StorageError):
    """The file or database is not an asynchyper store (or is damaged)."""


class StorageVersionError(StorageError):
    """The store was written by a newer (or unknown) schema version."""


class StorageAccessError(StorageError, PermissionError):
    """The store cannot be opened: missing directory, no permission, or read-only."""


class StorageFullError(StorageError):
    """The store ran out of space; nothing from the failed write was kept."""


class UnknownStudyError(StorageError, LookupError):
    """No study with that name exists in the storage."""


class SpaceMismatchError(StorageError, ValueError):
    """A stored study was created with another search space or direction than the one given.

    A ``StorageError`` too, so ``except StorageError`` still catches it.
    """


class TrialStateError(AsynchyperError, ValueError):
    """A trial is not in a state that allows the operation (e.g. told twice)."""


class UnknownTrialError(TrialStateError, LookupError):
    """No trial with that number exists in the study."""


class StudyClosedError(AsynchyperError, RuntimeError):
    """A study was used after its ``open_study`` block ended; open it again to go on."""


class EventLoopError(AsynchyperError, RuntimeError):
    """A study was used from an event loop (or thread) other than the one that opened
    it: its locks and storage connections belong to that loop. Open the study in the
    loop that uses it."""


class NoCompletedTrialsError(AsynchyperError, LookupError):
    """A best trial was asked for, but no trial has completed."""


class ExecutorError(AsynchyperError):
    """An executor could not run an objective (e.g. it cannot be pickled)."""


class MissingExtraError(AsynchyperError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""
