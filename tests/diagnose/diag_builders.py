"""Compact synthetic histories for the diagnosis tests: lists in, History out."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

from fnosweep.history import EpochRecord, History, RunInfo

Col = Sequence[float | None] | float | None


def _at(col: Col, i: int) -> float | None:
    if col is None or isinstance(col, int | float):
        return col
    return col[i] if i < len(col) else None


def make(train: Sequence[float], *, eval: Col = None, lr: Col = None, gmed: Col = None,
         gmax: Col = None, clip: Col = None, nonfinite: Col = None, first: float | None = None,
         metric: str = "32_l2", **run: Any) -> History:
    """One epoch per train value; every other column is a list or one value for all epochs."""
    epochs = []
    for i, loss in enumerate(train):
        grad = {k: _at(c, i) for k, c in (("median", gmed), ("max", gmax)) if _at(c, i) is not None}
        if i == 0 and first is not None:
            grad["first"] = first
        ev = _at(eval, i)
        nf = _at(nonfinite, i)
        epochs.append(EpochRecord(
            epoch=i, train_loss=loss, eval={} if ev is None else {metric: ev}, lr=_at(lr, i),
            grad_norm=grad, clip_fraction=_at(clip, i),
            nonfinite_steps=None if nf is None else int(nf)))
    return History(RunInfo(**run), tuple(epochs))


def decay(n: int, start: float, end: float) -> list[float]:
    """Exponential from start to end over n epochs."""
    r = (end / start) ** (1 / (n - 1))
    return [start * r**i for i in range(n)]


def noisy(values: Sequence[float], sigma: float, seed: int = 0) -> list[float]:
    """Multiplicative noise, fixed seed: the same test data every run."""
    rng = random.Random(seed)
    return [v * math.exp(rng.gauss(0, sigma)) for v in values]

