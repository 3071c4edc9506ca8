"""The top-level spaces: a pre-processing step followed by a model."""

from __future__ import annotations

from typing import Any

import attrs

from ._build import build_pipeline
from ._models import ClassifierModel, RegressorModel
from ._preprocessing import PCA, MinMaxScaling, RobustScaling, StandardScaling

__all__ = ["ClassifierPipeline", "RegressorPipeline"]


@attrs.frozen(kw_only=True)
class ClassifierPipeline:
    """Every ready-made pre-processing step and classifier, searched jointly.

    ``build()`` returns ``Pipeline([("preprocessing", ...), ("model", ...)])``. To
    search less, subclass and re-declare a field with a narrower union, or a constant::

        @attrs.frozen(kw_only=True)
        class TreesOnly(ClassifierPipeline):
            preprocessing: None = None
            model: RandomForestClassifier | ExtraTreesClassifier

    Attributes:
        preprocessing: The pre-processing step, or ``None`` for none.
        model: The classifier.
    """

    preprocessing: StandardScaling | MinMaxScaling | RobustScaling | PCA | None
    model: ClassifierModel

    def build(self) -> Any:
        """Build the scikit-learn pipeline.

        Returns:
            A new, unfitted ``sklearn.pipeline.Pipeline``.
        """
        return build_pipeline(self.preprocessing, self.model)


@attrs.frozen(kw_only=True)
class RegressorPipeline:
    """Every ready-made pre-processing step and regressor, searched jointly.

    ``build()`` returns the pipeline inside a ``TransformedTargetRegressor`` that
    standardizes the target, so that scale-sensitive models (SVR, SGD, MLP) see a
    target of unit scale whatever its units; predictions are in the original units.
    Narrow it by subclassing, as for :class:`ClassifierPipeline`.

    Attributes:
        preprocessing: The pre-processing step, or ``None`` for none.
        model: The regressor.
        standardize_target: Standardize ``y`` inside the estimator (constant).
    """

    preprocessing: StandardScaling | MinMaxScaling | RobustScaling | PCA | None
    model: RegressorModel
    standardize_target: bool = True

    def build(self) -> Any:
        """Build the scikit-learn pipeline.

        Returns:
            A new, unfitted ``TransformedTargetRegressor`` around the ``Pipeline``
            (or the bare ``Pipeline`` when ``standardize_target`` is false).
        """
        return build_pipeline(
            self.preprocessing, self.model, standardize_target=self.standardize_target
        )
