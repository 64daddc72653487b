"""What the report says besides its figures: the sweep conclusion, read at the cost it needs.

The conclusion is `conclude(...)` from `fnosweep.conclude`, the text `fnosweep diagnose
STUDY` prints; its parameter importance (PED-ANOVA, on an in-memory copy of the stable
complete trials: loading the stored Optuna study would also load every intermediate value,
about 10 s for 1 000 trials x 200 epochs) and its stability-map cells feed the report's figures.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from fnosweep.history import EpochRecord, History, RunInfo

if TYPE_CHECKING:

    from fnosweep.conclude import SweepConclusion, SweepTrial
    from fnosweep.diagnose import Thresholds
    from fnosweep.store import TrialRow
    from fnosweep.store.refs import StudyRef

FULL_HISTORIES = 10
"""Complete trials (best first) read in full for `conclude`, which fits the top 3."""


def thresholds(spec: Mapping[str, Any] | None) -> Thresholds:
    """The study's diagnosis thresholds, as its stored spec's `stability` section set them
    (parsed by the spec's own parser: the same checks, unknown keys refused)."""
    from fnosweep.spec import parse_stability

    return parse_stability((spec or {}).get("stability"), source="the study's stored spec").thresholds


def detail_numbers(rows: Sequence[TrialRow], *, direction: str) -> set[int]:
    """Trials whose whole history `conclude` reads: the best complete ones (it fits their
    curves) and the finished ones without a stored verdict (it diagnoses them)."""
    sign = 1.0 if direction == "minimize" else -1.0
    ranked = sorted(
        (r for r in rows if r.state == "COMPLETE" and r.value is not None and math.isfinite(r.value)),
        key=lambda r: (sign * (r.value or 0.0), r.number),
    )
    return {r.number for r in ranked[:FULL_HISTORIES]} | {
        r.number for r in rows if not r.verdict and r.state in ("COMPLETE", "PRUNED", "FAIL")
    }


def sweep_trials(
    rows: Sequence[TrialRow], histories: Mapping[int, History], counts: Mapping[int, int]
) -> list[SweepTrial]:
    """The study's trials for `conclude`: full histories where given (`detail_numbers`), and
    for the others a history of their epoch count with no metric loaded.

    `conclude` only counts the epochs of those (their verdicts are stored); a history with
    unloaded metrics makes any future rule that reads them say "could not judge" rather
    than judge wrongly. Building 200 000 full records instead costs seconds per report."""
    from fnosweep.conclude import SweepTrial

    out = []
    for r in rows:
        history = histories.get(r.number)
        if history is None and counts.get(r.number):
            history = History(run=r.run_info or RunInfo(), epochs=_blank(counts[r.number]))
        out.append(
            SweepTrial(
                number=r.number,
                state=r.state,
                params=dict(r.params),
                value=r.value,
                history=history,
                prune_reason=r.reason if r.state == "PRUNED" else None,
                verdict=r.verdict,
            )
        )
    return out


@functools.cache
def _blank(n: int) -> tuple[EpochRecord, ...]:
    # Shared and frozen: 1 000 trials of 200 epochs cost 200 records, not 200 000.
    return tuple(EpochRecord(epoch=i) for i in range(n))


def study_sweep_trials(ref: StudyRef) -> list[SweepTrial]:
    """A study's trials as `conclude` takes them, read from its store at the cost it needs."""
    from fnosweep.view import frames

    rows = ref.store.trials(ref.name)
    direction = ((ref.spec or {}).get("study") or {}).get("direction") or "minimize"
    detail = ref.store.epoch_lines(ref.name, sorted(detail_numbers(rows, direction=direction)))
    histories = frames.histories(detail, {r.number: r.run_info for r in rows})
    counts = ref.store.epoch_counts(ref.name)
    return sweep_trials(rows, histories, counts)


def sweep_conclusion(ref: StudyRef) -> str:
    """A study's conclusion as markdown, read from its store (the dashboard's study note)."""
    return conclusion_markdown(study_sweep_trials(ref), ref.spec)


def conclude_study(
    trials: Sequence[SweepTrial], spec: Mapping[str, Any] | None, *, target: float | None = None
) -> SweepConclusion:
    """`conclude` with the metric, direction, epoch budget and thresholds of the study's spec."""
    from fnosweep.conclude import conclude

    study = (spec or {}).get("study") or {}
    return conclude(
        trials,
        metric=study.get("metric") or "eval",
        direction=study.get("direction") or "minimize",
        epochs_budget=((spec or {}).get("training") or {}).get("epochs"),
        target=target,
        thresholds=thresholds(spec),
        space=(spec or {}).get("search"),
    )


def conclusion_markdown(trials: Sequence[SweepTrial], spec: Mapping[str, Any] | None) -> str:
    """The sweep conclusion of `conclude_study`, rendered as markdown."""
    from fnosweep.conclude import render_sweep

    return render_sweep(conclude_study(trials, spec))


def trial_diagnosis(
    study: str, row: TrialRow, history: History, spec: Mapping[str, Any] | None, *, target: float | None = None
) -> str:
    """The written diagnosis of one trial: what `fnosweep diagnose STUDY --trial N` prints
    and the report's section of that trial show, made here for both."""
    from fnosweep.diagnose import diagnose, render_trial

    metric = ((spec or {}).get("study") or {}).get("metric")
    result = diagnose(history, thresholds(spec), target=target, metric=metric)
    error = row.error if row.state == "FAIL" else None  # the traceback the driver stored
    return render_trial(result, history, title=f"{study}, trial {row.number} ({row.state})", error=error)

