"""`fnosweep diagnose STUDY [--suggest FILE]` on a real SQLite study: the synthetic sweep of
the view tests, where a high lr is what breaks (a lenient clip lets it diverge)."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from fnosweep.testing.synthetic_sweep import SEARCH, build_sweep


def diagnose(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "fnosweep.cli", "diagnose", url, "--study", "s", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def test_diagnose_names_lr_and_suggest_narrows_only_lr(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    build_sweep(url, "s", n_trials=40, epochs=12, seed=3, optuna_study=False)
    out = diagnose(url, "--suggest", str(tmp_path / "next.yaml"))
    assert out.returncode == 0, out.stderr
    assert "The instability follows training.lr: 7 of 7 trials with lr ≥ 1e-2 were unstable" in out.stdout
    changes = out.stdout.split("## What to change")[1]
    for knob in ("training.batch_size", "model.hidden_channels", "training.scheduler.type"):
        assert f"{knob}: keep" not in changes and f"{knob}: also avoid" not in changes
    search = yaml.safe_load((tmp_path / "next.yaml").read_text())["search"]
    assert search["training.lr"]["high"] < 1e-2
    others = [k for k in SEARCH if k != "training.lr"]
    assert {k: search[k] for k in others} == {k: SEARCH[k] for k in others}
    assert out.stderr.strip().endswith("training.lr narrowed, the rest as searched")
    j = json.loads(diagnose(url, "--format", "json").stdout)
    assert j["attribution"]["cause"]["knobs"] == ["training.lr"]
    assert j["stability_map"]["x"] == "training.lr" and j["importance"]["evaluator"] == "PED-ANOVA"
