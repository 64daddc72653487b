"""The sweep's conclusion: stable regions, the best configuration, pruning, what to change."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from fnosweep.diagnose import fmt
from fnosweep.diagnose.core import diagnose
from fnosweep.diagnose.findings import Diagnosis
from fnosweep.diagnose.regions import BAD, KnobRegion, Row, bad_bins, knob_region, summarize
from fnosweep.diagnose.thresholds import VERDICTS, Thresholds
from fnosweep.diagnose.ttt import TimeToTarget, time_to_target
from fnosweep.history import History

FINISHED = ("COMPLETE", "PRUNED", "FAIL")
CURVE_LABEL = "curve pruner"
"""How a curve-pruned trial's stored reason starts (fnosweep.pruners.explain)."""


@dataclass(frozen=True)
class SweepTrial:
    """One trial as the store reads it back."""

    number: int
    state: str
    """COMPLETE, PRUNED, FAIL, RUNNING or WAITING (Optuna's states)."""
    params: Mapping[str, Any]
    value: float | None
    history: History | None
    prune_reason: str | None = None
    """The stored prune finding's code (or text) for a stability prune; None for the pruner."""
    verdict: str | None = None
    """The stored verdict; recomputed from the history when None."""


@dataclass(frozen=True)
class TrialSummary:
    number: int
    state: str
    value: float | None
    verdict: str
    params: Mapping[str, Any]
    epochs_run: int
    ttt: TimeToTarget | None = None

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "state": self.state, "value": self.value,
                "verdict": self.verdict, "params": dict(self.params),
                "epochs_run": self.epochs_run,
                "time_to_target": self.ttt.to_json() if self.ttt else None}


@dataclass(frozen=True)
class SweepConclusion:
    metric: str
    direction: str
    target: float
    n_trials: int
    states: Mapping[str, int]
    verdicts: Mapping[str, int]
    regions: tuple[KnobRegion, ...]
    best: TrialSummary | None
    top: tuple[TrialSummary, ...]
    pruned: Mapping[str, int]
    """Pruned trials per reason (a verdict code, or ``pruner`` for Optuna's pruner)."""
    epochs_run: int
    epochs_budget: int | None
    epochs_saved: int | None
    """Epochs the pruned trials did not run: sum of (budget - epochs run)."""
    changes: tuple[str, ...]
    interactions: tuple[str, ...] = ()
    """lr bins crossed with the clip threshold and the scheduler: where instability sits."""
    curve_prunes: tuple[tuple[int, str], ...] = ()
    """(trial number, stored reason) of each trial the curve pruner stopped: the reason carries
    the epoch, the projected end value and the best it was compared with."""
    best_diagnosis: Diagnosis | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric, "direction": self.direction, "target": self.target,
            "n_trials": self.n_trials, "states": dict(self.states),
            "verdicts": dict(self.verdicts), "regions": [r.to_json() for r in self.regions],
            "best": self.best.to_json() if self.best else None,
            "top": [t.to_json() for t in self.top], "pruned": dict(self.pruned),
            "epochs_run": self.epochs_run, "epochs_budget": self.epochs_budget,
            "epochs_saved": self.epochs_saved, "changes": list(self.changes),
            "interactions": list(self.interactions),
            "curve_prunes": [{"number": n, "reason": r} for n, r in self.curve_prunes],
        }


def trial_verdict(t: SweepTrial, th: Thresholds) -> str:
    if t.verdict:
        return t.verdict
    if t.history is not None and t.history.epochs:
        return diagnose(t.history, th).verdict
    return "failed" if t.state == "FAIL" else "unknown"


def prune_label(t: SweepTrial) -> str:
    reason = (t.prune_reason or "").strip()
    # "median pruner: eval.32_l2 = 0.41 at epoch 2" counts as "median pruner": group by kind.
    return next((v for v in VERDICTS if reason.startswith(v)), reason.split(":")[0].strip() or "pruner")


def eval_key(metric: str) -> str:
    """The study metric ``eval.32_l2`` names the history's eval key ``32_l2``."""
    return metric.removeprefix("eval.")


def conclude(trials: Sequence[SweepTrial], *, metric: str, direction: str = "minimize",
             epochs_budget: int | None = None, target: float | None = None,
             thresholds: Thresholds | None = None) -> SweepConclusion:
    """What the sweep found, from its trials (finished ones count; running ones are listed)."""
    if direction not in ("minimize", "maximize"):
        raise ValueError(f"direction must be minimize or maximize, but got {direction!r}")
    th = thresholds or Thresholds()
    goal = th.target if target is None else target
    minimize = direction == "minimize"
    done = [t for t in trials if t.state in FINISHED]
    verdict = {t.number: trial_verdict(t, th) for t in done}
    regions = tuple(knob_region(k, rows, th.region_min_trials, minimize)
                    for k, rows in _rows_per_knob(done, verdict).items())
    ranked = _ranked([t for t in done if t.state == "COMPLETE"], minimize)
    top = tuple(_summary(t, verdict[t.number], metric, goal, epochs_budget) for t in ranked[:3])
    best = top[0] if top else None
    best_diag = (diagnose(ranked[0].history, th, target=goal)
                 if ranked and ranked[0].history and ranked[0].history.epochs else None)
    pruned = Counter(prune_label(t) for t in done if t.state == "PRUNED")
    run = sum(_epochs(t) for t in done)
    saved = (sum(max(epochs_budget - _epochs(t), 0) for t in done if t.state == "PRUNED")
             if epochs_budget else None)
    conclusion = SweepConclusion(
        metric=metric, direction=direction, target=goal, n_trials=len(trials),
        states=dict(Counter(t.state for t in trials)), verdicts=dict(Counter(verdict.values())),
        regions=regions, best=best, top=top, pruned=dict(pruned), epochs_run=run,
        epochs_budget=epochs_budget, epochs_saved=saved, changes=(), best_diagnosis=best_diag,
        interactions=_interactions(done, verdict, regions),
        curve_prunes=tuple((t.number, t.prune_reason or "") for t in done
                           if t.state == "PRUNED" and prune_label(t) == CURVE_LABEL))
    return _with_changes(conclusion)


