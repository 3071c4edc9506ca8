"""What runs on a Dask worker: one trial as one task, and the outcome it sends back."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import attrs
import cloudpickle  # type: ignore[import-untyped]  # no type information published
import distributed
import distributed.utils

from .._executor._context import TrialContext
from .._executor._remote import (
    Failure,
    Shipment,
    call_objective,
    load_objective,
    worker_objectives,
)
from .._types import JSONInput

__all__ = ["Outcome", "WorkerLoadError", "run_trial"]

_log = logging.getLogger(__name__)

#: distributed is only partly annotated: calls into it go through this untyped handle.
_dask: Any = distributed


@attrs.frozen
class Outcome:
    """What a trial's task sends back: the raw value or the failure, and user attributes.

    The exception travels pickled on its own (see :class:`Failure`), so that one the
    study cannot load fails its trial by name and message instead of losing the whole
    outcome.
    """

    attrs: dict[str, JSONInput]
    value: Any = None
    failure: Failure | None = None
    #: The worker does not hold the objective: send it again with its payload.
    missing: bool = False


class WorkerLoadError(Exception):
    """A worker could not unpickle a trial (a module missing there, another version)."""


def run_trial(shipment: Shipment, payload: bytes, marker: str) -> bytes:
    """The Dask task: mark its start, load the trial, run it, pickle the outcome.

    The objective comes as a :class:`Shipment`: its pickle is sent once per worker
    process and kept there, and each trial loads its own copy from it; without its
    payload, and not held here, the outcome says so and the study sends it again with
    it. ``payload`` is the configuration and the trial context. ``marker`` names a
    scheduler-side ``distributed.Event`` set while the task runs, so that after a
    worker death the study can tell a trial that was running there from one that was
    only queued there (which it resubmits).
    """
    _call_scheduler("event_set", marker)  # before anything that could kill the worker
    try:
        try:
            objective = load_objective(shipment, cloudpickle.loads)
        except Exception as exc:
            raise WorkerLoadError(_named(exc)) from None
        if objective is None:
            return _pack(Outcome({}, missing=True))
        try:
            try:
                config, context = cloudpickle.loads(payload)
            except Exception as exc:
                raise WorkerLoadError(_named(exc)) from None
            return _pack(run_objective(objective, config, context))
        finally:
            worker_objectives.release(shipment.token)
    finally:
        _call_scheduler("event_clear", marker)


def _named(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


def run_objective(objective: Callable[[Any], Any], config: Any, context: TrialContext) -> Outcome:
    """Run a trial with its context installed; the objective's failures are its outcome."""
    value, failure = call_objective(objective, config, context, cloudpickle.dumps)
    return Outcome(dict(context.user_attrs), value, failure)


def _pack(outcome: Outcome) -> bytes:
    """The outcome pickled; a value that cannot be pickled fails the trial instead."""
    try:
        return bytes(cloudpickle.dumps(outcome))
    except Exception as exc:
        msg = (
            f"the objective returned {type(outcome.value).__qualname__}, which cannot be "
            f"pickled back from the Dask worker ({type(exc).__name__}: {exc}); return a "
            "float or asynchyper.Evaluation"
        )
        failure = Failure.of(TypeError(msg), cloudpickle.dumps)
        return bytes(cloudpickle.dumps(Outcome(outcome.attrs, failure=failure)))


def _call_scheduler(operation: str, marker: str) -> None:
    """Call a scheduler's event handler from the task's thread and wait for its answer.

    Through the worker's own connection: a worker-side ``Client`` (what
    ``distributed.Event`` would use) would become the worker's default client and send
    ``dask.compute()`` calls inside objectives to the cluster. Best effort: without the
    marker, a worker death merely counts the trial as not started.
    """
    worker = None
    try:
        worker = _dask.get_worker()
        handler = getattr(worker.scheduler, operation)
        _dask.utils.sync(worker.loop, handler, name=marker)
    except Exception as exc:  # bookkeeping only: the trial itself goes on
        if _shutting_down(worker, exc):
            # A cluster closing (a run cancelled or timed out): expected, not news.
            _log.debug("asynchyper: %s(%r) skipped: %s", operation, marker, exc)
            return
        _log.warning(
            "asynchyper: %s(%r) failed on the Dask scheduler", operation, marker, exc_info=True
        )


def _shutting_down(worker: Any, exc: Exception) -> bool:
    """Whether ``exc`` comes from the worker or its connections closing."""
    status = getattr(getattr(worker, "status", None), "name", "")
    if status in {"closing", "closed", "closing_gracefully", "failed"}:
        return True
    return type(exc).__name__ == "CommClosedError" or (
        isinstance(exc, RuntimeError) and "is closed" in str(exc)
    )
