"""Robust trends and learning-curve fits over (epoch, value) points.

A trend is a Theil-Sen slope (the median of pairwise slopes: one wild epoch cannot move
it) of log(value), with a Mann-Kendall z saying whether the direction is real or noise.
Logs, because losses and gradient norms fall and grow by factors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median

from fnosweep.diagnose.series import Points


@dataclass(frozen=True)
class Trend:
    """Direction of a metric over its last epochs."""

    first_epoch: int
    last_epoch: int
    n: int
    rate: float
    """Relative change per epoch from the Theil-Sen slope (-0.05: falling 5 % per epoch)."""
    z: float
    """Mann-Kendall z: below -trend_z falls for real, above +trend_z rises for real."""

    def falling(self, z_min: float) -> bool:
        return self.z <= -z_min

    def rising(self, z_min: float) -> bool:
        return self.z >= z_min


def trend(points: Points, window: int) -> Trend | None:
    """The trend of the last `window` points; None with fewer than 3."""
    pts = points[-window:]
    if len(pts) < 3:
        return None
    xs = [float(e) for e, _ in pts]
    positive = all(v > 0 for _, v in pts)
    ys = [math.log(v) for _, v in pts] if positive else [v for _, v in pts]
    slopes = [(ys[j] - ys[i]) / (xs[j] - xs[i])
              for i in range(len(pts)) for j in range(i + 1, len(pts))]
    slope = median(slopes)
    # a loss can be negative (e.g. a log-likelihood): then the slope relative to its level
    rate = math.expm1(slope) if positive else slope / (abs(median(ys)) or 1.0)
    return Trend(int(xs[0]), int(xs[-1]), len(pts), rate, mann_kendall_z(ys))


def mann_kendall_z(ys: list[float]) -> float:
    """Mann-Kendall trend statistic (no tie correction; ties count as no direction)."""
    n = len(ys)
    s = sum((ys[j] > ys[i]) - (ys[j] < ys[i]) for i in range(n) for j in range(i + 1, n))
    if s == 0:
        return 0.0
    var = n * (n - 1) * (2 * n + 5) / 18
    return (s - math.copysign(1, s)) / math.sqrt(var)


def relative_change(first: float, last: float) -> float:
    return (last - first) / abs(first) if first else math.inf


def level(values: list[float], at_end: bool, k: int = 3) -> float:
    """Median of the first or last `k` values: a level that one noisy epoch cannot set."""
    part = values[-k:] if at_end else values[:k]
    return median(part)


def rising_streak(values: list[float]) -> int:
    """How many epochs in a row, up to the last, the value rose."""
    n = 0
    for a, b in zip(reversed(values[:-1]), reversed(values[1:]), strict=True):
        if b > a:
            n += 1
        else:
            break
    return n
