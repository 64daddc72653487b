"""The stability map: two knobs' bins crossed, the conclusion's cells and counts
(`fnosweep.conclude.stability_grid`, the one binning), every trial on top."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from fnosweep.view.style import COLORS, LABELS, esc, knob_name, layout, message_figure, new_figure

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from fnosweep.conclude import Binning, StabilityGrid


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
    return stability_grid(points, knob_name(x), knob_name(y))


def stability_map_figure(grid: StabilityGrid | None) -> go.Figure:
    """Two knobs' bins crossed (the conclusion's cells): share of unstable trials per cell
    (diverged, exploding gradients, failed), and every trial on top."""
    import plotly.graph_objects as go

    from fnosweep.conclude import BAD

    if grid is None:
        return message_figure("Stability map", "needs finished trials with a learning rate and a clip threshold")
    title = f"Stability map: unstable share (diverged, exploding gradients, failed) per {knob_name(grid.x_knob)} × " + (
        f"{knob_name(grid.y_knob)} region"
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


def _ticks(b: Binning) -> list[str]:
    return [esc(b.label(i)) for i in range(b.size)]
