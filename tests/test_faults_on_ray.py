"""Worker faults and a second driver on real Ray, on SQLite and on a real PostgreSQL: a
trial that raises, one over its timeout, one whose worker dies, and a driver refused while
another process runs the study. Nothing is left RUNNING; every FAIL says why."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from fnosweep.errors import StoreError
from fnosweep.executor import RayExecutor
from fnosweep.store import Store
from fnosweep.sweep.driver import run_sweep
from fnosweep.testing import CRASH_BATCH_SIZE, FAIL_BATCH_SIZE
from sweep_builders import tiny_spec

pytestmark = pytest.mark.slow
SLOW_BATCH_SIZE = 7


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/faults.db"
    server = request.getfixturevalue("postgres_server")
    return server.new_database(f"faults_{os.getpid()}_{time.monotonic_ns()}")


def test_a_raising_a_hanging_and_a_dying_trial_on_ray(ray_local, tmp_path: Path, storage: str) -> None:
    slow = SLOW_BATCH_SIZE

    def faulty_trial(config):  # defined here: pickled by value into the Ray workers
        import time

        from fnosweep.testing import synthetic_trial

        for item in synthetic_trial(config):  # raises at epoch 1 (FAIL_BATCH_SIZE), or exits the worker
            if config.training.batch_size == slow:
                time.sleep(1.0)  # far over trial_timeout_s in total
            yield item

    spec = tiny_spec(
        tmp_path, study__storage=storage, study__n_trials=4, training__epochs=8,
        execution__backend="ray", execution__max_concurrent=2, execution__retries=1,
        execution__trial_timeout_s=3.0,
        search={"training.batch_size": {"type": "categorical",
                                        "choices": [8, FAIL_BATCH_SIZE, SLOW_BATCH_SIZE, CRASH_BATCH_SIZE]}},
    )  # fmt: skip
    batch = [8, FAIL_BATCH_SIZE, SLOW_BATCH_SIZE, CRASH_BATCH_SIZE]
    study = optuna.create_study(study_name="tiny", storage=storage)
    for b in batch:  # one trial of each kind, in this order
        study.enqueue_trial({"training.batch_size": b})
    result = run_sweep(spec, executor=RayExecutor(spec.execution, faulty_trial))

    by_batch = {t.params["training.batch_size"]: t for t in result.trials}
    assert by_batch[8].state == "COMPLETE" and by_batch[8].epochs == 8, by_batch[8].reason
    assert by_batch[FAIL_BATCH_SIZE].state == "FAIL"
    assert "ValueError: synthetic failure at epoch 1" in by_batch[FAIL_BATCH_SIZE].reason
    assert by_batch[SLOW_BATCH_SIZE].state == "FAIL"
    assert by_batch[SLOW_BATCH_SIZE].reason == "timed out after 3 s (execution.trial_timeout_s)"
    crashed = by_batch[CRASH_BATCH_SIZE]
    assert crashed.state == "FAIL" and "worker lost" in crashed.reason and "after 2 attempts" in crashed.reason
    rows = {r.number: r for r in Store.open(storage).trials("tiny")}
    stack = rows[by_batch[FAIL_BATCH_SIZE].number].error  # the worker's stack, kept for `diagnose --trial`
    assert "in synthetic_trial" in stack and 'raise ValueError("synthetic failure at epoch 1")' in stack
    states = [t.state for t in optuna.load_study(study_name="tiny", storage=storage).trials]
    assert TrialState.RUNNING not in states and TrialState.WAITING not in states


DRIVER = """
import json, sys
from fnosweep.sweep.driver import run_sweep
from fnosweep.spec import parse_spec
run_sweep(parse_spec(json.loads(sys.argv[1]), source="first.yaml"))
"""


def test_a_second_driver_is_refused_while_another_process_runs_the_study(tmp_path: Path, storage: str) -> None:
    """The first driver is a real `run_sweep` process (real FNO trials on its own local Ray)."""
    from sweep_builders import tiny_doc

    doc = tiny_doc(tmp_path, study__storage=storage, study__n_trials=2, training__epochs=200,
                   execution__backend="ray")  # fmt: skip
    first = subprocess.Popen([sys.executable, "-c", DRIVER, json.dumps(doc)], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while lock_holder(storage) is None:
            assert first.poll() is None, first.stderr.read()
            assert time.monotonic() < deadline, "the first driver did not take the lock"
            time.sleep(0.2)
        with pytest.raises(StoreError, match=rf"being run by another driver \(host \S+, pid {first.pid}, since "):
            run_sweep(tiny_spec(tmp_path, study__storage=storage, study__n_trials=2, training__epochs=200))
        assert lock_holder(storage).pid == first.pid  # the refused driver left the lock alone
    finally:  # Ctrl-C twice, as a user would: the first driver stops its Ray too
        for _ in range(2):
            first.send_signal(signal.SIGINT)
            time.sleep(0.5)
        try:
            first.wait(timeout=60)
        except subprocess.TimeoutExpired:
            first.kill()
            first.wait()


def lock_holder(storage: str):
    """Who holds the study's driver lock; None before the first driver wrote its tables."""
    try:
        store = Store.open(storage, create=False)
    except StoreError:
        return None
    try:
        return store.driver_lock("tiny")
    finally:
        store.close()
