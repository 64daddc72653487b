"""A table of small synthetic histories per verdict, with the look-alikes side by side."""

from __future__ import annotations

import math

import pytest
from diag_builders import decay, make, noisy

from fnosweep.diagnose import VERDICTS, Thresholds, diagnose

N = 20
FALL = decay(N, 1.0, 0.05)
EVAL_FALL = decay(N, 0.9, 0.06)
CALM = dict(lr=1e-3, gmed=noisy([1.0] * N, 0.05), gmax=3.0, clip=0.0, clip_threshold=1.0 * 5)

# cosine with a warm restart at epoch 10 and the loss bump it causes, recovered by epoch 13
COSINE = [1e-5 + 0.5 * (1e-3 - 1e-5) * (1 + math.cos(math.pi * (i % 10) / 10)) for i in range(N)]
RESTART_LOSS = decay(10, 1.0, 0.1) + [0.35, 0.2, 0.12, 0.1, 0.09, 0.08, 0.07, 0.065, 0.06, 0.055]
STEP_UP_LR = [1e-4] * 10 + [1e-3] * 10
STEP_UP_LOSS = decay(10, 1.0, 0.2) + [0.5, 0.35, 0.22, 0.19, 0.17, 0.15, 0.14, 0.13, 0.12, 0.11]
BLOWUP = decay(8, 1.0, 0.2) + [0.4, 0.9, 2.0, 5.0]
CONVERGED = decay(8, 1.0, 0.05) + noisy([0.05] * 12, 0.002)
STALLED = decay(5, 1.0, 0.4) + noisy([0.4] * 15, 0.005)
OVERFIT_EVAL = decay(9, 0.9, 0.08) + [0.082, 0.085, 0.088, 0.09, 0.094, 0.098, 0.1, 0.105,
                                      0.11, 0.115, 0.12]

