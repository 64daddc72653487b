"""The driver on a real PostgreSQL server, started by the test run on loopback."""

from __future__ import annotations

import math
import threading
import time

import optuna
import pytest
from optuna.trial import TrialState

from fnosweep.errors import StoreError
from fnosweep.executor import InlineExecutor
from fnosweep.store import Store
from fnosweep.sweep.driver import INTERRUPTED, run_sweep
from fnosweep.testing import synthetic_trial
from pg import PostgresServer
from sweep_builders import tiny_spec

pytestmark = pytest.mark.slow
FORCED = {"training.lr": {"type": "categorical", "choices": [1e-3, 0.2]}}


def test_a_sweep_on_postgres_keeps_nan_and_finishes(postgres_server: PostgresServer, tmp_path):
    url = postgres_server.new_database("sweep_ok")
    spec = tiny_spec(tmp_path, study__storage=url, study__n_trials=6, training__epochs=3, search=FORCED)
    result = run_sweep(spec, executor=InlineExecutor(synthetic_trial))
    assert len(result.trials) == 6
    epochs = Store.open(url).epochs("tiny")
    diverged = [t for t in result.trials if t.state == "PRUNED"]
    assert diverged and all(math.isnan(epochs[t.number][-1].train_loss) for t in diverged)


def test_postgres_down_at_start_is_one_clear_error(tmp_path):
    spec = tiny_spec(tmp_path, study__storage="postgresql://u:secret@127.0.0.1:9/db")
    started = time.monotonic()
    with pytest.raises(StoreError, match=r"cannot open storage postgresql\+psycopg://u:\*\*\*@127.0.0.1:9/db") as e:
        run_sweep(spec, executor=InlineExecutor(synthetic_trial))
    assert "secret" not in str(e.value) and time.monotonic() - started < 10


def test_postgres_going_down_mid_sweep_stops_cleanly_and_resumes(postgres_server: PostgresServer, tmp_path,
                                                                  monkeypatch):
    monkeypatch.setattr("fnosweep.testing.EPOCH_S", 0.2)
    url = postgres_server.new_database("sweep_down")
    spec = tiny_spec(tmp_path, study__storage=url, study__n_trials=4, training__epochs=5)
    errors: list[BaseException] = []

    def drive() -> None:
        try:
            run_sweep(spec, executor=InlineExecutor(synthetic_trial))
        except BaseException as e:  # noqa: BLE001 (the test inspects it)
            errors.append(e)

    driver = threading.Thread(target=drive)
    driver.start()
    time.sleep(2.0)
    data = str(postgres_server.root / "data")
    postgres_server._run("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
    stopped_at = time.monotonic()
    driver.join(timeout=120)
    assert not driver.is_alive()
    assert time.monotonic() - stopped_at < 60  # the bounded retry, then a clean stop
    assert len(errors) == 1 and isinstance(errors[0], StoreError), errors
    assert "lost the study database" in str(errors[0]) and "resumes" in str(errors[0])

    postgres_server._run("pg_ctl", "-D", data, "-l", str(postgres_server.root / "server.log"), "-w", "start")
    result = run_sweep(spec, executor=InlineExecutor(synthetic_trial))
    assert len(result.trials) == 4
    study = optuna.load_study(study_name="tiny", storage=url)
    assert all(t.state not in (TrialState.RUNNING, TrialState.WAITING) for t in study.trials)
    counted = [t for t in study.trials if not t.user_attrs.get(INTERRUPTED)]
    assert sum(t.state == TrialState.COMPLETE for t in counted) == 4
