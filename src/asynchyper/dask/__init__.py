"""Run trials on a Dask cluster.

Needs the ``dask`` extra: ``pip install 'asynchyper[dask]'``.

Pass a ``DaskExecutor`` as ``executor=``; each trial becomes one Dask task:

    from asynchyper.dask import DaskExecutor

    result = await ah.minimize(
        objective, Space, trials=200, concurrency=16,
        executor=DaskExecutor("tcp://scheduler:8786"),
    )

A ``distributed.Client`` (asynchronous or not), a scheduler address, or nothing (a
``LocalCluster`` on this machine, closed at the end of the run) tells it where to run.
"""

# Imported first: without distributed it raises MissingExtraError naming the extra.
from ._require import DISTRIBUTED_VERSION as DISTRIBUTED_VERSION

# isort: split
from ._executor import DaskExecutor as DaskExecutor

__all__ = [
    "DaskExecutor",
    "DISTRIBUTED_VERSION",
]
