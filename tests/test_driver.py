"""The driver on synthetic trials (no torch): in threads and on a real local Ray."""

from __future__ import annotations

import math
import os
import subprocess

import optuna
import pytest
from optuna.trial import TrialState

from fnosweep.errors import SpecError, StoreError
from fnosweep.executor import InlineExecutor, RayExecutor
from fnosweep.store import Store
from fnosweep.sweep.driver import INTERRUPTED, run_sweep
from fnosweep.testing import CRASH_BATCH_SIZE, DIVERGE_LR, FAIL_BATCH_SIZE, synthetic_trial
from sweep_builders import tiny_spec

WIDE_LR = {"training.lr": {"type": "float", "low": 1e-4, "high": 0.5, "log": True}}


def inline():
    return InlineExecutor(synthetic_trial)


def states(spec):
    study = optuna.load_study(study_name=spec.study.name, storage=spec.study.storage)
    return [t.state for t in study.trials], study


def test_runs_to_the_budget_and_prunes_non_finite_trials(tmp_path):
    spec = tiny_spec(tmp_path, study__n_trials=8, training__epochs=4, search=WIDE_LR)
    result = run_sweep(spec, executor=inline())
    by_state = {s: [t for t in result.trials if t.state == s] for s in ("COMPLETE", "PRUNED")}
    assert len(result.trials) == 8 and not result.interrupted
    diverging = [t for t in result.trials if t.params["training.lr"] > DIVERGE_LR]
    assert diverging, "the seed should sample some diverging learning rates"
    for t in diverging:
        assert t.state == "PRUNED" and t.epochs == 2
        assert t.reason == "diverged: non-finite training loss at epoch 1"
    assert all(t.epochs == 4 for t in by_state["COMPLETE"])
    assert result.best(1)[0].value == min(t.value for t in by_state["COMPLETE"])
    store = Store.open(spec.study.storage)
    epochs = store.epochs(spec.study.name)
    assert sum(len(v) for v in epochs.values()) == sum(t.epochs for t in result.trials)
    assert any(math.isnan(r.train_loss) for d in diverging for r in epochs[d.number])  # NaN kept
    assert all(row.state in ("COMPLETE", "PRUNED") for row in store.trials(spec.study.name))


