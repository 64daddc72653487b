"""The driver's reliability guarantees (RELIABILITY.md): the lock, recovery caps, guarded
diagnosis and the timeout clock, on synthetic trials in threads."""

from __future__ import annotations

import os
import subprocess
import time

import optuna
import pytest
from optuna.trial import TrialState

from fnosweep.diagnose.core import RULES
from fnosweep.errors import StoreError
from fnosweep.executor import InlineExecutor
from fnosweep.space import sample_params
from fnosweep.store import Store
from fnosweep.sweep.driver import INTERRUPTED, RECOVERIES, Driver, run_sweep
from fnosweep.testing import DIVERGE_LR, synthetic_trial
from sweep_builders import tiny_spec

WIDE_LR = {"training.lr": {"type": "float", "low": 1e-4, "high": 0.5, "log": True}}


def inline(trial_fn=synthetic_trial):
    return InlineExecutor(trial_fn)


def load(spec):
    return optuna.load_study(study_name=spec.study.name, storage=spec.study.storage)


def take_lock(store, name, pid, monkeypatch, *, stale_after_s=60):
    """Take the study's lock as process `pid` of this host would."""
    with monkeypatch.context() as m:
        m.setattr(os, "getpid", lambda: pid)
        assert store.acquire_driver(name, stale_after_s=stale_after_s) is None


def test_a_refused_driver_writes_nothing(tmp_path, monkeypatch):
    spec = tiny_spec(tmp_path, study__n_trials=1)
    run_sweep(spec, executor=inline())
    store, name = Store.open(spec.study.storage), spec.study.name
    before = (store.study_meta(name), store.study_spec(name), load(spec).user_attrs, len(load(spec).trials))
    other = subprocess.Popen(["sleep", "60"])  # a live process standing for the first driver
    try:
        take_lock(store, name, other.pid, monkeypatch)
        refused = rf"being run by another driver \(host .+, pid {other.pid}, "
        with pytest.raises(StoreError, match=refused):  # a safe change would be recorded
            run_sweep(tiny_spec(tmp_path, study__n_trials=3, execution__max_concurrent=1), executor=inline())
        assert (store.study_meta(name), store.study_spec(name), load(spec).user_attrs, len(load(spec).trials)) == before
        with pytest.raises(StoreError, match=refused):  # the lock is checked before the spec
            run_sweep(tiny_spec(tmp_path, study__n_trials=3, search=WIDE_LR), executor=inline())
        assert (store.study_meta(name), store.study_spec(name), load(spec).user_attrs, len(load(spec).trials)) == before
        assert store.driver_lock(name).pid == other.pid
    finally:
        other.kill()
        other.wait()


def test_a_driver_that_lost_its_lock_stops_and_requeues_its_trials(tmp_path, monkeypatch):
    monkeypatch.setattr("fnosweep.sweep.driver.HEARTBEAT_S", 0.05)
    spec = tiny_spec(tmp_path, study__n_trials=4, training__epochs=20)
    name, other = spec.study.name, None
    taken: list[list[int]] = []

    def listener(progress):
        nonlocal other
        if progress.running and not taken:  # another driver takes the lock over as if ours were stale
            other = Store.open(spec.study.storage)
            take_lock(other, name, 4242, monkeypatch, stale_after_s=0)
            taken.append([number for number, _, _ in progress.running])

    with pytest.raises(StoreError, match=r"lost the lock of study 'tiny' \(now held by host .+, pid 4242, since .+\)"):
        run_sweep(spec, executor=inline(), listener=listener)
    assert other.driver_lock(name).pid == 4242  # the other driver's lock is left alone
    study = load(spec)
    assert TrialState.RUNNING not in [t.state for t in study.trials]
    rows = {r.number: r for r in other.trials(name, interrupted=True)}
    for number in taken[0]:
        assert study.trials[number].state == TrialState.FAIL and study.trials[number].user_attrs[INTERRUPTED]
        assert rows[number].reason == "stopped: another driver took over the study; parameters re-queued"
    waiting = [t for t in study.trials if t.state == TrialState.WAITING]
    assert len(waiting) == len(taken[0])
    other.release_driver(name)  # as pid 4242 this does nothing: that pid is dead, so its lock is too
    assert len(run_sweep(spec, executor=inline()).trials) == 4


