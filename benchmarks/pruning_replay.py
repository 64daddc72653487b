"""Replay pruning policies over a finished unpruned sweep: which settings would have saved what.

With one trial at a time and deterministic CPU training (fixed seeds), a pruned run of the
same configurations is exactly a truncation of the unpruned histories: each trial stops at
the first epoch where a rule fires. So the unpruned study of `sweep_efficiency.py` answers,
in seconds and without training, what any pruner setting (Optuna's own pruners and
fnosweep's `CurvePruner`, fed the recorded values in the same order) with or without
fnosweep's stability rules (`prune_decision`, as the driver calls it) would have cost and
found. `sweep_efficiency.py` checks the replay against its live pruned runs and prints a
grid. `crossing()` replays the same pruners over synthetic crossing curves
(`fnosweep.testing.crossing_curves`: the slower starter ends better).
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


CURVES: dict[str, dict[str, object]] = {
    # CurvePruner arguments by label (max_resource: the sweep's last epoch, as the spec sets it)
    "curve": {},  # its defaults: what `pruner: {type: curve}` ships
    "curve own curve only, conf 0.9": {"confidence": 0.9, "headroom": None},  # the first version
    "curve own curve only, conf 0.8": {"confidence": 0.8, "headroom": None},
    **{f"curve conf {c}, headroom {h}": {"confidence": c, "headroom": h}
       for c in (0.7, 0.8, 0.9) for h in (1.0, 1.5, 2.0)},
    "curve conf 0.95, headroom 1.5": {"confidence": 0.95, "headroom": 1.5},
    "curve warmup 3": {"n_warmup_steps": 3},
    "curve startup 2": {"n_startup_trials": 2},
    "curve margin 5 %": {"margin": 0.05},
    "curve OR median 3/2": {"or_median": (3, 2)},
    "curve OR median 2/0": {"or_median": (2, 0)},
}
"""Curve-pruner settings replayed, by label; `or_median` (startup, warmup) adds a median pruner."""


@dataclass(frozen=True)
class Replayed:
    epochs: int
    best: float | None  # the best final value among trials that ran to the end
    pruned: tuple[int, ...]  # trial numbers
    ran: dict[int, int]  # epochs each trial ran, by trial number


def replay(histories: Mapping[int, History], metric: str, pruner: Callable[[], object] | None,
           prune_on: Sequence[str], thresholds: Thresholds) -> Replayed:  # fmt: skip
    """Trials in number order, one at a time, as the driver runs them with max_concurrent 1."""
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(pruner=pruner() if pruner else optuna.pruners.NopPruner())
    epochs, finals, pruned, ran = 0, [], [], {}
    for number in sorted(histories):
        h = histories[number]
        trial = study.ask()
        stopped = False
        for i, record in enumerate(h.epochs):
            epochs += 1
            ran[number] = i + 1
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
    return Replayed(epochs, min(finals) if finals else None, tuple(pruned), ran)


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


def floors(histories: Mapping[int, History], metric: str, min_epochs: int) -> tuple[list[int], float, float]:
    """Lower bounds on the epochs a pruner spends on these trials, in trial order: the
    trials that end better than every earlier one (the records: a pruner cannot know a
    better trial follows, so one that keeps the best-so-far lets each finish), and the
    share of all epochs when (a) every record runs its budget and every other trial stops
    after `min_epochs`, (b) only the first trial and the final best do."""
    finals = {n: metric_value(h.epochs[-1], metric) for n, h in histories.items()}
    records, low = [], math.inf
    for n in sorted(histories):
        value = finals[n]
        if value is not None and math.isfinite(value) and value < low:
            records.append(n)
            low = value
    total = sum(len(h.epochs) for h in histories.values())

    def share(full: set[int]) -> float:
        spent = sum(len(h.epochs) if n in full else min(min_epochs, len(h.epochs)) for n, h in histories.items())
        return 100 * spent / total

    first = min(histories)
    return records, share(set(records)), share({first, records[-1]} if records else {first})


def why_kept(histories: Mapping[int, History], metric: str, got: Replayed, end_step: int,
             settings: object, at: Sequence[int]) -> dict[int, list[tuple[int, float, float]]]:  # fmt: skip
    """For each trial the curve rule let finish though it did not end as the best so far:
    (epoch, the better of its two bounds, best finished) at the epochs `at` — why it was
    not stopped (minimizing)."""
    from fnosweep.pruners._decide import decide

    finished: list[tuple[int, float]] = []
    curves: list[list[tuple[int, float]]] = []
    kept: dict[int, list[tuple[int, float, float]]] = {}
    for n in sorted(histories):
        values = [metric_value(r, metric) for r in histories[n].epochs]
        points = [(histories[n].epochs[i].epoch, v) for i, v in enumerate(values) if v is not None]
        final = values[-1]
        if n in got.pruned or final is None:
            continue
        if finished and final >= min(v for _, v in finished):
            rows = []
            for step in at:
                d = decide(points[: step + 1], finished, end_step=end_step, minimize=True,
                           settings=settings, curves=curves)  # type: ignore[arg-type]
                if d.optimistic is not None and d.best is not None:  # the good end the rule compared
                    rows.append((step, min(d.optimistic, d.experienced or math.inf), d.best))
            kept[n] = rows
        finished.append((n, final))
        curves.append(points)
    return kept


def median(startup: int, warmup: int) -> Callable[[], object]:
    return lambda: _optuna().pruners.MedianPruner(n_startup_trials=startup, n_warmup_steps=warmup)


def curve(end_step: int, args: Mapping[str, object]) -> Callable[[], object]:
    """A CurvePruner with `args` (an `or_median` (startup, warmup) adds a median pruner)."""
    from fnosweep.pruners import CurvePruner

    kwargs = {k: v for k, v in args.items() if k != "or_median"}
    if "or_median" in args:
        startup, warmup = args["or_median"]  # type: ignore[misc]
        kwargs["or_pruner"] = median(startup, warmup)()
    return lambda: CurvePruner(max_resource=end_step, **kwargs)  # type: ignore[arg-type]


def as_histories(curves: Mapping[int, Sequence[float]], metric: str) -> dict[int, History]:
    """Value curves as histories holding only `metric` (an eval key), for `replay`."""
    from fnosweep.history import EpochRecord, RunInfo

    key = metric.removeprefix("eval.")
    return {n: History(RunInfo(epochs=len(v)), tuple(EpochRecord(epoch=i, eval={key: x}) for i, x in enumerate(v)))
            for n, v in curves.items()}  # fmt: skip


def crossing(metric: str, epochs: int) -> None:
    """Every pruner over the synthetic crossing curves: epochs run and the best found."""
    import optuna

    from fnosweep.testing import crossing_curves

    hist = as_histories(crossing_curves(epochs), metric)
    th = Thresholds()
    base = replay(hist, metric, None, [], th)
    true = base.best or float("nan")
    hyperband = optuna.pruners.HyperbandPruner
    pruners = {"median 3/2": median(3, 2), **OTHERS,
               "hyperband 1/3": lambda: hyperband(min_resource=1, max_resource=epochs - 1, reduction_factor=3),
               **{name: curve(epochs - 1, CURVES[name]) for name in ("curve", "curve OR median 3/2")}}  # fmt: skip
    print(f"\nsynthetic crossing curves ({len(hist)} trials x {epochs} epochs, fnosweep.testing.crossing_curves; "
          "each later good trial starts slower and ends better, the last ends best):")  # fmt: skip
    for name, pruner in pruners.items():
        got = replay(hist, metric, pruner, [], th)
        print(f"  {name:<28} epochs {100 * got.epochs / base.epochs:5.1f}%  best {got.best:.4f} "
              f"({100 * ((got.best or true) - true) / true:+.1f} % vs the true best {true:.4f})  "
              f"stopped (trial@epochs): {' '.join(f'{n}@{got.ran[n]}' for n in got.pruned)}")  # fmt: skip


def _optuna():  # type: ignore[no-untyped-def]
    import optuna

    return optuna