def test_the_studys_pruner_prunes_with_its_reason(tmp_path):
    spec = tiny_spec(
        tmp_path,
        study__n_trials=10,
        training__epochs=4,
        execution__max_concurrent=1,
        study__pruner={"type": "median", "n_startup_trials": 2, "n_warmup_steps": 0},
        search={"training.lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True}},
    )
    result = run_sweep(spec, executor=inline())
    pruned = [t for t in result.trials if t.state == "PRUNED"]
    assert pruned and all(t.reason.startswith("median pruner: eval.8_l2 = ") for t in pruned)
    assert all(t.epochs < 4 for t in pruned)


def test_a_raising_trial_fails_with_its_traceback(tmp_path):
    spec = tiny_spec(
        tmp_path,
        study__n_trials=4,
        search={"training.batch_size": {"type": "categorical", "choices": [8, FAIL_BATCH_SIZE]}},
    )
    run_sweep(spec, executor=inline())
    rows = Store.open(spec.study.storage).trials(spec.study.name)
    failed = [r for r in rows if r.params["training.batch_size"] == FAIL_BATCH_SIZE]
    assert failed and all(r.state == "FAIL" for r in failed)
    assert failed[0].reason == "ValueError: synthetic failure at epoch 1"
    assert "Traceback" in failed[0].error and "synthetic_trial" in failed[0].error


def test_rerunning_resumes_up_to_n_trials(tmp_path):
    run_sweep(tiny_spec(tmp_path, study__n_trials=3), executor=inline())
    spec = tiny_spec(tmp_path, study__n_trials=5)
    result = run_sweep(spec, executor=inline())
    assert len(result.trials) == 5
    assert len(run_sweep(spec, executor=inline()).trials) == 5  # nothing left to do


def test_a_changed_search_space_is_refused(tmp_path):
    run_sweep(tiny_spec(tmp_path, study__n_trials=1), executor=inline())
    changed = tiny_spec(
        tmp_path, study__n_trials=2, search={"training.lr": {"type": "float", "low": 1e-5, "high": 1e-2, "log": True}}
    )
    with pytest.raises(SpecError, match="search space of study 'tiny' changed"):
        run_sweep(changed, executor=inline())


def test_a_second_driver_is_refused(tmp_path, monkeypatch):
    spec = tiny_spec(tmp_path, study__n_trials=1)
    run_sweep(spec, executor=inline())
    other = subprocess.Popen(["sleep", "60"])  # a live process standing for the first driver
    try:
        store = Store.open(spec.study.storage)
        monkeypatch.setattr(os, "getpid", lambda: other.pid)
        assert store.acquire_driver(spec.study.name, stale_after_s=60) is None
        monkeypatch.undo()
        with pytest.raises(StoreError, match=rf"being run by another driver \(host .+, pid {other.pid}, since "):
            run_sweep(tiny_spec(tmp_path, study__n_trials=2), executor=inline())
    finally:
        other.kill()
        other.wait()
    # a dead driver's lock does not block
    assert len(run_sweep(tiny_spec(tmp_path, study__n_trials=2), executor=inline()).trials) == 2


def test_running_trials_of_a_dead_driver_are_failed_and_rerun(tmp_path):
    spec = tiny_spec(tmp_path, study__n_trials=2)
    run_sweep(tiny_spec(tmp_path, study__n_trials=1), executor=inline())
    study = optuna.load_study(study_name=spec.study.name, storage=spec.study.storage)
    zombie = study.ask({"training.lr": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)})
    result = run_sweep(spec, executor=inline())
    trial_states, study = states(spec)
    assert TrialState.RUNNING not in trial_states
    assert study.trials[zombie.number].user_attrs[INTERRUPTED] is True
    assert zombie.params["training.lr"] in [t.params["training.lr"] for t in result.trials]
    assert len(result.trials) == 2


@pytest.mark.slow
def test_on_a_real_ray_with_cancel_and_worker_loss(tmp_path, ray_local):
    spec = tiny_spec(
        tmp_path,
        study__n_trials=6,
        training__epochs=3,
        execution__backend="ray",
        execution__retries=1,
        search={
            "training.lr": {"type": "categorical", "choices": [1e-3, 0.2]},
            "training.batch_size": {"type": "categorical", "choices": [8, CRASH_BATCH_SIZE]},
        },
    )
    result = run_sweep(spec, executor=RayExecutor(spec.execution, synthetic_trial))
    assert len(result.trials) == 6
    for t in result.trials:
        if t.params["training.batch_size"] == CRASH_BATCH_SIZE and t.params["training.lr"] < DIVERGE_LR:
            assert t.state == "FAIL" and "worker lost" in t.reason and "after 2 attempts" in t.reason
        elif t.params["training.lr"] > DIVERGE_LR and t.params["training.batch_size"] != CRASH_BATCH_SIZE:
            assert t.state == "PRUNED" and t.epochs == 2
        elif t.params["training.batch_size"] == 8:
            assert t.state == "COMPLETE" and t.epochs == 3
    trial_states, _ = states(spec)
    assert TrialState.RUNNING not in trial_states and TrialState.WAITING not in trial_states


def test_a_changed_trial_definition_is_refused_and_safe_changes_are_said(tmp_path):
    run_sweep(tiny_spec(tmp_path, study__n_trials=1), executor=inline())
    with pytest.raises(SpecError, match=r"different trial definition \(training.epochs: 2 -> 3\)"):
        run_sweep(tiny_spec(tmp_path, study__n_trials=2, training__epochs=3), executor=inline())
    result = run_sweep(tiny_spec(tmp_path, study__n_trials=2, execution__max_concurrent=1), executor=inline())
    assert result.notes == (
        "changed since the last run: execution.max_concurrent: 2 -> 1",
        "changed since the last run: study.n_trials: 1 -> 2",
    )


