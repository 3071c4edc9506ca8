"""Turn a storage argument (path, URL or object) into a Storage."""
# STUB: to be implemented (issue 5).

from __future__ import annotations

from ._base import Storage

__all__ = ["open_storage"]


def open_storage(storage: str | Storage | None) -> Storage:
    """Return a Storage for a path or URL (``"study.db"``, ``"sqlite:///x.db"``,
    ``":memory:"``, ``"postgresql://..."``), a Storage object, or ``None`` (memory)."""
    raise NotImplementedError
