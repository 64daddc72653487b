"""After each epoch of a running trial: continue, prune, or stop and re-queue it.

One pure function turns what the driver knows after an epoch (the trial's history so
far, Optuna's pruner's answer, a stop request) into one decision, as Optuna's
`_run_trial` has one place that turns an outcome into a state. The driver only gathers
the inputs and carries the decision out.

The order is the order of evidence: a non-finite objective or loss (the `diverged`
verdict) first, then the other stability rules of `prune_on`, then Optuna's pruner, then
a stop request. With `diverged` out of `prune_on` a non-finite objective is reported to
Optuna like any value: Optuna's pruner decides (its median and percentile pruners prune
a NaN), and a trial that ends on one is FAILed ("without a finite objective").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from fnosweep.history import History, metric_value
from fnosweep.spec.thresholds import Thresholds

Action = Literal["continue", "prune", "requeue"]


@dataclass(frozen=True)
class Policy:
    """What a sweep's spec says about stopping a trial early."""

    metric: str
    """The objective's eval key (`study.metric`)."""
    pruner: str
    """The Optuna pruner's type, for the reason line."""
    prune_on: Sequence[str]
    """The verdicts that prune a trial (`stability.prune_on`); `diverged` is the NaN stop."""
    thresholds: Thresholds


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str | None = None
    rule_error: Exception | None = None
    """A stability rule raised: the trial is judged by its value only, and the error is kept."""



def reportable(value: float | None, policy: Policy) -> float | None:
    """The value to report to Optuna this epoch: a finite one, or with the NaN stop off
    (`diverged` not in `prune_on`) any value the epoch has, so Optuna's pruner judges it."""
    if value is None:
        return None
    return value if math.isfinite(value) or "diverged" not in policy.prune_on else None


def decide(history: History, policy: Policy, *, budget: int, optuna_prunes: bool, stop_requested: bool,
           pruner_note: Mapping[str, Any] | None = None) -> Decision:  # fmt: skip
    """The decision after the last epoch of `history` (a running trial's epochs so far);
    `budget` is the trial's epoch count: a stop request after its last epoch keeps the
    finished trial (it completes) instead of re-queuing it. `pruner_note` is what the curve
    pruner stored of its decision (`fnosweep.pruners.ATTR`): its numbers become the reason."""
    from fnosweep.diagnose import prune_decision  # the stability rules: numpy, loaded by the driver only

    record = history.epochs[-1]
    value = metric_value(record, policy.metric)
    if "diverged" in policy.prune_on:
        loss_ok = record.train_loss is None or math.isfinite(record.train_loss)
        if value is None or not math.isfinite(value) or not loss_ok:
            what = "training loss" if not loss_ok else policy.metric
            return Decision("prune", f"diverged: non-finite {what} at epoch {record.epoch}")
    rule_error = None
    try:
        finding = prune_decision(history, policy.prune_on, policy.thresholds)
    except Exception as e:  # a bug in a rule: the trial trains on, judged by its value only
        finding, rule_error = None, e
    if finding is not None:
        return Decision("prune", f"{finding.code}: {finding.evidence}")
    if optuna_prunes:
        if pruner_note and pruner_note.get("step") == record.epoch:
            from fnosweep.pruners import explain

            return Decision("prune", explain(pruner_note, metric=policy.metric, unit="epoch"), rule_error)
        shown = "n/a" if value is None else f"{value:.4g}"
        reason = f"{policy.pruner} pruner: {policy.metric} = {shown} at epoch {record.epoch}"
        return Decision("prune", reason, rule_error)
    if stop_requested and record.epoch < budget - 1:
        return Decision("requeue", f"interrupted by the user after epoch {record.epoch}", rule_error)
    return Decision("continue", None, rule_error)
