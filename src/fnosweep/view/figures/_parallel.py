"""Parallel coordinates: the searched knobs and the objective, one line per trial."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from fnosweep.diagnose.fmt import num as fmt_num
from fnosweep.view.axes import axis_range, near_best
from fnosweep.view.style import COLORS, LABELS, esc, knob_name, layout, message_figure, new_figure, verdict_labels

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go



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
    dims = [_dimension(rows[k], knob_name(k), k in log) for k in knobs]
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
