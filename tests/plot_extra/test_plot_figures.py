"""asynchyper.plot: every plot returns a Figure with the expected axes, and saves."""

from __future__ import annotations

import math
import subprocess
import sys
import types
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any

import attrs
import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="the plot tests need the plot extra")

from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from plot_helpers import (
    CONDITIONAL_PARAMS,
    CONDITIONAL_UNIONS,
    PLAIN_PARAMS,
    Conditional,
    Forest,
    Plain,
    conditional_loss,
    num,
    plain_loss,
    records,
)

import asynchyper as ah
import asynchyper.plot as ahp
from asynchyper._analysis import parameter_importance

PlotFn = Callable[..., Figure]


@attrs.frozen(kw_only=True)
class Wide:
    """A log float over 400 decades: its axis padding must not overflow."""

    x: Annotated[float, ah.Float(1e-200, 1e200, log=True)]


@attrs.frozen(kw_only=True)
class One:
    """A single float."""

    x: Annotated[float, ah.Float(0.0, 1.0)]


#: Axes per plot on ``Plain`` and on ``Conditional`` (slices and parallel add a colour bar).
EXPECTED_AXES = {
    "history": (1, 1),
    "importance": (1, 1),
    "slice": (PLAIN_PARAMS + 1, CONDITIONAL_PARAMS + 1),
    "parallel": (2, 2),
    "branches": (1, 2 * CONDITIONAL_UNIONS),
}


@pytest.fixture(scope="module")
def plain() -> list[ah.TrialRecord]:
    return records(Plain, plain_loss, 60, fail_every=7)


@pytest.fixture(scope="module")
def conditional() -> list[ah.TrialRecord]:
    return records(Conditional, conditional_loss, 80, seed=1, fail_every=9)


def saves_png(fig: Figure, path: Any) -> bool:
    fig.savefig(path, dpi=40)
    with open(path, "rb") as f:
        return f.read(8) == b"\x89PNG\r\n\x1a\n"


def axes_titled(fig: Figure, prefix: str) -> Axes:
    matches = [ax for ax in fig.axes if ax.get_title().split("\n")[0] == prefix]
    assert len(matches) == 1, [ax.get_title() for ax in fig.axes]
    return matches[0]


def scatter_points(ax: Axes) -> int:
    return sum(
        np.asarray(c.get_offsets()).shape[0]
        for c in ax.collections
        if isinstance(c, PathCollection)
    )


def test_plots_registry_matches_the_cli_names() -> None:
    assert dict(ahp.PLOTS) == {
        "history": ahp.history,
        "importance": ahp.importance,
        "slice": ahp.slices,
        "parallel": ahp.parallel_coordinates,
        "branches": ahp.branches,
    }
    with pytest.raises(TypeError):
        ahp.PLOTS["other"] = ahp.history  # type: ignore[index]


