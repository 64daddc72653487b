"""Where the epoch budget went, and when the pruned trials stopped, by prune reason."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fnosweep.view.style import COLORS, esc, layout, message_figure, subplots

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go



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
