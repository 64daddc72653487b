"""One section per trial inside the report: its parameters, state and prune reason, verdict,
the written diagnosis (`fnosweep diagnose STUDY --trial N`'s text), its curves and gradients.

Each trial is a closed `<details id="trial-N">`, opened from the trials table (`#trial-N`).
Its figure is drawn by plotly when it opens, from one JSON blob holding every trial's
curves (float32, base64) and one layout shared by all: a 1 000-trial report stays one
offline file that opens as fast as a small one (BENCHMARKS.md §5 has its size).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from fnosweep.diagnose import fmt
from fnosweep.view.axes import END, curve_ends
from fnosweep.view.sampling import joined_arrays
from fnosweep.view.style import layout, log_axes_in_e, subplots

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

PANELS = ("train loss (per sample)", "eval L2", "eval H1", "grad norm before clipping", "steps clipped", "update ratio")
"""The six panels of a trial's figure, two rows of three (row-major: trace `xaxis` x1..x6)."""
_LOG = (True, True, True, True, False, True)
_GRAD = (
    ("grad_norm.median", "median", "#4c78a8"),
    ("grad_norm.p95", "p95", "#f58518"),
    ("grad_norm.max", "max", "#e45756"),
)
_EVAL_COLORS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b")
POINT_BUDGET = 30_000
"""Points per curve over all trials: a 1 000-trial report keeps 30 per curve (each curve's
ends and per bucket its lowest and highest value), one of 150 trials keeps 200."""


