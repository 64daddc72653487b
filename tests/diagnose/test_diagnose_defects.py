"""Every defect class of issue 15, each on a history that showed it.

Histories are the corpus's (examples/corpus/runs: real tiny FNO runs, and the ``syn_`` ones,
synthetic in the shape of the runs that showed the defect) or compact synthetic rows built
here in the shape of the run quoted in the issue (marked "shape of"). Each test asserts the
right behaviour and, where the defect was a sentence, that `audit` finds no contradiction.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from diag_builders import decay, make, noisy

from fnosweep.diagnose import diagnose, render_trial
from fnosweep.diagnose.audit import audit
from fnosweep.diagnose.core import PrunePolicy, should_prune
from fnosweep.history import History, read_history, write_history

RUNS = Path(__file__).resolve().parents[2] / "examples" / "corpus" / "runs"
NAN = math.nan


def corpus(name: str) -> History:
    return read_history(RUNS / f"{name}.jsonl")


def judged(h: History, **kw):
    d = diagnose(h, **kw)
    text = render_trial(d, h)
    assert audit(h, d, text) == [], text
    return d, text


def changes(text: str) -> str:
    return text[text.index("## What to change"):]


# -- direction and frequency words ----------------------------------------------------------

def test_growing_medians_are_said_to_rise():
    # shape of the run: "Do the gradients grow? No." under medians 3.80, 17.4, 50.5, 136.9
    d, text = judged(make([0.9, 0.88, 0.87, 0.86], gmed=[3.8, 17.4, 50.5, 136.9], lr=1e-3))
    assert "The norm: it rises (Mann–Kendall z 1.7" in " ".join(text.split())


def test_three_epochs_say_what_they_did_not_a_trend():
    d, text = judged(read_history(RUNS.parent.parent / "histories" / "seed000_unstable.jsonl"))
    assert "it rose every epoch (3 epochs, too few for a trend test)" in " ".join(text.split())


@pytest.mark.parametrize("share", [0.36, 0.7, 1.0])
def test_heavy_clipping_is_never_called_rare(share):
    d, text = judged(make(decay(12, 1.0, 0.2), gmed=5.0, clip=share, clip_threshold=1.0,
                          lr=1e-3, optimizer="adamw"))
    flat = " ".join(text.split())
    assert "rare" not in flat
    word = "on some steps" if share < 0.5 else "on every step" if share == 1.0 else "on most steps"
    assert f"clipped {word}" in flat


def test_a_rising_loss_is_instability_not_a_plateau_nor_raise_lr():
    # synthetic, shape of the run: train loss +124 %, norm 10 000x, no clip
    d, text = judged(corpus("syn_rising_loss_unclipped"))
    assert d.verdict in ("diverged", "exploding_gradients") and d.by_code("plateau") is None
    assert "raise lr" not in text and "raise the lr" not in text
    assert "no real trend" not in text


def test_no_sentence_says_it_rose_while_the_loss_fell():
    d, text = judged(make([0.5, 0.6, 0.7, 0.8, 0.9], gmed=[1.0, 2.0, 4.0, 8.0, 16.0],
                          clip=[0, 0, 0, 0.01, 0.02], clip_threshold=20.0, lr=1e-3))
    assert "fell faster" not in text


def test_unclipped_growth_never_said_held_by_clipping():
    # shape of a Darcy sweep trial: no clip, the norm 114x its first step while the loss falls
    d, text = judged(make([0.986, 0.819, 0.592], eval=[1.727, 0.404, 0.207],
                          gmed=[3.66, 17.05, 28.6], first=0.25, lr=0.106))
    assert "clipping still holds it" not in text and "no clip threshold" in text


def test_clip_zeros_without_a_threshold_are_an_unclipped_run():
    h = make(noisy([0.9] * 8, 0.002), lr=1e-3, gmed=[0.1 * 4**i for i in range(8)], clip=0.0)
    d, _ = judged(h)
    assert d.verdict == "exploding_gradients"


# -- actions ----------------------------------------------------------------------------------

def test_one_action_per_knob_never_raise_and_lower_lr():
    # SGD clipped on most steps and slow: used to get "raise lr x3" and "lower lr (÷3)"
    h = make(decay(20, 0.9, 0.8), eval=decay(20, 0.95, 0.85), gmed=5.0, clip=0.9,
             clip_threshold=1.0, lr=1e-3, optimizer="sgd", epochs=30)
    d, text = judged(h)
    knobs = [st.knob for st in d.actions]
    assert len(knobs) == len(set(knobs))
    assert not ("raise lr" in changes(text) and "lower lr" in changes(text))


def test_no_checkpoint_advice_at_the_first_epoch():
    d, text = judged(make(decay(10, 1.0, 0.3), eval=[0.5] + [0.5 + 0.02 * i for i in range(1, 10)],
                          lr=1e-3))
    assert d.verdict == "overfitting" and "epoch-0 checkpoint" not in text


def test_no_restart_from_a_finite_checkpoint_when_none_was_finite_and_bad_data_gets_data_advice():
    d, text = judged(corpus("syn_nan_bad_data"))
    assert d.verdict == "diverged"
    assert "last finite checkpoint" not in text and "lower lr" not in changes(text)
    assert "NaN or Inf in the inputs and targets" in changes(text)


def test_budgets_are_finite():
    h = make([0.9 * (1 - 0.0001 * i) for i in range(20)], eval=[0.9] * 20, lr=1e-3, epochs=25)
    d, text = judged(h)
    assert "inf" not in changes(text).lower()


def test_no_lr_decay_advice_when_the_schedule_already_decayed_it():
    stalled = decay(5, 1.0, 0.4) + noisy([0.4] * 15, 0.005)
    lr = [1e-3 * 0.5 * (1 + math.cos(math.pi * i / 20)) + 6e-6 for i in range(20)]
    d, text = judged(make(stalled, eval=[v * 1.1 for v in stalled], lr=lr))
    assert d.verdict == "plateau"
    assert "decay the lr" not in text and "already fell from 1e-3" in text


def test_no_conditional_on_clipping_that_already_holds():
    # clipped on every step for 20 epochs while learning: "if clipping passes 50 %..." is stale
    h = make(decay(20, 1.0, 0.2), eval=decay(20, 0.9, 0.25), gmed=decay(20, 1.0, 8.0),
             clip=1.0, clip_threshold=0.5, lr=1e-3, optimizer="sgd")
    d, text = judged(h)
    assert "if clipping passes" not in text


def test_nothing_now_and_watch_warnings_only_with_warnings():
    d, text = judged(corpus("healthy_adam_cosine"))
    assert "watch the warning" not in text


# -- heavy clipping, Adam vs SGD --------------------------------------------------------------

@pytest.mark.parametrize("name", ["syn_adam_heavy_clip", "heavy_clip_adam", "healthy_trainer_adam_clip"])
def test_adam_clipped_on_every_step_is_not_an_lr_problem(name):
    d, text = judged(corpus(name))
    heavy = d.by_code("heavy_clipping")
    assert d.verdict == "healthy" and heavy is not None and heavy.severity == "info"
    assert "lower lr" not in text and "normalises its step" in heavy.evidence


def test_sgd_clipped_on_every_step_is_about_the_clip_scale():
    d, text = judged(corpus("heavy_clip_sgd"))
    heavy = d.by_code("heavy_clipping")
    assert heavy is not None and heavy.severity == "warning"
    assert "sets the step length" in heavy.evidence and all(st.knob == "clip" for st in heavy.steps)


# -- NaN ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["syn_guarded_nan_per_epoch", "nan_data_guarded"])
def test_skipped_nonfinite_steps_are_a_data_warning(name):
    d, text = judged(corpus(name))
    assert d.verdict != "diverged" and d.by_code("nonfinite_skipped") is not None
    assert "lower lr" not in changes(text)


def test_nan_is_a_value_not_a_missing_field():
    d, text = judged(make([NAN, NAN, NAN], nonfinite=[5, 5, 5], lr=1e-3))
    assert "has no train_loss" not in text and "no training loss" not in text
    assert "non-finite" in text


# -- size ----------------------------------------------------------------------------------------

def test_size_factors_are_at_least_one_and_the_reference_is_the_same_problems():
    worse = [0.5 + 0.01 * i for i in range(10)]
    ns = make(decay(10, 1.0, 0.5), eval=worse, lr=1e-3, n_params=277_000, n_train=100,
              extra={"problem": "navier-stokes"})
    d, text = judged(ns)
    assert "1.5× smaller than the FNO paper's FNO-2D on Navier–Stokes ν=1e-3" in " ".join(text.split())
    darcy = make(decay(10, 1.0, 0.5), eval=worse, lr=1e-3, n_params=277_000, n_train=100,
                 extra={"problem": "darcy"})
    d, text = judged(darcy)
    assert "Darcy" in text and "Navier" not in text
    d, text = judged(make(decay(10, 1.0, 0.5), eval=worse, lr=1e-3, n_params=277_000, n_train=100))
    assert "FNO paper" not in text


def test_no_size_warning_on_a_model_that_reached_its_target_and_never_below_a_usable_fno():
    d, _ = judged(make(decay(20, 1.0, 0.05), eval=decay(20, 0.9, 0.06), lr=1e-3,
                       n_params=5_000_000, n_train=1_000))
    assert d.by_code("overparameterized") is None
    d, _ = judged(make(decay(10, 1.0, 0.5), eval=[0.5 + 0.01 * i for i in range(10)], lr=1e-3,
                       n_params=100_000, n_train=16))
    assert d.by_code("overparameterized").numbers["aim_params"] >= 20_000


# -- quotes, eval pipeline, pace ---------------------------------------------------------------

def test_overfitting_quotes_the_record_at_the_cited_epoch():
    train = decay(19, 0.3244, 0.1584)
    h = make(train, eval=decay(9, 0.9, 0.08) + [0.082 + 0.004 * i for i in range(10)], lr=1e-3)
    d, text = judged(h)
    assert "0.1584 at epoch 18" in d.by_code("overfitting").evidence


def test_a_missing_training_loss_at_the_best_epoch_is_not_replaced_by_another_epochs():
    # found by the property benchmark: the train loss quoted "at epoch 8" was epoch 0's
    train = [None if i == 8 else v for i, v in enumerate(decay(19, 0.5, 0.2))]
    h = make(train, eval=decay(9, 0.9, 0.08) + [0.082 + 0.004 * i for i in range(10)], lr=1e-3)
    d, _ = judged(h)
    assert "train loss 0.3501 at epoch 7" in d.by_code("overfitting").evidence


@pytest.mark.parametrize("name", ["syn_eval_zero_output", "eval_pipeline_bug"])
def test_eval_far_from_train_from_epoch_0_points_to_the_evaluation_pipeline(name):
    d, text = judged(corpus(name), target=0.25)
    assert d.by_code("eval_mismatch") is not None and "evaluation pipeline" in text
    assert d.verdict != "overfitting" and "raise lr" not in text


def test_pace_is_judged_without_a_budget():
    d, text = judged(corpus("syn_slow_lr_1e7"))
    assert d.verdict == "learning_slowly" and "update ratio" in text


def test_a_loss_not_falling_at_all_does_not_escape_both_plateau_and_slow():
    h = make(noisy([0.9] * 20, 0.001), eval=[0.8 * (1 - 0.001 * i) for i in range(20)], lr=1e-3,
             epochs=30)
    assert judged(h)[0].verdict in ("plateau", "learning_slowly")


# -- strict JSON; verdict apart from pruning ---------------------------------------------------

def test_json_is_strict_and_history_files_keep_nan(tmp_path):
    h = make([1.0, 0.8, NAN], nonfinite=[0, 0, 5], lr=1e-3, eval=[0.9, 0.8, math.inf])
    j = diagnose(h).to_json()
    json.loads(json.dumps(j, allow_nan=False))
    write_history(tmp_path / "h.jsonl", h)
    raw = (tmp_path / "h.jsonl").read_text()
    assert "NaN" in raw and "Infinity" in raw


def test_an_explosion_while_learning_is_the_verdict_and_the_policy_lets_it_run():
    h = corpus("syn_slow_explosion_clipped")
    assert diagnose(h).verdict == "exploding_gradients"
    assert should_prune(h, PrunePolicy(("exploding_gradients",))) is None
    hit = should_prune(h, PrunePolicy(("exploding_gradients",), spare_improving=False))
    assert hit is not None and hit.code == "exploding_gradients"


def test_audit_catches_each_kind_of_contradiction():
    h = make([0.9, 0.8, 0.7, 0.6], gmed=2.0, clip=[0.5, 0.6, 0.7, 0.9], clip_threshold=1.0,
             lr=1e-3, optimizer="adam")
    d = diagnose(h)
    for bad in ("it rises (Mann–Kendall z 0.3 over epochs 0–3)",
                "no real trend (Mann–Kendall z 3.3 over epochs 0–3)",
                "clipped rarely (90 %) in epoch 3", "train loss 0.75 at epoch 3",
                "0.67× fewer", "a budget of about inf epochs", "keep the epoch-0 checkpoint",
                "clipped at 10.0 in epoch 3", "effective step is lr × clip / norm",
                "12 % of steps clipped in epoch 3",
                "167× larger than the FNO paper's FNO-2D on Navier–Stokes ν=1e-3"):
        assert audit(h, d, render_trial(d, h) + "\n" + bad + ".\n"), bad


# -- read on a quickstart trial not tuned on (lr 0.25, clip 0.5, diverged in epoch 0) -----------

DIVERGED_CLIPPED = make([1.47e9], eval=[317_752.0], gmed=[2.3e9], gmax=[3.0e11], clip=[0.94],
                        first=0.3932, optimizer="adamw", clip_threshold=0.5, lr=0.25, loss="h1",
                        n_params=766_225, n_train=256, epochs=12)


def test_a_diverged_runs_norm_gets_no_clip_advice_and_one_eval_epoch_claims_no_trend():
    d, text = judged(DIVERGED_CLIPPED)
    assert d.verdict == "diverged" and d.by_code("heavy_clipping") is None
    size = d.by_code("overparameterized")
    assert size is not None and "one epoch of eval, too few to tell" in size.evidence
    assert "still improves" not in text and "1 epoch (epoch 0)" in text and "epochs 0–0" not in text


def test_heavy_clipping_does_not_call_a_norm_grown_tenfold_not_growing():
    h = make([0.5, 0.45, 0.44], eval=[0.3, 0.28, 0.27], gmed=[5.0, 5.2, 5.1], clip=[0.2, 0.9, 0.95],
             first=0.3, optimizer="adamw", clip_threshold=1.0, lr=1e-3)
    heavy = diagnose(h).by_code("heavy_clipping")
    assert heavy is not None and "not growing" not in heavy.evidence
    assert "17× its first step (0.3)" in heavy.evidence
