"""The structured fields of asynchyper's log records."""

from __future__ import annotations

__all__ = ["log_fields"]


def log_fields(study: str, trial: int | None = None) -> dict[str, object]:
    """The ``extra`` fields of asynchyper's log records about a study: its name as
    ``asynchyper_study``, and the trial's number as ``asynchyper_trial`` (``None`` when
    the record is about the study as a whole), for structured-logging handlers."""
    return {"asynchyper_study": study, "asynchyper_trial": trial}
