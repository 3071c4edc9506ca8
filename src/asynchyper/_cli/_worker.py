"""``asynchyper worker``: join (or create) a study and run trials in this process."""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import sys
import typing
from typing import Any

import anyio
import attrs

from .._errors import UnknownStudyError
from .._executor import resolve_executor
from .._records import Trial, TrialState
from .._scheduler import Result, Study, open_study
from .._storage import open_storage
from .._suggest import TPE, Random, Suggester
from ._commands import errors_hint
from ._errors import CommandError
from ._format import format_number
from ._store import storage_url

__all__ = ["load_object", "space_of", "worker"]

#: Without ``--trials`` a worker runs until ``--timeout`` or Ctrl-C; this bounds the
#: failures it accepts meanwhile, so that a broken objective cannot loop forever.
UNBOUNDED_MAX_FAILURES = 1000
#: The budget that stands for "no budget" (``--trials`` not given).
UNBOUNDED_TRIALS = 2**62


def load_object(spec: str, option: str) -> Any:
    """Import ``package.module:name`` (``name`` may be dotted) and return the object.

    The current directory is importable, as with ``python -m``.

    Args:
        spec: The ``module:name`` text.
        option: The option it came from, for messages (e.g. ``"--objective"``).

    Raises:
        CommandError: A malformed spec, a module that cannot be imported (or raised
            while importing), or a missing name.
    """
    module_name, colon, name = spec.partition(":")
    if not colon or not module_name or not name:
        msg = f"{option} {spec!r} must look like package.module:name, e.g. train:objective"
        raise CommandError(msg)
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            msg = (
                f"{option} {spec!r}: no module named {exc.name!r} (run from the directory "
                "that holds it, or add that directory to PYTHONPATH)"
            )
        else:
            msg = f"{option} {spec!r}: importing {module_name!r} failed: {exc}"
        raise CommandError(msg) from exc
    except Exception as exc:
        msg = f"{option} {spec!r}: importing {module_name!r} raised {type(exc).__name__}: {exc}"
        raise CommandError(msg) from exc
    target: Any = module
    for part in name.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            msg = f"{option} {spec!r}: {module_name!r} has no attribute {name!r}"
            raise CommandError(msg) from None
    return target


def space_of(objective: Any, spec: str) -> type[Any]:
    """The space class: the annotation of the objective's first parameter.

    Raises:
        CommandError: No such annotation, or it is not an attrs class.
    """
    hint = "annotate it with the space class (def objective(config: Space)) or pass --space"
    try:
        parameters = list(inspect.signature(objective).parameters)
        hints = typing.get_type_hints(objective)
    except Exception as exc:  # unresolvable forward references, odd callables
        msg = f"cannot read the annotations of --objective {spec!r} ({exc}); pass --space"
        raise CommandError(msg) from exc
    if not parameters:
        msg = f"--objective {spec!r} takes no parameter; it must take the configuration"
        raise CommandError(msg)
    annotation = hints.get(parameters[0])
    if annotation is None:
        msg = f"the first parameter of --objective {spec!r} has no annotation; {hint}"
        raise CommandError(msg)
    if not (isinstance(annotation, type) and attrs.has(annotation)):
        msg = (
            f"the first parameter of --objective {spec!r} is annotated {annotation!r}, "
            f"not an attrs class; {hint}"
        )
        raise CommandError(msg)
    return annotation


def _class_as_objective(cls: type[Any], spec: str) -> str:
    """The message for an ``--objective`` that names a class (often the space itself)."""
    module_name = spec.partition(":")[0]
    name = cls.__qualname__
    msg = (
        f"--objective {spec!r} names the class {name}, not an objective function; pass "
        f"the function that takes the configuration and returns its score"
    )
    takers = _functions_taking(sys.modules.get(module_name), cls)
    if takers:
        return f"{msg}, e.g. --objective {module_name}:{takers[0]}"
    if attrs.has(cls):
        return (
            f"{msg} (e.g. --objective {module_name}:objective), and --space {spec} "
            "unless its first parameter is annotated with the space class"
        )
    return msg


