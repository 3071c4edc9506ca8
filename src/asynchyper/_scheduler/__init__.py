"""The scheduler box: studies, ask/tell, and minimize()."""

from ._result import Evaluation as Evaluation
from ._result import Result as Result
from ._study import Study as Study
from ._study import minimize as minimize
from ._study import open_study as open_study
