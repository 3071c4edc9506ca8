"""Typed spaces for scikit-learn classifiers and regressors.

Ranges follow scikit-learn's documentation and hyperopt-sklearn's defaults, trimmed
so that a single fit stays affordable on a laptop (at most 300 trees or boosting
rounds: beyond that, more trees buy little accuracy for their time). Every
model is a frozen attrs class whose ``build()`` returns a new, unfitted estimator,
each field passed as the estimator's keyword argument of the same name (an SVM's
``kernel`` and an MLP's ``width`` and ``layers`` are translated). Constant fields
(with a default and no marker) are not searched; subclass to change a range or a
constant (see the module documentation).

Models that share their fields (a classifier and its regressor, a random forest and
extremely randomized trees) declare them once, in a private base class; each public
class names its estimator and adds only its own fields. Each field is documented once,
by a docstring under its declaration.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import attrs
from sklearn import ensemble, linear_model, neighbors, neural_network, svm

from .._space import Float, Int

__all__ = [
    "SVC",
    "SVR",
    "ClassifierModel",
    "ElasticNet",
    "ExtraTreesClassifier",
    "ExtraTreesRegressor",
    "HistGradientBoostingClassifier",
    "HistGradientBoostingRegressor",
    "KNeighborsClassifier",
    "KNeighborsRegressor",
    "LinearKernel",
    "LogisticRegression",
    "MLPClassifier",
    "MLPRegressor",
    "PolynomialKernel",
    "RBFKernel",
    "RandomForestClassifier",
    "RandomForestRegressor",
    "RegressorModel",
    "Ridge",
    "SGDClassifier",
    "SGDRegressor",
    "SigmoidKernel",
]


@attrs.frozen(kw_only=True)
class _Model:
    """A model space whose fields are keyword arguments of one scikit-learn estimator."""

    #: The scikit-learn estimator class that ``build()`` instantiates.
    _estimator: ClassVar[type[Any]]

    def _params(self) -> dict[str, Any]:
        """The estimator's keyword arguments: every field, under its own name."""
        return attrs.asdict(self, recurse=False)

    def build(self) -> Any:
        """Build the scikit-learn estimator.

        Returns:
            A new, unfitted instance of the estimator named in the class summary.
        """
        return self._estimator(**self._params())


# -- support vector machines -------------------------------------------------------


@attrs.frozen(kw_only=True)
class RBFKernel:
    """The Gaussian kernel ``exp(-gamma * |x - x'|^2)``."""

    gamma: Annotated[float, Float(1e-4, 10.0, log=True)]
    """Inverse squared length scale (log scale)."""

    def params(self) -> dict[str, Any]:
        """The keyword arguments this kernel passes to ``SVC``/``SVR``.

        Returns:
            ``kernel`` and its parameters.
        """
        return {"kernel": "rbf", "gamma": self.gamma}


@attrs.frozen(kw_only=True)
class PolynomialKernel:
    """The polynomial kernel ``(gamma * <x, x'> + coef0) ** degree``."""

    degree: Annotated[int, Int(2, 4)]
    """Polynomial degree."""
    gamma: Annotated[float, Float(1e-4, 1.0, log=True)]
    """Scale of the inner product (log scale)."""
    coef0: Annotated[float, Float(0.0, 1.0)]
    """Independent term."""

    def params(self) -> dict[str, Any]:
        """The keyword arguments this kernel passes to ``SVC``/``SVR``.

        Returns:
            ``kernel`` and its parameters.
        """
        return {"kernel": "poly", "degree": self.degree, "gamma": self.gamma, "coef0": self.coef0}


@attrs.frozen(kw_only=True)
class SigmoidKernel:
    """The sigmoid kernel ``tanh(gamma * <x, x'> + coef0)``."""

    gamma: Annotated[float, Float(1e-4, 1.0, log=True)]
    """Scale of the inner product (log scale)."""
    coef0: Annotated[float, Float(-1.0, 1.0)]
    """Independent term."""

    def params(self) -> dict[str, Any]:
        """The keyword arguments this kernel passes to ``SVC``/``SVR``.

        Returns:
            ``kernel`` and its parameters.
        """
        return {"kernel": "sigmoid", "gamma": self.gamma, "coef0": self.coef0}


