"""Inputs the diagnosis refuses or cannot judge: thresholds out of range, a target <= 0,
a history with no epochs (a trial that failed before its first epoch)."""

from __future__ import annotations

import dataclasses
import math

import pytest
from diag_builders import decay, make

from fnosweep.diagnose import UNJUDGED, VERDICTS, Thresholds, diagnose, render_trial, time_to_target
from fnosweep.spec.thresholds import LIMITS, ThresholdError

H = make(decay(10, 1.0, 0.3), eval=decay(10, 0.9, 0.25), lr=1e-3)

BAD_THRESHOLDS = [
    ("target", 0.0),
    ("target", -0.1),
    ("target", math.nan),
    ("target", math.inf),
    ("diverge_loss_factor", 1.0),
    ("blowup_relative_loss", 0.5),
    ("lr_jump", 1.0),
    ("restart_recover_epochs", 0),
    ("explode_growth", 0.9),
    ("explode_clip_fraction", 1.5),
    ("explode_clip_fraction", -0.1),
    ("explode_min_epochs", 0),
    ("explode_learning_gain", 2.0),
    ("explode_growth_unclipped", 1.0),
    ("grad_warn_growth", 0.0),
    ("trend_window", 2),
    ("trend_z", 0.0),
    ("plateau_min_epochs", 0),
    ("plateau_min_progress", 1.5),
    ("plateau_min_rate", -0.01),
    ("plateau_patience", 1),
    ("overfit_eval_rise", -0.05),
    ("overfit_patience", 0),
    ("overfit_train_drop", 1.1),
    ("slow_budget_factor", 0.5),
    ("overparam_ratio", 0.0),
    ("region_min_trials", 0),
    ("target", "0.1"),
    ("trend_window", True),
]


@pytest.mark.parametrize(("name", "value"), BAD_THRESHOLDS, ids=[f"{n}={v!r}" for n, v in BAD_THRESHOLDS])
def test_a_threshold_out_of_range_is_refused_naming_field_and_value(name, value):
    with pytest.raises(ValueError) as info:
        Thresholds(**{name: value})
    assert isinstance(info.value, ThresholdError) and info.value.name == name
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{name} must be ")
    assert message.endswith(f"but got {name}={value!r}")


def test_every_threshold_has_a_range_and_the_defaults_are_in_it():
    assert set(LIMITS) == {f.name for f in dataclasses.fields(Thresholds)}
    Thresholds()
    Thresholds(
        explode_clip_fraction=0.0,
        plateau_min_rate=0.0,
        overfit_eval_rise=0.0,
        trend_window=3,
        plateau_patience=2,
        slow_budget_factor=1.0,
        target=1e-6,
    )


def test_the_smallest_plateau_patience_still_judges_a_stall():
    stalled = make(decay(5, 1.0, 0.4) + [0.4] * 6, eval=[0.5] * 11, lr=1e-3)
    assert diagnose(stalled, Thresholds(plateau_patience=2)).verdict == "plateau"


@pytest.mark.parametrize("target", [0.0, -1.0, math.nan, math.inf])
def test_time_to_target_refuses_a_target_that_is_not_positive(target):
    with pytest.raises(ValueError, match=r"target must be a finite number > 0, but got target="):
        time_to_target(H, target)


@pytest.mark.parametrize("target", [0.0, -0.5])
def test_diagnose_refuses_a_target_that_is_not_positive(target):
    with pytest.raises(ValueError, match=f"but got target={target!r}"):
        diagnose(H, target=target)


def test_no_epochs_is_not_judged_healthy():
    d = diagnose(make([]))
    assert d.verdict == UNJUDGED == "unknown" and UNJUDGED not in VERDICTS
    assert d.findings == () and "no epochs" in d.not_judged[0]


def test_a_failed_trial_without_epochs_renders_its_error():
    error = (
        "Traceback (most recent call last):\n"
        + "".join(f'  File "trial.py", line {i}, in run\n' for i in range(40))
        + "RuntimeError: CUDA out of memory"
    )
    h = make([], lr=1e-3, batch_size=8)
    text = render_trial(diagnose(h), h, title="s, trial 3", error=error)
    assert text.startswith("# s, trial 3: unknown\n")
    assert "Nothing to judge: the history has no epochs; the trial failed" in text
    assert "## Error" in text and text.rstrip().endswith("RuntimeError: CUDA out of memory\n```")
    assert "Last 30 of 42 lines" in text
    assert "## Error" not in render_trial(diagnose(h), h)


def test_a_failed_trial_with_epochs_renders_its_error_after_the_diagnosis():
    text = render_trial(diagnose(H), H, error="ValueError: boom")
    assert "## Findings" in text and text.rstrip().endswith("```\nValueError: boom\n```")
