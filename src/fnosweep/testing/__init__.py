"""Small fakes for tests of the driver and executors: trials without torch.

`synthetic_trial` behaves like a training run whose outcome the parameters decide,
so driver tests can ask for a divergence, a failure or a slow trial by choosing
values, and run in milliseconds. Real trials are tested with real FNOs elsewhere.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator

from fnosweep.history import EpochRecord, RunInfo
from fnosweep.spec import TrialConfig

DIVERGE_LR = 0.05
"""A learning rate above this makes the synthetic loss NaN at epoch 1."""
FAIL_BATCH_SIZE = 13
"""This batch size makes the synthetic trial raise at epoch 1."""
CRASH_BATCH_SIZE = 17
"""This batch size kills the worker process at epoch 1 (for worker-loss tests)."""
EPOCH_S = float(os.environ.get("FNOSWEEP_SYNTHETIC_EPOCH_S", "0.02"))
"""Seconds each synthetic epoch sleeps, standing in for training (slower for kill tests)."""


def synthetic_trial(config: TrialConfig) -> Iterator[RunInfo | EpochRecord]:
    tr = config.training
    yield RunInfo(
        n_params=1000,
        n_train=config.data.n_train,
        batch_size=tr.batch_size,
        lr=tr.lr,
        optimizer=tr.optimizer,
        clip_threshold=tr.clip_threshold,
        scheduler=tr.scheduler.type,
        loss=tr.loss,
        epochs=tr.epochs,
    )
    # Best near lr = 1e-3; the farther log10(lr) is from -3, the higher the loss.
    level = 0.05 + 0.2 * abs(math.log10(tr.lr) + 3)
    key = f"{config.data.resolution}_l2"
    for epoch in range(tr.epochs):
        time.sleep(EPOCH_S)
        if epoch == 1 and tr.batch_size == FAIL_BATCH_SIZE:
            raise ValueError("synthetic failure at epoch 1")
        if epoch == 1 and tr.batch_size == CRASH_BATCH_SIZE:
            os._exit(1)
        loss = level * (1 + 2 * 0.7**epoch)
        if epoch >= 1 and tr.lr > DIVERGE_LR:
            loss = math.nan
        yield EpochRecord(
            epoch=epoch,
            train_loss=loss * 0.9,
            train_err=loss * 0.9 * tr.batch_size,
            eval={key: loss},
            lr=tr.lr,
            grad_norm={"median": 1.0, "p95": 1.5, "max": 2.0},
            clip_fraction=0.0,
            steps=10,
            nonfinite_steps=0 if math.isfinite(loss) else 10,
            epoch_time_s=EPOCH_S,
        )


def crossing_curves(epochs: int = 24, seed: int = 0) -> dict[int, list[float]]:
    """Learning curves (trial number → value per epoch) where curves cross: each later
    "good" trial starts slower and ends better (as a lower learning rate does), with trials
    that level off far above the best in between. Multiplicative noise of 2 %, seeded."""
    import random

    rng = random.Random(seed)
    # (level it settles at, time constant in epochs): y(t) = level + exp(-t / tau)
    shapes = [(0.12, 1.0), (0.20, 1.0), (0.10, 2.0), (0.25, 1.5), (0.08, 3.0), (0.15, 2.0),
              (0.065, 4.5), (0.30, 1.0), (0.05, 6.0)]
    return {n: [(level + math.exp(-t / tau)) * math.exp(rng.gauss(0, 0.02)) for t in range(epochs)]
            for n, (level, tau) in enumerate(shapes)}