@attrs.frozen(kw_only=True)
class LinearKernel:
    """The linear kernel ``<x, x'>`` (no hyperparameters)."""

    def params(self) -> dict[str, Any]:
        """The keyword arguments this kernel passes to ``SVC``/``SVR``.

        Returns:
            ``{"kernel": "linear"}``.
        """
        return {"kernel": "linear"}


Kernel = RBFKernel | PolynomialKernel | SigmoidKernel | LinearKernel
"""The kernels an SVM space chooses between (a conditional union: each kernel's
parameters exist only when it is chosen)."""


@attrs.frozen(kw_only=True)
class _SupportVectorMachine(_Model):
    """SVC and SVR: the ``kernel`` field passes the kernel's own keyword arguments."""

    def _params(self) -> dict[str, Any]:
        params = super()._params()
        kernel: Kernel = params.pop("kernel")
        return params | kernel.params()


@attrs.frozen(kw_only=True)
class SVC(_SupportVectorMachine):
    """Support vector classifier (``sklearn.svm.SVC``)."""

    _estimator = svm.SVC

    C: Annotated[float, Float(1e-2, 1e3, log=True)]
    """Inverse regularization strength (log scale)."""
    kernel: Kernel
    """The kernel and its parameters."""
    max_iter: int = 200_000
    """Cap on solver iterations (constant), so that a badly scaled configuration cannot
    stall a trial."""


@attrs.frozen(kw_only=True)
class SVR(_SupportVectorMachine):
    """Epsilon support vector regressor (``sklearn.svm.SVR``)."""

    _estimator = svm.SVR

    C: Annotated[float, Float(1e-2, 1e3, log=True)]
    """Inverse regularization strength (log scale)."""
    epsilon: Annotated[float, Float(1e-3, 1.0, log=True)]
    """Half-width of the loss-free tube, in units of the (standardized) target."""
    kernel: Kernel
    """The kernel and its parameters."""
    max_iter: int = 200_000
    """Cap on solver iterations (constant)."""


# -- linear models -----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class LogisticRegression(_Model):
    """L2-regularized logistic regression (``sklearn.linear_model.LogisticRegression``)."""

    _estimator = linear_model.LogisticRegression

    C: Annotated[float, Float(1e-4, 1e4, log=True)]
    """Inverse regularization strength (log scale; the range of ``LogisticRegressionCV``)."""
    class_weight: Literal[None, "balanced"]
    """``"balanced"`` re-weights classes inversely to their frequency."""
    max_iter: int = 1000
    """Cap on solver iterations (constant)."""


@attrs.frozen(kw_only=True)
class Ridge(_Model):
    """Linear least squares with L2 regularization (``sklearn.linear_model.Ridge``)."""

    _estimator = linear_model.Ridge

    alpha: Annotated[float, Float(1e-3, 1e3, log=True)]
    """Regularization strength (log scale)."""


@attrs.frozen(kw_only=True)
class ElasticNet(_Model):
    """Linear least squares with a mix of L1 and L2 penalties (``ElasticNet``).

    Sparse where Ridge is not: it can drop uninformative features altogether
    (``l1_ratio=1`` is the Lasso). Inside :class:`RegressorPipeline` the target is
    standardized, so with standardized features every coefficient is zero from
    ``alpha`` near 1 on; the range reaches three decades below and one above.
    """

    _estimator = linear_model.ElasticNet

    alpha: Annotated[float, Float(1e-4, 10.0, log=True)]
    """Regularization strength (log scale)."""
    l1_ratio: Annotated[float, Float(0.05, 1.0)]
    """Share of L1 in the penalty; scikit-learn advises against values below 0.01 (use
    :class:`Ridge` for a pure L2 penalty)."""
    max_iter: int = 5000
    """Cap on coordinate-descent passes (constant)."""


Penalty = Literal["l2", "l1", "elasticnet"]


@attrs.frozen(kw_only=True)
class SGDClassifier(_Model):
    """Linear classifier trained by stochastic gradient descent (``SGDClassifier``)."""

    _estimator = linear_model.SGDClassifier

    loss: Literal["hinge", "log_loss", "modified_huber"]
    """``"hinge"`` (linear SVM), ``"log_loss"`` (logistic) or ``"modified_huber"``."""
    penalty: Penalty
    """The regularization term."""
    alpha: Annotated[float, Float(1e-7, 1e-1, log=True)]
    """Regularization strength (log scale)."""
    l1_ratio: Annotated[float, Float(0.0, 1.0)]
    """Share of L1 in the elastic-net penalty (used by ``"elasticnet"`` only)."""
    max_iter: int = 1000
    """Cap on passes over the data (constant)."""


