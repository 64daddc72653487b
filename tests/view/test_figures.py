"""Figure builders as tables: given these rows, these traces."""

import math

import numpy as np
import pandas as pd

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
