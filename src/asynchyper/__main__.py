"""Command-line entry point: ``python -m asynchyper`` / ``asynchyper``."""

from __future__ import annotations

import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = sys.argv[1:] if argv is None else argv
    msg = f"asynchyper: the command line is not implemented yet (got {args!r})\n"
    sys.stderr.write(msg)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