ROWS = [
    # id, history, verdict, codes that must be there, codes that must not
    ("healthy", make(FALL, eval=EVAL_FALL, **CALM), "healthy", set(), {"gradient_growth"}),
    # converged vs plateau: flat after real progress with eval at the target / never moved
    ("converged", make(CONVERGED, eval=[v * 1.1 for v in CONVERGED], **CALM), "healthy",
     {"converged"}, {"plateau"}),
    ("plateau_never_moved", make(noisy([0.9] * N, 0.003), eval=noisy([0.85] * N, 0.003), **CALM),
     "plateau", {"plateau"}, {"converged"}),
    ("plateau_stalled_above_target", make(STALLED, eval=[v * 1.1 for v in STALLED], **CALM),
     "plateau", {"plateau"}, {"converged"}),
    # noisy but falling vs noisy plateau
    ("noisy_falling", make(noisy(decay(N, 1.0, 0.6), 0.04, seed=3), **CALM), "healthy", set(),
     {"plateau"}),
    ("noisy_plateau", make(noisy([0.6] * N, 0.04, seed=1), **CALM), "plateau", {"plateau"}, set()),
    # slow start (seed 001's first epochs): tiny but real fall is not a plateau
    ("slow_but_real", make([1.0 - 0.001 * i**1.5 for i in range(8)], **CALM), "healthy", set(),
     {"plateau"}),
    # warm restart / step-LR bump vs divergence
    ("cosine_warm_restart", make(RESTART_LOSS, eval=RESTART_LOSS, lr=COSINE), "healthy",
     {"lr_restart"}, {"diverged"}),
    ("step_lr_bump", make(STEP_UP_LOSS, lr=STEP_UP_LR), "healthy", {"lr_restart"}, {"diverged"}),
    ("diverged_finite", make(BLOWUP, lr=1e-3), "diverged", {"diverged"}, {"lr_restart"}),
    # a relative loss of 1e8 in epoch 0 that falls afterwards: falling from absurd, not learning
    # norm up 20x from the first step under a 1.0 clip on every step, eval falling every epoch:
    # clipping holds it (the best trials of a Darcy sweep looked like this)
    ("clipped_growth_while_learning", make(decay(4, 1.0, 0.3), eval=decay(4, 0.9, 0.25), gmed=[1.0, 2.0, 3.0, 4.0],
                                           clip=[0.6, 0.9, 1.0, 1.0], first=0.2, lr=1e-3, clip_threshold=1.0),
     "healthy", set(), {"exploding_gradients"}),
    ("relative_loss_blowup_then_falling", make([1.3e8, 5e4, 2.1e3], eval=[3.5e5, 2.9e4, 7.2e3], lr=0.29,
                                               loss="h1"), "diverged", {"diverged"}, set()),
    ("large_loss_of_unknown_scale_is_not_judged_so", make([1.3e8, 5e4, 2.1e3], lr=0.29), "healthy", set(),
     {"diverged"}),
    ("restart_that_diverges", make(decay(8, 1.0, 0.2) + [0.5, 0.9, 1.4, 2.0, 2.6, 3.1],
                                   lr=[1e-4] * 8 + [1e-3] * 6), "diverged", {"diverged"}, set()),
    ("diverged_nan", make([1.0, 0.8, 0.6, 0.5, float("nan")], nonfinite=[0, 0, 0, 0, 40], lr=1e-3),
     "diverged", {"diverged"}, set()),
    # rising gradient norm that clipping holds vs explosion
    ("grad_growth_held", make(FALL, eval=EVAL_FALL, lr=1e-4, gmed=decay(N, 0.2, 3.0),
                              clip=[0.0] * 18 + [0.02, 0.1], clip_threshold=5.0),
     "healthy", {"gradient_growth"}, {"exploding_gradients"}),
    ("explosion", make(noisy([0.9] * 6, 0.002), lr=1e-4, gmed=[1.0, 3.0, 8.0, 20.0, 35.0, 50.0],
                       clip=[0.0, 0.1, 0.4, 0.7, 0.9, 0.95], clip_threshold=10.0),
     "exploding_gradients", {"exploding_gradients"}, {"gradient_growth"}),
    ("explosion_unclipped", make(noisy([0.9] * 6, 0.002), lr=1e-3, gmed=[0.1, 0.5, 2.0, 6.0, 15.0, 30.0]),
     "exploding_gradients", {"exploding_gradients"}, set()),
    # no clipping, a fresh model's first step 0.25, the norm 114x that by epoch 2 while the loss
    # falls 40 % and eval 88 % (a held-out Darcy sweep's trial, lr 0.11, that ended 1.44x the
    # seed's best): growth to watch, not explosion
    ("unclipped_growth_while_learning_fast", make([0.986, 0.819, 0.592], eval=[1.727, 0.404, 0.207],
                                                  gmed=[3.66, 17.05, 28.6], first=0.25, lr=0.106),
     "healthy", {"gradient_growth"}, {"exploding_gradients"}),
    ("heavy_clipping_no_growth", make(FALL, lr=1e-3, gmed=2.0, clip=0.9, clip_threshold=1.0),
     "healthy", {"heavy_clipping"}, {"exploding_gradients"}),
    # a fresh model's first step is small (0.28); the norm jumps within epoch 0 and then holds
    # flat under the clip while eval wobbles: heavy clipping, not explosion (a Darcy sweep's
    # best trial, lr 0.12, looked like this and was pruned until the epoch norm had to grow)
    ("jump_in_epoch_0_then_flat", make([2.0, 0.6, 0.55, 0.3, 0.7], eval=[2.03, 0.54, 0.50, 0.24, 0.72],
                                      gmed=[22.2, 36.4, 27.7, 22.7, 33.9], clip=1.0, first=0.28, lr=0.12,
                                      clip_threshold=1.0),
     "healthy", {"heavy_clipping"}, {"exploding_gradients"}),
    # eval worsening while train improves vs both stalling
    ("overfitting", make(FALL, eval=OVERFIT_EVAL, **CALM, weight_decay=1e-4), "overfitting",
     {"overfitting"}, {"plateau"}),
    ("both_stalling", make(noisy([0.9] * N, 0.003),
                           eval=[0.85 * (1 + 0.0005 * i) for i in range(N)], **CALM),
     "plateau", {"plateau"}, {"overfitting"}),
    ("learning_slowly", make(decay(N, 0.9, 0.8), eval=decay(N, 0.95, 0.85), **CALM, epochs=30),
     "learning_slowly", {"learning_slowly"}, {"plateau"}),
    # eval above its target and still improving (one that reached it gets no size finding)
    ("overparam_warning", make(FALL, eval=decay(N, 0.9, 0.2), **CALM, n_params=5_000_000,
                               n_train=1_000),
     "healthy", {"overparameterized"}, set()),
    ("overparam_problem", make(decay(10, 1.0, 0.5), eval=[0.5 + 0.002 * i for i in range(10)],
                               **CALM, n_params=5_000_000, n_train=1_000),
     "overparameterized", {"overparameterized"}, {"overfitting"}),
    ("overfit_and_overparam", make(FALL, eval=OVERFIT_EVAL, **CALM, n_params=69_265_345,
                                   n_train=10_000), "overfitting", {"overparameterized"}, set()),
]


