"""Which storage a command uses, opened without creating anything for reading."""

from __future__ import annotations

import argparse
import os

from .._storage import PostgresStorage, SQLiteStorage, Storage, open_storage
from ._errors import CommandError, UsageError

__all__ = ["ENV_STORAGE", "existing_storage", "shown_url", "storage_url"]

#: Environment variable naming the storage when ``--storage`` is not given.
ENV_STORAGE = "ASYNCHYPER_STORAGE"


def storage_url(args: argparse.Namespace) -> str:
    """The storage URL from ``--storage``, else from ``$ASYNCHYPER_STORAGE``.

    Raises:
        UsageError: Neither is given.
    """
    url = getattr(args, "storage", None) or os.environ.get(ENV_STORAGE)
    if not url:
        msg = f"no storage given: pass --storage URL (e.g. --storage study.db) or set {ENV_STORAGE}"
        raise UsageError(msg)
    return str(url)


def existing_storage(url: str) -> Storage:
    """The (unopened) storage at ``url``, which must already exist.

    Commands that read or edit a study never create a store by accident: not a
    SQLite file, nor a PostgreSQL schema or tables (that store is opened with
    ``create=False``, so a missing schema or table is reported when it is opened).

    Raises:
        CommandError: The SQLite file does not exist, or is empty.
        StorageError: A bad URL.
    """
    store = open_storage(url)
    if isinstance(store, SQLiteStorage) and not os.path.exists(store.path):
        msg = (
            f"storage file {store.path} does not exist (from {url!r}); check the path, "
            "or run a study there first"
        )
        raise CommandError(msg)
    if isinstance(store, SQLiteStorage) and os.path.getsize(store.path) == 0:
        # SQLite would take an empty file as a new database and write tables into it.
        msg = (
            f"storage file {store.path} is empty, not an asynchyper store (from {url!r}); "
            "check the path, or run a study there first"
        )
        raise CommandError(msg)
    if isinstance(store, PostgresStorage):
        return PostgresStorage(url, create=False)
    return store


def shown_url(url: str) -> str:
    """``url`` as it may be shown: a PostgreSQL URL without its password."""
    store = open_storage(url)
    return store.url if isinstance(store, PostgresStorage) else url
