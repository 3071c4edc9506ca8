"""`asynchyper export` and the export functions (flat records, DataFrame)."""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
import attrs
import pytest
from cli_helpers import N_COMPLETE, STUDY, Demo, demo_objective, read_trials, stored_space

import asynchyper as ah
from asynchyper.__main__ import main
from asynchyper._cli import _export_command as export_command
from asynchyper._export import record_columns, to_dataframe, trial_records
from asynchyper._types import JSONValue

#: How docs/cli.md tells pandas users to read the CSV export back.
READ_CSV = 'pd.read_csv("trials.csv", keep_default_na=False, na_values=[""])'
DOCS = Path(__file__).parents[2] / "docs"


@attrs.frozen(kw_only=True)
class Dropout:
    """An optional part of ``Words``."""

    rate: Annotated[float, ah.Float(0.0, 0.5)]


Word = Literal["NA", "null", "None", "nan", "ok"]


@attrs.frozen(kw_only=True)
class Words:
    """Values that pandas reads as missing by default."""

    dropout: Dropout | None
    word: Word


PARAM_COLUMNS = [
    "params.x",
    "params.n",
    "params.model",
    "params.model:SVM.C",
    "params.model:SVM.kernel",
    "params.model:Forest.n_estimators",
    "params.model:Forest.bootstrap",
]


