"""Trial-level figures: pure functions of the trials frame (see `frames.trials_frame`).

Every builder takes DataFrames and plain values and returns a plotly Figure; nothing here
reads a database or a file, so each is tested as a table (given rows, these traces).
Text that came from users (parameter values, reasons) is HTML-escaped before it enters a
figure: plotly.js renders a subset of HTML in labels and hover text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from fnosweep.diagnose.fmt import num as fmt_num
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
    subplots,
    verdict_labels,
)

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from fnosweep.conclude import Binning, StabilityGrid


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


def stability_grid_of(trials: pd.DataFrame, *, x: str | None, y: str | None) -> StabilityGrid | None:
    """The stability map's cells from a trials frame (the dashboard's live figure): the
    conclusion's binning and outcome (`fnosweep.conclude`), so both count the same way."""
    from fnosweep.conclude import GridPoint, outcome, stability_grid

    if x is None or y is None or trials.empty:
        return None
    points = [
        GridPoint(int(n), vx, vy, outcome(state, verdict))
        for n, state, verdict, vx, vy in zip(
            trials["number"], trials["state"], trials["verdict"], trials[x], trials[y], strict=True
        )
    ]
    return stability_grid(points, _short(x), _short(y))


def stability_map_figure(grid: StabilityGrid | None) -> go.Figure:
    """Two knobs' bins crossed (the conclusion's cells): share of unstable trials per cell
    (diverged, exploding gradients, failed), and every trial on top."""
    import plotly.graph_objects as go

    from fnosweep.conclude import BAD

    if grid is None:
        return message_figure("Stability map", "needs finished trials with a learning rate and a clip threshold")
    title = f"Stability map: unstable share (diverged, exploding gradients, failed) per {_short(grid.x_knob)} × " + (
        f"{_short(grid.y_knob)} region"
    )
    nx, ny = grid.x.size, grid.y.size
    z = np.full((ny, nx), np.nan)
    text = [["" for _ in range(nx)] for _ in range(ny)]
    hover = [["no trials" for _ in range(nx)] for _ in range(ny)]
    for (i, j), counts in grid.cells().items():
        n, bad = sum(counts.values()), sum(counts[v] for v in BAD)
        z[j, i] = bad / n
        text[j][i] = f"{bad}/{n}"
        detail = ", ".join(f"{esc(v)} {k}" for v, k in sorted(counts.items(), key=lambda kv: -kv[1]))
        hover[j][i] = f"{bad} of {n} unstable<br>{detail}"
    fig = new_figure(
        go.Heatmap(
            x=list(range(nx)),
            y=list(range(ny)),
            z=z,
            customdata=hover,
            colorscale=[[0, "#e8f5e9"], [0.5, "#ffcc80"], [1, "#ef9a9a"]],
            zmin=0,
            zmax=1,
            colorbar={"title": "unstable", "len": 0.6},
            hovertemplate="%{customdata}<extra></extra>",
            xgap=2,
            ygap=2,
        )
    )
    # Set at once: each add_annotation re-validates all the earlier ones.
    fig.update_layout(
        annotations=[
            {"x": i, "y": j + 0.32, "text": text[j][i], "showarrow": False, "font": {"size": 11, "color": "#333"}}
            for j in range(ny)
            for i in range(nx)
            if text[j][i]
        ]
    )
    # Dots in the lower part of their cell, spread by a fixed hash of the trial number, so
    # the count above them stays readable and the picture is the same on every run.
    numbers = np.array([p.number for p in grid.points])
    px = np.array([p.ix for p in grid.points]) + ((numbers * 0.382) % 1) * 0.7 - 0.35
    py = np.array([p.iy for p in grid.points]) + ((numbers * 0.618) % 1) * -0.55 + 0.12
    labels = np.array([p.outcome for p in grid.points])
    for label in (v for v in LABELS if v in set(labels)):
        m = labels == label
        fig.add_scatter(
            x=px[m],
            y=py[m],
            mode="markers",
            name=label,
            marker={"color": COLORS[label], "size": 6, "line": {"width": 0.5, "color": "white"}},
            customdata=numbers[m],
            hovertemplate="trial %{customdata}<extra>" + label + "</extra>",
        )
    fig.update_layout(
        title=title,
        xaxis={"title": esc(grid.x_knob), "tickvals": list(range(nx)), "ticktext": _ticks(grid.x)},
        yaxis={"title": esc(grid.y_knob), "tickvals": list(range(ny)), "ticktext": _ticks(grid.y)},
        legend={"x": 1.12},
        **layout(),
    )
    return fig


def parallel_figure(
    trials: pd.DataFrame,
    *,
    knobs: Sequence[str],
    log: Sequence[str] = (),
    metric: str = "objective",
    direction: str = "minimize",
) -> go.Figure:
    """Parallel coordinates of the searched knobs and the objective; lines coloured by verdict."""
    import plotly.graph_objects as go

    title = "Searched knobs → objective (line colour = verdict)"
    labels = verdict_labels(trials) if not trials.empty else None
    if labels is None or not knobs:
        return message_figure(title, "no searched knobs" if knobs == [] else "no trials yet")
    rows, labels = trials[labels != "running"], labels[labels != "running"]
    if rows.empty:
        return message_figure(title, "no finished trials yet")
    dims = [_dimension(rows[k], _short(k), k in log) for k in knobs]
    obj = rows["objective"].astype(float).to_numpy()
    finite = obj[np.isfinite(obj)]
    # The axis of the trials within 10x of the best: a 3e5 objective is drawn at its top.
    axis = axis_range(near_best(finite, direction=direction), finite, log=False)
    label = esc(metric) + " (none → worst)"
    if axis is not None:
        shown, side = axis.clip(obj)
        if (side > 0).any() or (side < 0).any():
            label = esc(metric) + f" (none and ≥{fmt_num(axis.high)} → top)"
        worst = axis.high if direction == "minimize" else axis.low
        obj = np.where(np.isfinite(shown), shown, worst)
    else:
        obj = np.where(np.isfinite(obj), obj, 0.0)
    dims.append({"label": label, "values": obj})
    present = [v for v in LABELS if v in set(labels)]
    codes = labels.map({v: i for i, v in enumerate(present)}).to_numpy()
    dims.append({"label": "verdict", "values": codes, "tickvals": list(range(len(present))), "ticktext": present})
    scale = _discrete_scale([COLORS[v] for v in present])
    fig = new_figure(
        go.Parcoords(
            line={"color": codes, "colorscale": scale, "cmin": -0.5, "cmax": len(present) - 0.5}, dimensions=dims
        )
    )
    fig.update_layout(title=title, **{**layout(), "margin": {"l": 80, "r": 80, "t": 90, "b": 30}})
    return fig


