"""SQLite storage (aiosqlite on asyncio, a worker thread on trio)."""
# STUB: to be implemented (issue 5).

from __future__ import annotations

from ._base import Storage

__all__ = ["SQLiteStorage"]


class SQLiteStorage(Storage):
    """Durable storage in one SQLite file, shared safely by several processes."""
