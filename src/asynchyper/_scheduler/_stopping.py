"""Stop conditions of a run: target value, patience and failure bound."""

from __future__ import annotations

import math

__all__ = ["StopRules"]


class StopRules:
    """Decides, after each finished trial, whether a run should stop asking.

    Values are compared as losses (``sign * value``), so "better" is always lower.

    Args:
        sign: ``1.0`` to minimize, ``-1.0`` to maximize.
        target: Stop once a trial's value reaches this (``<=`` when minimizing,
            ``>=`` when maximizing).
        patience: Stop after this many completed trials in a row without improving
            on the study's best value.
        max_failures: Stop once this many trials of the run have failed.
        best_loss: The study's best loss before the run (``inf`` when none).
    """

    def __init__(
        self,
        *,
        sign: float,
        target: float | None,
        patience: int | None,
        max_failures: int,
        best_loss: float = math.inf,
    ) -> None:
        self.sign = sign
        self.target_loss = None if target is None else sign * target
        self.patience = patience
        self.max_failures = max_failures
        self.best_loss = best_loss
        self.since_improvement = 0
        self.failures = 0

    def on_complete(self, value: float) -> str | None:
        """Account for a completed trial; return a stop reason or ``None``."""
        loss = self.sign * value
        if loss < self.best_loss:
            self.best_loss = loss
            self.since_improvement = 0
        else:
            self.since_improvement += 1
        if self.target_loss is not None and loss <= self.target_loss:
            return "target"
        if self.patience is not None and self.since_improvement >= self.patience:
            return "patience"
        return None

    def target_reached(self, best_loss: float) -> bool:
        """Whether the study's best loss (any run's, any process's) reaches the target."""
        return self.target_loss is not None and best_loss <= self.target_loss

    def on_failure(self) -> str | None:
        """Account for a failed trial; return a stop reason or ``None``."""
        self.failures += 1
        if self.failures >= self.max_failures:
            return "max_failures"
        return None
