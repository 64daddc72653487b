"""SIGKILL the driver at random instants of a real sweep; every resume keeps the study whole."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import optuna
import pytest
from optuna.trial import TrialState

from fnosweep.spec import parse_spec
from fnosweep.store import Store
from fnosweep.sweep.driver import INTERRUPTED, RECOVERIES
from sweep_builders import tiny_doc

DRIVER = """
import json, sys
from fnosweep.sweep.driver import run_sweep
from fnosweep.executor import InlineExecutor
from fnosweep.spec import parse_spec
from fnosweep.testing import synthetic_trial
run_sweep(parse_spec(json.loads(sys.argv[1]), source="crash.yaml"), executor=InlineExecutor(synthetic_trial))
"""


def start_driver(doc: dict) -> subprocess.Popen:
    import json

    env = {**os.environ, "FNOSWEEP_SYNTHETIC_EPOCH_S": "0.1"}
    return subprocess.Popen([sys.executable, "-c", DRIVER, json.dumps(doc)], env=env, stderr=subprocess.PIPE, text=True)


def check_invariants(spec, *, finished: bool) -> None:
    if not finished and not os.path.exists(spec.study.storage.removeprefix("sqlite:///")):
        return  # killed before it wrote anything
    if not finished and spec.study.name not in optuna.get_all_study_names(spec.study.storage):
        return  # killed before the study was created
    study = optuna.load_study(study_name=spec.study.name, storage=spec.study.storage)
    counted = [t for t in study.trials if t.state.is_finished() and not t.user_attrs.get(INTERRUPTED)]
    assert len(counted) <= spec.study.n_trials
    assert all(t.user_attrs.get(RECOVERIES, 0) <= spec.execution.retries for t in study.trials)
    epochs = Store.open(spec.study.storage).epochs(spec.study.name)
    for t in counted:
        numbers = [r.epoch for r in epochs.get(t.number, [])]
        assert numbers == list(range(len(numbers))), f"trial {t.number}: epochs {numbers}"  # none lost or doubled
        if t.state == TrialState.COMPLETE:
            assert len(numbers) == spec.training.epochs
    if finished:
        states = [t.state for t in study.trials]
        assert TrialState.RUNNING not in states and TrialState.WAITING not in states
        assert sum(1 for t in counted if t.state in (TrialState.COMPLETE, TrialState.PRUNED)) == spec.study.n_trials
        rows = {r.number: r.state for r in Store.open(spec.study.storage).trials(spec.study.name)}
        assert all(rows[t.number] == t.state.name for t in counted)  # the store agrees with Optuna


@pytest.mark.slow
def test_sigkill_at_random_instants_then_resume(tmp_path):
    # retries above the number of kills: no params are given up on (that cap is test_driver_reliability's)
    doc = tiny_doc(
        tmp_path,
        study__n_trials=16,
        training__epochs=4,
        execution__retries=10,
        search={"training.lr": {"type": "float", "low": 1e-4, "high": 0.2, "log": True}},
    )
    spec = parse_spec(doc, source="crash.yaml")
    rng = random.Random(0)
    kills = attempts = 0
    while kills < 10 and attempts < 20:  # ten kills in a row, each followed by the checks
        attempts += 1
        driver = start_driver(doc)
        time.sleep(rng.uniform(0.8, 2.5))  # Python and Optuna start in ~0.7 s; kill anywhere after
        if driver.poll() is None:
            driver.send_signal(signal.SIGKILL)
            kills += 1
        driver.wait()
        check_invariants(spec, finished=False)
    assert kills == 10, f"the sweep ended after {kills} kills: make it longer"
    final = start_driver(doc)
    assert final.wait(timeout=120) == 0, final.stderr.read()
    check_invariants(spec, finished=True)
