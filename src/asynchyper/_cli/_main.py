"""``main()``: parse, dispatch, and turn every expected failure into one stderr line."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Sequence

from .._errors import AsynchyperError
from ._errors import UsageError
from ._parser import build_parser

__all__ = ["main"]

#: Exit code after Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``asynchyper`` command line.

    Args:
        argv: The arguments (without the program name); ``sys.argv[1:]`` by default.

    Returns:
        The exit code: 0 success, 1 an error (reported as one line on stderr), 2 a
        usage error, 130 interrupted by Ctrl-C.

    When run as the program (``argv`` not given) and interrupted, the process exits
    at once after the running trials are recorded as cancelled, instead of waiting
    for abandoned objective threads (which cannot be stopped) to return.
    """
    from .. import __version__  # noqa: PLC0415 - the package imports this module

    if argv is None:  # the program: its own streams
        _tolerant_output()
    parser = build_parser(__version__)
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    except SystemExit as exc:  # --help, --version, or a usage error (already printed)
        return exc.code if isinstance(exc.code, int) else 2
    args.verbose += args.verbose_after  # -v before and after the command both count
    if args.verbose:
        logging.basicConfig(
            level=logging.WARNING,  # other libraries: their warnings only
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
        logging.getLogger("asynchyper").setLevel(
            logging.INFO if args.verbose == 1 else logging.DEBUG
        )
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        _error("interrupted; running trials were recorded as cancelled")
        if argv is None and threading.active_count() > 1:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED
    except UsageError as exc:
        _error(str(exc))
        return 2
    except ExceptionGroup as group:  # e.g. every problem of a space declaration
        problems = [exc for exc in _leaves(group) if isinstance(exc, AsynchyperError)]
        if len(problems) != len(_leaves(group)):
            raise
        _error(f"{group.message}: " + "; ".join(str(exc) for exc in problems))
        return 1
    except AsynchyperError as exc:
        _error(str(exc))
        return 1
    except BrokenPipeError:  # e.g. `asynchyper trials s | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    leaves: list[BaseException] = []
    for exc in group.exceptions:
        leaves.extend(_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])
    return leaves


def _error(message: str) -> None:
    """Write ``asynchyper: error: ...`` on one line of stderr."""
    text = "; ".join(line.strip() for line in message.splitlines() if line.strip())
    sys.stderr.write(f"asynchyper: error: {text}\n")


def _tolerant_output() -> None:
    """Let stdout and stderr show any character: a study name outside the console's
    code page (Windows' cp1252, a pipe's locale encoding) printed as an escape rather
    than ending the command with ``UnicodeEncodeError``."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):  # a closed or detached stream
                reconfigure(errors="backslashreplace")
