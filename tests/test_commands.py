"""The real `fnosweep` command, run as a user runs it: exit codes and output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sweep_builders import REPO, tiny_doc

FNOSWEEP = [sys.executable, "-m", "fnosweep.cli"]
SEEDS = REPO / "examples" / "histories"


def fnosweep(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([*FNOSWEEP, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=600)


def write_spec(tmp_path: Path, **dotted) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(tiny_doc(tmp_path, **dotted), sort_keys=False))
    return path


def test_help_and_validate_import_neither_torch_nor_ray(tmp_path):
    spec = write_spec(tmp_path)
    code = (
        "import sys; from typer.testing import CliRunner; from fnosweep.cli import app; "
        f"r = CliRunner().invoke(app, ['validate', {str(spec)!r}]); assert r.exit_code == 0, r.output; "
        "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0; "
        "heavy = [m for m in ('torch', 'ray', 'plotly', 'neuralop') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_validate_prints_the_space_and_budget_and_writes_nothing(tmp_path):
    spec = write_spec(tmp_path, study__n_trials=5, training__epochs=3)
    out = fnosweep("validate", str(spec))
    assert out.returncode == 0, out.stderr
    assert "training.lr" in out.stdout and "5 trials x 3 epochs = at most 15 epochs" in out.stdout
    assert not (tmp_path / "studies").exists() and not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("study: {name: x, n_trials: 0}\n", "study -> n_trials"),
        ("study:\n  name: x\n  n_trials: 2\ntraining:\n  lr: -1\n", ":5: training -> lr"),
        ("- a\n- b\n", "sweep.yaml"),
        ("study: {name: x, n_trials: 2}\nstudy: {name: y, n_trials: 2}\n", "duplicate"),
        ("study: {name: x, n_trials: 2\n", "sweep.yaml"),
    ],
)
def test_bad_specs_get_one_line_and_exit_1(tmp_path, text, expected):
    spec = tmp_path / "sweep.yaml"
    spec.write_text(text)
    for command in ("validate", "run"):
        out = fnosweep(command, str(spec), cwd=tmp_path)
        assert out.returncode == 1
        assert out.stderr.count("\n") == 1 and expected in out.stderr, out.stderr
        assert "Traceback" not in out.stderr
    assert not (tmp_path / "studies").exists()


def test_missing_spec_file(tmp_path):
    out = fnosweep("run", str(tmp_path / "nope.yaml"))
    assert out.returncode == 1 and "nope.yaml" in out.stderr and out.stderr.count("\n") == 1


def test_debug_shows_the_traceback(tmp_path):
    out = fnosweep("--debug", "validate", str(tmp_path / "nope.yaml"))
    assert out.returncode == 1 and "Traceback" in out.stderr


@pytest.mark.slow
def test_run_a_tiny_sweep_on_ray_then_resume_and_diagnose(tmp_path):
    spec = write_spec(tmp_path, execution__backend="ray", study__n_trials=3)
    out = fnosweep("run", str(spec), "--set", "study.n_trials=2", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "Best trials of tiny" in out.stdout and "2 trials:" in out.stdout and "lives in sqlite:///" in out.stdout
    out = fnosweep("run", str(spec), cwd=tmp_path)  # resumes: one more trial
    assert out.returncode == 0, out.stderr
    assert "3 trials:" in out.stdout
    out = fnosweep("diagnose", str(spec), "--format", "json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    out = fnosweep("diagnose", str(spec), "--trial", "0", cwd=tmp_path)
    assert out.returncode == 0 and "#" in out.stdout, out.stderr
    out = fnosweep("run", str(spec), "--set", "training.epochs=3", cwd=tmp_path)  # a different trial definition
    assert out.returncode == 1 and out.stdout == "" and out.stderr.count("\n") == 1
    assert "training.epochs: 2 -> 3" in out.stderr


def test_diagnose_a_failed_trial_shows_its_stored_error(tmp_path):
    from fnosweep.executor import InlineExecutor
    from fnosweep.space import load_spec
    from fnosweep.sweep.driver import run_sweep
    from fnosweep.testing import FAIL_BATCH_SIZE, synthetic_trial

    spec = write_spec(tmp_path, study__n_trials=1, training__epochs=3, training__batch_size=FAIL_BATCH_SIZE)
    run_sweep(load_spec(spec), executor=InlineExecutor(synthetic_trial))
    out = fnosweep("diagnose", str(spec), "--trial", "0", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "trial 0 (FAIL)" in out.stdout and "ValueError: synthetic failure at epoch 1" in out.stdout
    j = json.loads(fnosweep("diagnose", str(spec), "--trial", "0", "--format", "json", cwd=tmp_path).stdout)
    assert j["state"] == "FAIL" and "synthetic failure at epoch 1" in j["error"]


def test_diagnose_a_history_file():
    out = fnosweep("diagnose", "--history", str(SEEDS / "seed000_unstable.jsonl"), "--format", "json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["verdict"] == "exploding_gradients"
    assert "overparameterized" in [f["code"] for f in result["findings"]]
    text = fnosweep("diagnose", "--history", str(SEEDS / "seed001_progressing.jsonl")).stdout
    assert "healthy" in text


def test_diagnose_a_bad_history_names_the_line(tmp_path):
    bad = tmp_path / "h.jsonl"
    bad.write_text('{"kind": "run"}\n{"kind": "epoch", "epoch": 0,\n')
    out = fnosweep("diagnose", "--history", str(bad))
    assert out.returncode == 1 and "line 2" in out.stderr and out.stderr.count("\n") == 1
