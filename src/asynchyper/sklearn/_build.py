"""Turn configurations into scikit-learn estimators: pipelines, seeds, task detection."""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

from sklearn import base, compose, pipeline, preprocessing

__all__ = [
    "Buildable",
    "Task",
    "build_pipeline",
    "estimator_task",
    "with_random_state",
]

#: What an estimator is for: ``"classifier"``, ``"regressor"`` or ``None`` (neither).
Task = Literal["classifier", "regressor"]


@runtime_checkable
class Buildable(Protocol):
    """What the estimators need from a space: instances with a ``build()`` method.

    Any attrs space class whose instances return a fresh, unfitted scikit-learn
    estimator from ``build()`` can be searched by :class:`AutoClassifier` or
    :class:`AutoRegressor`; every ready-made space in this module is one.
    """

    def build(self) -> Any:
        """Return a new, unfitted scikit-learn estimator for this configuration."""
        ...


def build_pipeline(
    preprocessing_step: Buildable | None,
    model: Buildable,
    *,
    standardize_target: bool = False,
) -> Any:
    """Build a two-step ``Pipeline`` from a pre-processing and a model configuration.

    The steps are named ``"preprocessing"`` (``"passthrough"`` when there is none)
    and ``"model"``, so every pipeline has the same shape. Use it in the ``build()``
    of your own pipeline space.

    Args:
        preprocessing_step: A pre-processing configuration, or ``None``.
        model: A model configuration.
        standardize_target: Wrap the pipeline in a ``TransformedTargetRegressor``
            that standardizes ``y`` (for regressors whose hyperparameters assume a
            target of unit scale: SVR, SGD, MLP).

    Returns:
        A new, unfitted ``Pipeline`` (or ``TransformedTargetRegressor``).
    """
    first: Any = "passthrough" if preprocessing_step is None else preprocessing_step.build()
    steps = pipeline.Pipeline([("preprocessing", first), ("model", model.build())])
    if not standardize_target:
        return steps
    return compose.TransformedTargetRegressor(
        regressor=steps, transformer=preprocessing.StandardScaler()
    )


def with_random_state(estimator: Any, seed: int | None) -> Any:
    """Set every ``random_state`` parameter of ``estimator`` (nested ones too).

    Args:
        estimator: A scikit-learn estimator (modified in place).
        seed: The seed; ``None`` leaves the estimator unchanged.

    Returns:
        The same estimator.
    """
    if seed is None:
        return estimator
    names = [name for name in estimator.get_params(deep=True) if name.endswith("random_state")]
    if names:
        estimator.set_params(**dict.fromkeys(names, seed))
    return estimator


def estimator_task(estimator: Any) -> Task | None:
    """Whether ``estimator`` is a classifier, a regressor, or neither.

    Args:
        estimator: A scikit-learn estimator (pipelines and wrappers are looked through).

    Returns:
        ``"classifier"``, ``"regressor"`` or ``None``.
    """
    if base.is_classifier(estimator):
        return "classifier"
    if base.is_regressor(estimator):
        return "regressor"
    return None
