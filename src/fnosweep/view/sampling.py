"""Curves of many trials, made light: each cut to a few points, all joined into one trace.

Each curve keeps its first and last point and, per bucket of epochs, its lowest and
highest value: a spike or a dip survives, and 1 000 trials x 200 epochs stay a few MB of
HTML. Trials are never dropped. Curves of one verdict are joined with NaN gaps, so a
thousand trials cost a handful of traces.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

MAX_POINTS = 60
"""Points kept per curve when every trial is drawn (fewer when there are many trials)."""
POINT_BUDGET = 60_000
"""Points per panel over all trials: keeps a sweep of any size a few MB of HTML."""


def points_per_curve(n_trials: int) -> int:
    """How many points each trial's curve keeps in an every-trial panel."""
    return max(8, min(MAX_POINTS, POINT_BUDGET // max(n_trials, 1)))


def downsample_index(groups: np.ndarray, values: np.ndarray, max_points: int) -> np.ndarray:
    """Rows to keep so each group (trial) keeps at most about `max_points` points: its first and
    last, and per bucket of epochs the lowest and the highest value. `groups` must be sorted."""
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(groups[1:] != groups[:-1]) + 1]
    sizes = np.diff(np.r_[starts, n])
    pos = np.arange(n) - np.repeat(starts, sizes)
    size = np.repeat(sizes, sizes)
    buckets = max(max_points // 2 - 1, 1)
    local = np.where(size > max_points, pos * buckets // np.maximum(size, 1), pos)
    key = np.repeat(np.arange(len(starts)), sizes) * (max_points + 1) + local
    # NaN sorts last, so a bucket's "highest" is its NaN: the gap that marks divergence stays.
    order = np.lexsort((values, key))
    k = key[order]
    edge = np.r_[True, k[1:] != k[:-1]]
    keep = np.zeros(n, dtype=bool)
    keep[order[edge]] = True
    keep[order[np.r_[edge[1:], True]]] = True
    keep[starts] = keep[starts + sizes - 1] = True
    return np.flatnonzero(keep)


def joined(
    epochs: pd.DataFrame, column: str, max_points: int = MAX_POINTS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(epoch, value, trial) arrays of many trials' curves, each downsampled, NaN between trials."""
    return joined_arrays(
        epochs["number"].to_numpy(),
        epochs["epoch"].to_numpy(dtype=float),
        epochs[column].to_numpy(dtype=float),
        max_points,
    )


def joined_arrays(
    numbers: np.ndarray, x: np.ndarray, y: np.ndarray, max_points: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`joined` on arrays sorted by trial then epoch."""
    keep = downsample_index(numbers, y, max_points)
    numbers, x, y = numbers[keep], x[keep], y[keep]
    cut = np.flatnonzero(numbers[1:] != numbers[:-1]) + 1
    # float32: half the bytes in the HTML, and 7 digits are more than a plot can show.
    gap = np.float32(np.nan)
    return (
        np.insert(x.astype(np.float32), cut, gap),
        np.insert(y.astype(np.float32), cut, gap),
        np.insert(numbers.astype(np.float32), cut, gap),
    )