def test_stale_running_trials_are_requeued_at_most_retries_times(tmp_path):
    spec = tiny_spec(tmp_path, study__n_trials=2, execution__retries=1)
    run_sweep(tiny_spec(tmp_path, study__n_trials=1, execution__retries=1), executor=inline())
    store, study = Store.open(spec.study.storage), load(spec)

    def dies_running():  # a driver asks a trial and is killed while it runs
        trial = study.ask()
        store.start_trial(spec.study.name, trial.number, params=sample_params(trial, spec))
        return trial

    first = dies_running()
    recovering = Driver(spec, executor=inline())
    recovering.stop_requested.set()  # a driver that only recovers, then stops
    recovering.run()
    (queued,) = study.get_trials(states=(TrialState.WAITING,))
    assert queued.user_attrs[RECOVERIES] == 1
    second = dies_running()  # the re-run of the same params dies too
    assert second.params == first.params and second.number == queued.number

    result = run_sweep(spec, executor=inline())
    final = load(spec).trials
    assert final[first.number].user_attrs[INTERRUPTED] is True  # re-run once: does not count
    assert final[second.number].state == TrialState.FAIL and INTERRUPTED not in final[second.number].user_attrs
    reason = "interrupted: its driver stopped before it finished, 2 times; not re-queued again (execution.retries = 1)"
    assert {t.number: t.reason for t in result.trials}[second.number] == reason
    assert {r.number: r.reason for r in store.trials(spec.study.name)}[second.number] == reason
    assert len(result.trials) == 2 and [t.state for t in final].count(TrialState.WAITING) == 0
    assert [t.params for t in final].count(first.params) == 2  # not run a third time


@pytest.mark.parametrize("broken", ["a rule", "the whole diagnosis"])
def test_a_raising_diagnosis_neither_stops_the_sweep_nor_leaves_a_trial_running(tmp_path, monkeypatch, broken):
    def boom(*_a, **_k):
        raise RuntimeError("a bug in a rule")

    if broken == "a rule":
        monkeypatch.setitem(RULES, "diverged", boom)  # breaks prune_decision and diagnose alike
        said = "the pruning rules raised RuntimeError: a bug in a rule; verdict left empty"
    else:
        monkeypatch.setattr("fnosweep.sweep.end.diagnose", boom)
        said = "the diagnosis raised RuntimeError: a bug in a rule; verdict left empty"
    spec = tiny_spec(tmp_path, study__n_trials=8, training__epochs=3, search=WIDE_LR)
    result = run_sweep(spec, executor=inline())
    assert len(result.trials) == 8 and not result.interrupted
    for t in result.trials:  # the state is the training's; the reason says what went wrong
        if t.params["training.lr"] > DIVERGE_LR:
            assert t.state == "PRUNED" and t.reason == f"diverged: non-finite training loss at epoch 1; {said}"
        else:
            assert t.state == "COMPLETE" and t.reason == said and t.value is not None
        assert t.verdict is None
    assert any(t.state == "PRUNED" for t in result.trials) and any(t.state == "COMPLETE" for t in result.trials)
    rows = Store.open(spec.study.storage).trials(spec.study.name)
    assert all("RuntimeError: a bug in a rule" in r.error for r in rows)
    assert TrialState.RUNNING not in [t.state for t in load(spec).trials]


def test_the_timeout_counts_from_the_trials_start_not_its_submission(tmp_path, monkeypatch):
    monkeypatch.setattr("fnosweep.testing.EPOCH_S", 0.2)

    def queued(config):  # waits 1 s for a worker, then runs 0.6 s
        time.sleep(1.0)
        yield from synthetic_trial(config)

    spec = tiny_spec(tmp_path, study__n_trials=1, training__epochs=3, execution__trial_timeout_s=1.2)
    (trial,) = run_sweep(spec, executor=inline(queued)).trials
    assert trial.state == "COMPLETE" and trial.epochs == 3


def test_a_trial_that_never_starts_times_out_from_its_submission(tmp_path):
    def never_scheduled(config):
        time.sleep(1.5)
        yield from synthetic_trial(config)

    spec = tiny_spec(tmp_path, study__n_trials=1, execution__trial_timeout_s=0.5)
    (trial,) = run_sweep(spec, executor=inline(never_scheduled)).trials
    assert trial.state == "FAIL" and trial.epochs == 0
    assert trial.reason == (
        "no record within 0.5 s of its submission: never scheduled, or stuck before training "
        "(execution.trial_timeout_s)"
    )