@attrs.frozen(kw_only=True)
class SGDRegressor(_Model):
    """Linear regressor trained by stochastic gradient descent (``SGDRegressor``)."""

    _estimator = linear_model.SGDRegressor

    loss: Literal["squared_error", "huber", "epsilon_insensitive"]
    """``"squared_error"``, ``"huber"`` or ``"epsilon_insensitive"`` (linear SVR)."""
    penalty: Penalty
    """The regularization term."""
    alpha: Annotated[float, Float(1e-7, 1e-1, log=True)]
    """Regularization strength (log scale)."""
    l1_ratio: Annotated[float, Float(0.0, 1.0)]
    """Share of L1 in the elastic-net penalty (used by ``"elasticnet"`` only)."""
    eta0: Annotated[float, Float(1e-4, 1e-1, log=True)]
    """Initial learning rate (log scale)."""
    max_iter: int = 1000
    """Cap on passes over the data (constant)."""


# -- nearest neighbours ------------------------------------------------------------


@attrs.frozen(kw_only=True)
class _KNeighbors(_Model):
    """The fields shared by the k-nearest-neighbours classifier and regressor."""

    n_neighbors: Annotated[int, Int(1, 40, log=True)]
    """Number of neighbours (log scale); must not exceed the training samples of a fold."""
    weights: Literal["uniform", "distance"]
    """``"distance"`` weighs closer neighbours more."""
    p: Literal[1, 2]
    """Minkowski power: 1 = Manhattan, 2 = Euclidean distance."""


@attrs.frozen(kw_only=True)
class KNeighborsClassifier(_KNeighbors):
    """k-nearest neighbours vote (``sklearn.neighbors.KNeighborsClassifier``)."""

    _estimator = neighbors.KNeighborsClassifier


@attrs.frozen(kw_only=True)
class KNeighborsRegressor(_KNeighbors):
    """k-nearest neighbours average (``sklearn.neighbors.KNeighborsRegressor``)."""

    _estimator = neighbors.KNeighborsRegressor


# -- tree ensembles ----------------------------------------------------------------

Trees = Annotated[int, Int(10, 300, log=True)]
FeatureFraction = Annotated[float, Float(0.05, 1.0)]
Depth = Literal[None, 4, 8, 16, 32]
LeafSize = Annotated[int, Int(1, 20, log=True)]


@attrs.frozen(kw_only=True)
class _Forest(_Model):
    """The fields shared by the random forests and the extremely randomized trees."""

    n_estimators: Trees
    """Number of trees (log scale)."""
    max_features: FeatureFraction
    """Fraction of the features considered at each split."""
    max_depth: Depth
    """Depth limit (``None`` = grow until leaves are pure)."""
    min_samples_leaf: LeafSize
    """Minimum samples in a leaf (log scale)."""
    bootstrap: bool
    """Fit each tree on a bootstrap sample."""
    n_jobs: int | None = None
    """Parallel jobs inside one fit (constant; trials already run concurrently)."""


@attrs.frozen(kw_only=True)
class _ForestClassifier(_Forest):
    """A forest of classification trees: the split criterion is searched too."""

    criterion: Literal["gini", "entropy"]
    """Split quality measure."""


@attrs.frozen(kw_only=True)
class RandomForestClassifier(_ForestClassifier):
    """Random forest (``sklearn.ensemble.RandomForestClassifier``)."""

    _estimator = ensemble.RandomForestClassifier


@attrs.frozen(kw_only=True)
class RandomForestRegressor(_Forest):
    """Random forest (``sklearn.ensemble.RandomForestRegressor``, squared error)."""

    _estimator = ensemble.RandomForestRegressor


@attrs.frozen(kw_only=True)
class ExtraTreesClassifier(_ForestClassifier):
    """Extremely randomized trees (``sklearn.ensemble.ExtraTreesClassifier``)."""

    _estimator = ensemble.ExtraTreesClassifier


