"""Which event loop the calling task runs on (asyncio-only libraries need to know)."""

from __future__ import annotations

import asyncio

__all__ = ["on_asyncio"]


def on_asyncio() -> bool:
    """Whether the calling task runs on asyncio (anything else here means trio)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