def points_per_curve(n_trials: int) -> int:
    return max(24, min(400, POINT_BUDGET // max(n_trials, 1)))


@dataclass(frozen=True)
class TrialInfo:
    """What a trial's section says besides its figure (already read and diagnosed)."""

    number: int
    state: str
    verdict: str | None
    objective: float | None
    epochs: int
    params: Mapping[str, Any]
    reason: str | None
    diagnosis_markdown: str


def trial_layout() -> dict[str, Any]:
    """The layout every trial's figure shares (plotly JSON): six panels, log where it helps."""
    fig = subplots(rows=2, cols=3, subplot_titles=PANELS, horizontal_spacing=0.07, vertical_spacing=0.16)
    for i, log in enumerate(_LOG):
        if log:
            fig.update_yaxes(type="log", row=i // 3 + 1, col=i % 3 + 1)
    fig.update_xaxes(title_text="epoch", row=2)
    fig.update_layout(
        **layout(height=560, margin={"l": 60, "r": 20, "t": 40, "b": 50}),
        hovermode="x unified",
        legend={"orientation": "h", "y": -0.14},
        title={"text": "✕ the last finite value before NaN or inf", "font": {"size": 12}},
    )  # fmt: skip
    return log_axes_in_e(fig).to_plotly_json()["layout"]


def trial_traces(trial: pd.DataFrame | Mapping[str, np.ndarray], *, max_points: int = 400) -> list[dict[str, Any]]:
    """One trial's curves as plotly traces for `trial_layout` (pure: its epoch rows in, as a
    DataFrame or as column arrays, `epochs_by_trial`)."""
    if not isinstance(trial, Mapping):
        trial = {str(c): trial[c].to_numpy() for c in trial.columns}
    evals = [c for c in trial if c.startswith("eval.") and c.endswith(("_l2", "_h1"))]
    resolutions = list(dict.fromkeys(c[5:].split("_")[0] for c in evals))
    curves: list[tuple[str, int, str, str]] = [("train_loss", 1, "train loss", "#444444")]
    for c in evals:
        res = c[5:].split("_")[0]
        color = _EVAL_COLORS[resolutions.index(res) % len(_EVAL_COLORS)]
        curves.append((c, 2 if c.endswith("_l2") else 3, f"{res}×{res}", color))
    curves += [(c, 4, name, color) for c, name, color in _GRAD]
    curves += [("clip_fraction", 5, "clipped", "#72b7b2"), ("update_ratio", 6, "‖Δw‖/‖w‖", "#b279a2")]
    traces: list[dict[str, Any]] = []
    for column, panel, name, color in curves:
        values = trial.get(column)
        if values is None or not (values == values).any():  # absent, or never measured
            continue
        x, y, numbers = joined_arrays(trial["number"], trial["epoch"].astype(float), values.astype(float), max_points)
        axis = "" if panel == 1 else str(panel)
        where = {"xaxis": f"x{axis}", "yaxis": f"y{axis}"}
        traces.append(
            {
                **_xs(x),
                "y": y,
                # a line needs two points: a run pruned after an epoch or two shows as dots
                "mode": "lines" if np.isfinite(y).sum() > 2 else "lines+markers",
                "name": name,
                "legendgroup": name,
                "showlegend": panel in (2, 4) or column == "train_loss",
                "line": {"color": color, "width": 1.6},
                **where,
            }
        )
        ends = curve_ends(numbers, y)
        if len(ends):  # the run went to NaN or inf: its line stops, the marker shows where
            traces.append(
                {
                    "x": x[ends],
                    "y": y[ends],
                    "mode": "markers",
                    "name": f"{name}: last finite value",
                    "marker": {"symbol": END, "size": 11, "color": color},
                    "showlegend": False,
                    **where,
                }
            )
    return traces


def _xs(x: np.ndarray) -> dict[str, Any]:
    """Epochs 0, 1, 2, ... as x0 and dx (half the bytes of a curve kept whole), else the epochs."""
    if len(x) > 1 and np.array_equal(x, x[0] + np.arange(len(x), dtype=x.dtype)):
        return {"x0": float(x[0]), "dx": 1}
    return {"x": x}


def sections_html(infos: Sequence[TrialInfo], *, metric: str) -> str:
    """Every trial's `<details>`, in the given order (closed; the table links to them)."""
    from fnosweep.view.page import markdown_html

    parts = []
    for t in infos:
        state = t.state.lower()
        verdict = t.verdict or "no verdict"
        if t.state == "PRUNED":
            verdict += " (as of the epoch it was stopped)"
        value = fmt.num(t.objective) if t.objective is not None else "none"
        epochs = f"{t.epochs} epoch{'s' if t.epochs != 1 else ''}"
        summary = f"Trial {t.number} · {state} · {html.escape(verdict)} · {html.escape(metric)} {value} · {epochs}"
        params = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(fmt.param(v))}</td></tr>" for k, v in t.params.items()
        )
        facts = f"<tr><th>state</th><td>{state}</td></tr>"
        if t.reason:
            what = "prune reason" if t.state == "PRUNED" else "reason"
            facts += f"<tr><th>{what}</th><td class=reason>{html.escape(t.reason)}</td></tr>"
        facts += f"<tr><th>verdict</th><td>{html.escape(verdict)}</td></tr>"
        parts.append(
            f'<details class=trial id="trial-{t.number}" data-trial="{t.number}"><summary>{summary}</summary>'
            f"<div class=trial-body><table class=facts>{facts}{params}</table>"
            f"<div class=diagnosis>{markdown_html(t.diagnosis_markdown)}</div>"
            f'<div class=trial-fig id="trial-fig-{t.number}"></div></div></details>'
        )
    return "".join(parts)


def figure_data(per_trial: Mapping[int, list[dict[str, Any]]]) -> str:
    """The JSON the page's script draws from, safe inside a `<script>` element: the shared
    layout, each distinct trace style once, and per trial [style, x (or x0), y] per trace."""
    import json

    from _plotly_utils.utils import to_typed_array_spec  # type: ignore[import-untyped]  # plotly's own encoder
    from plotly.io.json import to_json_plotly

    styles: dict[str, int] = {}
    compact: dict[str, list[list[Any]]] = {}
    for number, traces in per_trial.items():
        rows = []
        for t in traces:
            style = json.dumps({k: v for k, v in t.items() if k not in ("x", "y", "x0", "dx")}, sort_keys=True)
            i = styles.setdefault(style, len(styles))
            x = t["x0"] if "x0" in t else to_typed_array_spec(t["x"])
            rows.append([i, x, to_typed_array_spec(t["y"])])  # float32 as base64: 5.3 characters a value
        compact[str(number)] = rows
    data = {"layout": trial_layout(), "styles": [json.loads(s) for s in styles], "traces": compact}
    return to_json_plotly(data).replace("</", "<\\/")


SCRIPT = """
(function(){
  var data = JSON.parse(document.getElementById('trial-data').textContent);
  function draw(d){
    var div = d.querySelector('.trial-fig');
    if (!div || div.dataset.drawn) return Promise.resolve();
    div.dataset.drawn = '1';
    var traces = (data.traces[d.dataset.trial] || []).map(function(t){
      // [style, x or x0, y]: a number is the first epoch of a curve kept whole (dx 1)
      var x = typeof t[1] === 'number' ? {x0: t[1], dx: 1} : {x: t[1]};
      return Object.assign({}, data.styles[t[0]], x, {y: t[2]});
    });
    return Plotly.newPlot(div, traces, data.layout, {displaylogo: false, responsive: true});
  }
  document.querySelectorAll('details.trial').forEach(function(d){
    d.addEventListener('toggle', function(){ if (d.open) draw(d); });
  });
  function openHash(){
    var d = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (!d || d.tagName !== 'DETAILS') return;
    d.open = true;
    // once its figure (and the figures above it) are drawn, so the page no longer moves
    draw(d).then(function(){ d.scrollIntoView(); });
  }
  window.addEventListener('hashchange', openHash);
  if (document.readyState === 'complete') openHash(); else window.addEventListener('load', openHash);
})();
"""


def section_body(infos: Sequence[TrialInfo], traces: Mapping[int, list[dict[str, Any]]], *, metric: str) -> str:
    """The whole "Trial details" section body: the `<details>`, the data and the script."""
    return (
        sections_html(infos, metric=metric)
        + f'<script type="application/json" id="trial-data">{figure_data(traces)}</script>'
        + f"<script>{SCRIPT}</script>"
    )


def trial_figure(trial: pd.DataFrame) -> go.Figure:
    """A trial's figure as the page draws it (for tests and notebooks)."""
    from fnosweep.view.style import new_figure

    fig = new_figure(*trial_traces(trial))
    fig.update_layout(trial_layout())
    return fig


def epochs_by_trial(epochs: pd.DataFrame) -> dict[int, dict[str, np.ndarray]]:
    """Each trial's epoch rows as column arrays (views: the frame is sorted by trial, then epoch)."""
    columns = {str(c): epochs[c].to_numpy() for c in epochs.columns}
    numbers = columns["number"]
    cuts = np.r_[0, np.flatnonzero(numbers[1:] != numbers[:-1]) + 1, len(numbers)]
    bounds = [(int(a), int(b)) for a, b in zip(cuts[:-1], cuts[1:], strict=True) if b > a]
    return {int(numbers[a]): {c: v[a:b] for c, v in columns.items()} for a, b in bounds}
