"""The scheduler box: studies, ask/tell, and minimize()."""

from ._callbacks import TrialCallback as TrialCallback
from ._entry import maximize as maximize
from ._entry import minimize as minimize
from ._entry import open_study as open_study
from ._result import Evaluation as Evaluation
from ._result import Result as Result
from ._study import Study as Study
