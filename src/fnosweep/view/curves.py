"""Epoch-level figures: pure functions of the epochs frame (see `frames.epochs_frame`).

The few trials worth a look (`pick_trials`) are drawn whole; panels of every trial are
drawn light (`sampling`): one trace per verdict, each curve cut to a few points.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from fnosweep.spec.thresholds import VERDICTS
from fnosweep.view.axes import DOWN, END, UP, Axis, axis_range, curve_ends
from fnosweep.view.sampling import MAX_POINTS, joined, joined_arrays
from fnosweep.view.style import COLORS, LABELS, esc, layout, log_axes_in_e, message_figure, subplots, verdict_labels

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

PICK_COLORS = (
    "#1f77b4",
    "#17becf",
    "#2ca02c",
    "#d62728",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#7f7f7f",
)
_DASHES = ("solid", "dash", "dot", "dashdot")


def pick_trials(trials: pd.DataFrame, *, direction: str, k: int = 3) -> dict[int, str]:
    """The trials whose curves are worth a look: the `k` best complete ones, then one example per
    failure verdict (the one that ran longest, so its curve shows the most)."""
    picks: dict[int, str] = {}
    done = trials[(trials["state"] == "COMPLETE") & trials["objective"].notna()]
    done = done[np.isfinite(done["objective"].astype(float))]
    best = done.sort_values(["objective", "number"], ascending=[direction == "minimize", True]).head(k)
    for i, n in enumerate(best["number"], start=1):
        picks[int(n)] = f"best {i} (#{n})"
    for verdict in VERDICTS:
        if verdict == "healthy":
            continue
        rows = trials[(trials["verdict"] == verdict) & ~trials["number"].isin(list(picks))]
        if not rows.empty:
            n = int(rows.sort_values(["epochs", "number"], ascending=[False, True])["number"].iloc[0])
            picks[n] = f"{verdict} (#{n})"
    return picks


def learning_curves_figure(
    epochs: pd.DataFrame, picks: Mapping[int, str], *, max_points: int = 400, focus: Collection[int] | None = None
) -> go.Figure:
    """Train loss per sample, eval L2 and eval H1 per resolution, for the picked trials.

    Each panel's axis spans the `focus` trials' curves (default: the picks labelled best);
    a value past it sits on the edge with a triangle, a curve that ends in NaN or inf ends
    in an x at its last finite value; the hover text always says the true value."""
    title = "Learning curves: the best trials and one example of each failure verdict"
    rows = epochs[epochs["number"].isin(list(picks))]
    if rows.empty:
        return message_figure(title, "no epochs recorded yet")
    if focus is None:
        focus = [n for n, label in picks.items() if label.startswith("best")] or list(picks)
    evals = sorted(
        (c for c in rows.columns if re.fullmatch(r"eval\.\d+_(l2|h1)", c)), key=lambda c: int(c[5:].split("_")[0])
    )
    resolutions = list(dict.fromkeys(c[5:].split("_")[0] for c in evals))
    panels = [("train_loss", 1, "")] + [(c, 2 if c.endswith("_l2") else 3, c[5:].split("_")[0]) for c in evals]
    columns = [c for c, _, _ in panels if c in rows and rows[c].notna().any()]
    in_focus = rows["number"].isin(list(focus))
    axes = {
        col: axis_range(
            rows.loc[in_focus, [c for c, k, _ in panels if k == col and c in columns]],
            rows[[c for c, k, _ in panels if k == col and c in columns]],
            log=True,
        )
        for col in (1, 2, 3)
    }
    fig = subplots(
        rows=1, cols=3, subplot_titles=("train loss (per sample)", "eval L2", "eval H1"), horizontal_spacing=0.06
    )
    for i, (number, label) in enumerate(picks.items()):
        color, trial = PICK_COLORS[i % len(PICK_COLORS)], rows[rows["number"] == number]
        first = True
        for column, col, res in panels:
            if column not in columns or trial[column].isna().all():
                continue
            x, y, numbers = joined(trial, column, max_points)
            dash = _DASHES[resolutions.index(res) % len(_DASHES)] if res else "solid"
            unstable = label.startswith(("diverged", "exploding"))
            shown, marks = _marked_curve(x, y, numbers, axes[col], end_always=unstable)
            hover = f"{esc(label)} {res}<br>epoch %{{x}}: %{{customdata:.4g}}"
            common = {"name": esc(label), "legendgroup": str(number), "row": 1, "col": col}
            fig.add_scatter(
                x=x,
                y=shown,
                customdata=y,
                mode="lines",
                line={"color": color, "dash": dash, "width": 1.8},
                showlegend=first,
                hovertemplate=hover + "<extra></extra>",
                **common,
            )
            if marks is not None:
                fig.add_scatter(
                    **marks,
                    mode="markers",
                    marker_color=color,
                    showlegend=False,
                    hovertemplate=hover + "%{text}<extra></extra>",
                    **common,
                )
            first = False
    note = (
        f" (resolution {', '.join(resolutions)}: {', '.join(_DASHES[: len(resolutions)])})"
        if len(resolutions) > 1
        else ""
    )
    fig.update_yaxes(type="log")
    for col, axis in axes.items():
        if axis is not None:
            fig.update_yaxes(range=axis.plotly_range(), row=1, col=col)
    fig.update_xaxes(title_text="epoch")
    fig.update_layout(
        title=title + f"<br><sup>axes span the best trials; {MARKS}{note}</sup>",
        **layout(height=480, margin={"l": 60, "r": 20, "t": 110, "b": 50}),
    )
    return log_axes_in_e(fig)


MARKS = "↑↓ a value off the axis (true value on hover), ✕ the last finite value before NaN/inf"


def _marked_curve(
    x: np.ndarray, y: np.ndarray, numbers: np.ndarray, axis: Axis | None, *, end_always: bool
) -> tuple[np.ndarray, dict[str, Any] | None]:
    """One curve's values clipped to the axis, and the markers of its clipped points and of
    its diverged end (None if it has neither), with the true values as customdata."""
    shown, side = axis.clip(y) if axis is not None else (y, np.zeros(len(y), dtype=np.int8))
    ends = curve_ends(numbers, y)
    finite = np.flatnonzero(np.isfinite(y))
    if end_always and len(finite):
        ends = np.unique(np.r_[ends, finite[-1]])
    at = np.union1d(np.flatnonzero(side != 0), ends).astype(np.int64)
    if not len(at):
        return shown, None
    is_end = np.isin(at, ends)
    off = side[at] != 0
    symbol = np.where(is_end, END, np.where(side[at] > 0, UP, DOWN))
    end_text = np.where(off, " (last finite value, off the axis)", " (last finite value)")
    text = np.where(is_end, end_text, " (off the axis)")
    return shown, {
        "x": x[at],
        "y": shown[at],
        "customdata": y[at],
        "text": text.tolist(),
        "marker": {"symbol": symbol.tolist(), "size": np.where(is_end, 11, 8)},
    }


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
    panels = {
        "grad_norm.median": ("grad norm, median", True),
        "grad_norm.p95": ("grad norm, p95", True),
        "grad_norm.max": ("grad norm, max", True),
        "clip_fraction": ("fraction of steps clipped", False),
    }
    return by_verdict_figure(
        epochs,
        verdicts,
        panels,
        max_points=max_points,
        focus=focus,
        title="Gradient norm before clipping, and clipping, over epochs (every trial)",
    )


def update_ratio_figure(
    epochs: pd.DataFrame, verdicts: pd.Series, *, max_points: int = MAX_POINTS, focus: Collection[int] | None = None
) -> go.Figure:
    """||Δw|| / ||w|| per epoch: how far each epoch moves the weights."""
    panels = {"update_ratio": ("update-to-weight ratio", True), "weight_norm": ("weight norm", False)}
    return by_verdict_figure(
        epochs,
        verdicts,
        panels,
        max_points=max_points,
        focus=focus,
        title="Update-to-weight ratio and weight norm over epochs (every trial)",
    )


def groups_figure(
    epochs: pd.DataFrame,
    detail: pd.DataFrame | None = None,
    *,
    trial: int | None,
    label: str = "",
    over_epochs: bool = True,
) -> go.Figure:
    """Gradient norm per layer group: the sweep's typical level per group over all trials'
    epochs (bars, from `epochs`), and one trial's groups and blocks over epochs (lines, from
    `detail`, else `epochs`; not with `over_epochs=False`, a single panel for narrow places).
    fno_blocks carrying the largest gradients shows here."""
    title = "Gradient norm per layer group"
    detail = epochs if detail is None else detail
    groups = _groups(epochs)
    if not groups or epochs.empty:
        return message_figure(title, "no per-group gradient norms recorded")
    if not over_epochs:
        title += " (all trials and epochs)"
        trial = None
    fig = subplots(
        rows=1,
        cols=2 if over_epochs else 1,
        column_widths=[0.45, 0.55] if over_epochs else None,
        horizontal_spacing=0.1,
        subplot_titles=(
            "all trials and epochs: median of the mean, p95 of the max",
            f"over epochs: {esc(label) or 'one trial'} (mean)",
        )
        if over_epochs
        else None,
    )
    median = [
        float(np.nanmedian(epochs[f"groups.{g}.mean"])) if f"groups.{g}.mean" in epochs else np.nan for g in groups
    ]
    p95 = [
        float(np.nanpercentile(epochs[f"groups.{g}.max"], 95)) if f"groups.{g}.max" in epochs else np.nan
        for g in groups
    ]
    names = [esc(g) for g in groups]
    fig.add_bar(x=names, y=median, name="median of mean", marker_color="#4c78a8", row=1, col=1)
    fig.add_bar(x=names, y=p95, name="p95 of max", marker_color="#f58518", row=1, col=1)
    rows = detail[detail["number"] == trial] if trial is not None else detail.iloc[:0]
    for i, g in enumerate(_groups(rows)):
        column = f"groups.{g}.mean"
        if column in rows and rows[column].notna().any():
            top = "." not in g
            fig.add_scatter(
                x=rows["epoch"],
                y=rows[column],
                mode="lines",
                name=esc(g),
                row=1,
                col=2,
                line={
                    "width": 2.2 if top else 1,
                    "dash": "solid" if top else "dot",
                    "color": PICK_COLORS[i % len(PICK_COLORS)],
                },
            )
    fig.update_yaxes(type="log")
    fig.update_layout(title=title, barmode="group", **layout(height=460, margin={"l": 60, "r": 20, "t": 100, "b": 50}))
    return log_axes_in_e(fig)


def _groups(epochs: pd.DataFrame) -> list[str]:
    return list(
        dict.fromkeys(c.removeprefix("groups.").rpartition(".")[0] for c in epochs.columns if c.startswith("groups."))
    )


def verdict_index(trials: pd.DataFrame) -> pd.Series:
    """Verdict label per trial number, for `by_verdict_figure`."""
    return verdict_labels(trials).set_axis(trials["number"].to_numpy())
