"""The report's stability map, the dashboard's, and the written conclusion count the same
trials in the same bins: one binning, one outcome (failed trials included)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from fnosweep.conclude import BAD, SweepTrial, conclude, render_sweep
from fnosweep.view import figures

LR, CLIP = "training.lr", "training.clip_threshold"
LRS = [1e-4, 3e-4, 1e-3, 2e-3, 5e-3, 1e-2, 3e-2, 5e-2, 0.1, 0.2, 0.5, 1e-3]
ROWS = [  # number, state, verdict, lr, clip
    *[(i, "COMPLETE", "healthy", lr, (None, 1.0)[i % 2]) for i, lr in enumerate(LRS[:8])],
    (8, "PRUNED", "diverged", LRS[8], None),
    (9, "PRUNED", "exploding_gradients", LRS[9], 1.0),
    (10, "FAIL", None, LRS[10], None),  # failed before its first epoch: no verdict, counts as unstable
    (11, "FAIL", "healthy", LRS[11], 1.0),  # timed out after healthy epochs: counts as its verdict
    (12, "RUNNING", None, 3e-3, None),  # not finished: in neither
]


def sweep_trials() -> list[SweepTrial]:
    return [SweepTrial(n, state, {LR: lr, CLIP: clip}, 0.1 if state == "COMPLETE" else None, None, verdict=v)
            for n, state, v, lr, clip in ROWS]


def trials_frame() -> pd.DataFrame:
    """As `frames.trials_frame` holds them (a missing clip threshold becomes NaN there)."""
    records = [{"number": n, "state": s, "verdict": v, f"param.{LR}": lr, f"param.{CLIP}": clip}
               for n, s, v, lr, clip in ROWS]
    return pd.DataFrame.from_records(records)


def cells_of(fig) -> dict[tuple[str, str], str]:
    xs, ys = list(fig.layout.xaxis.ticktext), list(fig.layout.yaxis.ticktext)
    return {(xs[round(a.x)], ys[round(a.y - 0.32)]): a.text for a in fig.layout.annotations}


def test_the_report_map_the_dashboard_map_and_the_text_count_the_same_way():
    c = conclude(sweep_trials(), metric="eval.32_l2")
    assert c.grid is not None
    report_map = figures.stability_map_figure(c.grid)  # what `fnosweep report` draws
    dashboard_map = figures.stability_map_figure(figures.stability_grid_of(
        trials_frame(), x=f"param.{LR}", y=f"param.{CLIP}"))
    from_grid = {k: f"{bad}/{n}" for k, (bad, n) in c.grid.counts().items()}
    assert cells_of(report_map) == cells_of(dashboard_map) == from_grid
    # the written regions are the map's columns summed over the clip threshold
    lr = next(r for r in c.regions if r.knob == LR)
    columns: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for (x, _), (bad, n) in c.grid.counts().items():
        columns[x] += bad
        totals[x] += n
    assert {b.label: (b.unstable, b.n) for b in lr.bins} == {x: (columns[x], totals[x]) for x in totals}
    # failed trials: the one without a verdict is unstable in all three, the diagnosed one is not
    assert c.verdicts["failed"] == 1 and sum(c.verdicts.get(v, 0) for v in BAD) == 3
    assert sum(bad for bad, _ in c.grid.counts().values()) == 3
    z = np.array(report_map.data[0].z, dtype=float)
    assert np.nansum(z > 0) == sum(1 for bad, _ in c.grid.counts().values() if bad)
    text = render_sweep(c)
    assert f"{lr.bins[-1].label} unstable ({lr.bins[-1].unstable} of {lr.bins[-1].n} unstable" in text


def test_the_importance_figure_shows_the_conclusions_numbers():
    import random

    rng = random.Random(0)
    trials = [SweepTrial(i, "COMPLETE", {LR: 10 ** rng.uniform(-4, -2), "model.hidden_channels": w},
                         0.4 - 0.005 * w + 0.001 * rng.random(), None, verdict="healthy")
              for i, w in enumerate([16, 32, 48, 64] * 4)]
    c = conclude(trials, metric="eval.32_l2")
    assert c.importance is not None and c.importance.values
    fig = figures.importance_figure(c.importance.values, note=c.importance.note)
    assert dict(zip(fig.data[0].y, fig.data[0].x, strict=True)) == dict(c.importance.values)
    first, value = next(iter(c.importance.values.items()))
    assert f"{first} {value:.2f}" in render_sweep(c).replace("\n", " ")


def test_the_map_shows_the_knob_the_text_blames():
    from fnosweep.conclude._grid import axes

    knobs = ["training.lr", "training.clip_threshold", "training.scheduler.type"]
    assert axes(knobs, None) == ("training.lr", "training.clip_threshold")
    assert axes(knobs, ("training.lr",)) == ("training.lr", "training.clip_threshold")
    assert axes(knobs, ("training.scheduler.type",)) == ("training.lr", "training.scheduler.type")
    assert axes(knobs, ("training.clip_threshold", "training.scheduler.type")) == (
        "training.clip_threshold", "training.scheduler.type")
    assert axes(["model.hidden_channels"], None) is None
