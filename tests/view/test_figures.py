"""Figure builders as tables: given these rows, these traces."""

import math

import numpy as np
import pandas as pd
import pytest

from fnosweep.view import curves, figures, sampling


def trials(*rows):
    """A trials frame from (number, state, verdict, objective, epochs, lr, clip, reason) rows."""
    cols = [
        "number",
        "state",
        "verdict",
        "objective",
        "epochs",
        "param.training.lr",
        "param.training.clip_threshold",
        "reason",
    ]
    return pd.DataFrame([dict(zip(cols, r, strict=True)) for r in rows], columns=cols)


SWEEP = trials(
    (0, "COMPLETE", "healthy", 0.30, 10, 1e-3, 1.0, None),
    (1, "COMPLETE", "healthy", 0.10, 10, 2e-3, 1.0, None),
    (2, "PRUNED", "diverged", math.nan, 3, 5e-2, None, "diverged: non-finite training loss at epoch 2"),
    (3, "PRUNED", "exploding_gradients", 0.9, 6, 4e-2, None, "exploding_gradients: norm up 1,000x"),
    (4, "PRUNED", "healthy", 0.5, 2, 1e-4, 1.0, "median pruner: above the median"),
    (5, "FAIL", None, None, 1, 1e-3, "<b>odd</b>", "RuntimeError"),
    (6, "COMPLETE", "overfitting", 0.2, 10, 3e-3, 1.0, None),
)


def names(fig):
    return [t.name for t in fig.data]


def test_objective_draws_each_verdict_once_and_the_best_so_far():
    fig = figures.objective_figure(SWEEP, metric="eval.32_l2", direction="minimize")
    assert names(fig) == ["exploding_gradients", "overfitting", "healthy", "best so far"]
    best = fig.data[-1]
    assert list(best.x) == [0, 1, 6] and list(best.y) == [0.30, 0.10, 0.10]
    healthy = fig.data[2]
    assert list(healthy.x) == [0, 1, 4] and list(healthy.marker.symbol) == ["circle", "circle", "triangle-down"]
    assert "2 trial(s) without a finite objective" in fig.layout.title.text


def test_stability_map_gives_the_unstable_share_per_lr_and_clip_cell():
    grid = figures.stability_grid_of(SWEEP, x="param.training.lr", y="param.training.clip_threshold")
    fig = figures.stability_map_figure(grid)
    heat = fig.data[0]
    cats = list(fig.layout.yaxis.ticktext)
    assert cats == ["null", "1.0", "&lt;b&gt;odd&lt;/b&gt;"]  # the failed trial counts too (as unstable)
    z = np.array(heat.z, dtype=float)
    none_row = z[cats.index("null")]
    assert np.nanmax(none_row) == 1.0  # both lr ~ 5e-2 trials without clipping are unstable
    assert np.nanmax(z[cats.index("1.0")]) == 0.0
    assert np.nanmax(z[cats.index("&lt;b&gt;odd&lt;/b&gt;")]) == 1.0  # failed, no verdict: bad
    assert {a.text for a in fig.layout.annotations} >= {"1/1"}
    assert set(names(fig)[1:]) == {"healthy", "diverged", "exploding_gradients", "overfitting", "failed"}


def test_stability_map_without_the_knobs_says_so():
    fig = figures.stability_map_figure(figures.stability_grid_of(SWEEP, x=None, y="param.training.clip_threshold"))
    assert fig.data == () and "needs finished trials" in fig.layout.annotations[0].text


def test_parallel_coordinates_has_a_dimension_per_knob_then_objective_and_verdict():
    fig = figures.parallel_figure(
        SWEEP,
        knobs=["param.training.lr", "param.training.clip_threshold"],
        log=["param.training.lr"],
        metric="eval.32_l2",
    )
    dims = fig.data[0].dimensions
    assert [d.label for d in dims] == [
        "log10 training.lr",
        "training.clip_threshold",
        "eval.32_l2 (none → worst)",
        "verdict",
    ]
    assert list(dims[1].ticktext) == ["none", "1", "&lt;b&gt;odd&lt;/b&gt;"]  # user text escaped
    assert np.allclose(dims[0].values[0], -3)
    assert dims[2].values[2] == 0.9  # NaN objective drawn at the worst value
    assert "failed" in dims[3].ticktext


def test_pruning_counts_the_epochs_saved_and_groups_prune_reasons():
    fig = figures.pruning_figure(SWEEP, budget=10)
    assert "19 of 70 epochs saved (27%)" in fig.layout.title.text  # (10-3) + (10-6) + (10-2) of 7 x 10
    hist = {t.name: list(t.x) for t in fig.data if t.type == "histogram"}
    assert hist == {"pruned: diverged": [3], "pruned: exploding_gradients": [6], "pruned: pruner": [2]}