def _rows_per_knob(done: list[SweepTrial], verdict: Mapping[int, str]) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {}
    for t in done:
        for k, v in t.params.items():
            out.setdefault(k, []).append((v, verdict[t.number], t.value))
    return {k: rows for k, rows in out.items() if len({repr(v) for v, _, _ in rows}) > 1}


def _ranked(complete: list[SweepTrial], minimize: bool) -> list[SweepTrial]:
    ok = [t for t in complete if t.value is not None and math.isfinite(t.value)]
    sign = 1.0 if minimize else -1.0
    return sorted(ok, key=lambda t: sign * (t.value or 0.0))


def _epochs(t: SweepTrial) -> int:
    return len(t.history.epochs) if t.history else 0


def _summary(t: SweepTrial, verdict: str, metric: str, target: float,
             budget: int | None) -> TrialSummary:
    ttt = None
    if t.history is not None and t.history.epochs:
        ttt = time_to_target(t.history, target, metric=eval_key(metric), horizon=budget)
    return TrialSummary(t.number, t.state, t.value, verdict, t.params, _epochs(t), ttt)


def _with_changes(c: SweepConclusion) -> SweepConclusion:
    changes: list[str] = []
    for r in c.regions:
        safe = [b for b in r.bins if b.safe]
        bad = bad_bins(r)
        if bad and safe:
            changes.append(f"{r.knob}: keep to {', '.join(b.label for b in safe)} — "
                           f"{summarize(r).split(': ', 1)[1]}.")
        elif bad:
            changes.append(f"{r.knob}: no safe bin yet; avoid {', '.join(b.label for b in bad)}.")
    if c.best is not None:
        changes.append(f"start from trial {c.best.number} ({_params(c.best.params)}), "
                       f"verdict {c.best.verdict}.")
        if c.best.ttt is not None and c.best.ttt.status == "not_within":
            changes.append(f"budget: the best trial reaches {fmt.num(c.target)} only after "
                           f"~{_epoch(c.best.ttt.epoch)} epochs; raise training.epochs or the lr.")
    if c.best_diagnosis is not None:
        changes += [f"best trial, {f.code.replace('_', ' ')}: {f.action}"
                    for f in c.best_diagnosis.findings if f.severity == "problem"]
    unstable = sum(c.verdicts.get(v, 0) for v in BAD)
    finished = sum(c.verdicts.values())
    if finished and unstable * 2 > finished:
        changes.append(f"{unstable} of {finished} trials were unstable: search lower lr "
                       "(÷10 on both bounds) and clip_threshold ≤ 1.0.")
    return replace(c, changes=tuple(changes))


def _params(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={fmt.sci(v) if isinstance(v, float) and v and abs(v) < 1e-2 else v}"
                     for k, v in params.items())


def _epoch(e: float | None) -> str:
    return "never" if e is None or not math.isfinite(e) else f"{e:,.0f}"


_PARTNERS = ("clip_threshold", "scheduler.type", "scheduler")


def _interactions(done: list[SweepTrial], verdict: Mapping[int, str],
                  regions: tuple[KnobRegion, ...]) -> tuple[str, ...]:
    """Per lr bin, the unstable share for each clip threshold and scheduler value."""
    lr = next((r for r in regions if r.knob.rsplit(".", 1)[-1] == "lr" and r.kind == "log"), None)
    partners = [r.knob for r in regions if r.knob.endswith(_PARTNERS)]
    if lr is None or not partners:
        return ()
    lines = []
    for b in lr.bins:
        inside = [t for t in done if lr.knob in t.params and b.low is not None
                  and b.high is not None and _in_bin(t.params[lr.knob], b.low, b.high, lr)]
        cells = []
        for knob in partners:
            per: dict[str, list[str]] = {}
            for t in inside:
                per.setdefault(_label(t.params.get(knob)), []).append(verdict[t.number])
            name = "scheduler" if knob.endswith("scheduler.type") else knob.rsplit(".", 1)[-1]
            cells += [f"{name} {v} {sum(x in BAD for x in vs)}/{len(vs)}"
                      for v, vs in sorted(per.items())]
        if cells:
            lines.append(f"lr {b.label}: " + ", ".join(cells) + " unstable")
    return tuple(lines)


def _in_bin(v: Any, low: float, high: float, region: KnobRegion) -> bool:
    top = region.bins[-1].high
    return low <= v < high or (high == top and v == high)


def _label(v: Any) -> str:
    return "null" if v is None else str(v)
