"""The sweep's conclusion: what causes the instability, the regions, the best configuration,
pruning, what to change. One computation: the text, `--suggest` and the report's stability
map and importance figure all read this value."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from fnosweep.conclude._attribution import Attribution, Case, attribute
from fnosweep.conclude._changes import interactions, with_changes
from fnosweep.conclude._counts import Outcome
from fnosweep.conclude._grid import StabilityGrid, axes, grid_of
from fnosweep.conclude._importance import Importance, importance
from fnosweep.conclude._outcome import BAD, CURVE_LABEL, outcome, prune_label
from fnosweep.conclude._regions import Binning, KnobRegion, Row, binning, knob_region
from fnosweep.conclude._summary import TrialSummary
from fnosweep.diagnose.core import diagnose
from fnosweep.diagnose.findings import Diagnosis
from fnosweep.diagnose.ttt import time_to_target
from fnosweep.history import History
from fnosweep.spec.thresholds import Thresholds

FINISHED = ("COMPLETE", "PRUNED", "FAIL")


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
    interrupted: bool = False
    """Stopped by fnosweep (Ctrl-C, a dead driver) and re-queued: counted nowhere."""


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
    attribution: Attribution | None = None
    importance: Importance | None = None
    bins: Mapping[str, Binning] = field(default_factory=dict)
    """The one binning of each searched knob."""
    grid: StabilityGrid | None = None
    """The stability map's cells (the cause's pair, else lr × clip threshold)."""
    interrupted: int = 0
    """Trials stopped by fnosweep and re-queued: not counted in states or verdicts."""
    outcomes: tuple[Outcome, ...] = ()
    """(state, outcome, prune reason) of each counted trial: what the counts sentence counts."""
    curve_prunes: tuple[tuple[int, str], ...] = ()
    """(trial number, stored reason) of each trial the curve pruner stopped: the reason carries
    the epoch, the projected end value and the best it was compared with."""
    best_diagnosis: Diagnosis | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric, "direction": self.direction, "target": self.target,
            "n_trials": self.n_trials, "states": dict(self.states), "interrupted": self.interrupted,
            "verdicts": dict(self.verdicts), "regions": [r.to_json() for r in self.regions],
            "attribution": self.attribution.to_json() if self.attribution else None,
            "importance": self.importance.to_json() if self.importance else None,
            "stability_map": self.grid.to_json() if self.grid else None,
            "best": self.best.to_json() if self.best else None,
            "top": [t.to_json() for t in self.top], "pruned": dict(self.pruned),
            "epochs_run": self.epochs_run, "epochs_budget": self.epochs_budget,
            "epochs_saved": self.epochs_saved, "changes": list(self.changes),
            "interactions": list(self.interactions),
            "curve_prunes": [{"number": n, "reason": r} for n, r in self.curve_prunes],
        }


def trial_verdict(t: SweepTrial, th: Thresholds) -> str:
    """The trial's outcome (`_outcome.outcome`), its verdict recomputed when none is stored."""
    if not t.verdict and t.history is not None and t.history.epochs:
        return diagnose(t.history, th).verdict
    return outcome(t.state, t.verdict)


def eval_key(metric: str) -> str:
    """The study metric ``eval.32_l2`` names the history's eval key ``32_l2``."""
    return metric.removeprefix("eval.")


@dataclass(frozen=True)
class Evidence:
    """What the attribution and importance rest on: the counted trials, their outcomes, the bins."""

    done: tuple[SweepTrial, ...]
    outcomes: Mapping[int, str]
    bins: Mapping[str, Binning]
    attribution: Attribution
    importance: Importance


def evidence(trials: Sequence[SweepTrial], *, direction: str, thresholds: Thresholds,
             space: Mapping[str, Mapping[str, Any]] | None = None) -> Evidence:
    """The finished, not interrupted trials; the cause of their instability; what matters for
    the objective among the stable ones (shared by `conclude` and `suggest_space`)."""
    done = tuple(t for t in trials if t.state in FINISHED and not t.interrupted)
    outcomes = {t.number: trial_verdict(t, thresholds) for t in done}
    bins = {k: binning([t.params[k] for t in done if k in t.params]) for k in _searched(done)}
    cases = [Case({k: v for k, v in t.params.items() if k in bins}, outcomes[t.number] in BAD) for t in done]
    attribution = attribute(cases, bins, min_trials=thresholds.region_min_trials)
    stable = [(t.params, t.value) for t in done
              if t.state == "COMPLETE" and outcomes[t.number] not in BAD and t.value is not None]
    return Evidence(done, outcomes, bins, attribution, importance(stable, list(bins), direction=direction,
                                                                   space=space))


