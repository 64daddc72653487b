"""The look shared by every figure: one colour per verdict, one marker per state, a light
template, and escaping of user text (plotly.js renders a subset of HTML in labels)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fnosweep.spec.thresholds import VERDICTS

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

COLORS: Mapping[str, str] = {
    "healthy": "#2ca02c",
    "learning_slowly": "#bcbd22",
    "plateau": "#7f7f7f",
    "overfitting": "#9467bd",
    "overparameterized": "#8c564b",
    "exploding_gradients": "#ff7f0e",
    "diverged": "#d62728",
    "failed": "#222222",
    "running": "#1f77b4",
    "unknown": "#aec7e8",
}
"""One colour per verdict in every figure: red and orange are the unstable ones."""
LABELS = (*VERDICTS, "failed", "running", "unknown")
SYMBOLS = {"COMPLETE": "circle", "PRUNED": "triangle-down", "FAIL": "x", "RUNNING": "circle-open"}


_AXIS = {"gridcolor": "#ebf0f8", "linecolor": "#ebf0f8", "zerolinecolor": "#ebf0f8", "automargin": True}
TEMPLATE: Mapping[str, Any] = {
    "layout": {
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "font": {"color": "#2a3f5f"},
        "hovermode": "closest",
        "colorway": ["#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692", "#B6E880"],
        "xaxis": _AXIS,
        "yaxis": _AXIS,
        "title": {"x": 0.05},
    }
}
"""plotly_white's look in a few keys: the full template costs 30 ms per figure to build."""


def layout(**overrides: Any) -> dict[str, Any]:
    """Layout shared by every figure."""
    base = {"template": TEMPLATE, "margin": {"l": 60, "r": 20, "t": 70, "b": 50}, "height": 420}
    return {**base, **overrides}


def new_figure(*traces: Any) -> go.Figure:
    """An empty figure on fnosweep's template (never building plotly's default one)."""
    import plotly.graph_objects as go

    return go.Figure(data=list(traces), layout={"template": TEMPLATE})


def subplots(**kwargs: Any) -> go.Figure:
    """`make_subplots` on fnosweep's template."""
    from plotly.subplots import make_subplots

    return make_subplots(figure=new_figure(), **kwargs)


def log_axes_in_e(fig: go.Figure) -> go.Figure:
    """Log axes labelled 1e-4, not 100µ (what FNO users read); linear axes keep 200k."""
    fig.for_each_xaxis(lambda a: a.update(exponentformat="e") if a.type == "log" else None)
    fig.for_each_yaxis(lambda a: a.update(exponentformat="e") if a.type == "log" else None)
    return fig


def esc(value: Any) -> str:
    """A user value as safe label text."""
    return html.escape("none" if value is None else str(value))


def knob_name(column: str) -> str:
    """A trials-frame column as a figure names its knob: `param.training.lr` → `training.lr`."""
    return column.removeprefix("param.").removeprefix("run.")


def verdict_labels(trials: pd.DataFrame) -> pd.Series:
    """The colour key of each trial: its verdict, else failed / running / unknown (the
    conclusion's `outcome`, so every figure and the text label a trial alike)."""
    from fnosweep.conclude import outcome

    return trials["state"].combine(trials["verdict"], outcome)


def message_figure(title: str, message: str) -> go.Figure:
    """A figure that says why there is nothing to draw (an empty study, one trial, ...)."""

    fig = new_figure()
    fig.add_annotation(text=esc(message), showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper", font={"size": 15})
    fig.update_layout(title=title, xaxis={"visible": False}, yaxis={"visible": False}, **layout(height=200))
    return fig