def test_a_trial_over_its_timeout_is_cancelled_and_failed(tmp_path, monkeypatch):
    monkeypatch.setattr("fnosweep.testing.EPOCH_S", 0.3)
    spec = tiny_spec(tmp_path, study__n_trials=1, training__epochs=20, execution__trial_timeout_s=1.0)
    result = run_sweep(spec, executor=inline())
    (trial,) = result.trials
    assert trial.state == "FAIL" and trial.reason == "timed out after 1 s (execution.trial_timeout_s)"
    assert 1 <= trial.epochs < 20


def test_a_freed_slot_starts_its_next_trial_before_the_ended_one_is_told(tmp_path, monkeypatch):
    """The bookkeeping of an ended trial (diagnosis, store, dashboard, tell) runs while the
    next trial already trains; the budget still holds exactly."""
    from fnosweep.sweep.driver import Driver

    spec = tiny_spec(tmp_path, study__n_trials=4, training__epochs=2, execution__max_concurrent=1)
    asked_when_told = {}
    tell = Driver._tell

    def spy(self, ended):
        asked_when_told[ended.run.trial.number] = len(self.study.get_trials(deepcopy=False))
        tell(self, ended)

    monkeypatch.setattr(Driver, "_tell", spy)
    result = run_sweep(spec, executor=inline())
    assert [t.state for t in result.trials] == ["COMPLETE"] * 4
    # trial n was told after trial n + 1 had been asked; the last one had no successor
    assert asked_when_told == {0: 2, 1: 3, 2: 4, 3: 4}


@pytest.mark.parametrize(("every_s", "share", "expected"), [
    (60.0, 0.05, 1),  # a short sweep: the sweep note once, at its end
    (0.0, math.inf, 4 + 1),  # no least gap, no cost bound: after every trial, and at the end
])  # fmt: skip
def test_the_sweep_note_is_refreshed_by_time_not_by_trial_count(tmp_path, monkeypatch, every_s, share, expected):
    """Each refresh reads every epoch of the study and holds the loop: its cadence is time-bound."""
    import fnosweep.sweep.driver as driver
    from fnosweep.view.dashboard import DashboardPublisher

    calls = []

    class Counting(DashboardPublisher):
        def sweep(self, *a):
            calls.append(1)
            super().sweep(*a)

    monkeypatch.setattr(driver, "PUBLISH_EVERY_S", every_s)
    monkeypatch.setattr(driver, "PUBLISH_SHARE", share)
    spec = tiny_spec(tmp_path, study__n_trials=4, training__epochs=2, execution__max_concurrent=1)
    publisher = Counting(spec.study.metric, spec.study.direction)
    assert [t.state for t in run_sweep(spec, executor=inline(), publisher=publisher).trials] == ["COMPLETE"] * 4
    assert len(calls) == expected


def test_a_curve_pruned_trial_stores_the_pruners_numbers_as_its_reason(tmp_path):
    """The curve pruner writes its decision through the storage; the live trial's cached
    attributes do not have it, so the driver reads it back (a real driver run)."""
    spec = tiny_spec(tmp_path, study__n_trials=6, training__epochs=10, execution__max_concurrent=1,
                     study__pruner={"type": "curve", "n_startup_trials": 1, "n_warmup_steps": 2})
    pruned = [t for t in run_sweep(spec, executor=inline()).trials if t.state == "PRUNED"]
    assert pruned
    for t in pruned:
        assert t.reason.startswith("curve pruner: eval.8_l2 ") and " points to " in t.reason
        assert "the best finished trial (trial " in t.reason
