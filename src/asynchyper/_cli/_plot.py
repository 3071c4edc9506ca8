"""``asynchyper plot``: draw one of ``asynchyper.plot.PLOTS`` into an image file."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

import anyio

from .._records import StudyRecord, TrialRecord
from ._errors import CommandError
from ._store import existing_storage, storage_url

__all__ = ["load_plots", "plot"]

_INSTALL = "pip install 'asynchyper[plot]'"


def load_plots() -> Mapping[str, Callable[..., Any]]:
    """``asynchyper.plot.PLOTS``, imported on first use.

    Raises:
        CommandError: The plot module or matplotlib is missing.
    """
    try:
        module = importlib.import_module("asynchyper.plot")
    except ImportError as exc:
        missing = getattr(exc, "name", None) or ""
        if missing == "asynchyper.plot" or missing.split(".")[0] == "matplotlib":
            msg = f"plotting needs matplotlib, which is not installed; install it with {_INSTALL}"
            raise CommandError(msg) from exc
        if "asynchyper[plot]" in str(exc):  # the module's own MissingExtraError
            raise CommandError(str(exc)) from exc
        raise
    plots = getattr(module, "PLOTS", None)
    if not isinstance(plots, Mapping):
        msg = f"asynchyper.plot has no PLOTS table; reinstall with {_INSTALL}"
        raise CommandError(msg)
    return plots


async def _load(url: str, name: str) -> tuple[StudyRecord, list[TrialRecord]]:
    async with existing_storage(url) as store:
        record = await store.get_study(name)
        return record, await store.trials(record.id)


def plot(args: argparse.Namespace) -> int:
    """``asynchyper plot STUDY KIND -o FILE``: save a plot of the study's trials."""
    url = storage_url(args)
    existing_storage(url)  # report a missing file before importing matplotlib
    plots = load_plots()
    draw = plots.get(args.kind)
    if draw is None:
        msg = f"unknown plot kind {args.kind!r}; choose one of: {', '.join(plots)}"
        raise CommandError(msg)
    record, trials = anyio.run(_load, url, args.study)
    figure = draw(trials, direction=record.direction, space=list(record.space))
    try:
        figure.savefig(args.output)
    except (OSError, ValueError) as exc:  # no such directory; an unknown image format
        msg = f"cannot save the plot to {args.output}: {exc}"
        raise CommandError(msg) from exc
    finally:
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None and type(figure).__module__.startswith("matplotlib"):
            pyplot.close(figure)
    sys.stderr.write(
        f"wrote the {args.kind} plot of study {record.name!r} ({len(trials)} trials) "
        f"to {args.output}\n"
    )
    return 0
