"""Commands that change a study: fail-stale and delete."""

from __future__ import annotations

import io
import json
from pathlib import Path

import anyio
import pytest
from cli_helpers import N_COMPLETE, STUDY, read_trials

import asynchyper as ah
from asynchyper.__main__ import main


def states(path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for trial in anyio.run(read_trials, path):
        counts[trial.state.value] = counts.get(trial.state.value, 0) + 1
    return counts


def test_fail_stale_respects_older_than(fresh_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fail-stale", STUDY, "--storage", str(fresh_db), "--older-than", "3600"]) == 0
    out, _ = capsys.readouterr()
    assert out == f"no stale trials in study {STUDY!r}\n"
    assert states(fresh_db)["running"] == 1

    assert main(["fail-stale", STUDY, "--storage", str(fresh_db), "--older-than", "0"]) == 0
    out, _ = capsys.readouterr()
    assert out == f"failed 1 stale trial(s) of study {STUDY!r}: {N_COMPLETE + 1}\n"
    assert states(fresh_db) == {"complete": N_COMPLETE, "failed": 2}


def test_fail_stale_requeue_json(fresh_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["fail-stale", STUDY, "--storage", str(fresh_db), "--older-than", "0", "--requeue"]
    assert main([*argv, "--json"]) == 0
    out, _ = capsys.readouterr()
    assert json.loads(out) == {"study": STUDY, "failed": [N_COMPLETE + 1], "requeued": True}
    trials = anyio.run(read_trials, fresh_db)
    waiting = [t for t in trials if t.state is ah.TrialState.WAITING]
    assert len(waiting) == 1
    assert waiting[0].params == trials[N_COMPLETE + 1].params


def test_fail_stale_requeue_json_without_stale_trials_requeues_nothing(
    fresh_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["fail-stale", STUDY, "--storage", str(fresh_db), "--older-than", "3600"]
    assert main([*argv, "--requeue", "--json"]) == 0
    out, _ = capsys.readouterr()
    assert json.loads(out) == {"study": STUDY, "failed": [], "requeued": False}
    assert "waiting" not in states(fresh_db)


def test_fail_stale_json_without_requeue(
    fresh_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["fail-stale", STUDY, "--storage", str(fresh_db), "--older-than", "0", "--json"]
    assert main(argv) == 0
    out, _ = capsys.readouterr()
    assert json.loads(out) == {"study": STUDY, "failed": [N_COMPLETE + 1], "requeued": False}
    assert "waiting" not in states(fresh_db)


def test_fail_stale_rejects_negative_seconds(fresh_db: Path) -> None:
    assert main(["fail-stale", STUDY, "--storage", str(fresh_db), "--older-than", "-1"]) == 2


def test_delete_with_yes(fresh_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["delete", STUDY, "--storage", str(fresh_db), "--yes"]) == 0
    out, _ = capsys.readouterr()
    assert out == f"deleted study {STUDY!r} ({N_COMPLETE + 2} trial(s))\n"
    assert main(["studies", "--storage", str(fresh_db), "--json"]) == 0
    out, _ = capsys.readouterr()
    assert json.loads(out) == []


def test_delete_off_a_terminal_needs_yes(
    fresh_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["delete", STUDY, "--storage", str(fresh_db)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1
    assert "--yes" in err
    assert states(fresh_db)["complete"] == N_COMPLETE


class FakeTerminal(io.StringIO):
    """Standard input that claims to be a terminal and holds the user's answer."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "deleted"), [("y\n", True), ("yes\n", True), ("\n", False)])
def test_delete_asks_on_a_terminal(
    answer: str,
    deleted: bool,
    fresh_db: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin", FakeTerminal(answer))
    code = main(["delete", STUDY, "--storage", str(fresh_db)])
    _, err = capsys.readouterr()
    assert f"delete study {STUDY!r} and its {N_COMPLETE + 2} trial(s)" in err
    assert code == (0 if deleted else 1)
    assert main(["studies", "--storage", str(fresh_db), "--json"]) == 0
    out, _ = capsys.readouterr()
    assert len(json.loads(out)) == (0 if deleted else 1)


def test_copy_to_another_file_and_under_another_name(
    fresh_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "copy.db"
    total = N_COMPLETE + 2
    assert main(["copy", STUDY, "--storage", str(fresh_db), "--to", str(copy)]) == 0
    out, _ = capsys.readouterr()
    assert out == f"copied study {STUDY!r} ({total} trial(s)) to {copy}\n"
    original = anyio.run(read_trials, fresh_db)
    assert [(t.number, t.state, t.params, t.value) for t in anyio.run(read_trials, copy)] == [
        (t.number, t.state, t.params, t.value) for t in original
    ]
    # once more: the name is taken there, and the error says what to do
    assert main(["copy", STUDY, "--storage", str(fresh_db), "--to", str(copy)]) == 1
    _, err = capsys.readouterr()
    assert "already exists" in err
    assert "--as NAME" in err
    argv = ["copy", STUDY, "--storage", str(fresh_db), "--to", str(fresh_db), "--as", "branch"]
    assert main([*argv, "--json"]) == 0
    out, _ = capsys.readouterr()
    assert json.loads(out) == {
        "study": STUDY,
        "to": str(fresh_db),
        "name": "branch",
        "trials": total,
    }
    assert main(["studies", "--storage", str(fresh_db), "--json"]) == 0
    out, _ = capsys.readouterr()
    assert [s["name"] for s in json.loads(out)] == [STUDY, "branch"]


@pytest.mark.parametrize(
    "case",
    [
        ("missing.db", "copy.db", "missing.db does not exist"),
        (None, ":memory:", "in-memory store, which would vanish"),
        (None, "copy.db", "no study named 'nope'"),
    ],
)
def test_copy_errors(
    case: tuple[str | None, str, str],
    fresh_db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source, to, message = case
    study = "nope" if "nope" in message else STUDY
    storage = str(fresh_db) if source is None else str(tmp_path / source)
    target = to if to == ":memory:" else str(tmp_path / to)
    assert main(["copy", study, "--storage", storage, "--to", target]) in {1, 2}
    _, err = capsys.readouterr()
    assert message in err
    assert not (tmp_path / "missing.db").exists()
    assert not (tmp_path / "copy.db").exists()


def test_copy_reports_the_trials_of_the_copy(
    fresh_db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A worker still writing to the source adds trials after the copy read them: the
    # count printed is the copy's, not the source's of a moment later.
    from asynchyper._cli import _commands  # noqa: PLC0415

    real = ah.copy_study

    async def copy_while_a_worker_writes(name: str, **kwargs: object) -> ah.StudyRecord:
        copied = await real(name, **kwargs)  # type: ignore[arg-type]
        async with ah.SQLiteStorage(fresh_db) as source:
            await source.enqueue_trial((await source.get_study(name)).id, {"x": 0.5})
        return copied

    monkeypatch.setattr(_commands, "copy_study", copy_while_a_worker_writes)
    copy = tmp_path / "copy.db"
    assert main(["copy", STUDY, "--storage", str(fresh_db), "--to", str(copy), "--json"]) == 0
    out, _ = capsys.readouterr()
    assert json.loads(out)["trials"] == len(anyio.run(read_trials, copy)) == N_COMPLETE + 2