def conclude(trials: Sequence[SweepTrial], *, metric: str, direction: str = "minimize",
             epochs_budget: int | None = None, target: float | None = None,
             thresholds: Thresholds | None = None,
             space: Mapping[str, Mapping[str, Any]] | None = None) -> SweepConclusion:
    """What the sweep found, from its trials (finished ones count; running ones are listed;
    interrupted ones, re-queued by fnosweep, do not count). `space` (the spec's search
    section) gives the importance evaluator the searched ranges."""
    if direction not in ("minimize", "maximize"):
        raise ValueError(f"direction must be minimize or maximize, but got {direction!r}")
    th = thresholds or Thresholds()
    goal = th.target if target is None else target
    minimize = direction == "minimize"
    ev = evidence(trials, direction=direction, thresholds=th, space=space)
    done, verdict = list(ev.done), ev.outcomes
    regions = tuple(knob_region(k, rows, th.region_min_trials, minimize, bins=ev.bins[k])
                    for k, rows in _rows_per_knob(done, verdict, ev.bins).items())
    ranked = _ranked([t for t in done if t.state == "COMPLETE"], minimize)
    top = tuple(_summary(t, verdict[t.number], metric, goal, epochs_budget) for t in ranked[:3])
    best_diag = (diagnose(ranked[0].history, th, target=goal)
                 if ranked and ranked[0].history and ranked[0].history.epochs else None)
    pruned = Counter(prune_label(t.prune_reason) for t in done if t.state == "PRUNED")
    run = sum(_epochs(t) for t in done)
    saved = (sum(max(epochs_budget - _epochs(t), 0) for t in done if t.state == "PRUNED")
             if epochs_budget else None)
    counted = [t for t in trials if not t.interrupted]
    cause = ev.attribution.cause.knobs if ev.attribution.cause else None
    map_axes = axes(list(ev.bins), cause)
    grid = (grid_of({t.number: (t.params, verdict[t.number]) for t in done}, *map_axes, ev.bins)
            if map_axes else None)
    conclusion = SweepConclusion(
        metric=metric, direction=direction, target=goal, n_trials=len(counted),
        states=dict(Counter(t.state for t in counted)), verdicts=dict(Counter(verdict.values())),
        regions=regions, best=top[0] if top else None, top=top, pruned=dict(pruned), epochs_run=run,
        epochs_budget=epochs_budget, epochs_saved=saved, changes=(), best_diagnosis=best_diag,
        attribution=ev.attribution, importance=ev.importance, bins=ev.bins, grid=grid,
        interrupted=len(trials) - len(counted),
        outcomes=tuple((t.state, verdict.get(t.number), t.prune_reason) for t in counted),
        curve_prunes=tuple((t.number, t.prune_reason or "") for t in done
                           if t.state == "PRUNED" and prune_label(t.prune_reason) == CURVE_LABEL))  # fmt: skip
    return with_changes(replace(conclusion, interactions=interactions(done, verdict, regions)))


def _searched(done: Sequence[SweepTrial]) -> list[str]:
    """Knobs that took more than one value among the trials, in the order they were met."""
    seen: dict[str, set[str]] = {}
    for t in done:
        for k, v in t.params.items():
            seen.setdefault(k, set()).add(repr(v))
    return [k for k, vals in seen.items() if len(vals) > 1]


def _rows_per_knob(done: list[SweepTrial], verdict: Mapping[int, str],
                   bins: Mapping[str, Binning]) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {k: [] for k in bins}
    for t in done:
        for k, v in t.params.items():
            if k in out:
                out[k].append((v, verdict[t.number], t.value))
    return out


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
    return TrialSummary(t.number, t.state, t.value, dict(t.params), _epochs(t), verdict, t.prune_reason, ttt)
