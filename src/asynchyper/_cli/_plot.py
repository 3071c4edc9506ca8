"""``asynchyper plot``: draw one of ``asynchyper.plot.PLOTS`` into an image file."""

from __future__ import annotations

import argparse
import collections
import importlib
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

import anyio

from .._errors import NoCompletedTrialsError
from .._records import StudyRecord, TrialRecord, TrialState
from ._commands import no_completed_trial
from ._errors import CommandError
from ._output import PUBLIC, replacing, write_problem
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


def _image_path(output: str) -> str:
    """The file ``savefig`` writes for ``-o output``: a name without extension gets ``.png``.

    Raises:
        CommandError: ``output`` is ``-`` (an image cannot go to stdout).
    """
    if output == "-":
        msg = "cannot write an image to stdout (-o -); pass a file name, e.g. -o plot.png"
        raise CommandError(msg)
    if os.path.splitext(output)[1][1:]:
        return output
    return output.rstrip(".") + ".png"  # as matplotlib itself names it


def plot(args: argparse.Namespace) -> int:
    """``asynchyper plot STUDY KIND -o FILE``: save a plot of the study's trials."""
    target = _image_path(args.output)
    url = storage_url(args)
    existing_storage(url)  # report a missing file before importing matplotlib
    plots = load_plots()
    draw = plots.get(args.kind)
    if draw is None:
        msg = f"unknown plot kind {args.kind!r}; choose one of: {', '.join(plots)}"
        raise CommandError(msg)
    record, trials = anyio.run(_load, url, args.study)
    try:
        figure = draw(trials, direction=record.direction, space=list(record.space))
    except NoCompletedTrialsError as exc:
        counts = collections.Counter(trial.state for trial in trials)
        if counts[TrialState.COMPLETE]:  # complete without a finite value: as the plot says
            raise
        msg = f"cannot draw the {args.kind} plot: {no_completed_trial(record.name, counts)}"
        raise NoCompletedTrialsError(msg) from exc
    try:
        with replacing(target, mode=PUBLIC) as path:
            figure.savefig(path)
    except OSError as exc:  # no such directory, a read-only file system
        raise CommandError(write_problem(target, exc)) from exc
    except ValueError as exc:  # an unknown image format
        msg = f"cannot save the plot to {target}: {exc}"
        raise CommandError(msg) from exc
    finally:
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None and type(figure).__module__.startswith("matplotlib"):
            pyplot.close(figure)
    sys.stderr.write(
        f"wrote the {args.kind} plot of study {record.name!r} ({len(trials)} trials) to {target}\n"
    )
    return 0
