"""Every trial's curves at once, one colour per verdict, each cut to a few points
(`sampling`): the gradient norms and the update-to-weight ratio over epochs."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

import numpy as np

from fnosweep.view.axes import DOWN, END, UP, axis_range, curve_ends
from fnosweep.view.sampling import MAX_POINTS, joined_arrays
from fnosweep.view.style import COLORS, LABELS, layout, log_axes_in_e, message_figure, subplots, verdict_labels

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go


GRADIENT_PANELS = {
    "grad_norm.median": ("grad norm, median", True),
    "grad_norm.p95": ("grad norm, p95", True),
    "grad_norm.max": ("grad norm, max", True),
    "clip_fraction": ("fraction of steps clipped", False),
}
"""`by_verdict_figure` panels (column: title, log y) of `gradients_figure`."""
UPDATE_PANELS = {"update_ratio": ("update-to-weight ratio", True), "weight_norm": ("weight norm", False)}
"""`by_verdict_figure` panels of `update_ratio_figure`."""


def by_verdict_figure(
    epochs: pd.DataFrame,
    verdicts: pd.Series,
    panels: Mapping[str, tuple[str, bool]],
    *,
    title: str,
    max_points: int = MAX_POINTS,
    cols: int = 2,
    focus: Collection[int] | None = None,
    height: int = 330,
) -> go.Figure:
    """Every trial's curve of each panel's column, one colour per verdict. `panels` maps a
    column to (panel title, log y). `verdicts` is indexed by trial number.

    Each axis spans the curves of the `focus` trials (default: every trial); values past it
    sit on the edge, the first point of each excursion and each diverged curve's last finite
    value marked, with the true value on hover."""
    present = [(c, t) for c, t in panels.items() if c in epochs and epochs[c].notna().any()]
    if not present:
        return message_figure(title, "not measured by these trials")
    n_rows = -(-len(present) // cols)
    fig = subplots(
        rows=n_rows,
        cols=min(cols, len(present)),
        subplot_titles=[t for _, (t, _) in present],
        vertical_spacing=0.12 if n_rows > 1 else 0.0,
        horizontal_spacing=0.08,
    )
    labels = epochs["number"].map(verdicts).fillna("unknown").to_numpy()
    numbers, epoch = epochs["number"].to_numpy(), epochs["epoch"].to_numpy(dtype=float)
    in_focus = np.isin(numbers, list(focus)) if focus is not None else np.ones(len(numbers), dtype=bool)
    masks = {v: labels == v for v in LABELS if (labels == v).any()}
    shown: set[str] = set()
    for i, (column, (_, log)) in enumerate(present):
        r, c = i // cols + 1, i % cols + 1
        values = epochs[column].to_numpy(dtype=float)
        axis = axis_range(values[in_focus], values, log=log)
        marks: list[tuple[np.ndarray, ...]] = []
        for label, m in masks.items():
            x, y, trial = joined_arrays(numbers[m], epoch[m], values[m], max_points)
            if not len(x):
                continue
            shown_y, side = axis.clip(y) if axis is not None else (y, np.zeros(len(y), dtype=np.int8))
            fig.add_scatter(
                x=x,
                y=shown_y,
                customdata=trial,
                mode="lines",
                name=label,
                legendgroup=label,
                showlegend=label not in shown,
                line={"color": COLORS[label], "width": 1},
                opacity=0.55,
                row=r,
                col=c,
                hovertemplate="trial %{customdata}<br>epoch %{x}: %{y:.4g}<extra>" + label + "</extra>",
            )
            shown.add(label)
            leaves = np.flatnonzero((side != 0) & (np.r_[0, side[:-1]] != side))  # first point off the axis
            ends = np.flatnonzero(m)[curve_ends(numbers[m], values[m])]
            end_y = axis.clip(values[ends])[0] if axis is not None else values[ends]
            color = COLORS[label]
            marks.append((x[leaves], shown_y[leaves], trial[leaves], y[leaves],
                          np.where(side[leaves] > 0, UP, DOWN), np.full(len(leaves), color)))  # fmt: skip
            marks.append((epoch[ends], end_y, numbers[ends].astype(float), values[ends],
                          np.full(len(ends), END), np.full(len(ends), color)))  # fmt: skip
        _add_marks(fig, marks, row=r, col=c)
        if log:
            fig.update_yaxes(type="log", row=r, col=c)
        if axis is not None:
            fig.update_yaxes(range=axis.plotly_range(), row=r, col=c)
    fig.update_xaxes(title_text="epoch", row=n_rows)  # on the bottom row only: above, it would hit the titles
    fig.update_layout(
        title=title, **layout(height=height * n_rows + 100, margin={"l": 60, "r": 20, "t": 100, "b": 50})
    )
    return log_axes_in_e(fig)


def _add_marks(fig: go.Figure, marks: list[tuple[np.ndarray, ...]], *, row: int, col: int) -> None:
    """One marker trace per panel: points off the axis and diverged curves' last finite values."""
    if not sum(len(m[0]) for m in marks):
        return
    x, y, trial, true, symbol, color = (np.concatenate(parts) for parts in zip(*marks, strict=True))
    fig.add_scatter(
        x=x,
        y=y,
        customdata=np.stack([trial, true], axis=1),
        mode="markers",
        name="off the axis / last finite",
        showlegend=False,
        marker={"symbol": symbol.tolist(), "color": color.tolist(), "size": 8},
        row=row,
        col=col,
        hovertemplate="trial %{customdata[0]}<br>epoch %{x}: %{customdata[1]:.4g}<extra></extra>",
    )


def compared_trials(trials: pd.DataFrame) -> list[int]:
    """The trials whose curves set the every-trial axes: all but the diverged (a run at 1e+12
    or NaN says nothing about the scale of the others; exploding gradients are what the
    gradient panels show, so those stay). None left: every trial."""
    kept = trials[trials["verdict"] != "diverged"]
    return [int(n) for n in (kept if not kept.empty else trials)["number"]]


def gradients_figure(
    epochs: pd.DataFrame, verdicts: pd.Series, *, max_points: int = MAX_POINTS, focus: Collection[int] | None = None
) -> go.Figure:
    """Pre-clip gradient norm (median, p95, max per epoch) and the clipped share of steps."""
    title = "Gradient norm before clipping, and clipping, over epochs (every trial)"
    return by_verdict_figure(epochs, verdicts, GRADIENT_PANELS, title=title, max_points=max_points, focus=focus)


def update_ratio_figure(
    epochs: pd.DataFrame, verdicts: pd.Series, *, max_points: int = MAX_POINTS, focus: Collection[int] | None = None
) -> go.Figure:
    """||Δw|| / ||w|| per epoch: how far each epoch moves the weights."""
    title = "Update-to-weight ratio and weight norm over epochs (every trial)"
    return by_verdict_figure(epochs, verdicts, UPDATE_PANELS, title=title, max_points=max_points, focus=focus)


def verdict_index(trials: pd.DataFrame) -> pd.Series:
    """Verdict label per trial number, for `by_verdict_figure`."""
    return verdict_labels(trials).set_axis(trials["number"].to_numpy())
