"""`fnosweep report`: read the study once, build every figure, write one HTML file.

`build_sections` is pure (frames and values in, sections out); `make_report` does the
reading (store, conclusion, importance) and the one write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fnosweep.conclude import render_sweep
from fnosweep.diagnose import fmt
from fnosweep.files import write_atomic
from fnosweep.history import History, RunInfo
from fnosweep.store import redact
from fnosweep.store.refs import StudyRef
from fnosweep.sweep.result import state_counts
from fnosweep.view import analysis, curves, figures, frames, page, sampling, style, trial_sections

if TYPE_CHECKING:
    import pandas as pd

    from fnosweep.conclude import StabilityGrid


@dataclass(frozen=True)
class ReportResult:
    path: Path
    size_bytes: int
    n_trials: int


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report shows, already read: `build_sections` needs nothing else."""

    study: str
    spec: Mapping[str, Any]
    trials: pd.DataFrame
    epochs: pd.DataFrame
    """Every trial's epochs, every field (`frames.epoch_table`)."""
    detail: pd.DataFrame
    """Epochs of the trials drawn one by one (`picks`) and of the trial sections: the report
    passes `epochs` itself; a caller may pass fewer."""
    picks: Mapping[int, str]
    """Trials whose learning curves are drawn, with their labels."""
    conclusion_md: str
    importances: Mapping[str, float] | None
    importance_note: str
    sections: Sequence[trial_sections.TrialInfo] = ()
    """What each trial's section says (its diagnosis included), any order: shown best first."""
    stability: StabilityGrid | None = None
    """The conclusion's cells of the stability map (its bins and counts, not a second binning)."""


def make_report(ref: StudyRef, out: str | Path) -> ReportResult:
    """Read the study, build the page, write it atomically to `out`."""
    text, n = build_html(ref)
    path = write_atomic(out, text, "the report")
    return ReportResult(path=path, size_bytes=path.stat().st_size, n_trials=n)


def build_html(ref: StudyRef) -> tuple[str, int]:
    """The report page of a study, and its number of trials."""
    spec = ref.spec or {}
    study = spec.get("study") or {}
    rows = ref.store.trials(ref.name)
    trials = frames.trials_frame(ref, rows)
    meta = _meta(ref, spec, trials)
    title = f"Sweep report: {ref.name}"
    if trials.empty:
        body = (
            f"<p class=empty>Study {_esc(ref.name)} has no trials yet: nothing to show. "
            "Run the sweep (<code>fnosweep run SPEC</code>), then make the report again.</p>"
        )
        return page.render(title=title, meta=meta, sections=[page.Section("empty", "No trials yet", html_body=body)]), 0
    direction = study.get("direction") or "minimize"
    picks = curves.pick_trials(trials, direction=direction)
    # One read of every field of every epoch: each trial's section is diagnosed from its
    # whole history (the text of `diagnose --trial N`), and the figures draw from the same.
    lines = ref.store.epoch_lines(ref.name)
    table = frames.lines_table(lines)
    histories = frames.histories(lines, {r.number: r.run_info for r in rows})
    epochs = table.to_pandas()
    counts = dict(zip(trials["number"], trials["epochs"], strict=True))
    # One computation: the text, the stability map and the importance figure read this value.
    conclusion = analysis.conclude_study(analysis.sweep_trials(rows, histories, counts), spec)
    importance = conclusion.importance
    sections = [
        trial_sections.TrialInfo(
            number=r.number,
            state=r.state,
            verdict=r.verdict,
            objective=r.value,
            epochs=counts.get(r.number, 0),
            params=dict(r.params),
            reason=r.reason,
            diagnosis_markdown=analysis.trial_diagnosis(
                ref.name, r, histories.get(r.number) or History(run=r.run_info or RunInfo(), epochs=()), spec
            ),
        )
        for r in rows
    ]
    inputs = ReportInputs(
        study=ref.name,
        spec=spec,
        trials=trials,
        epochs=epochs,
        detail=epochs,
        picks=picks,
        conclusion_md=render_sweep(conclusion),
        importances=importance.values if importance else None,
        importance_note=importance.note if importance else "",
        stability=conclusion.grid,
        sections=sections,
    )
    return page.render(title=title, meta=meta, sections=build_sections(inputs)), len(trials)


