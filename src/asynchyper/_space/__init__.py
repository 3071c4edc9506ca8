"""The search space box: markers, the compiler and the compiled ``Space``."""

from ._dimension import Dimension as Dimension
from ._dimension import DimensionKind as DimensionKind
from ._markers import Categorical as Categorical
from ._markers import Float as Float
from ._markers import Int as Int
from ._space import Space as Space
from ._space import compile_space as compile_space
from ._space import description_fingerprint as description_fingerprint
