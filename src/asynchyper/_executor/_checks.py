"""Argument checks shared by the executors."""

from __future__ import annotations

__all__ = ["check_max_workers"]


def check_max_workers(max_workers: object) -> None:
    """Raise ``ValueError`` unless ``max_workers`` is ``None`` or a positive int."""
    if max_workers is None:
        return
    if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
        msg = f"max_workers must be a positive int or None; got {max_workers!r}"
        raise ValueError(msg)
