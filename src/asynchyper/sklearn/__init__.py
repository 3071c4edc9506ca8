"""Ready-made typed spaces for scikit-learn, and estimators that tune a whole pipeline.

Needs the ``sklearn`` extra: ``pip install 'asynchyper[sklearn]'``.

* Spaces: one frozen attrs class per model (:class:`SVC`, :class:`RandomForestClassifier`,
  ...) and per pre-processing step (:class:`StandardScaling`, :class:`PCA`, ...), each
  with a ``build()`` method returning a new scikit-learn estimator; the top-level
  :class:`ClassifierPipeline` and :class:`RegressorPipeline` search them all.
* Estimators: :class:`AutoClassifier` and :class:`AutoRegressor` search a space with
  cross-validation (trials in parallel processes or threads, a time budget, a
  per-trial timeout), refit the best pipeline, and then behave like any fitted
  scikit-learn estimator. A small portfolio of proven default pipelines is
  evaluated first (``portfolio=False`` turns it off).
* Bad input (non-numeric or missing values, a single class, a target that does not
  fit the estimator, fewer samples than folds, a space of the wrong task) fails with
  :class:`DataError`, :class:`OptionError` or :class:`SpaceTaskError` before any
  trial runs; a stored study made on other data is refused with
  :class:`DataMismatchError`.

Narrow a space by subclassing a pipeline and re-declaring a field::

    @attrs.frozen(kw_only=True)
    class TreesOnly(ClassifierPipeline):
        preprocessing: None = None
        model: RandomForestClassifier | ExtraTreesClassifier

    AutoClassifier(space=TreesOnly, trials=30).fit(X, y)

or write any attrs space class whose instances have a ``build()`` method returning a
scikit-learn estimator (:func:`build_pipeline` helps). Ranges change the same way:
subclass a model and re-declare the field with another marker.
"""

# Imported first: without scikit-learn it raises MissingExtraError naming the extra.
from ._require import SKLEARN_VERSION as SKLEARN_VERSION

# isort: split
from ._build import Buildable as Buildable
from ._build import build_pipeline as build_pipeline
from ._build import with_random_state as with_random_state
from ._errors import DataError as DataError
from ._errors import DataMismatchError as DataMismatchError
from ._errors import DataTypeError as DataTypeError
from ._errors import OptionError as OptionError
from ._errors import SearchFailedError as SearchFailedError
from ._errors import SpaceTaskError as SpaceTaskError
from ._estimator import AutoClassifier as AutoClassifier
from ._estimator import AutoRegressor as AutoRegressor
from ._models import SVC as SVC
from ._models import SVR as SVR
from ._models import ClassifierModel as ClassifierModel
from ._models import ElasticNet as ElasticNet
from ._models import ExtraTreesClassifier as ExtraTreesClassifier
from ._models import ExtraTreesRegressor as ExtraTreesRegressor
from ._models import HistGradientBoostingClassifier as HistGradientBoostingClassifier
from ._models import HistGradientBoostingRegressor as HistGradientBoostingRegressor
from ._models import Kernel as Kernel
from ._models import KNeighborsClassifier as KNeighborsClassifier
from ._models import KNeighborsRegressor as KNeighborsRegressor
from ._models import LinearKernel as LinearKernel
from ._models import LogisticRegression as LogisticRegression
from ._models import MLPClassifier as MLPClassifier
from ._models import MLPRegressor as MLPRegressor
from ._models import PolynomialKernel as PolynomialKernel
from ._models import RandomForestClassifier as RandomForestClassifier
from ._models import RandomForestRegressor as RandomForestRegressor
from ._models import RBFKernel as RBFKernel
from ._models import RegressorModel as RegressorModel
from ._models import Ridge as Ridge
from ._models import SGDClassifier as SGDClassifier
from ._models import SGDRegressor as SGDRegressor
from ._models import SigmoidKernel as SigmoidKernel
from ._pipelines import ClassifierPipeline as ClassifierPipeline
from ._pipelines import RegressorPipeline as RegressorPipeline
from ._preprocessing import PCA as PCA
from ._preprocessing import MinMaxScaling as MinMaxScaling
from ._preprocessing import Preprocessing as Preprocessing
from ._preprocessing import RobustScaling as RobustScaling
from ._preprocessing import StandardScaling as StandardScaling

__all__ = [
    # estimators
    "AutoClassifier",
    "AutoRegressor",
    # top-level spaces
    "ClassifierPipeline",
    "RegressorPipeline",
    # pre-processing spaces
    "Preprocessing",
    "StandardScaling",
    "MinMaxScaling",
    "RobustScaling",
    "PCA",
    # classifier spaces
    "ClassifierModel",
    "SVC",
    "LogisticRegression",
    "KNeighborsClassifier",
    "RandomForestClassifier",
    "ExtraTreesClassifier",
    "HistGradientBoostingClassifier",
    "SGDClassifier",
    "MLPClassifier",
    # regressor spaces
    "RegressorModel",
    "SVR",
    "Ridge",
    "ElasticNet",
    "KNeighborsRegressor",
    "RandomForestRegressor",
    "ExtraTreesRegressor",
    "HistGradientBoostingRegressor",
    "SGDRegressor",
    "MLPRegressor",
    # SVM kernels
    "Kernel",
    "RBFKernel",
    "PolynomialKernel",
    "SigmoidKernel",
    "LinearKernel",
    # building blocks
    "Buildable",
    "build_pipeline",
    "with_random_state",
    # errors
    "DataError",
    "DataTypeError",
    "OptionError",
    "DataMismatchError",
    "SpaceTaskError",
    "SearchFailedError",
    # versions
    "SKLEARN_VERSION",
]
