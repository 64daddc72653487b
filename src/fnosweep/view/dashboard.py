"""optuna-dashboard on a fnosweep study, with the stability story in it.

`serve` runs the dashboard (bound to 127.0.0.1 unless told otherwise: it has no login,
and anyone who reaches it can edit the study). The driver, the study's only writer, calls
`publish_trial` before it tells Optuna a trial's state (user attributes are frozen after)
and `publish_sweep` as the sweep goes: each trial's verdict and key numbers become user
attributes (sortable columns in the trials table), its diagnosis a trial note, and the
sweep conclusion and stability figures a study note and custom plotly graphs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fnosweep.errors import FnosweepError

if TYPE_CHECKING:
    import optuna
    import pandas as pd
    import plotly.graph_objects as go

    from fnosweep.diagnose import Diagnosis
    from fnosweep.history import History
    from fnosweep.store import Store

DASHBOARD_POINTS = 12
"""Points per curve in the dashboard's figures, at most: Optuna keeps a figure as study
system attributes of 2 045 characters each, all read again on every page refresh."""
DASHBOARD_POINT_BUDGET = 8_000
"""Points per panel over all trials (a 1 000-trial sweep: 8 per curve)."""
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def publish_trial(
    study: optuna.Study,
    trial: optuna.Trial,
    *,
    verdict: str | None,
    numbers: Mapping[str, Any],
    diagnosis_markdown: str,
) -> None:
    """Verdict and key numbers as user attributes, the diagnosis as the trial's note.

    `trial` must be the live `optuna.Trial` (before `study.tell`): a told trial's user
    attributes can no longer change."""
    from optuna_dashboard import save_note

    if trial.study.study_name != study.study_name:
        raise ValueError(f"trial {trial.number} belongs to study {trial.study.study_name!r}, not {study.study_name!r}")
    if verdict:
        trial.set_user_attr("verdict", verdict)
    for key, value in numbers.items():
        trial.set_user_attr(str(key), _attr_value(value))
    save_note(trial, diagnosis_markdown)


@dataclass(frozen=True)
class DashboardPublisher:
    """What `fnosweep run` hands the driver (a `fnosweep.sweep.publisher.Publisher`): each
    ended trial's page and, as the sweep goes, its note and figures."""

    metric: str
    direction: str

    def trial(self, study: optuna.Study, trial: optuna.Trial, history: History, diagnosis: Diagnosis) -> None:
        from fnosweep.diagnose import render_trial

        publish_trial(study, trial, verdict=diagnosis.verdict,
                      numbers=trial_numbers(history, self.metric, self.direction),
                      diagnosis_markdown=render_trial(diagnosis, history, title=f"trial {trial.number}"))  # fmt: skip

    def sweep(self, study: optuna.Study, store: Store, study_name: str) -> None:
        publish_study(study, store, study_name)


def publish_sweep(study: optuna.Study, *, conclusion_markdown: str, figures: Mapping[str, go.Figure]) -> None:
    """The sweep conclusion as the study note; each figure as a custom graph, replaced in place
    when published again (its id is `fnosweep-<key>`)."""
    from optuna_dashboard import save_note, save_plotly_graph_object

    save_note(study, conclusion_markdown)
    for key, fig in figures.items():
        save_plotly_graph_object(study, fig, graph_object_id=graph_id(key))


def publish_study(study: optuna.Study, store: Store, study_name: str) -> None:
    """`publish_sweep` of the study as its store holds it now (what the driver calls)."""
    from fnosweep.store.refs import StudyRef
    from fnosweep.view.analysis import sweep_conclusion

    ref = StudyRef(store=store, name=study_name, spec=store.study_spec(study_name))
    publish_sweep(study, conclusion_markdown=sweep_conclusion(ref), figures=study_figures(store, study_name))


def trial_numbers(history: History, metric: str, direction: str) -> dict[str, Any]:
    """The few numbers a trial's row in the dashboard shows (pure)."""
    from fnosweep.history import metric_value

    last = history.epochs[-1]
    values = [v for v in (metric_value(e, metric) for e in history.epochs) if v is not None and math.isfinite(v)]
    return {
        "epochs": len(history.epochs), "n_params": history.run.n_params,
        "params_per_sample": history.run.params_per_sample,
        "grad_norm_p95": last.grad_norm.get("p95"), "clip_fraction": last.clip_fraction,
        f"best_{metric}": (min if direction == "minimize" else max)(values) if values else None,
    }  # fmt: skip


PANEL_HEIGHT = 440
"""optuna-dashboard draws each custom figure in a box 450 px high and half its page wide."""


