"""The learning curves of the few trials worth a look (`pick_trials`), drawn whole."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from fnosweep.spec.thresholds import VERDICTS
from fnosweep.view.axes import DOWN, END, UP, Axis, axis_range, curve_ends
from fnosweep.view.sampling import joined
from fnosweep.view.style import esc, layout, log_axes_in_e, message_figure, subplots

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
