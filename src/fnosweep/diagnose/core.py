"""History in, diagnosis out: run every rule, pick the verdict; and the pruning decision."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace

from fnosweep.diagnose.context import Context, Result, build_context
from fnosweep.diagnose.divergence import diverged_rule
from fnosweep.diagnose.evaluation import eval_rule
from fnosweep.diagnose.findings import Diagnosis, Finding, ordered, resolve, verdict_of
from fnosweep.diagnose.gradients import gradient_rule, still_learning
from fnosweep.diagnose.pace import slow_rule
from fnosweep.diagnose.progress import overfitting_rule, plateau_rule
from fnosweep.diagnose.size import overparam_rule
from fnosweep.history import History
from fnosweep.spec.thresholds import UNJUDGED, VERDICTS, Thresholds

Rule = Callable[[Context, Collection[str]], Result]

RULES: dict[str, Rule] = {
    "diverged": diverged_rule,
    "exploding_gradients": gradient_rule,
    "eval_mismatch": eval_rule,
    "overfitting": overfitting_rule,
    "plateau": plateau_rule,
    "learning_slowly": slow_rule,
    "overparameterized": overparam_rule,
}
"""Every rule, in the order they run: ``rule(ctx, found)`` with the codes of the problems
and warnings found by the rules before it. The same signature serves `diagnose` and
`should_prune`. After an ``eval_mismatch`` the later rules judge without the eval (it does
not measure the model)."""


def diagnose(history: History, thresholds: Thresholds | None = None, *,
             target: float | None = None, metric: str | None = None) -> Diagnosis:
    """Judge one run from its history.

    `target` is the eval value counted as good (default ``thresholds.target``, 0.1);
    `metric` the eval key to judge (default: the most often measured ``*_l2``). A history
    with no epochs (a trial that failed or was stopped before its first epoch ended) gets
    the verdict ``unknown`` (`UNJUDGED`): nothing in it says healthy. The actions are
    resolved across findings: one per knob, the most severe finding's.
    """
    th = thresholds or Thresholds()
    ctx = build_context(history, th, target, metric)
    if not history.epochs:
        return Diagnosis(UNJUDGED, (), ("everything: the history has no epochs",))
    missing: list[str] = []
    if metric is not None and ctx.metric is None:
        missing.append(f"eval: the history has no '{metric}'")
    findings, why = run_rules(ctx, RULES)
    findings_resolved, actions = resolve(ordered(findings))
    return Diagnosis(verdict_of(findings_resolved), findings_resolved,
                     tuple(dict.fromkeys(missing + why)), actions)


def run_rules(ctx: Context, rules: dict[str, Rule]) -> Result:
    findings: list[Finding] = []
    missing: list[str] = []
    for rule in rules.values():
        found = {f.code for f in findings if f.severity != "info"}
        if "eval_mismatch" in found and ctx.eval is not None:
            ctx = replace(ctx, eval=None)
        got, why = rule(ctx, found)
        findings += got
        missing += why
    return findings, missing


@dataclass(frozen=True)
class PrunePolicy:
    """When a running trial is stopped on what its diagnosis shows so far."""

    prune_on: tuple[str, ...]
    """Verdicts to prune on (a subset of `VERDICTS`)."""
    thresholds: Thresholds = field(default_factory=Thresholds)
    spare_improving: bool = True
    """Let an exploding run go on while its loss or eval still improves (BENCHMARKS §1: then
    stability pruning never stops a seed's best trial)."""

    def __post_init__(self) -> None:
        unknown = [c for c in self.prune_on if c not in VERDICTS]
        if unknown:
            raise ValueError(f"prune_on must name verdicts {VERDICTS}, but got {unknown!r}")


def should_prune(history: History, policy: PrunePolicy) -> Finding | None:
    """After an epoch of a running trial: the problem finding to prune on, or None.

    Runs the rules of the verdicts in ``policy.prune_on`` (the same rules as `diagnose`),
    and fires only on a problem; the most severe wins. An exploding run that still improves
    is spared when ``policy.spare_improving``: the verdict says it explodes, the policy lets
    it run while it learns.
    """
    if not history.epochs:
        return None
    ctx = build_context(history, policy.thresholds, None, None)
    rules = {c: RULES[c] for c in VERDICTS if c in policy.prune_on and c in RULES}
    found, _ = run_rules(ctx, rules)
    for code in VERDICTS:
        hit = next((f for f in found if f.code == code and f.severity == "problem"), None)
        if hit is None:
            continue
        if code == "exploding_gradients" and policy.spare_improving and still_learning(ctx):
            continue
        return hit
    return None


def prune_decision(history: History, prune_on: Sequence[str],
                   thresholds: Thresholds) -> Finding | None:
    """`should_prune` with a policy built from its parts (the driver's entry point)."""
    return should_prune(history, PrunePolicy(tuple(prune_on), thresholds))
