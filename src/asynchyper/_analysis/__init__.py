"""Numerical analysis of finished trials: parameter importance and the data behind plots.

numpy and scipy only; the plots in :mod:`asynchyper.plot` draw what this computes.
"""

from ._importance import importance_or_why_not as importance_or_why_not
from ._importance import parameter_importance as parameter_importance
from ._params import ParamSpec as ParamSpec
from ._params import SpaceLike as SpaceLike
from ._params import param_specs as param_specs
from ._trials import TrialLike as TrialLike
from ._trials import check_direction as check_direction
from ._trials import completed as completed
from ._trials import require_completed as require_completed
from ._trials import trials_of as trials_of