@attrs.frozen(kw_only=True)
class ExtraTreesRegressor(_Forest):
    """Extremely randomized trees (``sklearn.ensemble.ExtraTreesRegressor``, squared error)."""

    _estimator = ensemble.ExtraTreesRegressor


LearningRate = Annotated[float, Float(0.01, 0.5, log=True)]
Rounds = Annotated[int, Int(20, 300, log=True)]
Leaves = Annotated[int, Int(8, 128, log=True)]
MinLeaf = Annotated[int, Int(2, 100, log=True)]
L2 = Annotated[float, Float(1e-6, 10.0, log=True)]
BoostFeatureFraction = Annotated[float, Float(0.3, 1.0)]


@attrs.frozen(kw_only=True)
class _HistGradientBoosting(_Model):
    """The fields shared by the histogram gradient boosting classifier and regressor."""

    learning_rate: LearningRate
    """Shrinkage of each tree (log scale)."""
    max_iter: Rounds
    """Boosting rounds (log scale)."""
    max_leaf_nodes: Leaves
    """Leaves per tree (log scale)."""
    min_samples_leaf: MinLeaf
    """Minimum samples in a leaf (log scale)."""
    l2_regularization: L2
    """L2 penalty on leaf values (log scale)."""
    max_features: BoostFeatureFraction
    """Fraction of the features considered at each split."""


@attrs.frozen(kw_only=True)
class HistGradientBoostingClassifier(_HistGradientBoosting):
    """Histogram gradient boosting (``sklearn.ensemble.HistGradientBoostingClassifier``).

    Early stopping is scikit-learn's default (``"auto"``: on above 10,000 samples).
    """

    _estimator = ensemble.HistGradientBoostingClassifier


@attrs.frozen(kw_only=True)
class HistGradientBoostingRegressor(_HistGradientBoosting):
    """Histogram gradient boosting (``sklearn.ensemble.HistGradientBoostingRegressor``).

    Early stopping is scikit-learn's default (``"auto"``: on above 10,000 samples).
    """

    _estimator = ensemble.HistGradientBoostingRegressor


# -- neural networks ---------------------------------------------------------------

Width = Annotated[int, Int(16, 256, log=True)]
Layers = Annotated[int, Int(1, 3)]
Activation = Literal["relu", "tanh", "logistic"]
WeightDecay = Annotated[float, Float(1e-6, 1e-1, log=True)]
StepSize = Annotated[float, Float(1e-4, 1e-1, log=True)]


@attrs.frozen(kw_only=True)
class _MultiLayerPerceptron(_Model):
    """The fields shared by the MLP classifier and regressor (layers of equal width)."""

    width: Width
    """Units per hidden layer (log scale)."""
    layers: Layers
    """Number of hidden layers."""
    activation: Activation
    """Hidden-layer activation."""
    alpha: WeightDecay
    """L2 weight decay (log scale)."""
    learning_rate_init: StepSize
    """Adam step size (log scale)."""
    max_iter: int = 200
    """Cap on epochs (constant)."""

    def _params(self) -> dict[str, Any]:
        params = super()._params()
        params["hidden_layer_sizes"] = (params.pop("width"),) * params.pop("layers")
        return params


@attrs.frozen(kw_only=True)
class MLPClassifier(_MultiLayerPerceptron):
    """Multi-layer perceptron trained with Adam (``sklearn.neural_network.MLPClassifier``)."""

    _estimator = neural_network.MLPClassifier


@attrs.frozen(kw_only=True)
class MLPRegressor(_MultiLayerPerceptron):
    """Multi-layer perceptron trained with Adam (``sklearn.neural_network.MLPRegressor``)."""

    _estimator = neural_network.MLPRegressor


ClassifierModel = (
    SVC
    | LogisticRegression
    | KNeighborsClassifier
    | RandomForestClassifier
    | ExtraTreesClassifier
    | HistGradientBoostingClassifier
    | SGDClassifier
    | MLPClassifier
)
"""Every ready-made classifier space (the ``model`` of ``ClassifierPipeline``)."""

RegressorModel = (
    SVR
    | Ridge
    | ElasticNet
    | KNeighborsRegressor
    | RandomForestRegressor
    | ExtraTreesRegressor
    | HistGradientBoostingRegressor
    | SGDRegressor
    | MLPRegressor
)
"""Every ready-made regressor space (the ``model`` of ``RegressorPipeline``)."""
