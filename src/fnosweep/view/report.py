"""`fnosweep report`: read the study once, build every figure, write one HTML file.

`build_sections` is pure (frames and values in, sections out); `make_report` does the
reading (store, conclusion, importance) and the one write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fnosweep.conclude import render_sweep
from fnosweep.store import redact
from fnosweep.studies import StudyRef
from fnosweep.view import analysis, curves, figures, frames, page, sampling, style

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
    """Every trial's epochs, the fields of `analysis.bulk_schema`."""
    detail: pd.DataFrame
    """Every field of the epochs of the trials drawn one by one (`picks`)."""
    picks: Mapping[int, str]
    """Trials whose learning curves are drawn, with their labels."""
    conclusion_md: str
    importances: Mapping[str, float] | None
    importance_note: str
    stability: StabilityGrid | None = None
    """The conclusion's cells of the stability map (its bins and counts, not a second binning)."""


def make_report(ref: StudyRef, out: str | Path) -> ReportResult:
    """Read the study, build the page, write it atomically to `out`."""
    text, n = build_html(ref)
    path = page.write_atomic(out, text)
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
    # Two reads: a few fields of every epoch (the all-trial figures), and every field of the
    # few trials drawn one by one or fitted by the conclusion. Parsing all of a 200 000-epoch
    # study's JSON is most of a report's time; this halves it.
    detail = frames.epoch_table(ref, sorted(set(picks) | analysis.detail_numbers(rows, direction=direction)))
    bulk = frames.epoch_table(ref, schema=analysis.bulk_schema(study.get("metric") or ""))
    histories = frames.histories(detail, {r.number: r.run_info for r in rows})
    counts = dict(zip(trials["number"], trials["epochs"], strict=True))
    # One computation: the text, the stability map and the importance figure read this value.
    conclusion = analysis.conclude_study(analysis.sweep_trials(rows, histories, counts), spec)
    importance = conclusion.importance
    inputs = ReportInputs(
        study=ref.name,
        spec=spec,
        trials=trials,
        epochs=bulk.to_pandas(),
        detail=detail.to_pandas(),
        picks=picks,
        conclusion_md=render_sweep(conclusion),
        importances=importance.values if importance else None,
        importance_note=importance.note if importance else "",
        stability=conclusion.grid,
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
            "Total gradient norm before clipping, per epoch over its steps; every trial, coloured by verdict.",
            curves.gradients_figure(x.epochs, verdicts, max_points=points),
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
            curves.update_ratio_figure(x.epochs, verdicts, max_points=points),
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
            f"All {len(x.trials)} trials, best first.",
            html_body=page.table_html(_table(x.trials, direction)),
        ),
    ]


def _table(trials: pd.DataFrame, direction: str) -> pd.DataFrame:
    cols = [
        "number",
        "state",
        "verdict",
        "objective",
        "epochs",
        "duration_s",
        *(c for c in trials.columns if c.startswith("param.")),
        "n_params",
        "reason",
    ]
    ordered = trials.sort_values(["objective", "number"], ascending=[direction == "minimize", True], na_position="last")
    return ordered[cols].rename(columns=lambda c: c.removeprefix("param."))


def _meta(ref: StudyRef, spec: Mapping[str, Any], trials: pd.DataFrame) -> list[str]:
    study = spec.get("study") or {}
    counts = trials["state"].value_counts() if not trials.empty else {}
    states = ", ".join(f"{int(n)} {s.lower()}" for s, n in sorted(dict(counts).items())) or "no trials"
    budget = (spec.get("training") or {}).get("epochs")
    parts = [
        f"storage {redact(ref.store.url)}",
        f"{study.get('direction', '?')} {study.get('metric', '?')}",
        f"{len(trials)} trials ({states})",
    ]
    if budget:
        parts.append(f"budget {budget} epochs per trial")
    parts.append(f"generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    return parts


def _esc(text: str) -> str:
    return style.esc(text)
