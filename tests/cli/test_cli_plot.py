"""`asynchyper plot`: a fake PLOTS table, the missing extra, and the real plots."""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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


def test_real_plot(demo_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plot = pytest.importorskip(
        "asynchyper.plot", reason="asynchyper.plot or matplotlib is missing", exc_type=ImportError
    )
    if not hasattr(plot, "PLOTS"):
        pytest.skip("asynchyper.plot has no PLOTS yet")
    target = tmp_path / "history.png"
    assert main(["plot", STUDY, "history", "-o", str(target), "--storage", str(demo_db)]) == 0
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()
