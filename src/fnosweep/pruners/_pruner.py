"""`CurvePruner`: the curve decision (`_decide.decide`) as an Optuna pruner.

It reads only the study's COMPLETE trials and the trial's own intermediate values, so it
works with any sampler (a pruned trial is PRUNED as Optuna expects; TPE's constant liar
treats it as usual) and with trials running in parallel.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import optuna
from optuna.trial import FrozenTrial, TrialState

from fnosweep.pruners._decide import CurveSettings, Decision, decide

ATTR = "curve_pruner"
"""User attribute the pruner writes on a trial it prunes: the numbers of its decision."""


class CurvePruner(optuna.pruners.BasePruner):
    """Prune a trial whose learning curve, projected to the last step, cannot beat the best.

    After `n_warmup_steps`, the trial's recent values are fitted with an exponential and a
    power law and projected to `max_resource` (the budget's last step; ``"auto"``: the last
    step of the finished trials). The trial is pruned when even the optimistic end of that
    projection (the good end of a one-sided `confidence` prediction interval) is worse than the
    `rank`-th best COMPLETE trial's value by more than `margin` (relative), and so is the
    trial's best value so far carried `headroom` times as far as the largest gain any
    COMPLETE trial made from the same step to its end (the schedule's late drop, which the
    trial's own recent curve cannot see; `headroom=None` leaves it out). A slow starter
    whose curve still points below the best survives; a curve flattening above it stops.
    With `or_pruner`, the trial is also pruned whenever that pruner would prune it.
    Nothing is pruned before the study has `n_startup_trials` COMPLETE trials.

    When it prunes, it stores its numbers on the trial as the user attribute
    ``curve_pruner`` (see `explain`).
    """

    def __init__(self, n_startup_trials: int = 1, n_warmup_steps: int = 2,
                 max_resource: int | Literal["auto"] = "auto", confidence: float = 0.8,
                 margin: float = 0.0, rank: int = 1, headroom: float | None = 1.5,
                 or_pruner: optuna.pruners.BasePruner | None = None) -> None:
        self._settings = CurveSettings(n_startup_trials=n_startup_trials,
                                       n_warmup_steps=n_warmup_steps, confidence=confidence,
                                       margin=margin, rank=rank, headroom=headroom)
        # A budget shorter than the warm-up is allowed (a two-epoch smoke run): nothing is pruned.
        if max_resource != "auto" and not (isinstance(max_resource, int) and max_resource >= 0):
            raise ValueError(f"max_resource must be 'auto' or an integer >= 0, but got "
                             f"max_resource={max_resource!r}")
        if or_pruner is not None and not isinstance(or_pruner, optuna.pruners.BasePruner):
            raise ValueError(f"or_pruner must be an Optuna pruner, but got or_pruner={or_pruner!r}")
        self._max_resource = max_resource
        self._or_pruner = or_pruner

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        decision = self.decision(study, trial)
        if decision.prune:
            # Optuna's own pruners keep their bookkeeping on the trial through the storage
            # the same way (SuccessiveHalvingPruner's rungs).
            attr = {**decision.to_attr(), "confidence": self._settings.confidence,
                    "margin": self._settings.margin, "rank": self._settings.rank,
                    "headroom": self._settings.headroom}
            study._storage.set_trial_user_attr(trial._trial_id, ATTR, attr)
            return True
        return self._or_pruner is not None and self._or_pruner.prune(study, trial)

    def decision(self, study: optuna.Study, trial: FrozenTrial) -> Decision:
        """What the curve rule says about `trial` now (without `or_pruner`)."""
        complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        finished = [(t.number, t.value) for t in complete if t.value is not None]
        if self._max_resource != "auto":
            end = self._max_resource
        else:
            ends = [max(t.intermediate_values) for t in complete if t.intermediate_values]
            if not ends:
                return Decision(False, "startup")
            end = max(ends)
        points = sorted(trial.intermediate_values.items())
        curves = [sorted(t.intermediate_values.items()) for t in complete if t.value is not None]
        return decide(points, finished, end_step=end,
                      minimize=study.direction == optuna.study.StudyDirection.MINIMIZE,
                      settings=self._settings, curves=curves)


def explain(attr: Mapping[str, Any], *, metric: str = "value", unit: str = "step") -> str:
    """The stored decision as one sentence (what a prune reason should say)."""
    def num(key: str) -> str:
        v = attr.get(key)
        return "-" if v is None else f"{v:.4g}"

    conf = attr.get("confidence")
    bound = f"{num('optimistic')} at best" + (f", {100 * conf:.0f} % one-sided" if conf else "")
    if attr.get("experienced") is not None:
        bound += (f"; {num('experienced')} with {attr.get('headroom') or 1:g}× the largest gain a "
                  f"finished trial made from {unit} {attr.get('step')}")
    if attr.get("why") == "non_finite":
        return f"curve pruner: {metric} {num('value')} at {unit} {attr.get('step')} is not finite"
    rank = attr.get("rank") or 1
    whose = "the best finished trial" if rank == 1 else f"finished trial ranked {rank}"
    margin = attr.get("margin") or 0
    plus = f" by more than {100 * margin:.3g} %" if margin else ""
    return (f"curve pruner: {metric} {num('value')} at {unit} {attr.get('step')} points to "
            f"{num('predicted')} at {unit} {attr.get('end_step')} ({bound}), worse{plus} than "
            f"{num('best')}, {whose} (trial {attr.get('best_trial')})")
