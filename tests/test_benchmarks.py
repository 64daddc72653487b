"""Every benchmark script's `--quick` mode runs, exits 0 and prints its figures (so the scripts do not rot)."""

from __future__ import annotations

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
    ("view_scale.py", [], "KB per 1 000 epoch rows"),
    ("view_scale.py", ["--growth", "100", "1000"], "exponent k"),
    ("trainer_throughput.py", [], "trial / Trainer samples/s"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("script", "options", "expected"), SCRIPTS,
                         ids=[" ".join([s, *o]) for s, o, _ in SCRIPTS])
def test_quick_mode_prints_its_figures(script: str, options: list[str], expected: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), "--quick", *options],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert expected in proc.stdout, proc.stdout[-2000:]
