"""prune_decision epoch by epoch, and time_to_target on curves with known answers."""

from __future__ import annotations

import math

import pytest
from diag_builders import decay, make, noisy

from fnosweep.diagnose import Thresholds, prune_decision, time_to_target

TH = Thresholds()
NAN = float("nan")

# (id, history, prune_on, expected code per epoch: None = keep going)
PRUNE_ROWS = [
    ("nan_loss_at_once", make([1.0, 0.8, NAN, 0.7], nonfinite=[0, 0, 3, 0], lr=1e-3),
     ["diverged"], [None, None, "diverged", "diverged"]),
    ("nan_grad_at_once", make([1.0, 0.9, 0.8], gmed=[1.0, float("inf"), 1.0], lr=1e-3),
     ["diverged"], [None, "diverged", "diverged"]),
    ("explosion_needs_two_clipped_epochs",
     make([0.9] * 5, gmed=[1.0, 4.0, 12.0, 30.0, 60.0], clip=[0.0, 0.3, 0.6, 0.9, 0.97],
          lr=1e-4, clip_threshold=10.0),
     ["diverged", "exploding_gradients"], [None, None, None, "exploding_gradients",
                                           "exploding_gradients"]),
    ("growth_held_by_clipping", make(decay(6, 1.0, 0.5), gmed=decay(6, 0.1, 5.0),
                                     clip=[0, 0, 0, 0, 0.05, 0.2], lr=1e-4),
     ["diverged", "exploding_gradients"], [None] * 6),
    ("heavy_clipping_without_growth", make([0.9] * 4, gmed=2.0, clip=0.95, lr=1e-3),
     ["exploding_gradients"], [None] * 4),
    ("verdict_not_in_prune_on", make([1.0, NAN], nonfinite=[0, 5]), ["exploding_gradients"],
     [None, None]),
    ("clipped_growth_while_learning_is_not_pruned",
     make(decay(4, 1.0, 0.3), eval=decay(4, 0.9, 0.25), gmed=[1.0, 2.0, 3.0, 4.0], clip=[0.6, 0.9, 1.0, 1.0],
          first=0.2, lr=1e-3, clip_threshold=1.0), ["diverged", "exploding_gradients"], [None] * 4),
    # two trials of a 24-epoch Darcy sweep that ended near its best: the norm lives far above
    # the clip and the small test set's eval wobbles for an epoch or two, while the training
    # loss falls (explosion was called at epoch 3 and at epoch 6 when only eval counted)
    ("a_wobbling_eval_while_the_loss_falls",
     make([0.978, 0.806, 0.530, 0.354], eval=[0.625, 1.068, 0.278, 0.325], gmed=[0.705, 6.04, 17.7, 11.4],
          clip=[0.0, 0.25, 0.875, 0.75], first=0.282, lr=6.5e-3, clip_threshold=10.0),
     ["diverged", "exploding_gradients"], [None] * 4),
    ("two_worse_eval_epochs_while_the_loss_is_at_its_best",
     make([1.066, 0.606, 0.332, 0.239, 0.196, 0.175, 0.183], eval=[0.504, 0.317, 0.181, 0.137, 0.113, 0.116, 0.134],
          gmed=[7.84, 18.99, 9.11, 9.83, 13.68, 11.58, 21.79], clip=[0.75] + [1.0] * 6, first=0.75, lr=0.0187,
          clip_threshold=1.0), ["diverged", "exploding_gradients"], [None] * 7),
    # shaped like the same sweep's trial at the end of a cosine schedule: converged (loss -0.1 % an epoch),
    # its norm settled 4-6x above epoch 0's and not growing now (called explosion at epoch 11
    # while the epoch growth was measured from epoch 0)
    ("a_converged_norm_that_settled_above_its_start",
     make([1.0, 0.6, 0.4, 0.3, 0.25, 0.22, 0.205, 0.2, 0.199, 0.198, 0.1975, 0.1973],
          gmed=[1.0, 2.0, 4.0, 5.0, 4.5, 5.5, 4.0, 5.0, 4.2, 3.8, 4.6, 6.2], clip=1.0, first=0.3, lr=3.3e-3,
          clip_threshold=1.0), ["diverged", "exploding_gradients"], [None] * 12),
    ("relative_loss_blowup_prunes_at_once", make([1.3e8, 5e4], lr=0.29, loss="l2"), ["diverged"],
     ["diverged", "diverged"]),
    ("plateau_when_asked", make([0.9] * 6, lr=1e-3), ["plateau"],
     [None, None, None, "plateau", "plateau", "plateau"]),
]


