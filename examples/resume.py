"""Resume after a crash: kill a study mid-run, run the same call again, lose nothing.

The study lives in ``resume.db`` (SQLite, in the current directory). The script

1. starts ``python resume.py --worker`` in a subprocess, which runs ``run_study()``:
   ``minimize(..., trials=40, concurrency=4, storage="resume.db")``;
2. kills that process (SIGKILL: no clean-up at all) once some trials have completed,
   leaving a few trials ``RUNNING`` in the file;
3. calls the same ``run_study()`` here. Opening the study notices that the process
   which owned the running trials is gone and marks them ``FAILED`` (seen from
   another machine, they would be failed once their last heartbeat is older than
   ``stale_after``, 60 s by default);
   ``trials=40`` is the study's *total* budget, so only the missing trials run, and
   every trial that completed before the crash is kept.

Run it with ``python examples/resume.py``. It deletes ``resume.db`` first, so every
run shows the whole story.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from collections.abc import Sequence
from typing import Annotated

import anyio
import attrs

import asynchyper as ah

STORAGE = "resume.db"
STUDY = "resume-demo"
BUDGET = 40


@attrs.frozen(kw_only=True)
class Space:
    x: Annotated[float, ah.Float(-5.0, 5.0)]
    y: Annotated[float, ah.Float(-5.0, 5.0)]


async def objective(cfg: Space) -> float:
    await anyio.sleep(0.1)  # a slow evaluation, so that the crash finds trials running
    return (cfg.x - 1.0) ** 2 + (cfg.y + 2.0) ** 2


async def run_study() -> ah.Result[Space]:
    """The call that both the crashing worker and the recovery make, unchanged."""
    return await ah.minimize(
        objective, Space, trials=BUDGET, concurrency=4, storage=STORAGE, study=STUDY, seed=0
    )


async def stored_trials() -> list[ah.TrialRecord]:
    """The trials in the file, read without opening (or touching) the study."""
    if not await anyio.Path(STORAGE).exists():
        return []
    async with ah.SQLiteStorage(STORAGE) as storage:
        try:
            record = await storage.get_study(STUDY)
        except ah.UnknownStudyError:
            return []
        return await storage.trials(record.id)


def states(trials: Sequence[ah.TrialRecord | ah.Trial[Space]]) -> dict[str, int]:
    return dict(Counter(trial.state.value for trial in trials))


async def main() -> None:
    for name in (STORAGE, STORAGE + "-wal", STORAGE + "-shm"):
        await anyio.Path(name).unlink(missing_ok=True)

    # 1-2. Run the study in another process and kill it once 12 trials completed.
    # The worker's output goes straight to ours (None: inherited, not piped).
    worker = await anyio.open_process(
        [sys.executable, __file__, "--worker"], stdin=None, stdout=None, stderr=None
    )
    async with worker:
        while states(await stored_trials()).get("complete", 0) < 12:
            if worker.returncode is not None:
                msg = f"the worker exited early (exit code {worker.returncode})"
                raise SystemExit(msg)
            await anyio.sleep(0.05)
        worker.kill()
        await worker.wait()
    before = await stored_trials()
    completed_before = {t.number: t.value for t in before if t.state is ah.TrialState.COMPLETE}
    running_before = {t.number for t in before if t.state is ah.TrialState.RUNNING}
    print(f"killed the worker (pid {worker.pid}) mid-run; the file holds {states(before)}")

    # 3. The same call again: it recovers the orphans and finishes the budget.
    result = await run_study()
    orphans = [t for t in result.trials if t.number in running_before]
    kept = {t.number: t.value for t in result.completed if t.number in completed_before}
    print(
        f"re-ran the same call: the study now holds {states(result.trials)}: "
        f"the {len(orphans)} orphaned trials were marked "
        f"{'/'.join(sorted({t.state.value for t in orphans}))}, "
        f"{len(kept)} completed trials kept, "
        f"{len(result.completed) - len(kept)} new ones run"
    )
    best = result.best
    print(f"best {best.value:.4f} (trial {best.number}) at {best.config}; optimum 0 at (1, -2)")
    if kept != completed_before or len(result.completed) != BUDGET:
        msg = "resuming lost or repeated work"
        raise SystemExit(msg)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--worker", action="store_true", help="run the study (and get killed)")
    if parser.parse_args().worker:
        anyio.run(run_study)
    else:
        # Show the library's warnings (e.g. about the orphaned trials) in a short form.
        logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
        anyio.run(main)
