"""Writing an output file (``export -o``, ``plot -o``) so that nothing is half-written."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator

__all__ = ["PRIVATE", "PUBLIC", "replacing", "write_problem"]

#: The mode of a new file that holds a study's data (as the SQLite file: owner only).
PRIVATE = 0o600
#: The mode of a new file anyone may read (``None``: the usual ``0o666`` less the umask).
PUBLIC = None


@contextlib.contextmanager
def replacing(path: str, *, mode: int | None) -> Iterator[str]:
    """A path to write instead of ``path``; it replaces ``path`` when the block succeeds.

    The file is written beside its target and renamed over it, so a failed write
    (a full disk, an interrupt, an error while rendering) leaves the previous file as
    it was and no partial one. A symbolic link is followed: the file it points to is
    replaced, the link stays. An existing file keeps its permission bits; a new one
    gets ``mode`` (``None``: as ``open`` would create it). Where ``path`` is not a
    regular file (``/dev/stdout``, a named pipe, a directory) the path itself is
    yielded and written in place.

    Args:
        path: The file to write.
        mode: Permission bits of a new file, or ``None`` for the umask's default.

    Yields:
        The temporary path to write (it has the same extension as ``path``).
    """
    if path.endswith(("/", os.sep)) or _special(path):
        # "dir/" names a directory (open() says so), and /dev/stdout, /dev/fd/N or
        # /proc/self/fd/N are the caller's descriptors (a pipe, a process
        # substitution, a redirected file): written in place, never renamed over
        yield path
        return
    try:
        existing = os.stat(path)  # follows links; realpath of a pipe is no path
    except OSError:
        existing = None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        yield path
        return
    if existing is not None and not os.access(path, os.W_OK):  # as open(path, "w") would
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
    target = os.path.realpath(path)
    directory, name = os.path.split(target)
    extension = os.path.splitext(name)[1]
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=extension, dir=directory)
    except PermissionError:
        if existing is None:
            raise
        yield path  # a writable file in a directory we cannot write: in place, as before
        return
    os.close(fd)
    try:
        yield temporary  # owner read-write (mkstemp) while it is written and synced
        _sync(temporary)
        if existing is not None:
            os.chmod(temporary, stat.S_IMODE(existing.st_mode))
            if hasattr(os, "chown"):  # keep the owner where allowed (root, same user)
                with contextlib.suppress(OSError):
                    os.chown(temporary, existing.st_uid, existing.st_gid)
        else:
            os.chmod(temporary, _umask_default() if mode is None else mode)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _special(path: str) -> bool:
    """Whether ``path`` names a descriptor or device rather than a file to replace."""
    absolute = os.path.abspath(path)
    return absolute.startswith(("/dev/", "/proc/")) and os.name != "nt"


def _umask_default() -> int:
    """``0o666`` less the process's umask: the mode ``open(path, "w")`` creates."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _sync(path: str) -> None:
    """Flush ``path`` to the disk, so that a crash after the rename leaves it whole."""
    # read-write: on Windows fsync is FlushFileBuffers, which refuses a read-only handle
    fd = os.open(path, os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_problem(path: str, exc: BaseException) -> str:
    """Why ``path`` could not be written, with the fix when its directory is missing."""
    directory = os.path.dirname(os.path.abspath(path))
    if isinstance(exc, FileNotFoundError) and not os.path.isdir(directory):
        return f"cannot write {path}: directory {directory} does not exist; create it first"
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"cannot write {path}: {reason}"