def pruning_figure(trials: pd.DataFrame, *, budget: int | None, compact: bool = False) -> go.Figure:
    """Where the epoch budget went (run by complete, pruned, failed trials; saved), and at
    which epoch the pruned trials stopped, by prune reason. Readable at 10 or 10 000 trials;
    `compact`: short titles, for a half-width dashboard panel."""
    title = "Pruning savings"
    finished = trials[trials["state"].isin(["COMPLETE", "PRUNED", "FAIL"])] if not trials.empty else trials
    if finished.empty:
        return message_figure(title, "no finished trials yet")
    budget = budget or int(finished["epochs"].max()) or 1
    pruned = finished[finished["state"] == "PRUNED"]
    saved = int((budget - pruned["epochs"]).clip(lower=0).sum())
    total = len(finished) * budget
    fig = subplots(
        rows=1,
        cols=2,
        column_widths=[0.35, 0.65],
        horizontal_spacing=0.12,
        subplot_titles=("epochs" if compact else f"epoch budget of {len(finished)} finished trials",
                        "pruned at epoch" if compact else "epoch at which pruned trials stopped"),  # fmt: skip
    )
    parts = [
        ("run: complete", int(finished.loc[finished["state"] == "COMPLETE", "epochs"].sum()), "#4c78a8"),
        ("run: pruned", int(pruned["epochs"].sum()), "#f58518"),
        ("run: failed", int(finished.loc[finished["state"] == "FAIL", "epochs"].sum()), "#222222"),
        ("saved by pruning", saved, "#c7c7c7"),
    ]
    for name, value, color in parts:
        fig.add_bar(
            x=["epochs"],
            y=[value],
            name=name,
            marker_color=color,
            row=1,
            col=1,
            hovertemplate=f"{name}: {value:,} epochs ({value / total:.0%})<extra></extra>",
        )
    from fnosweep.conclude import prune_label

    reasons = pruned["reason"].map(prune_label)
    for reason in sorted(set(reasons), key=lambda r: (r == "pruner", r)):
        fig.add_histogram(
            x=pruned.loc[reasons == reason, "epochs"],
            name=f"pruned: {esc(reason)}",
            row=1,
            col=2,
            marker_color=COLORS.get(reason, "#9ecae9"),
            xbins={"start": 0.5, "end": budget + 0.5, "size": max(1, budget // 50)},
        )
    fig.update_xaxes(title_text="epochs run", range=[0, budget + 1], row=1, col=2)
    fig.update_yaxes(title_text="epochs", row=1, col=1)
    fig.update_yaxes(title_text="trials", row=1, col=2)
    sep = "<br>" if compact else "; "
    fig.update_layout(
        title=f"{title}: {saved:,} of {total:,} epochs saved ({saved / total:.0%}){sep}"
        f"{len(pruned)} of {len(finished)} finished trials pruned; budget {budget} epochs per trial",
        barmode="stack",
        **layout(height=440, margin={"l": 60, "r": 20, "t": 100, "b": 50}),
    )
    return fig


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


# -- helpers -------------------------------------------------------------------------------


def _short(column: str) -> str:
    return column.removeprefix("param.").removeprefix("run.")


def _ticks(b: Binning) -> list[str]:
    return [esc(b.label(i)) for i in range(b.size)]


def _cat(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "none"
    return f"{v:g}" if isinstance(v, float) else str(v)


def _cat_order(c: str) -> tuple[int, float, str]:
    try:
        return (1, float(c), c)
    except ValueError:
        return (0 if c == "none" else 2, 0.0, c)


def _dimension(values: pd.Series, label: str, log: bool) -> dict[str, Any]:
    # None (no clipping) arrives as None or NaN: such a knob is drawn as categories.
    numeric = values.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v))
    if numeric.all():
        v = values.astype(float).to_numpy()
        if log and (v > 0).all():
            return {"label": esc(f"log10 {label}"), "values": np.log10(v)}
        return {"label": esc(label), "values": v}
    cats = sorted({_cat(v) for v in values}, key=_cat_order)
    return {
        "label": esc(label),
        "values": np.array([cats.index(_cat(v)) for v in values]),
        "tickvals": list(range(len(cats))),
        "ticktext": [esc(c) for c in cats],
    }


def _discrete_scale(colors: Sequence[str]) -> list[list[Any]]:
    """A colorscale of flat steps, one per colour (plotly interpolates otherwise)."""
    if len(colors) == 1:
        return [[0, colors[0]], [1, colors[0]]]
    out: list[list[Any]] = []
    for i, c in enumerate(colors):
        out += [[i / len(colors), c], [(i + 1) / len(colors), c]]
    return out
