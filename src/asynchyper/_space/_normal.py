"""A Gaussian prior truncated to a dimension's range, as a map from uniform draws.

A float dimension with ``mu`` and ``sigma`` draws ``t ~ N(mu, sigma)`` truncated to
its range (``t = log(x)`` with ``log=True``: Hyperopt's ``lognormal``): the codec turns
a uniform draw ``u`` in ``[0, 1)`` into the value with that share of the prior's mass
below it. (TPE models such a dimension in its usual unit coordinates, with its flat
prior kernel and its smallest bandwidth measured in ``sigma``: see ``_suggest/_tpe.py``.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["NormalPrior"]

FloatArray = npt.NDArray[np.float64]


def _special() -> Any:
    # scipy.special costs about 100 ms of import time: imported when first needed.
    import scipy.special  # noqa: PLC0415

    return scipy.special


class NormalPrior:
    """``N(mu, sigma)`` truncated to ``[low, high]`` (all in the dimension's own scale:
    logarithms for a log dimension).

    When the range lies above ``mu``, masses are measured from the upper tail (the
    survival function), which keeps their precision there.

    Args:
        mu: Mean of the untruncated Gaussian.
        sigma: Its standard deviation, > 0.
        low: Lower end of the range.
        high: Upper end, > ``low``.
    """

    def __init__(self, mu: float, sigma: float, low: float, high: float) -> None:
        special = _special()
        self.mu, self.sigma = mu, sigma
        z_low, z_high = (low - mu) / sigma, (high - mu) / sigma
        self._upper = z_low > 0
        if self._upper:
            self._start = float(special.ndtr(-z_low))
            self._end = float(special.ndtr(-z_high))
        else:
            self._start = float(special.ndtr(z_low))
            self._end = float(special.ndtr(z_high))
        #: The share of the untruncated Gaussian's mass inside the range.
        self.mass = abs(self._end - self._start)
        self._first, self._last = sorted((self._start, self._end))

    def values(self, u: FloatArray) -> FloatArray:
        """The value whose share of the prior's mass below it is ``u``, for each element
        of ``u`` (in ``[0, 1]``)."""
        special = _special()
        p = np.clip(self._start + (self._end - self._start) * u, self._first, self._last)
        z = -special.ndtri(p) if self._upper else special.ndtri(p)
        return np.asarray(self.mu + self.sigma * z, dtype=np.float64)