def build_sections(x: ReportInputs) -> list[page.Section]:
    """The report's sections in reading order: conclusion first, then the figures, then the table."""
    study = x.spec.get("study") or {}
    metric, direction = study.get("metric") or "objective", study.get("direction") or "minimize"
    budget = (x.spec.get("training") or {}).get("epochs")
    search = x.spec.get("search") or {}
    knobs = [c for c in x.trials.columns if c.startswith("param.")]
    picks = x.picks
    verdicts = curves.verdict_index(x.trials)
    points = sampling.points_per_curve(len(x.trials))
    best = next(iter(picks), None)
    compared = curves.compared_trials(x.trials)
    S = page.Section
    return [
        S(
            "conclusion",
            "Conclusion",
            "From fnosweep's diagnosis of every trial (the same text as `fnosweep diagnose STUDY`).",
            html_body=f"<div class=conclusion>{page.markdown_html(x.conclusion_md)}</div>",
        ),
        S(
            "objective",
            "Objective over trials",
            "Colour: verdict; marker: state. The black step line is the best complete trial so far.",
            figures.objective_figure(x.trials, metric=metric, direction=direction),
        ),
        S(
            "stability",
            "Stability map",
            "The conclusion's bins: cells give the share of trials there that diverged, had exploding "
            "gradients or failed (count inside); dots: trials by verdict. The axes are the pair the "
            "conclusion blames, else lr × clip threshold.",
            figures.stability_map_figure(x.stability),
        ),
        S(
            "parallel",
            "Searched knobs",
            "Each line is a trial; drag along an axis to filter.",
            figures.parallel_figure(
                x.trials,
                knobs=knobs,
                metric=metric,
                direction=direction,
                log=[f"param.{k}" for k, v in search.items() if isinstance(v, Mapping) and v.get("log")],
            ),
        ),
        S(
            "curves",
            "Learning curves",
            "Training loss per sample (not neuralop's per-batch train_err) and evaluation "
            "per test resolution, for the best trials and one example of each failure verdict.",
            curves.learning_curves_figure(x.detail, picks),
        ),
        S(
            "gradients",
            "Gradient norms and clipping",
            "Total gradient norm before clipping, per epoch over its steps; every trial, coloured by verdict. "
            "Axes span the trials that did not diverge; ↑↓ marks a curve leaving the axis, ✕ a curve's last finite "
            "value before NaN (true values on hover).",
            curves.gradients_figure(x.epochs, verdicts, max_points=points, focus=compared),
        ),
        S(
            "groups",
            "Gradient norm per layer group",
            "Which part of the network carries the gradient (lifting, the FNO blocks, projection, and each block).",
            curves.groups_figure(x.epochs, x.detail, trial=best, label=picks.get(best, "") if best is not None else ""),
        ),
        S(
            "updates",
            "Update-to-weight ratio",
            "How far one epoch moves the weights relative to their size.",
            curves.update_ratio_figure(x.epochs, verdicts, max_points=points, focus=compared),
        ),
        S(
            "pruning",
            "Pruning savings",
            "Epochs each trial ran, against the epoch budget.",
            figures.pruning_figure(x.trials, budget=budget),
        ),
        S(
            "importance",
            "Parameter importance",
            "PED-ANOVA importance (Optuna) of each searched knob for the objective, among the stable "
            "complete trials: the numbers the conclusion quotes.",
            figures.importance_figure(x.importances, note=x.importance_note),
        ),
        S(
            "trials",
            "Trials",
            f"All {len(x.trials)} trials, best first; a trial's number opens its section below.",
            html_body=page.table_html(_table(x.trials, direction), link="trial"),
        ),
        S(
            "trial-details",
            "Trial details",
            "Each trial: parameters, state and prune reason, verdict, the written diagnosis "
            "(the text of `fnosweep diagnose STUDY --trial N`), its curves and gradients. Click to open.",
            html_body=_trial_details(x, direction, metric),
        ),
    ]


def _trial_details(x: ReportInputs, direction: str, metric: str) -> str:
    order = {int(n): i for i, n in enumerate(_table(x.trials, direction)["trial"])}
    infos = sorted(x.sections, key=lambda t: order.get(t.number, len(order)))
    points = trial_sections.points_per_curve(len(infos))
    by_trial = trial_sections.epochs_by_trial(x.detail) if not x.detail.empty else {}
    traces = {t.number: trial_sections.trial_traces(by_trial[t.number], max_points=points)
              for t in infos if t.number in by_trial}  # fmt: skip
    return trial_sections.section_body(infos, traces, metric=metric)



def _table(trials: pd.DataFrame, direction: str) -> pd.DataFrame:
    """The trials table, best first; parameter values as every text prints them (fmt.param)."""
    params = [c for c in trials.columns if c.startswith("param.")]
    cols = ["number", "state", "verdict", "objective", "epochs", "duration_s", *params, "n_params", "reason"]
    ordered = trials.sort_values(["objective", "number"], ascending=[direction == "minimize", True], na_position="last")
    table = ordered[cols].copy()
    for c in params:
        table[c] = table[c].map(fmt.param)
    return table.rename(columns=lambda c: "trial" if c == "number" else c.removeprefix("param."))


def _meta(ref: StudyRef, spec: Mapping[str, Any], trials: pd.DataFrame) -> list[str]:
    study = spec.get("study") or {}
    outcomes = list(zip(trials["state"], trials["verdict"], trials["reason"], strict=True)) if not trials.empty else []
    budget = (spec.get("training") or {}).get("epochs")
    parts = [
        f"storage {redact(ref.store.url)}",
        f"{study.get('direction', '?')} {study.get('metric', '?')}",
        state_counts(outcomes),
    ]
    if budget:
        parts.append(f"budget {budget} epochs per trial")
    parts.append(f"generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    return parts


def _esc(text: str) -> str:
    return style.esc(text)
