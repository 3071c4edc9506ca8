"""Plots of a study's trials, drawn with matplotlib.

Needs the ``plot`` extra: ``pip install 'asynchyper[plot]'``.

Every function takes the trials of one study (``await study.trials()``,
``Result.trials`` or storage records) and returns a :class:`matplotlib.figure.Figure`
built without pyplot, so it works in scripts, servers and notebooks alike (in a
Jupyter notebook a returned figure is shown inline, without ``%matplotlib inline``);
save it with ``fig.savefig("out.png")``::

    import asynchyper.plot as ahp

    result = await ah.minimize(objective, Space, trials=100)
    ahp.history(result.trials).savefig("history.png")
    ahp.importance(result.trials, space=ah.compile_space(Space)).savefig("importance.png")

* :func:`history`: values by trial number and the running best; failures marked.
* :func:`importance`: :func:`asynchyper.parameter_importance` as a bar chart.
* :func:`slices`: the objective against each parameter.
* :func:`parallel_coordinates`: every trial as a line across the parameters.
* :func:`branches`: how each branch of a union field did, and how often it ran.

:data:`PLOTS` maps the command-line names (``asynchyper plot STUDY KIND``) to them.
"""

# Imported first: without matplotlib it raises MissingExtraError naming the extra.
from . import _require  # noqa: F401

# isort: split
from ._branches import branches as branches
from ._history import history as history
from ._importance import importance as importance
from ._parallel import parallel_coordinates as parallel_coordinates
from ._registry import PLOTS as PLOTS
from ._slices import slices as slices

# isort: split
from ._notebook import show_figures_inline

show_figures_inline()
del show_figures_inline

__all__ = [
    "history",
    "importance",
    "slices",
    "parallel_coordinates",
    "branches",
    "PLOTS",
]
