"""Gradient norm per layer group (lifting, the FNO blocks, projection): the sweep's level
per group, and one trial's groups over epochs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from fnosweep.view.curves._picked import PICK_COLORS
from fnosweep.view.style import esc, layout, log_axes_in_e, message_figure, subplots

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go


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


