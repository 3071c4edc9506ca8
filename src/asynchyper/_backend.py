"""Where the calling code runs: which event loop, and whether in a Jupyter kernel."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

__all__ = ["jupyter_kernel", "on_asyncio"]


def on_asyncio() -> bool:
    """Whether the calling task runs on asyncio (anything else here means trio)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def jupyter_kernel() -> Any:
    """The IPython shell when running in a Jupyter kernel, else ``None``.

    A terminal IPython has a shell but no kernel (its stderr is the terminal itself).
    """
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return None
    try:
        shell = ipython.get_ipython()
    except Exception:  # an IPython that is being torn down, or a stand-in
        return None
    return shell if getattr(shell, "kernel", None) is not None else None
