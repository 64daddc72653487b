"""Step 4 of benchmarks/gpu_check.py: the FNO paper's Darcy run at s=85, then a short
fnosweep sweep around it, both within the time budget."""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _gpu_budget import Budget
from _gpu_report import PAPER_L2


def paper_doc(root: Path, *, dry: bool, device: str, epochs: int) -> dict[str, Any]:
    res, n_train, n_test = (8, 16, 8) if dry else (85, 1000, 200)
    return {
        "study": {"name": "darcy85", "storage": f"sqlite:///{root}/darcy85.db", "metric": f"eval.{res}_l2",
                  "n_trials": 8},
        "data": {"problem": "darcy", "root": str(root / "data"), "resolution": res, "test_resolutions": [res],
                 "n_train": n_train, "n_test": n_test, "seed": 0},
        "model": {"n_modes": [4, 4] if dry else [12, 12], "hidden_channels": 8 if dry else 32, "n_layers": 4},
        "training": {"optimizer": "adam", "lr": 1e-3, "weight_decay": 1e-4, "clip_threshold": None,
                     "scheduler": {"type": "step", "step_size": 1 if dry else 100, "gamma": 0.5},
                     "batch_size": 8 if dry else 20, "epochs": epochs, "loss": "l2", "device": device, "seed": 0},
        "search": {"training.lr": {"type": "float", "low": 3e-4, "high": 3e-3, "log": True},
                   "training.weight_decay": {"type": "categorical", "choices": [1e-5, 1e-4, 1e-3]},
                   "model.hidden_channels": {"type": "categorical", "choices": [8, 16] if dry else [32, 48, 64]}},
        "stability": {"prune_on": ["diverged"]},
        "execution": {"backend": "inline" if dry else "ray", "max_concurrent": 4, "retries": 0,
                      "resources": {"cpu": 1, "gpu": 0.25 if device == "cuda" else 0}},
    }  # fmt: skip


def paper_run(root: Path, device: str, dry: bool, budget: Budget, reserve_s: float) -> dict[str, Any]:
    """The FNO paper's Darcy run, as many of its epochs as the budget holds."""
    from fnosweep.data import ensure_dataset
    from fnosweep.history import EpochRecord
    from fnosweep.space import trial_config
    from fnosweep.spec import parse_spec
    from fnosweep.trial import run_trial

    epochs = 2 if dry else 500
    spec = parse_spec(paper_doc(root, dry=dry, device=device, epochs=epochs))
    started = time.perf_counter()
    ensure_dataset(spec.data)
    generation_s = time.perf_counter() - started
    metric = spec.study.metric.removeprefix("eval.")
    curve: list[float] = []
    epoch_s: list[float] = []
    trial = run_trial(trial_config(spec, {}, trial_number=0))
    stopped = None
    with contextlib.closing(trial):
        for item in trial:
            if not isinstance(item, EpochRecord):
                continue
            curve.append(item.eval[metric])
            epoch_s.append(item.epoch_time_s + (item.eval_time_s or 0.0))
            if len(curve) < epochs and not budget.fits(statistics.median(epoch_s[-5:]) * 1.2 + reserve_s):
                stopped = f"stopped after epoch {len(curve)} of {epochs}: the time budget"
                break
    return {
        "resolution": spec.data.resolution, "n_train": spec.data.n_train, "n_test": spec.data.n_test,
        "epochs_planned": epochs, "epochs_run": len(curve), "stopped": stopped,
        "generation_s": generation_s, "median_epoch_s": statistics.median(epoch_s),
        "final_l2": curve[-1], "best_l2": min(curve), "paper_l2": PAPER_L2,
        "l2_every_50": {i + 1: curve[i] for i in range(49, len(curve), 50)}, "curve": curve,
    }  # fmt: skip


def _run_sweep() -> Callable[..., Any]:
    from fnosweep.sweep.driver import run_sweep

    return run_sweep


def around_paper(root: Path, device: str, dry: bool, budget: Budget, paper: dict[str, Any],
                 slowdown: float) -> dict[str, Any]:
    """A short sweep (lr, weight decay, width) of the paper config at the epochs that fit,
    against the paper config's own L2 at the same epoch."""
    from fnosweep.spec import parse_spec

    n_trials, concurrent = (2, 2) if dry else (8, 4)
    waves = -(-n_trials // concurrent)
    per_epoch = paper["median_epoch_s"] * slowdown
    epochs = min(paper["epochs_run"], int((budget.left() - 20) / (waves * per_epoch * 1.3)))
    if epochs < (2 if dry else 20):
        return {"skipped": f"{budget.left():.0f} s left holds {epochs} epochs a trial"}
    doc = paper_doc(root, dry=dry, device=device, epochs=epochs)
    doc["study"].update(name=f"around{epochs}", storage=f"sqlite:///{root}/around{epochs}.db", n_trials=n_trials,
                        sampler={"type": "tpe", "seed": 0, "n_startup_trials": concurrent})  # fmt: skip
    doc["execution"]["max_concurrent"] = concurrent
    result = _run_sweep()(parse_spec(doc))
    best = [t for t in result.best(n_trials) if t.state == "COMPLETE"][:1]  # all epochs run, as the baseline's
    baseline = paper["curve"][epochs - 1]
    return {
        "epochs": epochs, "n_trials": n_trials, "concurrent": concurrent,
        "paper_config_l2_at_same_epoch": baseline,
        "best_l2": best[0].value if best else None, "best_params": best[0].params if best else None,
        "better": bool(best and best[0].value < baseline),
        "trials": [{"number": t.number, "state": t.state, "value": t.value, "params": t.params}
                   for t in result.trials],
    }  # fmt: skip
