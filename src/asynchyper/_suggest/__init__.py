"""The suggester box: the sans-IO protocol, random search and TPE."""

from ._base import History as History
from ._base import Suggester as Suggester
from ._random import Random as Random
from ._tpe import TPE as TPE