def csv_text(value: JSONValue) -> str:
    """How the CSV export writes a parameter value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def stored(path: Path) -> list[ah.TrialRecord]:
    return anyio.run(read_trials, path)


def space_of(path: Path) -> list[dict[str, JSONValue]]:
    """The stored space description of the demo study."""
    return list(anyio.run(stored_space, path))


def test_export_csv_round_trips(demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", STUDY, "--storage", str(demo_db)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    rows = list(csv.DictReader(io.StringIO(out)))
    trials = stored(demo_db)
    assert len(rows) == len(trials) == N_COMPLETE + 2
    assert list(rows[0]) == [
        "number", "state", "value", "duration", "started_at", "finished_at",
        *PARAM_COLUMNS, "user_attrs.half", "owner", "error",
    ]  # fmt: skip
    for row, trial in zip(rows, trials, strict=True):
        assert int(row["number"]) == trial.number
        assert row["state"] == trial.state.value
        if trial.value is None:
            assert row["value"] == ""
        else:
            assert float(row["value"]) == trial.value  # full precision
        for name, value in trial.params.items():
            assert row[f"params.{name}"] == csv_text(value)
        inactive = set(PARAM_COLUMNS) - {f"params.{name}" for name in trial.params}
        assert all(row[column] == "" for column in inactive)
        assert row["owner"] == (trial.owner or "")
    failed = next(row for row in rows if row["state"] == "failed")
    assert failed["error"] == "boom"


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_export_json_formats(fmt: str, demo_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", STUDY, "--storage", str(demo_db), "--format", fmt]) == 0
    out, _ = capsys.readouterr()
    records = json.loads(out) if fmt == "json" else [json.loads(line) for line in out.splitlines()]
    assert records == trial_records(stored(demo_db), space_of(demo_db))


def test_export_to_a_file_with_a_state_filter(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out.jsonl"
    argv = ["export", STUDY, "--storage", str(demo_db), "--format", "jsonl", "-o", str(target)]
    assert main([*argv, "--state", "complete"]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert f"wrote {N_COMPLETE} trial(s)" in err
    lines = target.read_text().splitlines()
    assert len(lines) == N_COMPLETE
    assert {json.loads(line)["state"] for line in lines} == {"complete"}


def test_export_to_a_missing_directory(
    demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "no" / "such" / "out.csv"
    assert main(["export", STUDY, "--storage", str(demo_db), "-o", str(target)]) == 1
    _, err = capsys.readouterr()
    assert len(err.splitlines()) == 1
    assert f"cannot write {target}: directory {target.parent} does not exist; create it" in err


def test_export_replaces_a_file_whole_or_not_at_all(
    demo_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.csv"
    argv = ["export", STUDY, "--storage", str(demo_db), "-o", str(target)]
    assert main(argv) == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # the study's data: owner only
    target.chmod(0o640)
    target.write_text("previous\n")

    class DiskFull(io.StringIO):
        """A file that takes the first half of the text, then finds the disk full."""

        def __init__(self, path: str, *args: Any, **kwargs: Any) -> None:
            super().__init__()
            self._file = open(path, *args, **kwargs)  # noqa: SIM115 - closed in __exit__

        def write(self, text: str) -> int:
            self._file.write(text[: len(text) // 2])
            self._file.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

        def __exit__(self, *exc: object) -> None:
            self._file.close()

    with monkeypatch.context() as patch:
        patch.setattr(export_command, "open", DiskFull, raising=False)
        assert main(argv) == 1
    assert target.read_text() == "previous\n"  # not truncated by the failed export
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]  # no temporary left
    assert main(argv) == 0
    assert target.read_text().startswith("number,state,value")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # an existing file keeps its mode


def test_export_through_a_link_replaces_the_file_it_points_to(
    demo_db: Path, tmp_path: Path
) -> None:
    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "trials.jsonl"
    link = tmp_path / "trials.jsonl"
    link.symlink_to(real)
    argv = ["export", STUDY, "--storage", str(demo_db), "--format", "jsonl", "-o", str(link)]
    assert main(argv) == 0
    assert link.is_symlink()
    assert len(real.read_text().splitlines()) == len(stored(demo_db))
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["trials.jsonl"]


def test_export_to_a_pipe_writes_it_in_place(demo_db: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    try:
        assert main(["export", STUDY, "--storage", str(demo_db), "-o", str(fifo)]) == 0
    finally:
        reader.join(timeout=10)
    assert received[0].startswith("number,state,value")


@pytest.mark.skipif(sys.platform == "win32", reason="/dev/stdout")
def test_export_to_dev_stdout_of_a_pipe(demo_db: Path) -> None:
    # realpath() of /dev/stdout on a pipe is no path: the temporary file went to /proc.
    argv = [sys.executable, "-m", "asynchyper", "export", STUDY, "--storage", str(demo_db)]
    done = subprocess.run(
        [*argv, "-o", "/dev/stdout"], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("number,state,value")


def test_export_to_a_name_ending_in_a_slash_is_refused(demo_db: Path, tmp_path: Path) -> None:
    target = f"{tmp_path / 'newdir'}/"
    assert main(["export", STUDY, "--storage", str(demo_db), "-o", target]) == 1
    assert not (tmp_path / "newdir").exists()  # not a file named "newdir"


def test_pandas_reads_the_csv_back_with_the_documented_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pd = pytest.importorskip("pandas")
    assert READ_CSV in (DOCS / "cli.md").read_text(encoding="utf-8")
    path = tmp_path / "words.db"
    words: list[Word] = ["NA", "null", "None", "nan", "ok"]

    async def create() -> None:
        async with ah.open_study(Words, storage=str(path), name="words", seed=0) as study:
            for i, word in enumerate(words):
                dropout = Dropout(rate=0.25) if i % 2 else None  # None: written "None"
                await study.enqueue(Words(dropout=dropout, word=word))
                trial = await study.ask()
                if word == "ok":
                    await study.tell(trial, error="ValueError: NA")
                else:
                    await study.tell(trial, float(i), attrs={"note": word})

    anyio.run(create)
    target = tmp_path / "trials.csv"
    assert main(["export", "words", "--storage", str(path), "-o", str(target)]) == 0
    capsys.readouterr()
    frame = pd.read_csv(target, keep_default_na=False, na_values=[""])  # as READ_CSV
    assert frame["params.word"].tolist() == words
    assert frame["params.dropout"].tolist() == ["None", "Dropout"] * 2 + ["None"]
    rates = frame["params.dropout:Dropout.rate"].tolist()
    assert [None if math.isnan(rate) else rate for rate in rates] == [None, 0.25] * 2 + [None]
    assert frame["user_attrs.note"].tolist()[:4] == words[:4]
    assert math.isnan(frame["user_attrs.note"][4])  # no such attribute: missing
    assert frame["value"].tolist()[:4] == [0.0, 1.0, 2.0, 3.0]
    assert math.isnan(frame["value"][4])
    assert frame["error"].isna().tolist() == [True] * 4 + [False]
    assert frame["error"][4] == "ValueError: NA"
    # what the call is for: by default pandas reads these words as missing values
    assert pd.read_csv(target)["params.word"].isna().sum() == 4


def test_records_are_flat_and_share_their_keys(demo_db: Path) -> None:
    records = trial_records(stored(demo_db), space_of(demo_db))
    columns = record_columns(stored(demo_db), space_of(demo_db))
    assert all(list(record) == columns for record in records)
    assert all(
        not isinstance(value, dict | list) for record in records for value in record.values()
    )
    complete = next(r for r in records if r["state"] == "complete")
    assert isinstance(complete["duration"], float)
    assert complete["duration"] >= 0
    assert complete["user_attrs.half"] == complete["value"] / 2  # type: ignore[operator]


def test_records_accept_public_trials_and_storage_records(tmp_path: Path) -> None:
    path = tmp_path / "s.db"

    async def run() -> ah.Result[Demo]:
        return await ah.minimize(
            demo_objective, Demo, trials=6, storage=str(path), suggester=ah.Random(), seed=3
        )

    result = anyio.run(run)
    space = ah.compile_space(Demo).describe()
    from_public = trial_records(result.trials, space)
    from_storage = trial_records(anyio.run(read_trials, path, "Demo"), space)
    assert from_public == from_storage
    assert len(from_public) == 6


def test_columns_without_a_space_follow_first_appearance() -> None:
    trials = [
        ah.TrialRecord(study_id=1, number=0, state=ah.TrialState.COMPLETE, value=1.0,
                       params={"b": 1, "a": "x"}, user_attrs={"k": [1, 2]}),
        ah.TrialRecord(study_id=1, number=1, state=ah.TrialState.WAITING, params={"c": None}),
    ]  # fmt: skip
    records = trial_records(trials)
    assert record_columns(trials)[6:] == [
        "params.b", "params.a", "params.c", "user_attrs.k", "owner", "error"
    ]  # fmt: skip
    assert records[0]["user_attrs.k"] == [1, 2]
    assert records[1]["params.b"] is None
    assert records[1]["duration"] is None
    assert trial_records([]) == []


def test_dataframe_has_one_typed_column_per_parameter(demo_db: Path) -> None:
    pd = pytest.importorskip("pandas")
    trials = stored(demo_db)
    frame = to_dataframe(trials, space_of(demo_db))
    assert list(frame.columns) == record_columns(trials, space_of(demo_db))
    assert len(frame) == N_COMPLETE + 2
    assert str(frame["params.n"].dtype) == "Int64"
    assert str(frame["params.model:Forest.n_estimators"].dtype) == "Int64"
    assert frame["params.x"].dtype == "float64"
    assert frame["value"].dtype == "float64"
    assert str(frame["started_at"].dtype) == "datetime64[ns, UTC]"
    svm = frame["params.model"] == "SVM"
    assert frame.loc[svm, "params.model:Forest.n_estimators"].isna().all()
    assert frame.loc[~svm, "params.model:Forest.n_estimators"].notna().all()
    best = frame.loc[frame["value"].idxmin()]
    assert best["value"] == min(t.value for t in trials if t.value is not None)
    assert isinstance(best["started_at"], pd.Timestamp)


def test_an_inactive_parameter_and_a_none_choice_differ_in_the_dataframe() -> None:
    pd = pytest.importorskip("pandas")
    space: list[dict[str, JSONValue]] = [
        {"name": "model", "kind": "categorical", "choices": ["SVM", "Forest"]},
        {"name": "model:SVM.kernel", "kind": "categorical", "choices": ["rbf", None]},
        {"name": "model:Forest.n", "kind": "int", "low": 1, "high": 10},
    ]
    trials = [
        ah.TrialRecord(study_id=1, number=0, state=ah.TrialState.COMPLETE, value=1.0,
                       params={"model": "SVM", "model:SVM.kernel": None}),
        ah.TrialRecord(study_id=1, number=1, state=ah.TrialState.COMPLETE, value=1.0,
                       params={"model": "Forest", "model:Forest.n": 3}),
    ]  # fmt: skip
    frame = to_dataframe(trials, space)
    kernel = frame["params.model:SVM.kernel"]
    assert kernel.dtype == object
    assert kernel[0] is None  # the choice None
    assert kernel[1] is pd.NA  # inactive: pandas' missing value, as in Int64 columns
    assert frame["params.model:Forest.n"][0] is pd.NA
    assert kernel.isna().all()
    # With a string choice too, pandas would infer its string dtype (None -> NaN).
    chosen = ah.TrialRecord(study_id=1, number=2, state=ah.TrialState.COMPLETE, value=1.0,
                            params={"model": "SVM", "model:SVM.kernel": "rbf"})  # fmt: skip
    mixed = to_dataframe([*trials, chosen], space)["params.model:SVM.kernel"]
    assert mixed[0] is None
    assert mixed[1] is pd.NA
    assert mixed[2] == "rbf"
    records = trial_records(trials, space)  # JSON rows: None for both, as documented
    assert records[0]["params.model:SVM.kernel"] is None
    assert records[1]["params.model:SVM.kernel"] is None


def test_dataframe_of_no_trials_keeps_the_parameter_columns(demo_db: Path) -> None:
    pytest.importorskip("pandas")
    frame = to_dataframe([], space_of(demo_db))
    assert len(frame) == 0
    assert [c for c in frame.columns if c.startswith("params.")] == PARAM_COLUMNS


def test_dataframe_without_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ah.MissingExtraError, match=r"asynchyper\[pandas\]") as info:
        to_dataframe([])
    assert "await study.records()" in str(info.value)
    assert "trial_records" not in str(info.value)
    assert callable(getattr(ah.Study, "records", None))  # the name the message points to


def test_a_result_exports_the_same_rows_as_its_study(tmp_path: Path) -> None:
    # minimize() returned no way to a DataFrame: the study had to be opened again.
    pd = pytest.importorskip("pandas")
    db = str(tmp_path / "r.db")

    async def run() -> tuple[Any, list[dict[str, Any]], ah.Result[Words]]:
        def objective(config: Words) -> float:
            return float(len(config.word))

        result = await ah.minimize(objective, Words, trials=6, storage=db, study="w", seed=0)
        async with ah.open_study(Words, storage=db, name="w") as study:
            return await study.to_dataframe(), await study.records(), result

    frame, records, result = anyio.run(run)
    assert result.records() == records
    pd.testing.assert_frame_equal(result.to_dataframe(), frame)
    assert "space=" not in repr(result)  # the description is not shown