@pytest.mark.parametrize(("name", "history", "verdict", "present", "absent"), ROWS,
                         ids=[r[0] for r in ROWS])
def test_verdict_table(name, history, verdict, present, absent):
    d = diagnose(history)
    codes = {f.code for f in d.findings}
    assert d.verdict == verdict, [(f.code, f.severity, f.evidence) for f in d.findings]
    assert present <= codes
    assert not (absent & codes)
    for f in d.findings:
        assert f.evidence and f.action
        assert any(ch.isdigit() for ch in f.evidence), f.evidence


def test_overparameterized_severity_follows_eval_trend():
    warn = diagnose(ROWS[[r[0] for r in ROWS].index("overparam_warning")][1])
    prob = diagnose(ROWS[[r[0] for r in ROWS].index("overparam_problem")][1])
    assert warn.by_code("overparameterized").severity == "warning"
    assert prob.by_code("overparameterized").severity == "problem"
    assert "5,000 per sample" in prob.by_code("overparameterized").evidence


def test_only_losses_is_still_diagnosed_and_says_what_it_could_not_judge():
    d = diagnose(make(FALL))
    assert d.verdict == "healthy"
    text = " | ".join(d.not_judged)
    assert "gradients: the history has no grad_norm" in text
    assert "overfitting: the history has no eval metrics" in text
    assert "model size" in text and "lr schedule" in text


def test_empty_history_and_json_shape():
    d = diagnose(make([]))
    assert d.verdict == "unknown" and d.not_judged  # nothing judged is not healthy
    j = diagnose(make(BLOWUP, lr=1e-3)).to_json()
    assert j["verdict"] == "diverged" and set(j) == {"verdict", "findings", "not_judged"}
    assert set(j["findings"][0]) == {"code", "severity", "epoch", "evidence", "action", "numbers"}


def test_thresholds_change_the_call():
    h = ROWS[[r[0] for r in ROWS].index("explosion")][1]
    assert diagnose(h, Thresholds(explode_growth=100.0)).verdict != "exploding_gradients"


def test_verdicts_are_the_stable_codes():
    assert VERDICTS == ("diverged", "exploding_gradients", "overfitting", "plateau",
                        "learning_slowly", "overparameterized", "healthy")


def test_explicit_metric_missing_is_reported():
    d = diagnose(make(FALL, eval=EVAL_FALL), metric="64_h1")
    assert any("64_h1" in t for t in d.not_judged)


def test_noise_robustness_over_seeds():
    """4 % noise: a falling loss (-2.7 %/epoch) is never a plateau; a flat one usually is
    (Mann-Kendall at 5 % over two windows: a random dip passes now and then)."""
    falling = [diagnose(make(noisy(decay(N, 1.0, 0.6), 0.04, seed=s), **CALM)).verdict
               for s in range(20)]
    flat = [diagnose(make(noisy([0.6] * N, 0.04, seed=s), **CALM)).verdict for s in range(20)]
    assert falling.count("plateau") == 0
    assert flat.count("plateau") >= 15


def test_study_metric_name_selects_the_eval_key():
    h = make(FALL, eval=EVAL_FALL)
    assert diagnose(h, metric="eval.32_l2").not_judged == diagnose(h, metric="32_l2").not_judged