def test_public_names_equal_all() -> None:
    public = {
        name
        for name, value in vars(ahp).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(ahp.__all__)
    functions = [getattr(ahp, name) for name in ahp.__all__ if name != "PLOTS"]
    assert all((fn.__doc__ or "").strip() for fn in functions)


@pytest.mark.parametrize("name", sorted(EXPECTED_AXES))
def test_plain_space(name: str, plain: list[ah.TrialRecord], tmp_path: Any) -> None:
    fig = ahp.PLOTS[name](plain, space=ah.compile_space(Plain))
    assert isinstance(fig, Figure)
    assert len(fig.axes) == EXPECTED_AXES[name][0]
    assert saves_png(fig, tmp_path / f"{name}.png")


@pytest.mark.parametrize("given", ["space", "description", "inferred"])
@pytest.mark.parametrize("name", sorted(EXPECTED_AXES))
def test_conditional_space(
    name: str, given: str, conditional: list[ah.TrialRecord], tmp_path: Any
) -> None:
    space = ah.compile_space(Conditional)
    spaces: dict[str, ah.Space[Conditional] | Sequence[Mapping[str, Any]] | None] = {
        "space": space,
        "description": space.describe(),
        "inferred": None,
    }
    fig = ahp.PLOTS[name](conditional, space=spaces[given])
    assert isinstance(fig, Figure)
    assert len(fig.axes) == EXPECTED_AXES[name][1]
    assert saves_png(fig, tmp_path / f"{name}-{given}.png")


@pytest.mark.parametrize("name", sorted(EXPECTED_AXES))
def test_nothing_to_plot(name: str, plain: list[ah.TrialRecord]) -> None:
    failed = [t for t in plain if t.state is ah.TrialState.FAILED]
    for trials in ([], failed):
        with pytest.raises(ah.NoCompletedTrialsError, match="needs at least one") as info:
            ahp.PLOTS[name](trials)
        assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", sorted(EXPECTED_AXES))
def test_bad_direction(name: str, plain: list[ah.TrialRecord]) -> None:
    with pytest.raises(ValueError, match="direction"):
        ahp.PLOTS[name](plain, direction="sideways")


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_history_running_best_and_failures(direction: str, plain: list[ah.TrialRecord]) -> None:
    fig = ahp.history(plain, direction=direction)
    ax = fig.axes[0]
    (best_line,) = [line for line in ax.get_lines() if line.get_label() == "best so far"]
    assert isinstance(best_line, Line2D)
    done = [t for t in plain if t.state is ah.TrialState.COMPLETE]
    values = np.array([t.value for t in done], dtype=np.float64)
    expected = (
        np.minimum.accumulate(values) if direction == "minimize" else np.maximum.accumulate(values)
    )
    np.testing.assert_allclose(np.asarray(best_line.get_ydata(), dtype=np.float64), expected)
    n_failed = sum(t.state is ah.TrialState.FAILED for t in plain)
    assert n_failed > 0
    legend = ax.get_legend()
    assert legend is not None
    labels = [text.get_text() for text in legend.get_texts()]
    assert f"failed ({n_failed})" in labels
    assert f"complete ({len(done)})" in labels


def test_a_result_brings_its_direction(plain: list[ah.TrialRecord]) -> None:
    # ahp.history(result.trials) on a maximizing study drew the running minimum, and
    # ahp.history(result) raised TypeError: a Result now works, with its direction.
    # Records stand in for Trial objects: the plots read the same fields of both.
    result: ah.Result[Any] = ah.Result(study="s", direction="maximize", trials=plain)  # type: ignore[arg-type]
    fig = ahp.history(result)
    assert fig.axes[0].get_title() == "Optimization history (maximize)"
    (best_line,) = [line for line in fig.axes[0].get_lines() if line.get_label() == "best so far"]
    values = np.array([t.value for t in plain if t.state is ah.TrialState.COMPLETE])
    np.testing.assert_allclose(np.asarray(best_line.get_ydata()), np.maximum.accumulate(values))
    for name in ahp.PLOTS:
        ahp.PLOTS[name](result)
    assert ah.parameter_importance(result) == ah.parameter_importance(plain)
    with pytest.raises(ValueError, match="differs from the result's direction 'maximize'"):
        ahp.history(result, direction="minimize")


def test_a_result_brings_its_space(conditional: list[ah.TrialRecord]) -> None:
    # parameter_importance(result) and the plots of a Result ignored result.space and
    # inferred one from the values (no log scales): Python and `asynchyper plot` (which
    # reads the stored space) disagreed on the same study.
    space = ah.compile_space(Conditional).describe()
    trials: Any = conditional  # records stand in for Trial objects
    result: ah.Result[Any] = ah.Result(study="s", direction="minimize", trials=trials, space=space)
    assert ah.parameter_importance(result) == ah.parameter_importance(conditional, space=space)
    assert ah.parameter_importance(result) != ah.parameter_importance(conditional)
    assert axes_titled(ahp.slices(result), "lr").get_xscale() == "log"
    assert axes_titled(ahp.slices(conditional), "lr").get_xscale() == "linear"


def test_slices_axes_follow_the_space(conditional: list[ah.TrialRecord]) -> None:
    fig = ahp.slices(conditional, space=ah.compile_space(Conditional))
    assert axes_titled(fig, "lr").get_xscale() == "log"
    assert axes_titled(fig, "model:Forest.depth").get_xscale() == "linear"
    model = axes_titled(fig, "model")
    assert [t.get_text() for t in model.get_xticklabels()] == ["SVM", "Forest"]
    done = [t for t in conditional if t.state is ah.TrialState.COMPLETE]
    svm = sum(t.params["model"] == "SVM" for t in done)
    assert scatter_points(axes_titled(fig, "model:SVM.C")) == svm
    assert scatter_points(model) == len(done)
    assert f"active in {svm} of {len(done)}" in axes_titled(fig, "model:SVM.C").get_title()


def test_parallel_draws_one_line_per_complete_trial(plain: list[ah.TrialRecord]) -> None:
    fig = ahp.parallel_coordinates(plain)
    (lines,) = [c for c in fig.axes[0].collections if c.get_gid() == "trials"]
    assert isinstance(lines, LineCollection)
    done = [t for t in plain if t.state is ah.TrialState.COMPLETE]
    assert len(lines.get_segments()) == len(done)
    for segment in lines.get_segments():
        assert len(segment) == 1 + PLAIN_PARAMS
        assert np.all((segment[:, 1] >= 0.0) & (segment[:, 1] <= 1.0))


def test_parallel_marks_the_outliers_it_cuts_off(tmp_path: Any) -> None:
    values = [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 100.0]  # one diverged run
    trials = complete_trials(values)
    fig = ahp.parallel_coordinates(trials, space=ah.compile_space(One))
    ax = fig.axes[0]
    (marker,) = [c for c in ax.collections if c.get_gid() == "cut off"]
    assert np.asarray(marker.get_offsets()).tolist() == [[0.0, 1.0]]  # top of the objective
    objective_labels = [t.get_text() for t in ax.texts if t.get_position()[0] < 0.5]
    assert objective_labels[0] == "1"
    assert objective_labels[1].startswith("≥")  # the edge is not a value any trial had
    (legend,) = fig.legends
    (entry,) = [t.get_text() for t in legend.get_texts()]
    assert entry.startswith("1 trial above ")
    assert "(up to 100)" in entry
    assert saves_png(fig, tmp_path / "parallel.png")
    # nothing is cut off, nothing is marked
    fig = ahp.parallel_coordinates(trials[:-1], space=ah.compile_space(One))
    assert not [c for c in fig.axes[0].collections if c.get_gid() == "cut off"]
    assert not fig.legends


def test_slices_of_a_very_wide_log_range(tmp_path: Any) -> None:
    trials = records(Wide, lambda p: math.log10(num(p, "x")) ** 2, 8)
    fig = ahp.slices(trials, space=ah.compile_space(Wide))
    low, high = fig.axes[0].get_xlim()
    assert 0.0 < low <= 1e-200
    assert 1e200 <= high < math.inf
    assert saves_png(fig, tmp_path / "slice.png")  # and no overflow warning


def test_branches_counts(conditional: list[ah.TrialRecord]) -> None:
    fig = ahp.branches(conditional, space=ah.compile_space(Conditional))
    counts = axes_titled(fig, "model: trials per branch")
    heights = [0.0, 0.0]  # SVM, Forest: stacked complete + failed bars
    for bar in counts.patches:
        heights[round(bar.get_x() + bar.get_width() / 2)] += bar.get_height()  # type: ignore[attr-defined]
    assert heights == [
        sum(t.params["model"] == "SVM" for t in conditional),
        sum(t.params["model"] == "Forest" for t in conditional),
    ]
    assert sum(t.state is ah.TrialState.FAILED for t in conditional) > 0


def test_importance_bars_are_the_shares(plain: list[ah.TrialRecord]) -> None:
    shares = parameter_importance(plain, space=ah.compile_space(Plain))
    fig = ahp.importance(plain, space=ah.compile_space(Plain))
    ax = fig.axes[0]
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert names == list(shares)[::-1]
    widths = [p.get_width() for p in ax.patches]  # type: ignore[attr-defined]
    assert widths == pytest.approx([100 * shares[n] for n in names])


@pytest.mark.anyio
async def test_plots_of_a_real_study() -> None:
    async def objective(cfg: Conditional) -> float:
        params = ah.compile_space(Conditional).encode(cfg)
        if isinstance(cfg.model, Forest) and cfg.model.depth <= 2:
            msg = "depth 1 diverged"
            raise ValueError(msg)
        return conditional_loss(params)

    result = await ah.minimize(
        objective, Conditional, trials=40, suggester=ah.Random(), seed=0, concurrency=4
    )
    assert any(t.state is ah.TrialState.FAILED for t in result.trials)
    space = ah.compile_space(Conditional)
    for name, fn in ahp.PLOTS.items():
        fig = fn(result.trials, space=space)
        assert len(fig.axes) == EXPECTED_AXES[name][1], name


def test_no_pyplot_global_state() -> None:
    code = (
        "import sys\n"
        "sys.path.insert(0, 'tests/plot_extra')\n"
        "import asynchyper.plot as ahp\n"
        "from plot_helpers import Conditional, conditional_loss, records\n"
        "trials = records(Conditional, conditional_loss, 30)\n"
        "for fn in ahp.PLOTS.values():\n"
        "    fn(trials)\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_missing_matplotlib_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(sys.modules):
        if name == "asynchyper.plot" or name.startswith("asynchyper.plot."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ah.MissingExtraError, match=r"pip install 'asynchyper\[plot\]'"):
        import asynchyper.plot  # noqa: F401, PLC0415


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_branches_best_follows_direction(direction: str, conditional: list[ah.TrialRecord]) -> None:
    fig = ahp.branches(conditional, direction=direction, space=ah.compile_space(Conditional))
    pick = min if direction == "minimize" else max
    done = [t for t in conditional if t.state is ah.TrialState.COMPLETE]
    per_branch = {
        choice: pick(float(t.value or 0.0) for t in done if t.params["model"] == choice)
        for choice in ("SVM", "Forest")
    }
    best = pick(per_branch.values())
    (values_ax,) = [ax for ax in fig.axes if ax.get_title().startswith("model: objective")]
    assert f"best {best:.4g}, {direction}" in values_ax.get_title()
    markers = [c for c in values_ax.collections if c.get_gid() == "branch best"]
    assert markers
    points = np.concatenate([np.asarray(c.get_offsets()) for c in markers])
    assert sorted(map(tuple, points.tolist())) == sorted(
        [(0.0, per_branch["SVM"]), (1.0, per_branch["Forest"])]
    )


def complete_trials(values: Sequence[float]) -> list[ah.TrialRecord]:
    """Complete trials of ``One`` with these values (``x`` = number / 10)."""
    return [
        ah.TrialRecord(study_id=1, number=i, state=ah.TrialState.COMPLETE,
                       params={"x": i / 10}, value=value)
        for i, value in enumerate(values)
    ]  # fmt: skip


def _objective_heights(fig: Any) -> list[float]:
    (lines,) = [c for c in fig.axes[0].collections if c.get_gid() == "trials"]
    return sorted(float(segment[0, 1]) for segment in lines.get_segments())


def test_parallel_objective_axis_is_log_over_many_decades(tmp_path: Any) -> None:
    values = [1e-6, 1e-4, 1e-2, 1.0]  # four decades apart: evenly spaced on a log axis
    trials = complete_trials(values)
    fig = ahp.parallel_coordinates(trials, space=ah.compile_space(One))
    assert _objective_heights(fig) == pytest.approx([0.0, 1 / 3, 2 / 3, 1.0])
    labels = [t.get_text() for t in fig.axes[0].texts if t.get_position()[0] < 0.5]
    assert "0.001 (log)" in labels
    assert fig.axes[1].get_yscale() == "log"  # the colour bar
    assert saves_png(fig, tmp_path / "parallel-log.png")


def test_parallel_objective_near_the_largest_float(tmp_path: Any) -> None:
    values = [-1.7e308, 0.0, 1.7e308]
    trials = complete_trials(values)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow on the way
        fig = ahp.parallel_coordinates(trials, space=ah.compile_space(One))
        assert _objective_heights(fig) == pytest.approx([0.0, 0.5, 1.0])
        assert fig.axes[1].get_ylabel() == "objective value / 1e+308"
        assert saves_png(fig, tmp_path / "parallel-huge.png")


class _Formatter:
    """The part of IPython's PNG formatter that asynchyper.plot uses."""

    def __init__(self, registered: dict[type, Any]) -> None:
        self.registered = registered

    def lookup_by_type(self, cls: type) -> Any:
        return self.registered[cls]

    def for_type(self, cls: type, function: Any) -> None:
        self.registered[cls] = function


@pytest.mark.parametrize("already", [False, True])
def test_figures_are_shown_inline_under_ipython(
    already: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fresh notebook showed "<Figure size 800x450 with 1 Axes>": IPython displays a
    # Figure made without pyplot as an image only once a PNG formatter is registered.
    from asynchyper.plot._notebook import show_figures_inline  # noqa: PLC0415

    mine = object()
    png = _Formatter({Figure: mine} if already else {})
    shell = types.SimpleNamespace(
        kernel=object(), display_formatter=types.SimpleNamespace(formatters={"image/png": png})
    )
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    assert show_figures_inline() is not already
    if already:
        assert png.registered[Figure] is mine  # the user's (or %matplotlib's) is kept
    else:
        assert callable(png.registered[Figure])
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: None))
    assert show_figures_inline() is False  # IPython imported, but no shell (a script)
