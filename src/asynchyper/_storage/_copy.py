"""Copying a study, with all its trials, between storages (or to a new name)."""

from __future__ import annotations

import os
from contextlib import AsyncExitStack

from .._errors import UnknownStudyError
from .._records import StudyRecord
from ._base import Storage
from ._postgres import PostgresStorage
from ._sqlite import SQLiteStorage
from ._url import open_storage

__all__ = ["copy_study"]


async def copy_study(
    name: str,
    *,
    from_storage: str | os.PathLike[str] | Storage,
    to_storage: str | os.PathLike[str] | Storage,
    to_name: str | None = None,
) -> StudyRecord:
    """Copy a study and every trial of it to another storage, or under another name.

    Moves a study between SQLite files and PostgreSQL (a study started on a laptop
    continues on a shared database, or a shared one is archived to a file), or
    branches one off within a storage. The copy is faithful: direction, space,
    fingerprint, user attributes and creation time of the study; number, state,
    parameters, value, error, user attributes, owner and times of each trial. It is
    written in one transaction, so a failed copy leaves nothing behind. Resume the
    copy like any study (``minimize(..., storage=to_storage, study=to_name)``).

    Copy a study that no process is running: a result that arrives in the source
    after the copy is read is not in the copy, and a trial running at that moment is
    ``RUNNING`` in the copy, where its process never reports; crash recovery fails
    it once the copy is opened (at once if that process has ended, else when its
    copied heartbeat is older than ``stale_after``, five times that while the
    process still runs on the same host).

    Args:
        name: The study to copy.
        from_storage: Where it is: a path or URL, as ``minimize``'s ``storage=``, or
            a :class:`Storage`.
        to_storage: Where the copy goes: a path or URL or a :class:`Storage` (the
            same one as ``from_storage`` to copy under another name).
        to_name: The copy's name (default: ``name``).

    Returns:
        The new study as ``to_storage`` records it.

    Raises:
        UnknownStudyError: ``from_storage`` has no study ``name`` (or is a SQLite
            file that does not exist: the source is never created).
        StorageError: ``to_storage`` already has a study of the copy's name (delete it,
            or choose ``to_name``), or it is a custom :class:`Storage` that does not
            implement :meth:`Storage.import_study`.

    Example:
        ```python
        await ah.copy_study(
            "tuning", from_storage="study.db", to_storage="postgresql://db/hpo"
        )
        ```
    """
    async with AsyncExitStack() as stack:
        source = (
            from_storage
            if isinstance(from_storage, Storage)
            else await stack.enter_async_context(_existing(name, from_storage))
        )
        record = await source.get_study(name)
        trials = await source.trials(record.id)
        # only now: a missing source study creates no destination file or schema
        destination = (
            to_storage
            if isinstance(to_storage, Storage)
            else await stack.enter_async_context(open_storage(to_storage))
        )
        return await destination.import_study(
            record, trials, name=name if to_name is None else to_name
        )


def _existing(name: str, given: str | os.PathLike[str]) -> Storage:
    """The source storage, which opens without creating anything: a mistyped path (or
    ``?schema=``) must not leave an empty database (or schema and tables) behind.

    Raises:
        UnknownStudyError: ``given`` names a SQLite file that does not exist.
    """
    store = open_storage(given)
    if isinstance(store, SQLiteStorage) and not os.path.exists(store.path):
        msg = f"no study named {name!r}: storage file {store.path} does not exist; check the path"
        raise UnknownStudyError(msg)
    if isinstance(store, PostgresStorage):
        return PostgresStorage(os.fspath(given), create=False)
    return store
