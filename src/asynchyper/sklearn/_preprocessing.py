"""Typed spaces for the pre-processing step of a pipeline."""

from __future__ import annotations

from typing import Annotated, Any

import attrs
from sklearn import decomposition, pipeline, preprocessing

from .._space import Float

__all__ = ["PCA", "MinMaxScaling", "Preprocessing", "RobustScaling", "StandardScaling"]


@attrs.frozen(kw_only=True)
class StandardScaling:
    """Standardize every feature to zero mean and unit variance (no hyperparameters).

    Builds ``sklearn.preprocessing.StandardScaler()``.
    """

    def build(self) -> Any:
        """Build the scikit-learn transformer.

        Returns:
            A new, unfitted ``StandardScaler``.
        """
        return preprocessing.StandardScaler()


@attrs.frozen(kw_only=True)
class MinMaxScaling:
    """Scale every feature linearly into a fixed range.

    Builds ``sklearn.preprocessing.MinMaxScaler``.

    Attributes:
        symmetric: Scale into ``[-1, 1]`` instead of ``[0, 1]``.
    """

    symmetric: bool

    def build(self) -> Any:
        """Build the scikit-learn transformer.

        Returns:
            A new, unfitted ``MinMaxScaler``.
        """
        return preprocessing.MinMaxScaler(feature_range=(-1.0 if self.symmetric else 0.0, 1.0))


@attrs.frozen(kw_only=True)
class RobustScaling:
    """Center on the median and scale by an inter-quantile range (robust to outliers).

    Builds ``sklearn.preprocessing.RobustScaler``.

    Attributes:
        quantile_low: Lower quantile of the scaling range, in percent.
        quantile_high: Upper quantile of the scaling range, in percent.
    """

    quantile_low: Annotated[float, Float(5.0, 35.0)]
    quantile_high: Annotated[float, Float(65.0, 95.0)]

    def build(self) -> Any:
        """Build the scikit-learn transformer.

        Returns:
            A new, unfitted ``RobustScaler``.
        """
        return preprocessing.RobustScaler(quantile_range=(self.quantile_low, self.quantile_high))


@attrs.frozen(kw_only=True)
class PCA:
    """Project onto the principal components that keep a fraction of the variance.

    The number of components is chosen by the variance it explains, so one range
    fits every dataset whatever its number of features. Builds
    ``sklearn.decomposition.PCA`` (after a ``StandardScaler`` when ``standardize``).

    Attributes:
        variance: Fraction of the total variance the kept components explain.
        whiten: Rescale the components to unit variance.
        standardize: Standardize the features before the projection.
    """

    variance: Annotated[float, Float(0.5, 0.999)]
    whiten: bool
    standardize: bool

    def build(self) -> Any:
        """Build the scikit-learn transformer.

        Returns:
            A new, unfitted ``PCA`` (or a ``Pipeline`` of a ``StandardScaler`` and
            the ``PCA`` when ``standardize``).
        """
        projection = decomposition.PCA(
            n_components=self.variance, whiten=self.whiten, svd_solver="full"
        )
        if not self.standardize:
            return projection
        return pipeline.Pipeline(
            [("scale", preprocessing.StandardScaler()), ("project", projection)]
        )


Preprocessing = StandardScaling | MinMaxScaling | RobustScaling | PCA
"""Every ready-made pre-processing space; annotate a field ``Preprocessing | None``
to search over them (``None`` = no pre-processing)."""
