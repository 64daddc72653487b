"""History in, diagnosis out: run every rule, pick the verdict; and the pruning decision."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fnosweep.diagnose.context import Context, Result, build_context
from fnosweep.diagnose.divergence import diverged_rule
from fnosweep.diagnose.findings import Diagnosis, Finding, ordered, verdict_of
from fnosweep.diagnose.gradients import gradient_rule
from fnosweep.diagnose.progress import overfitting_rule, plateau_rule, slow_rule
from fnosweep.diagnose.size import overparam_rule
from fnosweep.history import History
from fnosweep.spec.thresholds import UNJUDGED, VERDICTS, Thresholds

Rule = Callable[[Context], Result]

RULES: dict[str, Rule] = {
    "diverged": diverged_rule,
    "exploding_gradients": gradient_rule,
    "overfitting": overfitting_rule,
    "plateau": plateau_rule,
    "learning_slowly": lambda ctx: slow_rule(ctx, plateaued=False),
    "overparameterized": overparam_rule,
}
"""The rule that can give each verdict (it may also give warnings and notes)."""


def diagnose(history: History, thresholds: Thresholds | None = None, *,
             target: float | None = None, metric: str | None = None) -> Diagnosis:
    """Judge one run from its history.

    `target` is the eval value counted as good (default ``thresholds.target``, 0.1);
    `metric` the eval key to judge (default: the most often measured ``*_l2``). A history
    with no epochs (a trial that failed or was stopped before its first epoch ended) gets
    the verdict ``unknown`` (`UNJUDGED`): nothing in it says healthy.
    """
    th = thresholds or Thresholds()
    ctx = build_context(history, th, target, metric)
    if not history.epochs:
        return Diagnosis(UNJUDGED, (), ("everything: the history has no epochs",))
    findings: list[Finding] = []
    missing: list[str] = []
    if metric is not None and ctx.metric is None:
        missing.append(f"eval: the history has no '{metric}'")
    for code, rule in RULES.items():
        if code == "learning_slowly":
            plateaued = any(f.code == "plateau" and f.severity == "problem" for f in findings)
            got, why = slow_rule(ctx, plateaued)
        else:
            got, why = rule(ctx)
        findings += got
        missing += why
    ranked = ordered(findings)
    return Diagnosis(verdict_of(ranked), ranked, tuple(dict.fromkeys(missing)))


def prune_decision(history: History, prune_on: Sequence[str],
                   thresholds: Thresholds) -> Finding | None:
    """After each epoch of a running trial: the finding to prune on, or None.

    Runs only the rules of the verdicts in `prune_on` and fires only on a problem (strong
    evidence: a non-finite value; growth by `explode_growth` with clipping on most steps for
    `explode_min_epochs` epochs; ...). The most severe wins.
    """
    unknown = [c for c in prune_on if c not in VERDICTS]
    if unknown:
        raise ValueError(f"prune_on must name verdicts {VERDICTS}, but got {unknown!r}")
    if not history.epochs:
        return None
    ctx = build_context(history, thresholds, None, None)
    for code in VERDICTS:
        if code not in prune_on or code not in RULES:
            continue
        found, _ = RULES[code](ctx)
        hit = next((f for f in found if f.code == code and f.severity == "problem"), None)
        if hit is not None:
            return hit
    return None
