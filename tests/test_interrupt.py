"""Ctrl-C on the real `fnosweep run`: a resumable study either way."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from fnosweep.sweep.driver import INTERRUPTED
from sweep_builders import tiny_doc


def epoch_rows(db) -> int:
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("select count(*) from fnosweep_epochs").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def start(tmp_path, doc):
    spec = tmp_path / "sweep.yaml"
    spec.write_text(yaml.safe_dump(doc))
    proc = subprocess.Popen([sys.executable, "-m", "fnosweep.cli", "run", str(spec)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    db = tmp_path / "studies" / "tiny.db"
    deadline = time.monotonic() + 120
    while epoch_rows(db) == 0:
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.2)
    return proc, spec


@pytest.mark.slow
@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_leaves_a_resumable_study(tmp_path, presses):
    doc = tiny_doc(tmp_path, study__n_trials=2, training__epochs=15)
    proc, spec = start(tmp_path, doc)
    for _ in range(presses):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Interrupted: run the same command to resume." in out
    if presses == 1:
        assert "stopping: no new trials" in out
    storage = doc["study"]["storage"]
    study = optuna.load_study(study_name="tiny", storage=storage)
    assert all(t.state != TrialState.RUNNING for t in study.trials)
    stopped = [t for t in study.trials if t.user_attrs.get(INTERRUPTED)]
    assert stopped and all(t.state == TrialState.FAIL for t in stopped)
    resumed = subprocess.run([sys.executable, "-m", "fnosweep.cli", "run", str(spec)],
                             cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    study = optuna.load_study(study_name="tiny", storage=storage)
    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(done) == 2 and {t.params["training.lr"] for t in stopped} <= {t.params["training.lr"] for t in done}