def test_importance_bars_are_sorted_and_missing_importance_is_explained():
    fig = figures.importance_figure({"training.lr": 0.8, "model.width": 0.2})
    assert list(fig.data[0].y) == ["model.width", "training.lr"]
    empty = figures.importance_figure(None, note="1 complete trial(s): importance needs at least 2")
    assert "needs at least 2" in empty.layout.annotations[0].text


def test_downsampling_keeps_ends_and_extremes_and_leaves_short_curves_alone():
    groups = np.repeat([0, 1], [200, 5])
    values = np.r_[np.linspace(1, 2, 200), np.arange(5.0)]
    values[77] = 50.0  # a spike
    keep = sampling.downsample_index(groups, values, 20)
    assert {0, 199, 77} <= set(keep) and set(range(200, 205)) <= set(keep)
    assert len(keep) <= 2 * 20 + 5
    x, y, trial = sampling.joined_arrays(groups, np.r_[np.arange(200.0), np.arange(5.0)], values, 20)
    assert np.isnan(y).sum() == 1 and y.dtype == np.float32 and 50.0 in y


def test_pick_trials_takes_the_best_then_one_example_per_failure_verdict():
    picks = curves.pick_trials(SWEEP, direction="minimize", k=2)
    assert picks == {1: "best 1 (#1)", 6: "best 2 (#6)", 2: "diverged (#2)", 3: "exploding_gradients (#3)"}
    assert list(curves.pick_trials(SWEEP, direction="maximize", k=1)) == [0, 2, 3, 6]


def epochs(n_trials=3, n=8):
    rows = []
    for t in range(n_trials):
        for e in range(n):
            g = 1.0 + e
            rows.append(
                {
                    "number": t,
                    "epoch": e,
                    "train_loss": 1 / (e + 1),
                    "eval.32_l2": 1 / (e + 2),
                    "eval.64_l2": 1 / (e + 1.5),
                    "eval.32_h1": 2 / (e + 2),
                    "grad_norm.median": g,
                    "grad_norm.p95": 2 * g,
                    "grad_norm.max": 3 * g,
                    "clip_fraction": 0.1,
                    "update_ratio": 1e-3,
                    "weight_norm": 10.0,
                    "groups.lifting.mean": 0.2 * g,
                    "groups.fno_blocks.mean": 1.5 * g,
                    "groups.projection.mean": 0.4 * g,
                    "groups.lifting.max": 0.5 * g,
                    "groups.fno_blocks.max": 4 * g,
                    "groups.projection.max": g,
                    "groups.fno_blocks.0.mean": 0.7 * g,
                }
            )
    return pd.DataFrame(rows)


def test_learning_curves_draw_train_and_eval_per_resolution_for_the_picks():
    fig = curves.learning_curves_figure(epochs(), {0: "best 1 (#0)", 2: "diverged (#2)"})
    per_trial = [(t.name, t.xaxis, t.line.dash) for t in fig.data]
    assert per_trial[:4] == [
        ("best 1 (#0)", "x", "solid"),
        ("best 1 (#0)", "x2", "solid"),
        ("best 1 (#0)", "x3", "solid"),
        ("best 1 (#0)", "x2", "dash"),
    ]
    assert sum(t.showlegend for t in fig.data) == 2


def test_gradient_panels_draw_every_trial_by_verdict_with_one_legend_entry_each():
    verdicts = pd.Series({0: "healthy", 1: "healthy", 2: "exploding_gradients"})
    fig = curves.gradients_figure(epochs(), verdicts)
    assert [a.text for a in fig.layout.annotations] == [
        "grad norm, median",
        "grad norm, p95",
        "grad norm, max",
        "fraction of steps clipped",
    ]
    assert len(fig.data) == 8 and sum(bool(t.showlegend) for t in fig.data) == 2
    healthy = next(t for t in fig.data if t.name == "healthy")
    assert np.isnan(healthy.y).sum() == 1 and len(healthy.y) == 2 * 8 + 1  # two trials, one gap


def test_layer_groups_show_fno_blocks_largest():
    fig = curves.groups_figure(epochs(), trial=0, label="best 1 (#0)")
    bars = {t.name: dict(zip(t.x, t.y, strict=True)) for t in fig.data if t.type == "bar"}
    typical = bars["median of mean"]
    assert max(typical, key=typical.get) == "fno_blocks"
    lines = [t.name for t in fig.data if t.type == "scatter"]
    assert lines == ["lifting", "fno_blocks", "projection", "fno_blocks.0"]


