"""Which knobs matter for the objective among the stable trials: Optuna's PED-ANOVA.

PED-ANOVA (Watanabe et al., IJCAI 2023) asks which knobs set the best trials apart from
the rest: it compares, per knob, the density of the top quantile's values with that of all
trials. It was chosen over fANOVA because it needs no random forest (Optuna's fANOVA needs
scikit-learn, and its forest needs far more trials than a 16-trial sweep has), it is
deterministic (the same sweep gives the same text), and it is Optuna 5's default, so the
numbers match what optuna-dashboard shows. Its paper asks for about five trials in the top
quantile: the quantile is set so that four at least are there, from 8 stable trials on.

Only COMPLETE trials that were not unstable count: a pruned trial's value is from an
earlier epoch than the others', and an unstable one's says nothing about the knob's effect
once training works. The in-memory study built here is a throwaway container for the
evaluator, not the sweep's study.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fnosweep.conclude._regions import is_number

MIN_TRIALS = 8
TOP = 4
"""Trials the top quantile holds at least."""


@dataclass(frozen=True)
class Importance:
    values: Mapping[str, float] | None
    """Knob -> PED-ANOVA importance (they sum to 1), most important first; None when not computed."""
    n: int
    """Stable complete trials it rests on."""
    quantile: float
    note: str

    def to_json(self) -> dict[str, Any]:
        return {"evaluator": "PED-ANOVA", "values": dict(self.values) if self.values else None,
                "n": self.n, "target_quantile": self.quantile, "note": self.note}


def importance(trials: Sequence[tuple[Mapping[str, Any], float]], knobs: Sequence[str], *,
               direction: str, space: Mapping[str, Mapping[str, Any]] | None = None) -> Importance:
    """PED-ANOVA importances of `knobs` over (params, value) of the stable complete trials."""
    scored = [(p, v) for p, v in trials if v is not None and math.isfinite(v)]
    n = len(scored)
    if n < MIN_TRIALS:
        return Importance(None, n, 0.0, f"{n} stable complete trial(s): importance needs {MIN_TRIALS}")
    varied = [k for k in knobs if len({repr(p.get(k)) for p, _ in scored}) > 1]
    if not varied:
        return Importance(None, n, 0.0, "no searched knob took two values among the stable complete trials")
    quantile = round(min(0.5, max(0.1, TOP / n)), 3)
    import optuna
    from optuna.importance import PedAnovaImportanceEvaluator
    from optuna.trial import create_trial

    dists = {k: _distribution(k, [p[k] for p, _ in scored if k in p], (space or {}).get(k)) for k in varied}
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "study created in memory" line
    try:
        study = optuna.create_study(direction="maximize" if direction == "maximize" else "minimize")
        study.add_trials([create_trial(value=v, params={k: p[k] for k in varied if k in p},
                                       distributions={k: dists[k] for k in varied if k in p})
                          for p, v in scored])
        with warnings.catch_warnings():  # the evaluator's notes on small studies are not the user's
            warnings.simplefilter("ignore")
            values = optuna.importance.get_param_importances(
                study, evaluator=PedAnovaImportanceEvaluator(target_quantile=quantile))
    except (RuntimeError, ValueError) as e:  # a value outside its distribution
        return Importance(None, n, quantile, f"Optuna could not compute importances: {e}")
    finally:
        optuna.logging.set_verbosity(verbosity)
    return Importance(dict(values), n, quantile,
                      f"PED-ANOVA over {n} stable complete trials (top {quantile:.0%} vs all)")


def _distribution(key: str, values: list[Any], entry: Mapping[str, Any] | None) -> Any:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if entry is not None and entry.get("type") in ("float", "int"):
        low, high = _bound(entry.get("low")), _bound(entry.get("high"))
        if low is not None and high is not None and all(low <= v <= high for v in values if is_number(v)):
            if entry["type"] == "int" and all(isinstance(v, int) for v in values):
                step = int(entry.get("step") or 1)
                return IntDistribution(int(low), int(high), log=bool(entry.get("log")), step=step)
            if entry["type"] == "float":
                return FloatDistribution(low, high, log=bool(entry.get("log")))
    if all(is_number(v) for v in values) and len(set(values)) > 6:
        low, high = float(min(values)), float(max(values))
        return FloatDistribution(low, high, log=low > 0 and high / low >= 20)
    return CategoricalDistribution(list(dict.fromkeys(values)))


def _bound(x: Any) -> float | None:
    try:
        return float(x)
    except (TypeError, ValueError):
        return None
