"""Shared helpers of the benchmark scripts: the Darcy sweep they all search, and the header.

The sweep is deliberately small (16x16 Darcy, 128 training samples, widths 8-24) so
that three pruning modes x three seeds of real FNO training fit on a 2-core CPU in
minutes; the benchmarks compare orchestration, not FNO accuracy. Its budget, 24 epochs a
trial, leaves a pruner room: a trial stopped after its warm-up (3 epochs) costs an eighth
of a full one, as in real FNO training (hundreds of epochs), where it costs far less.
`--epochs 8` gives the shorter sweep of earlier rounds.
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# Make `fnosweep` importable when the scripts run with a bare interpreter.
if str(REPO / "src") not in sys.path:
    sys.path.insert(0, str(REPO / "src"))

RESOLUTION = 16
METRIC = f"eval.{RESOLUTION}_l2"

PRUNERS: dict[str, dict[str, Any]] = {
    # (a) every trial runs its full budget; no rule stops it.
    "none": {"pruner": {"type": "none"}, "prune_on": []},
    # (b) Optuna's median pruner only.
    "median": {"pruner": {"type": "median", "n_startup_trials": 3, "n_warmup_steps": 2}, "prune_on": []},
    # (c) median + fnosweep's stability rules.
    "median+stability": {
        "pruner": {"type": "median", "n_startup_trials": 3, "n_warmup_steps": 2},
        "prune_on": ["diverged", "exploding_gradients"],
    },
    # (d) fnosweep's curve pruner (its defaults: what `pruner: {type: curve}` ships) + the rules.
    "curve+stability": {"pruner": {"type": "curve"}, "prune_on": ["diverged", "exploding_gradients"]},
    # (e) the shipped default (sweeps/lr_clip.yaml): the curve pruner + divergence only.
    "curve+diverged": {"pruner": {"type": "curve"}, "prune_on": ["diverged"]},
    # (f) successive halving with ASHA's rungs (1, 4, 16 epochs; a quarter goes on) + the rules.
    "sh+stability": {
        "pruner": {"type": "successive_halving", "min_resource": 1, "reduction_factor": 4},
        "prune_on": ["diverged", "exploding_gradients"],
    },
}


def darcy_doc(
    workdir: Path,
    *,
    name: str,
    seed: int,
    mode: str = "none",
    n_trials: int = 12,
    epochs: int = 24,
    n_train: int = 128,
    n_test: int = 32,
    max_concurrent: int = 1,
    sampler: str = "random",
) -> dict[str, Any]:
    """The benchmark sweep as a spec document (what a user would write in YAML)."""
    prune = PRUNERS[mode]
    return {
        "study": {
            "name": name,
            "storage": f"sqlite:///{workdir}/studies/{name}.db",
            "direction": "minimize",
            "metric": METRIC,
            "n_trials": n_trials,
            # RandomSampler: every mode (and Ray Tune) gets the same configurations in the
            # same order, so differences come from pruning alone, not from what TPE saw.
            # (TPE, `--sampler tpe`: the configurations then depend on what was pruned.)
            # TPE models from its 5th trial on (Optuna's default, 10, would leave 2 of 12 to it).
            "sampler": {"type": sampler, "seed": seed, **({"n_startup_trials": 4} if sampler == "tpe" else {})},
            "pruner": copy.deepcopy(prune["pruner"]),
        },
        "data": {
            "problem": "darcy",
            "root": str(workdir / "data"),  # shared by all runs: generated once
            "resolution": RESOLUTION,
            "test_resolutions": [RESOLUTION],
            "n_train": n_train,
            "n_test": n_test,
            "seed": 0,
        },
        "model": {"n_modes": [6, 6], "hidden_channels": 16, "n_layers": 4},
        "training": {
            "optimizer": "adamw",
            "lr": 1e-3,
            "clip_threshold": 1.0,
            "scheduler": {"type": "cosine"},
            "batch_size": 16,
            "epochs": epochs,
            "loss": "h1",
            "device": "cpu",
            "seed": 0,
        },
        "search": {
            "training.lr": {"type": "float", "low": 1e-4, "high": 0.3, "log": True},
            "training.clip_threshold": {"type": "categorical", "choices": [None, 1.0, 10.0]},
            "model.hidden_channels": {"type": "categorical", "choices": [8, 16, 24]},
        },
        "stability": {"prune_on": list(prune["prune_on"])},
        "execution": {"backend": "inline", "max_concurrent": max_concurrent, "retries": 0, "trial_timeout_s": 3600},
    }


def header(title: str) -> None:
    """What every figure needs beside it: when, where, and how busy the machine was."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"# {title}")
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())} | {platform.node()} | "
        f"{os.cpu_count()} CPUs | python {platform.python_version()} | "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(f"# argv: {' '.join(sys.argv)}")


def spread(values: list[float]) -> str:
    """'mean (min-max)' of a few repeats."""
    if not values:
        return "-"
    mean = sum(values) / len(values)
    return f"{mean:.4g} ({min(values):.4g}-{max(values):.4g})"


def sweep_parser(doc: str | None) -> argparse.ArgumentParser:
    """The sweep-size options shared by the pruning benchmarks (same defaults, same sweep)."""
    p = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="sampler seeds")
    p.add_argument("--trials", type=int, default=12)
    p.add_argument("--epochs", type=int, default=24)
    p.add_argument("--n-train", type=int, default=128)
    p.add_argument("--n-test", type=int, default=32)
    return p


def apply_quick(a: argparse.Namespace, trials: int) -> argparse.Namespace:
    """`--quick`: one seed, `trials` trials x 2 epochs, 16 samples."""
    if a.quick:
        a.seeds, a.trials, a.epochs, a.n_train, a.n_test = [0], trials, 2, 16, 8
    return a
