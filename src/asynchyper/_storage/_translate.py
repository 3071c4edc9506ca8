"""Translate sqlite3 and OS errors into StorageError subclasses at the boundary.

No raw ``sqlite3`` exception leaves the storage box: callers catch
:class:`~asynchyper.StorageError` (or one of its subclasses) and read a message that
names the file and the fix.
"""

from __future__ import annotations

import errno
import sqlite3

from .._errors import (
    StorageAccessError,
    StorageCorruptError,
    StorageError,
    StorageFullError,
)

__all__ = ["os_error", "sqlite_error"]

_ACCESS = ("SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_READONLY", "SQLITE_AUTH")


def sqlite_error(exc: sqlite3.Error, path: str) -> StorageError:
    """The StorageError that explains ``exc``, raised while using the file at ``path``.

    Args:
        exc: The sqlite3 exception.
        path: The database file, for the message.

    Returns:
        A new exception; raise it ``from exc``.
    """
    name = getattr(exc, "sqlite_errorname", None) or ""
    if name.startswith("SQLITE_NOTADB"):
        msg = (
            f"{path} is not a SQLite database (or it is encrypted); it was left unchanged. "
            "Use another path for the study"
        )
        return StorageCorruptError(msg)
    if name.startswith("SQLITE_CORRUPT"):
        msg = (
            f"{path} is damaged ({exc}); restore it from a backup, or try the sqlite3 "
            "shell's .recover command on a copy"
        )
        return StorageCorruptError(msg)
    if name.startswith("SQLITE_FULL"):
        msg = (
            f"{path} is full ({exc}): the disk or the database's page limit ran out. "
            "Nothing from the failed write was kept; free some space and retry"
        )
        return StorageFullError(msg)
    if name.startswith(_ACCESS):
        msg = (
            f"cannot write {path} ({exc}); check that the file and its directory exist "
            "and are writable (SQLite also creates -wal and -shm files next to it)"
        )
        return StorageAccessError(msg)
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        msg = (
            f"{path} stayed locked by another connection for longer than the busy "
            f"timeout ({exc}); raise busy_timeout, or find the process holding the lock"
        )
        return StorageError(msg)
    if isinstance(exc, sqlite3.ProgrammingError) and "closed" in str(exc):
        msg = f"the storage for {path} is closed; open it again (async with storage: ...)"
        return StorageError(msg)
    msg = f"SQLite failed on {path}: {exc} ({name or type(exc).__name__})"
    return StorageError(msg)


def os_error(exc: OSError, path: str) -> StorageError:
    """The StorageError that explains an OS error met while creating or reading ``path``.

    Args:
        exc: The OS error.
        path: The database file, for the message.

    Returns:
        A new exception; raise it ``from exc``.
    """
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        msg = f"cannot create {path}: the disk is full ({exc.strerror}); free some space"
        return StorageFullError(msg)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        msg = (
            f"cannot create or open {path}: {exc.strerror}; choose a writable directory "
            "or fix the permissions"
        )
        return StorageAccessError(msg)
    if exc.errno == errno.ENOENT:
        msg = f"cannot create {path}: its directory does not exist; create it first"
        return StorageAccessError(msg)
    if exc.errno == errno.EISDIR:
        msg = f"{path} is a directory; give the path of a database file, e.g. 'study.db'"
        return StorageAccessError(msg)
    msg = f"cannot open {path}: {exc}"
    return StorageError(msg)
