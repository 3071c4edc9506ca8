"""The ``asynchyper`` command line (argparse); ``main`` is its entry point."""

from ._main import main as main