def sweep_figures(trials: pd.DataFrame, epochs: pd.DataFrame, spec: Mapping[str, Any]) -> dict[str, go.Figure]:
    """The stability figures for the dashboard: the report's, one panel each, with short
    curves, sized for the dashboard's half-width, 450 px high boxes (pure)."""
    from fnosweep.view import curves, figures

    study = spec.get("study") or {}
    direction = study.get("direction") or "minimize"
    verdicts = curves.verdict_index(trials)
    compared = curves.compared_trials(trials) if not trials.empty else []
    points = max(4, min(DASHBOARD_POINTS, DASHBOARD_POINT_BUDGET // max(len(trials), 1)))
    lr = next((c for c in trials.columns if c.startswith("param.") and c.endswith(".lr")), "run.lr")
    clip = next(
        (c for c in trials.columns if c.startswith("param.") and c.endswith(".clip_threshold")), "run.clip_threshold"
    )

    def one(column: str, title: str, log: bool) -> go.Figure:
        return curves.by_verdict_figure(
            epochs, verdicts, {column: ("", log)}, title=title, max_points=points, cols=1, focus=compared
        )

    out = {
        "stability-map": figures.stability_map_figure(figures.stability_grid_of(trials, x=lr, y=clip)),
        "objective": figures.objective_figure(trials, metric=study.get("metric") or "objective", direction=direction),
        "gradients": one("grad_norm.p95", "Gradient norm p95 before clipping (every trial)", True),
        "clipping": one("clip_fraction", "Fraction of steps clipped (every trial)", False),
        "layer-groups": curves.groups_figure(epochs, trial=None, over_epochs=False),
        "pruning": figures.pruning_figure(trials, budget=(spec.get("training") or {}).get("epochs"), compact=True),
    }
    return {key: fit_panel(fig, top=95 if key == "pruning" else 70) for key, fig in out.items()}


def fit_panel(fig: go.Figure, *, top: int = 70) -> go.Figure:
    """A figure made to fit one dashboard box: its height, small margins and title, the legend below."""
    fig.update_layout(
        height=PANEL_HEIGHT,
        width=None,
        autosize=True,
        margin={"l": 55, "r": 15, "t": top, "b": 40},
        title={"font": {"size": 13}, "x": 0.02},
        legend={"orientation": "h", "y": -0.18, "x": 0, "font": {"size": 10}},
    )
    return fig


def study_figures(store: Store, study_name: str) -> dict[str, go.Figure]:
    """`sweep_figures` of a study read from its store (what the driver passes to `publish_sweep`)."""
    from fnosweep.store.refs import StudyRef
    from fnosweep.view import frames

    ref = StudyRef(store=store, name=study_name, spec=store.study_spec(study_name))
    return sweep_figures(frames.trials_frame(ref), frames.epochs_frame(ref), ref.spec or {})


def graph_id(key: str) -> str:
    """A graph id optuna-dashboard accepts (letters, digits, - _ : .)."""
    return "fnosweep-" + (re.sub(r"[^A-Za-z0-9_:.-]+", "-", key).strip("-") or "figure")


def serve(url: str, *, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Run optuna-dashboard on a storage URL until interrupted (blocks)."""
    import optuna
    from optuna_dashboard import run_server

    from fnosweep.store import engine_kwargs, redact

    try:
        storage = optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs(url))
    except Exception as e:  # Optuna raises many kinds for a URL it cannot use
        raise FnosweepError(f"optuna-dashboard cannot open {redact(url)}: {str(e).splitlines()[0]}") from None
    try:
        run_server(storage, host=host, port=port)
    except OSError as e:
        raise FnosweepError(f"cannot serve on {host}:{port}: {e.strerror or e}") from None


def study_url(url: str, name: str | None, *, host: str, port: int) -> str:
    """The dashboard page of one study (its list of studies without a name)."""
    import optuna

    from fnosweep.store import engine_kwargs

    base = f"http://{_host(host)}:{port}/dashboard"
    if name is None:
        return base
    storage = optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs(url))
    try:
        return f"{base}/studies/{storage.get_study_id_from_name(name)}"
    except KeyError:  # fnosweep knows the study, Optuna not yet (no trial asked)
        return base


def _host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _attr_value(value: Any) -> Any:
    """A value Optuna stores as JSON and the dashboard shows: numbers as plain floats and ints;
    NaN and inf as text, since the dashboard's JSON API would send them as invalid JSON."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    return x if math.isfinite(x) else str(x)
