"""The driver's per-epoch decision, as a table: NaN, a stability finding, Optuna's prune,
a stop request (also after the last epoch), nothing; and `prune_on: []` turning the NaN
stop off."""

from __future__ import annotations

import pytest

from fnosweep.history import EpochRecord, History, RunInfo
from fnosweep.spec.thresholds import Thresholds
from fnosweep.sweep.decide import Policy, decide, reportable

NAN = float("nan")
ALL = ("diverged", "exploding_gradients")
BUDGET = 6


def history(train, eval_, *, gmed=None, clip=None, clip_threshold=None) -> History:
    epochs = tuple(
        EpochRecord(epoch=i, train_loss=t, eval={"32_l2": e}, lr=1e-4,
                    grad_norm={} if gmed is None else {"median": gmed[i]},
                    clip_fraction=None if clip is None else clip[i])
        for i, (t, e) in enumerate(zip(train, eval_, strict=True))
    )
    return History(RunInfo(clip_threshold=clip_threshold), epochs)


HEALTHY = history([1.0, 0.8, 0.6], [0.9, 0.7, 0.5])
NAN_EVAL = history([1.0, 0.8], [0.9, NAN])
NAN_LOSS = history([1.0, NAN], [0.9, 0.7])
# the norm grows 60x with most steps clipped and the loss flat: exploding_gradients
EXPLODING = history([0.9] * 5, [0.8] * 5, gmed=[1.0, 4.0, 12.0, 30.0, 60.0], clip=[0.0, 0.3, 0.6, 0.9, 0.97],
                    clip_threshold=10.0)
LAST = history([1.0] * BUDGET, [0.5] * BUDGET)

# (id, history, prune_on, optuna_prunes, stop_requested, action, reason starts with)
ROWS = [
    ("nothing", HEALTHY, ALL, False, False, "continue", None),
    ("nan_objective", NAN_EVAL, ALL, False, False, "prune", "diverged: non-finite eval.32_l2 at epoch 1"),
    ("nan_loss", NAN_LOSS, ALL, False, False, "prune", "diverged: non-finite training loss at epoch 1"),
    ("nan_first_even_if_optuna_prunes", NAN_EVAL, ALL, True, True, "prune", "diverged"),
    ("stability_finding", EXPLODING, ALL, False, False, "prune", "exploding_gradients: "),
    ("finding_before_optuna", EXPLODING, ALL, True, False, "prune", "exploding_gradients: "),
    ("optuna_prunes", HEALTHY, ALL, True, False, "prune", "median pruner: eval.32_l2 = 0.5 at epoch 2"),
    ("optuna_before_stop", HEALTHY, ALL, True, True, "prune", "median pruner"),
    ("stop_requested", HEALTHY, ALL, False, True, "requeue", "interrupted by the user after epoch 2"),
    ("stop_after_last_epoch_keeps_the_trial", LAST, ALL, False, True, "continue", None),
    ("nan_stop_off", NAN_EVAL, (), False, False, "continue", None),
    ("nan_stop_off_optuna_decides", NAN_EVAL, (), True, False, "prune", "median pruner: eval.32_l2 = nan"),
    ("stability_off", EXPLODING, ("diverged",), False, False, "continue", None),
]


@pytest.mark.parametrize(("name", "hist", "prune_on", "optuna", "stop", "action", "reason"), ROWS,
                         ids=[r[0] for r in ROWS])
def test_decide(name, hist, prune_on, optuna, stop, action, reason):
    policy = Policy("eval.32_l2", "median", prune_on, Thresholds())
    d = decide(hist, policy, budget=BUDGET, optuna_prunes=optuna, stop_requested=stop)
    assert d.action == action
    assert d.rule_error is None
    if reason is None:
        assert d.reason is None
    else:
        assert d.reason is not None and d.reason.startswith(reason)


def test_a_raising_rule_is_kept_and_the_trial_judged_by_its_value(monkeypatch):
    from fnosweep.diagnose.core import RULES

    def boom(*_a, **_k):
        raise RuntimeError("broken rule")

    monkeypatch.setitem(RULES, "exploding_gradients", boom)
    policy = Policy("eval.32_l2", "median", ALL, Thresholds())
    d = decide(EXPLODING, policy, budget=BUDGET, optuna_prunes=False, stop_requested=False)
    assert (d.action, type(d.rule_error)) == ("continue", RuntimeError)
    d = decide(EXPLODING, policy, budget=BUDGET, optuna_prunes=True, stop_requested=False)
    assert d.action == "prune" and isinstance(d.rule_error, RuntimeError)


@pytest.mark.parametrize(("value", "prune_on", "expected"), [
    (0.5, ALL, 0.5), (NAN, ALL, None), (float("inf"), ALL, None), (None, ALL, None),
    (NAN, (), "nan"), (float("inf"), ("exploding_gradients",), float("inf")),
])
def test_reportable(value, prune_on, expected):
    got = reportable(value, Policy("eval.32_l2", "median", prune_on, Thresholds()))
    if expected == "nan":
        assert got is not None and got != got
    else:
        assert got == expected


def test_the_curve_pruners_numbers_become_the_reason():
    note = {"step": 2, "value": 0.5, "predicted": 0.3, "end_step": 5, "optimistic": 0.25, "confidence": 0.9,
            "best": 0.1, "best_trial": 0}
    policy = Policy("eval.32_l2", "curve", ALL, Thresholds())
    d = decide(HEALTHY, policy, budget=BUDGET, optuna_prunes=True, stop_requested=False, pruner_note=note)
    assert d.action == "prune"
    assert d.reason == ("curve pruner: eval.32_l2 0.5 at epoch 2 points to 0.3 at epoch 5 (0.25 at best, 90 % "
                        "one-sided), worse than 0.1, the best finished trial (trial 0)")
    stale = {**note, "step": 1}  # a note from an earlier epoch is not this prune's reason
    d = decide(HEALTHY, policy, budget=BUDGET, optuna_prunes=True, stop_requested=False, pruner_note=stale)
    assert d.reason == "curve pruner: eval.32_l2 = 0.5 at epoch 2"