def _functions_taking(module: Any, cls: type[Any]) -> list[str]:
    """Names of the module's functions whose first parameter is annotated ``cls``."""
    names = []
    for name, value in vars(module or object()).items():
        if not inspect.isfunction(value) or value.__module__ != getattr(module, "__name__", ""):
            continue
        try:
            first = next(iter(inspect.signature(value).parameters), None)
            hints = typing.get_type_hints(value)
        except Exception:  # a function whose hints cannot be read is no candidate
            continue
        if first is not None and hints.get(first) is cls:
            names.append(name)
    return names


class _Counter:
    """Counts the trials this worker finished, by state."""

    def __init__(self) -> None:
        self.states: dict[TrialState, int] = {}

    def __call__(self, study: Study[Any], trial: Trial[Any]) -> None:
        del study
        self.states[trial.state] = self.states.get(trial.state, 0) + 1


async def _run(
    args: argparse.Namespace, url: str, objective: Any, space: type[Any], counter: _Counter
) -> Result[Any]:
    name = args.study or space.__qualname__
    # As minimize(): an executor that cannot run the objective is refused before a
    # database file or a study is created for nothing (the parser checked the numbers).
    runner = resolve_executor(args.executor, objective)
    runner.check(objective)
    store = open_storage(url)
    async with store:
        try:
            stored: str | None = (await store.get_study(name)).direction
        except UnknownStudyError:
            stored = None
        if args.direction is not None and stored is not None and args.direction != stored:
            # Checked here, not left to open_study, whose message gives Python advice.
            msg = (
                f"study {name!r} was created with direction {stored}; got --direction "
                f"{args.direction}. Drop --direction (a worker joins a study in its stored "
                f"direction) or pass --direction {stored}, or use another --study name"
            )
            raise CommandError(msg)
        direction = args.direction
        if direction is None:  # join an existing study in its own direction
            direction = stored or "minimize"
        suggester: Suggester = Random() if args.suggester == "random" else TPE()
        async with open_study(
            space,
            storage=store,
            name=name,
            suggester=suggester,
            direction=direction,
            seed=args.seed,
            heartbeat_interval=args.heartbeat_interval,
            stale_after=args.stale_after,
        ) as study:
            return await study.optimize(
                objective,
                trials=UNBOUNDED_TRIALS if args.trials is None else args.trials,
                concurrency=args.concurrency,
                executor=runner,
                timeout=args.timeout,
                trial_timeout=args.trial_timeout,
                max_failures=(
                    UNBOUNDED_MAX_FAILURES
                    if args.trials is None and args.max_failures is None
                    else args.max_failures
                ),
                retries=args.retries,
                callbacks=[counter],
                progress=None if args.trials is not None else False,
            )


def worker(args: argparse.Namespace) -> int:
    """``asynchyper worker``: run trials of a shared study until its budget is reached."""
    url = storage_url(args)
    open_storage(url)  # a bad URL is reported before the objective is imported
    objective = load_object(args.objective, "--objective")
    if isinstance(objective, type):
        raise CommandError(_class_as_objective(objective, args.objective))
    if not callable(objective):
        msg = f"--objective {args.objective!r} is a {type(objective).__name__}, not a function"
        raise CommandError(msg)
    if args.space is None:
        space = space_of(objective, args.objective)
    else:
        space = load_object(args.space, "--space")
        if not (isinstance(space, type) and attrs.has(space)):
            msg = f"--space {args.space!r} is not an attrs class"
            raise CommandError(msg)
    counter = _Counter()
    result = anyio.run(_run, args, url, objective, space, counter)
    completed = result.completed
    mine = ", ".join(f"{n} {state.value}" for state, n in counter.states.items()) or "none"
    sys.stdout.write(
        f"study {result.study!r}: run ended ({result.stop_reason}); the study holds "
        f"{len(completed)} completed trial(s); this worker finished: {mine}\n"
    )
    if completed:
        top = result.best
        sys.stdout.write(f"best: trial {top.number}, value {format_number(top.value)}\n")
    if result.stop_reason == "max_failures":
        msg = f"stopped after too many failed trials; {errors_hint(result.study)}"
        raise CommandError(msg)
    return 0
