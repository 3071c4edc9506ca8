"""Read commands: studies, show, trials, best; bad inputs are one line on stderr."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import anyio
import attrs
import pytest
from cli_helpers import N_COMPLETE, STUDY, SVM, Demo

import asynchyper as ah
from asynchyper.__main__ import main


@attrs.frozen(kw_only=True)
class Odd:
    """Choices that would break a text table: a newline, and a very long text."""

    text: Annotated[str, ah.Categorical(["two\nlines", "x" * 200])]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("asynchyper: error: ")
    assert "Traceback" not in err
    return lines[0]


def test_studies_table(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--storage", str(demo_db), "studies")
    assert (code, err) == (0, "")
    header, row = out.splitlines()
    assert header.split()[:8] == [
        "NAME", "DIRECTION", "TRIALS", "COMPLETE", "RUNNING", "WAITING", "FAILED", "CANCELLED"
    ]  # fmt: skip
    cells = row.split()
    assert cells[:3] == [STUDY, "minimize", str(N_COMPLETE + 2)]
    assert cells[3:8] == [str(N_COMPLETE), "1", "0", "1", "0"]
    # columns are aligned: every header starts where its cells start
    assert header.index("BEST") + len("BEST") == row.index(cells[8]) + len(cells[8])


def test_studies_json_matches_the_stored_best(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "studies", "--storage", str(demo_db), "--json")
    assert code == 0
    (study,) = json.loads(out)
    assert study["counts"] == {
        "complete": N_COMPLETE, "running": 1, "waiting": 0, "failed": 1, "cancelled": 0
    }  # fmt: skip
    code, out, _ = run(capsys, "trials", STUDY, "--storage", str(demo_db), "--json")
    values = [t["value"] for t in json.loads(out) if t["state"] == "complete"]
    assert study["best"]["value"] == min(values)


def test_storage_from_the_environment(
    demo_db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASYNCHYPER_STORAGE", f"sqlite:///{demo_db}")
    code, out, _ = run(capsys, "studies")
    assert code == 0
    assert STUDY in out


def test_no_storage_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "studies")
    assert (code, out) == (2, "")
    assert "ASYNCHYPER_STORAGE" in one_error_line(err)


def test_show_summarizes_the_study(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "show", STUDY, "--storage", str(demo_db))
    assert (code, err) == (0, "")
    assert "direction" in out
    assert "minimize" in out
    assert f"{N_COMPLETE + 2} ({N_COMPLETE} complete, 1 running, 0 waiting, 1 failed" in out
    # the parameter description from the stored space
    assert "model:SVM.C" in out
    assert "[0.001, 1000] log" in out
    assert "model = SVM" in out
    assert "{SVM, Forest}" in out


@attrs.frozen(kw_only=True)
class WithConstants:
    x: Annotated[float, ah.Float(0.0, 1.0)]
    cv_folds: int = 3
    dataset: str = "v1"


def test_show_names_the_constants(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # shown as their stored attribute before: attr asynchyper.constants {"cv_folds":"3",...}
    db = str(tmp_path / "c.db")
    anyio.run(lambda: ah.minimize(lambda c: c.x, WithConstants, trials=2, storage=db, study="c"))
    code, out, _ = run(capsys, "show", "c", "--storage", db)
    assert code == 0
    assert 'constants  cv_folds = 3, dataset = "v1"' in out
    assert "asynchyper.constants" not in out


def test_show_json(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "show", STUDY, "--storage", str(demo_db), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["direction"] == "minimize"
    assert [d["name"] for d in data["space"]][:3] == ["x", "n", "model"]
    assert data["best"]["state"] == "complete"


def test_trials_filter_sort_limit(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "trials", STUDY, "--storage", str(demo_db), "--sort", "value", "--json"
    )
    assert code == 0
    everything = json.loads(out)
    assert len(everything) == N_COMPLETE + 2
    values = [t["value"] for t in everything]
    completed = values[:N_COMPLETE]
    assert completed == sorted(completed)
    assert values[N_COMPLETE:] == [None, None]  # trials without a value come last

    code, out, _ = run(
        capsys, "trials", STUDY, "--storage", str(demo_db), "--sort", "value", "--limit", "3"
    )
    header, *rows = out.splitlines()
    assert header.split()[:4] == ["NUMBER", "STATE", "VALUE", "DURATION"]
    assert [int(row.split()[0]) for row in rows] == [t["number"] for t in everything[:3]]

    only = ["--state", "failed", "--state", "running"]
    code, out, _ = run(capsys, "trials", STUDY, "--storage", str(demo_db), *only)
    assert code == 0
    states = [row.split()[1] for row in out.splitlines()[1:]]
    assert sorted(states) == ["failed", "running"]


def test_trials_sorted_by_duration_longest_first(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "trials", STUDY, "--storage", str(demo_db), "--sort", "duration", "--json"
    )
    assert code == 0
    durations = [t["duration"] for t in json.loads(out) if t["duration"] is not None]
    assert durations == sorted(durations, reverse=True)
    assert len(durations) == N_COMPLETE + 1  # the running trial has none


def test_trials_table_marks_inactive_parameters(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "trials", STUDY, "--storage", str(demo_db))
    assert code == 0
    header, *rows = out.splitlines()
    columns = header.split()
    assert "model:SVM.C" in columns
    assert "model:Forest.n_estimators" in columns
    assert len(rows) == N_COMPLETE + 2
    # every row has one cell per column; an inactive branch parameter shows "-"
    assert all(len(row.split()) == len(columns) for row in rows)
    assert any(row.split()[columns.index("model:SVM.C")] == "-" for row in rows)


def test_trials_table_shows_the_last_line_of_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "errors.db"
    error = 'Traceback (most recent call last):\n  File "train.py", line 3\nValueError: diverged\n'

    async def create() -> None:
        async with ah.open_study(Demo, storage=str(path), name="e", seed=0) as study:
            failed, complete = await study.ask(), await study.ask()
            await study.tell(failed, error=error)
            await study.tell(complete, 1.0)

    anyio.run(create)
    code, out, err = run(capsys, "trials", "e", "--storage", str(path))
    assert (code, err) == (0, "")
    header, failed, complete = out.splitlines()
    assert header.split()[-1] == "ERROR"
    assert failed.endswith("  ValueError: diverged")
    assert complete.split()[-1] == "-"
    assert "Traceback" not in out
    # only when a listed trial has an error; --json keeps the whole text
    code, out, _ = run(capsys, "trials", "e", "--storage", str(path), "--state", "complete")
    assert "ERROR" not in out
    code, out, _ = run(capsys, "trials", "e", "--storage", str(path), "--json")
    assert [t["error"] for t in json.loads(out)] == [error, None]


def test_text_tables_keep_one_line_per_row_and_shorten_long_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "odd.db"
    name = "n" * 500

    async def create() -> None:
        async with ah.open_study(Odd, storage=str(path), name=name, seed=0) as study:
            for text in ("two\nlines", "x" * 200):
                await study.enqueue(Odd(text=text))
                await study.tell(await study.ask(), 1.0)
        async with ah.open_study(Odd, storage=str(path), name="short", seed=0):
            pass

    anyio.run(create)
    code, out, _ = run(capsys, "studies", "--storage", str(path))
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[1].startswith("n" * 59 + "…  ")
    assert max(len(line) for line in lines) < 160  # not 500 wide
    code, out, _ = run(capsys, "trials", name, "--storage", str(path))
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split() == ["NUMBER", "STATE", "VALUE", "DURATION", "text"]
    assert [row.split()[-1] for row in rows] == ["two\\nlines", "x" * 59 + "…"]
    # --json shows the values as they are
    code, out, _ = run(capsys, "trials", name, "--storage", str(path), "--json")
    assert [t["params"]["text"] for t in json.loads(out)] == ["two\nlines", "x" * 200]


def test_best(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "best", STUDY, "--storage", str(demo_db), "--json")
    assert code == 0
    best = json.loads(out)
    code, out, _ = run(capsys, "trials", STUDY, "--storage", str(demo_db), "--json")
    completed = [t for t in json.loads(out) if t["state"] == "complete"]
    assert best == min(completed, key=lambda t: t["value"])
    assert best["user_attrs"] == {"half": best["value"] / 2}

    code, out, _ = run(capsys, "best", STUDY, "--storage", str(demo_db))
    assert code == 0
    assert out.splitlines()[0].split() == ["trial", str(best["number"])]
    assert [line.split() for line in out.splitlines()[2:4]] == [
        ["params"],
        ["x", f"{best['params']['x']:.6g}"],
    ]


def test_best_without_completed_trials(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.db"

    async def create() -> None:
        async with ah.open_study(Demo, storage=str(path), name="empty"):
            pass

    anyio.run(create)
    code, out, err = run(capsys, "best", "empty", "--storage", str(path))
    assert (code, out) == (1, "")
    assert "no completed trial" in one_error_line(err)
    code, out, err = run(capsys, "show", "empty", "--storage", str(path))
    assert (code, err) == (0, "")
    assert "none (no trial completed)" in out
    code, out, err = run(capsys, "trials", "empty", "--storage", str(path))
    assert (code, out, err) == (0, "no trials in study 'empty' match\n", "")


def test_importance_ranks_the_parameters(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "importance", STUDY, "--storage", str(demo_db), "--json")
    assert (code, err) == (0, "")
    shares = json.loads(out)
    found, direction, space = anyio.run(_records, demo_db)
    assert shares == pytest.approx(ah.parameter_importance(found, direction=direction, space=space))
    assert next(iter(shares)) == "x"  # the loss is (x - 1)^2 + n over x in [-5, 5]
    code, out, err = run(capsys, "importance", STUDY, "--storage", str(demo_db))
    assert (code, err) == (0, "")
    header, first, *rest = out.splitlines()
    assert header.split() == ["PARAMETER", "SHARE"]
    assert first.split() == ["x", f"{100 * shares['x']:.1f}%"]
    assert rest[-1] == f"(main effects, fANOVA, over {N_COMPLETE} complete trials)"
    code, out, err = run(capsys, "importance", "nothing", "--storage", str(demo_db))
    assert (code, out) == (1, "")
    assert "'nothing'" in one_error_line(err)


async def _records(
    path: Path,
) -> tuple[list[ah.TrialRecord], str, list[dict[str, ah.JSONValue]]]:
    async with ah.SQLiteStorage(str(path)) as store:
        record = await store.get_study(STUDY)
        return await store.trials(record.id), record.direction, list(record.space)


def test_best_says_why_there_is_no_completed_trial(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "none.db"

    async def create() -> None:
        async with ah.open_study(Demo, storage=str(path), name="queued") as study:
            for x in (1.0, 2.0):
                await study.enqueue(Demo(x=x, n=1, model=SVM(C=1.0, kernel="rbf")))
        async with ah.open_study(Demo, storage=str(path), name="broken") as study:
            for _ in range(3):
                await study.tell(await study.ask(), error="ValueError: boom")

    anyio.run(create)
    code, _, err = run(capsys, "best", "queued", "--storage", str(path))
    line = one_error_line(err)
    assert code == 1
    assert "study 'queued' has no completed trial yet (2 waiting)" in line
    assert "failed" not in line  # none did
    code, _, err = run(capsys, "best", "broken", "--storage", str(path))
    line = one_error_line(err)
    assert code == 1
    assert "(3 failed); see `asynchyper trials broken --state failed` for their errors" in line
    code, _, err = run(capsys, "importance", "broken", "--storage", str(path))
    assert code == 1
    assert "(3 failed); see `asynchyper trials broken --state failed`" in one_error_line(err)


def test_no_studies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "none.db"

    async def create_empty_store() -> None:
        async with ah.SQLiteStorage(path):
            pass

    anyio.run(create_empty_store)
    code, out, err = run(capsys, "studies", "--storage", str(path))
    assert (code, out, err) == (0, f"no studies in {path}\n", "")


@pytest.mark.parametrize(
    "argv",
    [
        ["studies"],
        ["show", STUDY],
        ["trials", STUDY],
        ["best", STUDY],
        ["export", STUDY],
        ["fail-stale", STUDY],
        ["delete", STUDY, "--yes"],
        ["plot", STUDY, "history", "-o", "x.png"],
    ],
)
def test_a_missing_file_is_reported_and_never_created(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.db"
    code, out, err = run(capsys, *argv, "--storage", str(missing))
    assert (code, out) == (1, "")
    assert "does not exist" in one_error_line(err)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["show", "trials", "best", "export", "fail-stale"])
def test_unknown_study(command: str, demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, command, "nope", "--storage", str(demo_db))
    assert (code, out) == (1, "")
    line = one_error_line(err)
    assert "'nope'" in line
    assert STUDY in line  # the known names are listed


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("bogus://x", "unknown scheme"),
        # not a file named 'study.db?mode=ro' (that does not exist) but a refused URL
        ("sqlite:///study.db?mode=ro", "sqlite storage takes no url options"),
        # nothing listens on port 1; the password never shows in the message
        ("postgresql://user:secret@127.0.0.1:1/x", "postgres"),
    ],
)
def test_bad_url(url: str, expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "studies", "--storage", url)
    assert code == 1
    line = one_error_line(err)
    assert expected in line.lower()
    assert "secret" not in line


def test_an_empty_file_is_reported_and_left_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    code, out, err = run(capsys, "studies", "--storage", str(path))
    assert (code, out) == (1, "")
    assert "is empty, not an asynchyper store" in one_error_line(err)
    assert path.stat().st_size == 0


def test_not_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    code, _, err = run(capsys, "studies", "--storage", str(path))
    assert code == 1
    assert "not a SQLite database" in one_error_line(err)
    assert path.read_text() == "hello\n"


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["trials"]) == 2
    assert main(["trials", STUDY, "--limit", "0"]) == 2
    assert main(["frobnicate"]) == 2
    _, err = capsys.readouterr()
    assert "Traceback" not in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert (code, out) == (0, f"asynchyper {ah.__version__}\n")


def test_trials_sorted_by_value_put_the_best_first_when_maximizing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "max.db"

    async def make() -> None:
        async def objective(config: Demo) -> float:
            return config.x

        await ah.maximize(objective, Demo, trials=6, storage=str(path), study="up", seed=0)

    anyio.run(make)
    code, out, _ = run(capsys, "trials", "up", "--storage", str(path), "--sort", "value", "--json")
    assert code == 0
    values = [t["value"] for t in json.loads(out)]
    assert values == sorted(values, reverse=True)


def test_a_name_outside_the_console_encoding_is_escaped(tmp_path: Path) -> None:
    # Windows' console code page (cp1252) or a pipe's locale: printing such a study name
    # ended the command with UnicodeEncodeError.
    import os  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    path = tmp_path / "names.db"

    async def create() -> None:
        async with ah.open_study(Demo, storage=str(path), name="caf\u00e9 \u2260 tea"):
            pass

    anyio.run(create)
    done = subprocess.run(
        [sys.executable, "-m", "asynchyper", "studies", "--storage", str(path)],
        env={**os.environ, "PYTHONIOENCODING": "ascii"},
        capture_output=True,
        text=True,
        encoding="ascii",
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "caf\\xe9 \\u2260 tea" in done.stdout


@pytest.mark.parametrize(
    ("before", "after", "level"),
    [
        (["-v"], [], logging.INFO),
        (["-vv"], [], logging.DEBUG),
        ([], ["-v"], logging.INFO),
        # Both count: the command's own -v replaced the count given before it.
        (["-v"], ["-v"], logging.DEBUG),
    ],
)
def test_verbose_logs_asynchyper_only(
    demo_db: Path,
    monkeypatch: pytest.MonkeyPatch,
    before: list[str],
    after: list[str],
    level: int,
) -> None:
    # -v configured the root logger at INFO, so every other library's INFO lines came too.
    package = logging.getLogger("asynchyper")
    monkeypatch.setattr(logging.root, "handlers", [])  # as in a fresh process
    monkeypatch.setattr(logging.root, "level", logging.WARNING)
    monkeypatch.setattr(package, "level", logging.NOTSET)
    try:
        assert main([*before, "studies", *after, "--storage", str(demo_db)]) == 0
        assert package.level == level
        assert logging.root.level == logging.WARNING
        assert logging.root.handlers
    finally:
        for handler in logging.root.handlers:
            handler.close()


def test_importance_says_when_it_is_undefined(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # With one trial (or constant values) it printed a table of equal shares, which
    # read as a result; the reason was only a logged warning.
    db = str(tmp_path / "one.db")
    anyio.run(lambda: ah.minimize(lambda c: c.x, WithConstants, trials=1, storage=db, study="one"))
    code, out, err = run(capsys, "importance", "one", "--storage", db)
    assert (code, err) == (0, "")
    assert out == (
        "parameter importance is undefined for 1 complete trial(s): a parameter needs at "
        "least 3 complete trials where it is active to be scored, and none has that many "
        "(run more trials)\n"
    )
    code, out, _ = run(capsys, "importance", "one", "--storage", db, "--json")
    assert code == 0
    assert json.loads(out) == {"x": 1.0}  # the data as before: every share equal
