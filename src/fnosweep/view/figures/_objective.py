"""The objective of each trial, and which knobs drove it (Optuna's importances)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from fnosweep.view.axes import DOWN, UP, axis_range, near_best
from fnosweep.view.style import (
    COLORS,
    LABELS,
    SYMBOLS,
    esc,
    layout,
    log_axes_in_e,
    message_figure,
    new_figure,
    verdict_labels,
)

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go



def objective_figure(trials: pd.DataFrame, *, metric: str, direction: str) -> go.Figure:
    """The objective of each trial by number, coloured by verdict, shaped by state, with the best so far.

    The axis spans the complete trials within 10x of the best; a value beyond sits on the
    edge as a triangle, its true value on hover."""

    if trials.empty:
        return message_figure("Objective over trials", "no trials yet")
    labels = verdict_labels(trials)
    objective = trials["objective"].map(lambda v: v if v is not None and math.isfinite(v) else math.nan)
    finite = objective.notna()
    values = objective[finite].to_numpy(dtype=float)
    focus = near_best(values, direction=direction)
    axis = axis_range(focus, values, log=True) if len(values) and (values > 0).all() else None
    if axis is None or axis.high / axis.low <= 20:
        axis = axis_range(focus, values, log=False)
    fig = new_figure()
    for label in (v for v in LABELS if v in set(labels[finite])):
        rows = trials[finite & (labels == label)]
        true = objective[rows.index].to_numpy(dtype=float)
        shown, side = axis.clip(true) if axis is not None else (true, np.zeros(len(true)))
        symbols = [SYMBOLS.get(s, "circle") for s in rows["state"]]
        fig.add_scatter(
            x=rows["number"],
            y=shown,
            mode="markers",
            name=label,
            marker={
                "color": COLORS[label],
                "symbol": [UP if d > 0 else DOWN if d < 0 else sym for sym, d in zip(symbols, side, strict=True)],
                "size": 8,
            },
            customdata=np.stack([rows["state"].to_numpy(dtype=object), true], axis=1),
            text=np.where(side != 0, " (off the axis)", ""),
            hovertemplate="trial %{x}<br>%{customdata[0]}<br>%{customdata[1]:.4g}%{text}<extra>"
            + label
            + "</extra>",
        )
    done_rows = trials[finite & (trials["state"] == "COMPLETE")].sort_values("number")
    if not done_rows.empty:
        obj = objective[done_rows.index]
        best = obj.cummin() if direction == "minimize" else obj.cummax()
        fig.add_scatter(
            x=done_rows["number"],
            y=axis.clip(best.to_numpy())[0] if axis is not None else best,
            mode="lines",
            line={"shape": "hv", "color": "black", "width": 1.5},
            name="best so far",
            hoverinfo="skip",
        )
    missing = int((~finite).sum())
    title = f"Objective ({esc(metric)}, {direction}) per trial: ● complete ▼ pruned ✕ failed"
    notes = []
    if axis is not None and len(focus) < len(values):
        notes.append("axis: the trials within 10× of the best; ↑↓ off the axis (true value on hover)")
    if missing:
        notes.append(f"{missing} trial(s) without a finite objective (diverged or failed early) are not drawn")
    if notes:
        title += "<br><sub>" + "<br>".join(notes) + "</sub>"
    fig.update_layout(
        title=title,
        xaxis_title="trial",
        yaxis_title=esc(metric),
        yaxis_type="log" if axis is not None and axis.log else "linear",
        **layout(margin={"l": 60, "r": 20, "t": 90 if notes else 70, "b": 50}),
    )
    if axis is not None:
        fig.update_yaxes(range=axis.plotly_range())
    return log_axes_in_e(fig)


def importance_figure(importances: Mapping[str, float] | None, *, note: str = "") -> go.Figure:
    """Optuna's parameter importances as horizontal bars, or a figure saying why there are none."""
    import plotly.graph_objects as go

    title = "Parameter importance (Optuna)"
    if not importances:
        return message_figure(title, note or "not enough complete trials")
    items = sorted(importances.items(), key=lambda kv: kv[1])
    fig = new_figure(
        go.Bar(
            x=[v for _, v in items],
            y=[esc(k) for k, _ in items],
            orientation="h",
            marker_color="#4c78a8",
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=title + (f"<br><sub>{esc(note)}</sub>" if note else ""),
        xaxis_title="importance",
        **{**layout(), "height": max(260, 60 + 40 * len(items)), "margin": {"l": 220, "r": 20, "t": 70, "b": 50}},
    )
    return fig
