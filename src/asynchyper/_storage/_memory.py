"""In-memory storage."""
# STUB: to be implemented (issue 4/5).

from __future__ import annotations

from ._base import Storage

__all__ = ["MemoryStorage"]


class MemoryStorage(Storage):
    """Keeps studies in this process's memory; nothing survives the process."""
