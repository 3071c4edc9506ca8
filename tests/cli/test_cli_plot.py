"""`asynchyper plot`: a fake PLOTS table, the missing extra, and the real plots."""

from __future__ import annotations

import errno
import importlib
import os
import stat
import sys
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import pytest
from cli_helpers import N_COMPLETE, STUDY, Demo

import asynchyper as ah
from asynchyper.__main__ import main


class FakeFigure:
    def savefig(self, path: str) -> None:
        Path(path).write_bytes(b"fake image")


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Install a fake ``asynchyper.plot`` whose plots record how they were called."""
    seen: list[dict[str, Any]] = []

    def history(
        trials: Sequence[ah.TrialRecord], *, direction: str, space: list[dict[str, Any]]
    ) -> FakeFigure:
        seen.append({"trials": list(trials), "direction": direction, "space": space})
        return FakeFigure()

    module = types.ModuleType("asynchyper.plot")
    module.PLOTS = {"history": history, "slice": history}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "asynchyper.plot", module)
    return seen


def test_plot_calls_the_named_plot(
    calls: list[dict[str, Any]], demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "history.png"
    assert main(["plot", STUDY, "history", "-o", str(target), "--storage", str(demo_db)]) == 0
    _, err = capsys.readouterr()
    assert target.read_bytes() == b"fake image"
    assert f"to {target}" in err
    (call,) = calls
    assert call["direction"] == "minimize"
    assert len(call["trials"]) == N_COMPLETE + 2
    assert all(isinstance(t, ah.TrialRecord) for t in call["trials"])
    assert call["space"] == ah.compile_space(Demo).describe()


def test_unknown_plot_kind_lists_the_kinds(
    calls: list[dict[str, Any]], demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "x.png"
    assert main(["plot", STUDY, "pie", "-o", str(target), "--storage", str(demo_db)]) == 1
    _, err = capsys.readouterr()
    assert err == "asynchyper: error: unknown plot kind 'pie'; choose one of: history, slice\n"
    assert calls == []
    assert not target.exists()


def test_unsupported_image_format(
    calls: list[dict[str, Any]],
    demo_db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(self: FakeFigure, path: str) -> None:
        msg = "Format 'xyz' is not supported"
        raise ValueError(msg)

    monkeypatch.setattr(FakeFigure, "savefig", refuse)
    target = str(tmp_path / "x.xyz")
    assert main(["plot", STUDY, "history", "-o", target, "--storage", str(demo_db)]) == 1
    _, err = capsys.readouterr()
    expected = f"cannot save the plot to {target}: Format 'xyz' is not supported"
    assert err == f"asynchyper: error: {expected}\n"


def test_a_failed_plot_keeps_the_previous_image(
    calls: list[dict[str, Any]],
    demo_db: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = tmp_path / "history.png"
    argv = ["plot", STUDY, "history", "-o", str(target), "--storage", str(demo_db)]
    previous = os.umask(0o027)
    try:
        assert main(argv) == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # a new image: as open() makes it

    def interrupted(self: FakeFigure, path: str) -> None:
        Path(path).write_bytes(b"half an im")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(FakeFigure, "savefig", interrupted)
    assert main(argv) == 1
    assert target.read_bytes() == b"fake image"
    assert [p.name for p in tmp_path.iterdir()] == ["history.png"]


@pytest.mark.parametrize(
    "missing", ["asynchyper.plot", "matplotlib", "matplotlib.figure", "extra-error"]
)
def test_missing_extra_is_one_line(
    missing: str,
    demo_db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(name: str) -> types.ModuleType:
        if missing == "extra-error":  # what asynchyper.plot raises without matplotlib
            msg = "asynchyper.plot needs matplotlib; install it with pip install 'asynchyper[plot]'"
            raise ah.MissingExtraError(msg)
        msg = f"No module named {missing!r}"
        raise ModuleNotFoundError(msg, name=missing)

    monkeypatch.setattr(importlib, "import_module", fail)
    argv = ["plot", STUDY, "history", "-o", str(tmp_path / "x.png"), "--storage", str(demo_db)]
    assert main(argv) == 1
    _, err = capsys.readouterr()
    assert len(err.splitlines()) == 1
    assert "pip install 'asynchyper[plot]'" in err


def test_plot_to_stdout_is_refused(
    calls: list[dict[str, Any]],
    demo_db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["plot", STUDY, "history", "-o", "-", "--storage", str(demo_db)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "asynchyper: error: cannot write an image to stdout (-o -); "
        "pass a file name, e.g. -o plot.png\n"
    )
    assert calls == []
    assert list(tmp_path.iterdir()) == []  # no file named "-.png"


def real_plots() -> None:
    plot = pytest.importorskip(
        "asynchyper.plot", reason="asynchyper.plot or matplotlib is missing", exc_type=ImportError
    )
    if not hasattr(plot, "PLOTS"):
        pytest.skip("asynchyper.plot has no PLOTS yet")


def test_plot_without_an_extension_names_the_png_it_writes(
    demo_db: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_plots()
    monkeypatch.chdir(tmp_path)
    assert main(["plot", STUDY, "history", "-o", "report", "--storage", str(demo_db)]) == 0
    _, err = capsys.readouterr()
    assert err.endswith(f"({N_COMPLETE + 2} trials) to report.png\n")
    assert [p.name for p in tmp_path.iterdir()] == ["report.png"]
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_of_a_study_without_completed_trials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real_plots()
    path = tmp_path / "broken.db"

    async def create() -> None:
        async with ah.open_study(Demo, storage=str(path), name="broken") as study:
            for _ in range(3):
                await study.tell(await study.ask(), error="ValueError: boom")

    anyio.run(create)
    target = tmp_path / "history.png"
    assert main(["plot", "broken", "history", "-o", str(target), "--storage", str(path)]) == 1
    _, err = capsys.readouterr()
    assert err == (
        "asynchyper: error: cannot draw the history plot: study 'broken' has no completed "
        "trial (3 failed); see `asynchyper trials broken --state failed` for their errors\n"
    )
    assert not target.exists()


def test_real_plot(demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real_plots()
    target = tmp_path / "history.png"
    assert main(["plot", STUDY, "history", "-o", str(target), "--storage", str(demo_db)]) == 0
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()
