"""Command-line entry point: ``python -m asynchyper`` / ``asynchyper``."""

from __future__ import annotations

# Absolute: process-executor workers run this file by path (not as a package module).
from asynchyper._cli import main

__all__ = ["main"]


if __name__ == "__main__":
    raise SystemExit(main())
