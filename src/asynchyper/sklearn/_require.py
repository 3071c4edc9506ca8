"""Fail early, with the extra to install, when scikit-learn is missing."""

from __future__ import annotations

from .._errors import MissingExtraError

__all__ = ["SKLEARN_VERSION"]

try:
    import sklearn
except ImportError as exc:
    msg = (
        "asynchyper.sklearn needs scikit-learn, which is not installed; install it with "
        "pip install 'asynchyper[sklearn]'"
    )
    raise MissingExtraError(msg) from exc

SKLEARN_VERSION: str = sklearn.__version__
"""The installed scikit-learn version, e.g. ``"1.7.0"``."""
