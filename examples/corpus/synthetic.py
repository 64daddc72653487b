"""The corpus's synthetic histories: shapes a CPU cannot train into in seconds, written in
the shape of the runs that showed them (issue 15), each marked ``synthetic`` in labels.json."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fnosweep.history import EpochRecord, History, RunInfo, write_history

Writer = Callable[[Path], None]


def _history(run: dict[str, Any], rows: list[dict[str, Any]]) -> History:
    return History(RunInfo.from_dict(run), tuple(EpochRecord(epoch=i, **r) for i, r in enumerate(rows)))


def slow_explosion_clipped(path: Path) -> None:
    """Norm ×1.6 per epoch for 20 epochs under a 1.0 clip that cuts every step; SGD's loss still
    falls a little (the clip sets the step length)."""
    rows = [{"train_loss": 0.9 * 0.97**i, "eval": {"64_l2": 0.95 * 0.975**i}, "lr": 0.01,
             "grad_norm": {"median": 2.0 * 1.6**i, "p95": 3.0 * 1.6**i, "max": 4.0 * 1.6**i},
             "clip_fraction": 1.0, "steps": 100} for i in range(20)]
    write_history(path, _history({"optimizer": "sgd", "lr": 0.01, "clip_threshold": 1.0,
                                  "batch_size": 16, "loss": "l2", "n_train": 1000,
                                  "epochs": 50, "scheduler": "none"}, rows))


def rising_loss_unclipped(path: Path) -> None:
    """Training loss +124 % while the norm grows 10 000× without a clip: instability, not a
    plateau, and never 'raise the lr'."""
    rows = [{"train_loss": 0.4 * (1.0 + 1.24 * i / 11), "eval": {"64_l2": 0.5 * (1 + i / 11)},
             "lr": 1e-3, "grad_norm": {"median": 0.5 * 10 ** (4 * i / 11), "max": 10 ** (4 * i / 11)},
             "clip_fraction": 0.0, "steps": 50} for i in range(12)]
    write_history(path, _history({"optimizer": "adam", "lr": 1e-3, "batch_size": 8, "loss": "l2",
                                  "n_train": 400, "epochs": 40}, rows))


def slow_lr_1e7(path: Path) -> None:
    """lr 1e-7: -1.5 % in 40 epochs, update ratio 2e-7, no epoch budget."""
    rows = [{"train_loss": 0.80 * (1 - 0.015 * i / 39), "eval": {"64_l2": 0.82 * (1 - 0.015 * i / 39)},
             "lr": 1e-7, "grad_norm": {"median": 6.0, "max": 9.0}, "update_ratio": 2e-7,
             "steps": 50} for i in range(40)]
    write_history(path, _history({"optimizer": "adam", "lr": 1e-7, "batch_size": 8, "loss": "l2",
                                  "n_train": 400}, rows))


def eval_zero_output(path: Path) -> None:
    """Eval ~148 (a zero output scores 1.0) from epoch 0 while train falls to 0.11: the eval
    pipeline (normalisation / decoding), not the model."""
    rows = [{"train_loss": 0.9 * 0.9**i, "eval": {"64_l2": 148.0 * (1 + 0.01 * math.sin(i))},
             "lr": 1e-3, "grad_norm": {"median": 4.0, "max": 8.0}, "steps": 50}
            for i in range(20)]
    write_history(path, _history({"optimizer": "adam", "lr": 1e-3, "batch_size": 8, "loss": "l2",
                                  "n_train": 400, "epochs": 20}, rows))


def guarded_one_nan_per_epoch(path: Path) -> None:
    """One bad sample: the guard skips one NaN step every epoch; the rest learns."""
    rows = [{"train_loss": 0.9 * 0.85**i, "eval": {"64_l2": 0.95 * 0.86**i}, "lr": 1e-3,
             "grad_norm": {"median": 3.0, "max": 6.0}, "steps": 50, "nonfinite_steps": 1,
             "nonfinite_loss_steps": 1, "skipped_steps": 1} for i in range(15)]
    write_history(path, _history({"optimizer": "adam", "lr": 1e-3, "batch_size": 8, "loss": "l2",
                                  "n_train": 400, "epochs": 15}, rows))


def adam_heavy_clip_summed(path: Path) -> None:
    """AdamW at clip 1.0 with the batch-summed loss: norms 5–30, every step clipped, learning
    well (a uniform clip barely changes Adam's step)."""
    rows = [{"train_loss": 0.8 * 0.88**i, "eval": {"64_l2": 0.85 * 0.885**i}, "lr": 1e-3,
             "grad_norm": {"median": 12.0 + (i % 3), "p95": 25.0, "max": 30.0},
             "clip_fraction": 1.0, "steps": 50} for i in range(20)]
    write_history(path, _history({"optimizer": "adamw", "lr": 1e-3, "batch_size": 16,
                                  "loss": "l2", "n_train": 800, "epochs": 20,
                                  "clip_threshold": 1.0}, rows))


def nan_at_start_bad_data(path: Path) -> None:
    """NaN from the first steps with small norms before it: bad data, not the lr."""
    rows = [{"train_loss": math.nan, "eval": {"64_l2": math.nan}, "lr": 1e-3,
             "grad_norm": {"first": 0.3, "median": math.nan, "max": math.nan}, "steps": 50,
             "nonfinite_steps": 50, "nonfinite_loss_steps": 50} for _ in range(3)]
    write_history(path, _history({"optimizer": "adam", "lr": 1e-3, "batch_size": 8, "loss": "l2",
                                  "n_train": 400, "epochs": 20}, rows))


SYNTHETIC: dict[str, tuple[str, tuple[str, ...], Writer]] = {
    "syn_slow_explosion_clipped": ("slow explosion held by clipping (SGD)",
                                   ("exploding_gradients",), slow_explosion_clipped),
    "syn_rising_loss_unclipped": ("lr too high: loss rising, norm 10 000× unclipped",
                                  ("diverged", "exploding_gradients"), rising_loss_unclipped),
    "syn_slow_lr_1e7": ("lr too low (1e-7), no budget", ("learning_slowly", "plateau"),
                        slow_lr_1e7),
    "syn_eval_zero_output": ("evaluation pipeline bug (eval 148× a zero output)",
                             ("healthy", "plateau", "learning_slowly"), eval_zero_output),
    "syn_guarded_nan_per_epoch": ("one NaN sample, guard skips one step per epoch",
                                  ("healthy",), guarded_one_nan_per_epoch),
    "syn_adam_heavy_clip": ("healthy: AdamW clipped on every step by the summed loss",
                            ("healthy",), adam_heavy_clip_summed),
    "syn_nan_bad_data": ("NaN in the data from the first step", ("diverged",),
                         nan_at_start_bad_data),
}