@pytest.mark.parametrize(("name", "history", "prune_on", "expected"), PRUNE_ROWS,
                         ids=[r[0] for r in PRUNE_ROWS])
def test_prune_decision_epoch_by_epoch(name, history, prune_on, expected):
    got = []
    for n in range(len(history.epochs)):
        part = type(history)(history.run, history.epochs[: n + 1])
        f = prune_decision(part, prune_on, TH)
        got.append(None if f is None else f.code)
        assert f is None or f.severity == "problem"
    assert got == expected


def test_prune_on_unknown_code_is_refused():
    with pytest.raises(ValueError, match="but got \\['exploding'\\]"):
        prune_decision(make([1.0]), ["exploding"], TH)


def _power(n: int, a: float = 2.0, b: float = 0.5) -> list[float]:
    return [a * (e + 1) ** -b for e in range(n)]


def test_exact_power_law_recovered():
    # 2 (e+1)^-0.5 <= 0.1  <=>  e + 1 >= 400
    h = make([1.0] * 20, eval=_power(20))
    t = time_to_target(h, 0.1, horizon=1000)
    assert t.status == "projected" and t.model == "power_law"
    assert t.low - 1e-6 <= 399 <= t.high + 1e-6
    assert t.epoch == pytest.approx(399, rel=1e-6)
    assert t.epochs_more == pytest.approx(399 - 19, rel=1e-6)


def test_exact_exponential_recovered():
    # exp(-0.1 e) <= 0.01  <=>  e >= 10 ln 100 = 46.05
    h = make([1.0] * 20, eval=[math.exp(-0.1 * e) for e in range(20)])
    t = time_to_target(h, 0.01, horizon=200)
    assert t.model == "exponential"
    assert t.epoch == pytest.approx(10 * math.log(100), rel=1e-6)
    assert t.low - 1e-6 <= 10 * math.log(100) <= t.high + 1e-6


def test_noisy_power_law_within_the_stated_range():
    h = make([1.0] * 30, eval=noisy(_power(30), 0.02, seed=5))
    t = time_to_target(h, 0.1, horizon=5000)
    assert t.status == "projected" and t.high is not None
    assert t.low <= 399 <= t.high
    assert t.high - t.low > 1  # noise gives a real range, not a false precision


def test_flat_curve_is_not_within_n():
    t = time_to_target(make([0.5] * 15, eval=[0.5] * 15), 0.1, horizon=100)
    assert t.status in ("not_falling", "not_within")
    assert "not within 100 epochs" in t.text()


def test_slow_curve_is_not_within_budget():
    t = time_to_target(make([1.0] * 20, eval=decay(20, 0.9, 0.8)), 0.1, horizon=60)
    assert t.status == "not_within" and "not within 60 epochs" in t.text()


def test_reached_and_too_few_and_train_loss_fallback():
    assert time_to_target(make(decay(10, 1.0, 0.05)), 0.1).status == "reached"
    assert time_to_target(make([1.0, 0.9]), 0.1).status == "too_few_points"
    t = time_to_target(make(decay(10, 1.0, 0.5)), 0.1, horizon=1000)
    assert t.metric == "train_loss" and t.status == "projected"
    assert t.to_json()["epochs_more"] == t.epochs_more