def test_empty_inputs_give_figures_that_say_so():
    empty = SWEEP.iloc[:0]
    assert (
        "no trials yet" in figures.objective_figure(empty, metric="m", direction="minimize").layout.annotations[0].text
    )
    assert "no epochs" in curves.learning_curves_figure(epochs().iloc[:0], {}).layout.annotations[0].text
    assert (
        "not measured"
        in curves.update_ratio_figure(epochs()[["number", "epoch"]], pd.Series(dtype=str)).layout.annotations[0].text
    )


def diverging_epochs():
    """Two good trials and one that reached 1e8 at epoch 3 and NaN at epoch 4."""
    frame = epochs(n_trials=3, n=6)
    bad = frame["number"] == 2
    for column in ("train_loss", "eval.32_l2", "eval.64_l2", "eval.32_h1", "grad_norm.median"):
        frame.loc[bad & (frame["epoch"] == 3), column] = 1e8
        frame.loc[bad & (frame["epoch"] >= 4), column] = math.nan
    return frame


def test_learning_curve_axes_are_the_best_trials_and_the_diverged_one_is_clipped_and_ends_marked():
    fig = curves.learning_curves_figure(diverging_epochs(), {0: "best 1 (#0)", 1: "best 2 (#1)", 2: "diverged (#2)"})
    lo, hi = fig.layout.yaxis.range  # train loss: 1/(e+1) for the best, e = 0..5
    assert hi < math.log10(1e8) / 4 and lo < math.log10(1 / 6)
    line, marks = [t for t in fig.data if t.name == "diverged (#2)" and t.xaxis == "x"]
    assert np.isfinite(line.y[:4]).all() and np.isnan(line.y[4:]).all()  # drawn up to its last finite value
    assert list(marks.x) == [3] and list(marks.marker.symbol) == ["x"]  # the 1e8 at epoch 3: its end, marked
    assert marks.y[0] == pytest.approx(10 ** fig.layout.yaxis.range[1], rel=0.2) and marks.customdata[0] == 1e8
    assert marks.text[0] == " (last finite value, off the axis)"


def test_gradient_axes_ignore_the_diverged_trial_and_mark_where_it_leaves():
    verdicts = pd.Series({0: "healthy", 1: "healthy", 2: "diverged"})
    fig = curves.gradients_figure(diverging_epochs(), verdicts, focus=[0, 1])
    assert 10 ** fig.layout.yaxis.range[1] < 100  # grad norm median: 1..6 for the healthy ones, 1e8 for #2
    marks = next(t for t in fig.data if t.name == "off the axis / last finite" and t.xaxis == "x")
    assert "x" in marks.marker.symbol and 1e8 in marks.customdata[:, 1]


def test_an_outlier_objective_is_drawn_on_the_edge_with_its_true_value():
    sweep = pd.concat([SWEEP, trials((7, "COMPLETE", "healthy", 1e5, 10, 1e-3, 1.0, None))], ignore_index=True)
    fig = figures.objective_figure(sweep, metric="eval.32_l2", direction="minimize")
    hi = fig.layout.yaxis.range[1]
    assert hi < 2  # 1e5 does not set the axis
    healthy = next(t for t in fig.data if t.name == "healthy")
    i = list(healthy.x).index(7)
    assert healthy.marker.symbol[i] == "arrow-up" and healthy.customdata[i][1] == 1e5


def test_a_trial_section_draws_its_curves_and_gradients_and_marks_where_it_diverged():
    from fnosweep.view.trial_sections import trial_traces

    frame = diverging_epochs()
    traces = trial_traces(frame[frame["number"] == 2])
    lines = {(t["name"], t["xaxis"]) for t in traces if t["mode"] == "lines"}
    assert {("train loss", "x"), ("32×32", "x2"), ("32×32", "x3"), ("median", "x4"), ("clipped", "x5")} <= lines
    ends = [t for t in traces if t["mode"] == "markers"]
    assert ends and all(t["marker"]["symbol"] == "x" and t["y"][0] == 1e8 for t in ends)


def test_dashboard_figures_are_one_panel_each_and_fit_the_dashboard_box():
    from fnosweep.view.dashboard import PANEL_HEIGHT, sweep_figures

    verdicts = {0: "healthy", 1: "healthy", 2: "diverged"}
    trial_rows = trials(*[(n, "COMPLETE", v, 0.1 * (n + 1), 6, 1e-3, 1.0, None) for n, v in verdicts.items()])
    figs = sweep_figures(trial_rows, diverging_epochs(), {"study": {"metric": "eval.32_l2"}, "training": {"epochs": 6}})
    for key, fig in figs.items():
        assert fig.layout.height == PANEL_HEIGHT <= 450, key
        panels = [k for k in fig.layout.to_plotly_json() if k.startswith("xaxis")]
        assert len(panels) <= (2 if key == "pruning" else 1), (key, panels)
