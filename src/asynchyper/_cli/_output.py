"""Writing an output file (``export -o``, ``plot -o``) so that nothing is half-written."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator

__all__ = ["PRIVATE", "PUBLIC", "replacing"]

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
    target = os.path.realpath(path)
    try:
        existing = os.stat(target)
    except OSError:
        existing = None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        yield path
        return
    directory, name = os.path.split(target)
    extension = os.path.splitext(name)[1]
    fd, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=extension, dir=directory)
    os.close(fd)
    try:
        if existing is not None:
            os.chmod(temporary, stat.S_IMODE(existing.st_mode))
        else:
            os.chmod(temporary, _umask_default() if mode is None else mode)
        yield temporary
        _sync(temporary)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _umask_default() -> int:
    """``0o666`` less the process's umask: the mode ``open(path, "w")`` creates."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def _sync(path: str) -> None:
    """Flush ``path`` to the disk, so that a crash after the rename leaves it whole."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
