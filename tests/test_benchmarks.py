"""Every benchmark script's `--quick` mode runs, exits 0 and prints its figures (so the scripts do not rot)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# (script, its options besides --quick, a line fragment its figures always print)
SCRIPTS = [
    ("sweep_efficiency.py", [], "successive halving 1/4 + stability"),  # the last line: the replay ran
    ("ray_tune_compare.py", [], "ASHA-stopped trials recorded COMPLETE by Optuna"),
    ("orchestration.py", [], "_handle+_settle ms/record"),
    ("monitor_overhead.py", [], "monitored/plain"),
    ("data_generation.py", [], "Darcy"),
    ("cfl_estimate.py", [], "| 0.001 | 10 |"),
    ("view_scale.py", [], "KB per 1 000 epoch rows"),
    ("view_scale.py", ["--growth", "100", "1000"], "exponent k"),
    ("trainer_throughput.py", [], "trial / Trainer samples/s"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("script", "options", "expected"), SCRIPTS,
                         ids=[" ".join([s, *o]) for s, o, _ in SCRIPTS])
def test_quick_mode_prints_its_figures(script: str, options: list[str], expected: str) -> None:
    assert expected in _quick(script, options)


@pytest.mark.slow
def test_the_pruning_grid_replays_from_an_earlier_runs_studies(tmp_path: Path) -> None:
    """--unpruned-only trains only the reference sweeps (other median and rules settings
    given); --replay-only then replays the grid from the studies it left, training nothing."""
    options = ["--workdir", str(tmp_path), "--median", "2", "0", "--rules", "diverged", "plateau"]
    trained = _quick("sweep_efficiency.py", ["--unpruned-only", *options])
    assert "median pruner 2/0" in trained and "prunes on diverged, plateau" in trained
    replayed = _quick("sweep_efficiency.py", ["--replay-only", *options])
    grid = [line for line in trained.splitlines() if "goal met in" in line]
    assert grid and grid == [line for line in replayed.splitlines() if "goal met in" in line]


def _quick(script: str, options: list[str]) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), "--quick", *options],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc.stdout


@pytest.mark.slow
def test_the_gpu_check_runs_every_step_dry(tmp_path: Path) -> None:
    """benchmarks/gpu_check.py --dry: the GPU run's steps on the CPU at toy sizes, so the one
    command a GPU session has minutes for has already run end to end."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "gpu_check.py"), str(tmp_path), "--dry", "--budget-s", "600"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    results = json.loads((tmp_path / "gpu_check.json").read_text())
    steps = ["gpu_tests", "neuralop_bf16_alone", "overhead_fp32", "overhead_bf16", "throughput_fp32",
             "throughput_bf16", "packing", "paper_darcy", "around_paper"]
    assert {s: results[s]["status"] for s in steps} == dict.fromkeys(steps, "done")
    assert "tests/test_precision.py" in results["gpu_tests"]["files"]
    assert [row["n"] for row in results["packing"]["rows"]] == [1, 2]
    assert results["around_paper"]["epochs"] == 2 and results["around_paper"]["best_l2"] is not None
    table = (tmp_path / "gpu_check.md").read_text()
    assert "| trial / neuralop.Trainer samples/s |" in table and "Not measured" not in table
