"""Replay pruning policies over a finished unpruned sweep: which settings would have saved what.

With one trial at a time and deterministic CPU training (fixed seeds), a pruned run of the
same configurations is exactly a truncation of the unpruned histories: each trial stops at
the first epoch where a rule fires. So the unpruned study of `sweep_efficiency.py` answers,
in seconds and without training, what any median-pruner setting (Optuna's own
`MedianPruner`, fed the recorded values in the same order) with or without fnosweep's
stability rules (`prune_decision`, as the driver calls it) would have cost and found.
`sweep_efficiency.py` checks the replay against its live pruned runs and prints a grid.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import _common  # noqa: F401  (puts src/ on sys.path)

from fnosweep.diagnose import Thresholds, prune_decision
from fnosweep.history import History, metric_value

GRID = [(startup, warmup) for startup in (1, 2, 3) for warmup in (0, 1, 2)]
"""(n_startup_trials, n_warmup_steps) of the median pruners replayed."""
OTHERS: dict[str, Callable[[], object]] = {
    # stricter than the median: prune unless in the best quarter at the same epoch
    "percentile 25, 3/2": lambda: _optuna().pruners.PercentilePruner(25.0, n_startup_trials=3, n_warmup_steps=2),
    # rungs at 1, 4, 16 epochs, a quarter goes on at each (ASHA's defaults, §2)
    "successive halving 1/4": lambda: _optuna().pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=4),
}
"""Other Optuna pruners replayed, by label: what a stricter metric pruner would cost and find."""


@dataclass(frozen=True)
class Replayed:
    epochs: int
    best: float | None  # the best final value among trials that ran to the end
    pruned: tuple[int, ...]  # trial numbers


def replay(histories: Mapping[int, History], metric: str, pruner: Callable[[], object] | None,
           prune_on: Sequence[str], thresholds: Thresholds) -> Replayed:  # fmt: skip
    """Trials in number order, one at a time, as the driver runs them with max_concurrent 1."""
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(pruner=pruner() if pruner else optuna.pruners.NopPruner())
    epochs, finals, pruned = 0, [], []
    for number in sorted(histories):
        h = histories[number]
        trial = study.ask()
        stopped = False
        for i, record in enumerate(h.epochs):
            epochs += 1
            value = metric_value(record, metric)
            if value is None or not math.isfinite(value):
                stopped = True  # the driver stops a non-finite trial at once
                break
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                trial.report(value, record.epoch)
            finding = prune_decision(History(h.run, h.epochs[: i + 1]), prune_on, thresholds) if prune_on else None
            if finding is not None or trial.should_prune():
                stopped = True
                break
        if stopped:
            pruned.append(number)
            study.tell(trial, state=TrialState.PRUNED)
        else:
            final = metric_value(h.epochs[-1], metric)
            finals.append(final)
            study.tell(trial, final)
    return Replayed(epochs, min(finals) if finals else None, tuple(pruned))


def rule_stops(histories: Mapping[int, History], prune_on: Sequence[str],
               thresholds: Thresholds) -> dict[int, tuple[int, str]]:  # fmt: skip
    """Per trial, the first epoch at which fnosweep's rules alone would stop it, and why (the
    rules read only the trial's own history, so this needs no pruner and no order)."""
    stops = {}
    for number, h in histories.items():
        for i in range(len(h.epochs)):
            finding = prune_decision(History(h.run, h.epochs[: i + 1]), prune_on, thresholds)
            if finding is not None:
                stops[number] = (h.epochs[i].epoch, finding.code)
                break
    return stops


def median(startup: int, warmup: int) -> Callable[[], object]:
    return lambda: _optuna().pruners.MedianPruner(n_startup_trials=startup, n_warmup_steps=warmup)


def _optuna():  # type: ignore[no-untyped-def]
    import optuna

    return optuna
